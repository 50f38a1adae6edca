"""Audit queries over a real log: filters, keyset pages, an entry's chain link, hourly traffic, clone alerts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checkpoint import audit
from checkpoint.audit import Filter
from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.store import open_reader
from tests.test_audit_data import DAY_START, alter, build_sample, draft, raw_rows

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 2, 3)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return build_sample(tmp_path / "log.db").path


def _all(conn, flt: Filter, size: int = 3, newest_first: bool = True):  # type: ignore[no-untyped-def]
    out = []
    after = None
    while True:
        chunk = audit.page(conn, flt, after, limit=size, newest_first=newest_first)
        if not chunk:
            return out
        out.extend(chunk)
        after = audit.key_of(chunk[-1])


def test_keyset_pages_walk_everything_once_in_order(sample: Path) -> None:
    conn = open_reader(sample)
    rows = raw_rows(sample)
    expected = [(r["station_id"], r["seq"]) for r in rows]
    asc = _all(conn, Filter(), newest_first=False)
    desc = _all(conn, Filter())
    assert [(e.station_id, e.seq) for e in asc] == expected
    assert [(e.station_id, e.seq) for e in desc] == expected[::-1]


def test_pages_with_equal_timestamps_do_not_skip(tmp_path: Path) -> None:
    # three stations, many entries at the very same microsecond: the keyset must break the ties exactly
    plan = [
        (station, float(i // 4), draft()) for station in ("a-gate", "b-gate", "c-gate") for i in range(20)
    ]
    path = build_sample(tmp_path / "ties.db", plan).path
    conn = open_reader(path)
    assert conn.execute("SELECT COUNT(DISTINCT ts) FROM entries").fetchone()[0] == 5
    for newest_first in (True, False):
        got = _all(conn, Filter(), size=7, newest_first=newest_first)
        assert len(got) == 60
        assert len({(e.station_id, e.seq) for e in got}) == 60
        keys = [audit.key_of(e) for e in got]
        assert keys == sorted(keys, reverse=newest_first)


@pytest.mark.parametrize(
    ("flt", "predicate"),
    [
        (Filter(station="east-bridge"), lambda r: r["station_id"] == "east-bridge"),
        (Filter(direction=Direction.OUT), lambda r: r["direction"] == "out"),
        (Filter(verdict=Verdict.DENY), lambda r: r["verdict"] == "deny"),
        (Filter(reason=Reason.NO_PASS), lambda r: r["reason"] == "no_pass"),
        (Filter(category=Category.EMERGENCY), lambda r: r["category"] == "emergency"),
        (Filter(plate="a·444"), lambda r: r["plate"] == "鄂A44444"),
        (Filter(plate="鄂a"), lambda r: (r["plate"] or "").startswith("鄂A")),
        (Filter(operator="赵"), lambda r: "赵" in r["operator"]),
        (Filter(fevers_only=True), lambda r: r["fevers"] > 0),
        (
            Filter(verdict=Verdict.ALLOW, direction=Direction.IN, station="north-gate"),
            lambda r: r["verdict"] == "allow" and r["direction"] == "in" and r["station_id"] == "north-gate",
        ),
    ],
)
def test_each_filter_matches_the_raw_rows(sample: Path, flt: Filter, predicate) -> None:  # type: ignore[no-untyped-def]
    conn = open_reader(sample)
    expected = {(r["station_id"], r["seq"]) for r in raw_rows(sample) if predicate(r)}
    assert expected, "the sample must hold rows for every filter"
    got = {(e.station_id, e.seq) for e in _all(conn, flt)}
    assert got == expected
    assert audit.count(conn, flt) == len(expected)
    resolved = audit.Vocabulary().resolve(conn, flt)
    assert {(e.station_id, e.seq) for e in _all(conn, resolved)} == expected


def test_vocabulary_turns_partial_matches_into_exact_lists_and_follows_the_log(tmp_path: Path) -> None:
    sample = build_sample(tmp_path / "log.db")
    conn = open_reader(sample.path)
    vocab = audit.Vocabulary()
    flt = vocab.resolve(conn, Filter(plate="a6666", operator="赵"))
    assert flt.plate_in == ("鄂A66666",) and flt.operator_in == ("赵六",)
    assert vocab.resolve(conn, Filter(plate="鄂Z")).plate_in == ()
    assert audit.page(conn, vocab.resolve(conn, Filter(plate="鄂Z"))) == []
    import asyncio

    from tests.test_audit_data import _write, draft

    asyncio.run(_write(sample.path, [("north-gate", 999, draft(plate="鄂Z99999"))], sample.keys))
    assert vocab.resolve(conn, Filter(plate="鄂Z")).plate_in == ("鄂Z99999",)


def test_day_filter_is_the_local_calendar_day(sample: Path) -> None:
    conn = open_reader(sample)
    start, end = audit.day_bounds(DAY, TZ)
    assert start == DAY_START
    rows = [r for r in raw_rows(sample) if start.timestamp() * 1e6 <= r["ts"] < end.timestamp() * 1e6]
    assert audit.count(conn, Filter().for_day(DAY, TZ)) == len(rows) == len(raw_rows(sample)) - 2


def test_check_entry_sees_a_good_link_and_an_altered_entry(sample: Path) -> None:
    conn = open_reader(sample)
    check = audit.check_entry(conn, "north-gate", 3)
    assert check is not None and check.ok and check.seal_ok and check.sealed_at_seq == 8
    conn.close()
    alter(sample, "north-gate", 3, "鄂A12345", "鄂A00000")
    conn = open_reader(sample)
    bad = audit.check_entry(conn, "north-gate", 3)
    assert bad is not None and not bad.hash_ok and not bad.ok
    assert audit.check_entry(conn, "north-gate", 99) is None


def test_hourly_counts_add_up(sample: Path) -> None:
    conn = open_reader(sample)
    hours = audit.hourly(conn, Filter(), DAY, TZ)
    assert len(hours) == 24
    assert sum(h.total for h in hours) == audit.count(conn, Filter().for_day(DAY, TZ))
    # 00:05 local: one allowed in at north-gate (DAY_START + 5 min), 00:09 one at east-bridge
    assert hours[0].allowed_in == 2
    assert hours[1].allowed_out == 1 and hours[1].denied == 3


def test_clone_alert_flags_one_pass_in_at_two_stations(sample: Path) -> None:
    conn = open_reader(sample)
    alerts = audit.clone_alerts(conn, *audit.day_bounds(DAY, TZ))
    assert [(a.pass_id, a.first.station_id, a.second.station_id) for a in alerts.alerts] == [
        ("7K3M9QXA", "north-gate", "east-bridge")
    ]
    assert alerts.alerts[0].gap == timedelta(minutes=4)
    assert ("east-bridge", 1) in alerts.flagged()
    assert not audit.clone_alerts(conn, *audit.day_bounds(DAY, TZ), window=timedelta(minutes=3)).alerts
    assert not audit.clone_alerts(conn, *audit.day_bounds(DAY, TZ), station="south-road").alerts


def test_the_audit_core_is_headless_and_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, checkpoint.audit, checkpoint.export, checkpoint.report, checkpoint.bundle, checkpoint.loadgen; "
        "print(' '.join(sys.modules))"
    )
    modules = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "checkpoint.report" in modules
    assert not {"textual", "cv2", "fpdf"} & modules
