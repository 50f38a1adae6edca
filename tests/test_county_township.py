"""A township's log moved into the county store: same counts, same verification, same report, same export."""

from __future__ import annotations

import asyncio
import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checkpoint import county
from checkpoint.audit import Filter
from checkpoint.county_reader import county_export, county_report
from checkpoint.export import export_log
from checkpoint.loadgen import build_log
from checkpoint.paths import Home
from checkpoint.report import build_report, render_markdown
from checkpoint.store import LogStore, open_reader, verify_log
from tests.conftest import run_cli
from tests.test_audit_data import draft
from tests.test_bundle import enrol

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def township(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A township office's log: 12,000 entries of 3 stations over two local days, sealed, with shifts."""
    path = tmp_path_factory.mktemp("township") / "log.db"
    build_log(path, 12_000, stations=3)
    return path


@pytest.fixture
def office(tmp_path: Path, county_url: str) -> Home:
    home = Home(tmp_path / "county").ensure()
    home.config.write_text(f'[log]\ndatabase = "{county_url}"\n', encoding="utf-8")
    return home


def _summary(result: object) -> list[tuple[object, ...]]:
    return [
        (r.station_id, r.entries, r.head_seq, r.seals, r.last_sealed_seq, r.ok)
        for r in result.stations  # type: ignore[attr-defined]
    ]


def test_import_log_gives_the_same_counts_verify_and_report(
    township: Path, office: Home, county_url: str
) -> None:
    first = run_cli(office, "county", "import-log", str(township))
    assert first.exit_code == 0, first.output
    assert "Imported 12000 new entries of 3 station(s)" in first.output
    again = run_cli(office, "county", "import-log", str(township))
    assert again.exit_code == 0 and "Imported 0 new entries" in again.output, again.output

    here, there = verify_log(township), county.verify(county_url)
    assert here.ok and there.ok
    assert _summary(there) == _summary(here)
    assert run_cli(office, "log", "verify").exit_code == 0

    conn = open_reader(township)
    try:
        for day in (date(2026, 1, 1), date(2026, 1, 2)):
            for station in (None, "east-bridge"):
                expected = build_report(conn, day, TZ, station=station, now=NOW)
                got = county_report(county_url, day, TZ, station=station, now=NOW)
                assert got.totals.total > 0
                assert render_markdown(got, "zh") == render_markdown(expected, "zh")
                assert render_markdown(got, "en") == render_markdown(expected, "en")
    finally:
        conn.close()


def test_report_and_exports_on_a_county_home(
    township: Path, office: Home, tmp_path: Path, county_url: str
) -> None:
    assert run_cli(office, "county", "import-log", str(township)).exit_code == 0
    shown = run_cli(office, "report", "--date", "2026-01-01", "--lang", "en")
    assert shown.exit_code == 0, shown.output
    assert "north-gate" in shown.output
    pdf = tmp_path / "r.pdf"
    written = run_cli(office, "report", "--date", "2026-01-01", "--format", "pdf", "--out", str(pdf))
    assert written.exit_code == 0, written.output
    assert pdf.read_bytes().startswith(b"%PDF")

    flt = Filter(station="south-road", start=datetime(2026, 1, 1, 6, tzinfo=UTC))
    conn = open_reader(township)
    try:
        export_log(conn, flt, tmp_path / "township.jsonl", "jsonl", TZ)
    finally:
        conn.close()
    assert county_export(county_url, flt, tmp_path / "county.jsonl", "jsonl", TZ) > 0
    assert (tmp_path / "county.jsonl").read_text() == (tmp_path / "township.jsonl").read_text()
    cli = run_cli(
        office, "log", "export", "--format", "csv", "--out", str(tmp_path / "c.csv"), "--station", "west-hill"
    )
    assert cli.exit_code == 0 and "Exported 0 entries" in cli.output  # no such station in this log


def test_csv_cells_are_neutralised(tmp_path: Path, office: Home, county_url: str) -> None:
    station = Home(tmp_path / "st").ensure()
    station.config.write_text('[station]\nid = "north-gate"\n', encoding="utf-8")

    async def log() -> None:
        store = await LogStore.open(station.log_db, "north-gate")
        async with store:
            await store.append(
                draft(note='=HYPERLINK("http://x")', holder="@SUM(A1)"), now=NOW - timedelta(hours=1)
            )

    asyncio.run(log())
    enrol(station, office)
    assert run_cli(station, "bundle", "export", "--out", str(tmp_path / "b.bundle")).exit_code == 0
    assert run_cli(office, "bundle", "import", "--no-purge", str(tmp_path / "b.bundle")).exit_code == 0
    out = tmp_path / "e.csv"
    result = run_cli(office, "log", "export", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0 and "Exported 1 entries" in result.output, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows[0]["note"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["holder"] == "'@SUM(A1)"
    listed = run_cli(office, "log", "list", "--json")
    assert json.loads(listed.output)["note"] == '=HYPERLINK("http://x")'  # JSON keeps the text as it is


def test_audit_queries_answer_the_same_on_the_county(township: Path, county_url: str) -> None:
    from checkpoint import audit
    from checkpoint.county import import_log
    from checkpoint.county_reader import reading
    from checkpoint.models import Reason, Verdict

    import_log(county_url, township)
    day = date(2026, 1, 1)
    filters = [
        Filter(),
        Filter(station="north-gate", verdict=Verdict.DENY).for_day(day, TZ),
        Filter(reason=Reason.OVERRIDE),
        Filter(fevers_only=True, current_only=True),
        Filter(plate="鄂A1"),
        Filter(operator="王", plate_in=()),
    ]
    conn = open_reader(township)
    try:
        with reading(county_url) as reader:
            pg = reader.sqlite
            assert audit.stations(pg) == audit.stations(conn)
            assert audit.operators(pg) == audit.operators(conn)
            for flt in filters:
                assert audit.count(pg, flt) == audit.count(conn, flt)
                assert audit.count(pg, flt, cap=50) == audit.count(conn, flt, cap=50)
                first = audit.page(pg, flt, limit=30)
                assert first == audit.page(conn, flt, limit=30)
                if first:
                    after = audit.key_of(first[-1])
                    assert audit.page(pg, flt, after, limit=30) == audit.page(conn, flt, after, limit=30)
            assert audit.hourly(pg, Filter(), day, TZ) == audit.hourly(conn, Filter(), day, TZ)
            assert audit.check_entry(pg, "east-bridge", 7) == audit.check_entry(conn, "east-bridge", 7)
    finally:
        conn.close()


def test_four_auditors_while_an_import_runs_see_no_errors_and_the_quiet_results(
    township: Path, county_url: str
) -> None:
    import threading

    from checkpoint import audit
    from checkpoint.county import chunks, merge
    from checkpoint.county_reader import reading
    from checkpoint.keys import public_from_raw
    from checkpoint.models import Verdict
    from checkpoint.timeutil import from_micros

    conn = open_reader(township)
    keys = {
        str(r[0]): (bytes(r[1]), str(r[2]))
        for r in conn.execute("SELECT station_id, public_key, name FROM stations")
    }
    runs = {sid: list(chunks(conn, sid, *key, size=500)) for sid, key in keys.items()}
    conn.close()
    first = [b for sid in sorted(runs) for b in runs[sid][:2]]
    rest = [b for sid in sorted(runs) for b in runs[sid][2:]]
    for sid, (raw, name) in keys.items():  # the county enrols them first (no trust on first use)
        county.enrol_station(county_url, sid, public_from_raw(raw), name, now=NOW)
    with county.session(county_url) as writer:
        for bundle in first:
            merge(writer, bundle, township)
    # What the auditors ask about is all there before the import starts: the answers must not change.
    cut = from_micros(min(json.loads(b.entries[0][0])[3] for b in rest))
    filters = [Filter(station=sid, verdict=Verdict.DENY, end=cut) for sid in sorted(runs)]
    filters += [Filter(station=sid, end=cut) for sid in sorted(runs)]

    def answers() -> list[list[tuple[str, int]]]:
        with reading(county_url) as reader:
            return [[(e.station_id, e.seq) for e in audit.page(reader.sqlite, flt)] for flt in filters]

    quiet = answers()
    assert any(quiet)
    errors: list[BaseException] = []
    seen: list[list[list[tuple[str, int]]]] = []
    started = threading.Barrier(5)
    done = threading.Event()

    def auditor() -> None:
        started.wait()
        try:
            while True:  # at least one pass, then until the import is over
                seen.append(answers())
                if done.is_set():
                    return
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=auditor) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    with county.session(county_url) as writer:
        for bundle in rest:
            merge(writer, bundle, township)
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) >= 4 and all(result == quiet for result in seen)
    assert county.verify(county_url).entries == 12_000
