"""`checkpoint log export`: CSV for Excel/WPS (BOM, no formulas, no control characters) and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from checkpoint.export import neutralise, safe_text
from checkpoint.paths import Home
from tests.conftest import run_cli
from tests.test_audit_data import HOSTILE, build_sample, raw_rows


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "audit").ensure()
    build_sample(home.log_db)
    return home


def _csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "Excel and WPS need the UTF-8 byte-order mark"
    return list(csv.DictReader(io.StringIO(data[3:].decode("utf-8"))))


def test_csv_has_every_entry_in_order_with_chinese_intact(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "log.csv"
    result = run_cli(home, "log", "export", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = _csv(out)
    raw = raw_rows(home.log_db)
    assert [(r["station_id"], int(r["seq"])) for r in rows] == [(r["station_id"], r["seq"]) for r in raw]
    first = rows[0]
    assert first["plate"] == "鄂A12345" and first["holder"] == "张三" and first["temperatures"] == "36.5"
    assert first["time"].endswith("+08:00")
    assert f"Exported {len(raw)} entries" in result.output


def test_csv_formula_injection_is_neutralised(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "log.csv"
    run_cli(home, "log", "export", "--out", str(out))
    text_cells = [
        cell
        for row in _csv(out)
        for key, cell in row.items()
        if key not in ("seq", "time", "fevers", "occupants", "temperatures", "hash", "id")
    ]
    assert not [c for c in text_cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    hostile = next(r for r in _csv(out) if r["pass_id"] == "HOST0001")
    assert hostile["note"] == "'" + HOSTILE[3]
    assert hostile["holder"] == HOSTILE[0]  # markup is just text in a CSV
    assert "\x1b" not in out.read_text(encoding="utf-8-sig") and "\u202e" not in out.read_text(
        encoding="utf-8-sig"
    )
    assert hostile["operator"] == "␛[31mred␛[0m"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise(value: str) -> None:
    assert neutralise(value) == "'" + value
    assert neutralise("鄂A" + value) == "鄂A" + value


def test_safe_text_cleans_only_when_needed() -> None:
    assert safe_text("鄂A·12345 张三") == "鄂A·12345 张三"
    assert safe_text("a\x1bb\u202ec") == "a␛b\ufffdc"


def test_jsonl_with_filters(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "fevers.jsonl"
    result = run_cli(
        home, "log", "export", "--format", "jsonl", "--fevers", "--from", "2026-02-03", "--until", "2026-02-03",
        "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    expected = [r for r in raw_rows(home.log_db) if r["fevers"] > 0]
    assert [(x["station_id"], x["seq"]) for x in lines] == [(r["station_id"], r["seq"]) for r in expected]
    assert lines[0]["temperatures"] == [36.6, 38.5] and lines[0]["fevers"] == 1


def test_station_and_plate_filters(home: Home, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    run_cli(home, "log", "export", "--station", "east-bridge", "--plate", "a666", "--out", str(out))
    rows = _csv(out)
    assert len(rows) == 2 and {r["plate"] for r in rows} == {"鄂A66666"}


def test_bad_input_is_one_sentence(home: Home, tmp_path: Path) -> None:
    result = run_cli(home, "log", "export", "--from", "yesterday", "--out", str(tmp_path / "x.csv"))
    assert result.exit_code == 2 and "is not a date or time" in result.output
    assert "Traceback" not in result.output
    empty = Home(tmp_path / "empty").ensure()
    result = run_cli(empty, "log", "export", "--out", str(tmp_path / "y.csv"))
    assert result.exit_code == 2 and "nothing to export" in result.output
    assert not (tmp_path / "y.csv").exists()


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Europe/Berlin"])
def test_fast_lines_equal_the_careful_path(home: Home, tmp_path: Path, zone_name: str) -> None:
    """The SQL-built CSV lines (fast path) read back exactly like the Python-built ones (careful path)."""
    from zoneinfo import ZoneInfo

    from checkpoint import export
    from checkpoint.audit import Filter
    from checkpoint.store import open_reader

    tz = ZoneInfo(zone_name)
    conn = open_reader(home.log_db)
    offset = export._fixed_offset(conn, tz)
    assert (offset is None) == (zone_name == "Europe/Berlin")
    out = tmp_path / "fast.csv"
    export.export_log(conn, Filter(), out, "csv", tz)
    fast = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))[1:]
    rows = export._Rows(tz)
    rowids = [r[0] for r in conn.execute("SELECT rowid FROM entries ORDER BY ts, station_id, seq")]
    careful = [next(csv.reader([export._careful_line(conn, rows, rowid)])) for rowid in rowids]
    assert fast == careful


def test_formulas_are_neutralised_on_the_fast_path_too(tmp_path: Path) -> None:
    """Plain printable text (no control characters) takes the SQL-built path: it must neutralise too."""
    from tests.test_audit_data import draft

    home = Home(tmp_path / "f").ensure()
    plan = [
        ("north-gate", 1.0, draft(note=value, operator=value, holder=value, plate="鄂A12345"))
        for value in ("=1+1", "+1", "-1", "@SUM(A1)", 'say "hi", ok')
    ]
    build_sample(home.log_db, plan)
    out = tmp_path / "f.csv"
    assert run_cli(home, "log", "export", "--out", str(out)).exit_code == 0
    rows = _csv(out)
    assert [r["note"] for r in rows] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", 'say "hi", ok']
    assert [r["operator"] for r in rows] == [r["note"] for r in rows] == [r["holder"] for r in rows]


def test_parallel_parts_join_into_the_same_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above PARALLEL_ROWS the CSV is built in time ranges shared with a helper process: the same file."""
    from zoneinfo import ZoneInfo

    from checkpoint import export
    from checkpoint.audit import Filter
    from checkpoint.loadgen import build_log
    from checkpoint.store import open_reader

    path = tmp_path / "log.db"
    build_log(path, 2000, stations=3, seed=9)
    conn = open_reader(path)
    tz = ZoneInfo("Asia/Shanghai")
    flt = Filter(verdict=None)
    one = export.export_log(conn, flt, tmp_path / "one.csv", "csv", tz)
    monkeypatch.setattr(export, "PARALLEL_ROWS", 10)
    monkeypatch.setattr(export, "SPAN_ROWS", 150)
    monkeypatch.setattr(export.os, "cpu_count", lambda: 2)
    spans = export._spans(conn, "1", [], 2000)
    assert len(spans) >= 12
    seen: list[int] = []
    many = export.export_log(conn, flt, tmp_path / "many.csv", "csv", tz, progress=seen.append)
    assert one == many == 2000
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "many.csv").read_bytes()
    assert len(seen) == len(spans) and seen == sorted(seen) and seen[-1] == 2000  # once per range
    assert not list(tmp_path.glob("*.partial*"))


def test_without_helper_processes_the_export_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no process can be started (a frozen interpreter, a process limit), this one does it all."""
    from zoneinfo import ZoneInfo

    from checkpoint import export, sharing
    from checkpoint.audit import Filter
    from checkpoint.loadgen import build_log
    from checkpoint.store import open_reader

    path = tmp_path / "log.db"
    build_log(path, 500, stations=2, seed=4)
    conn = open_reader(path)
    tz = ZoneInfo("Asia/Shanghai")
    export.export_log(conn, Filter(), tmp_path / "one.csv", "csv", tz)

    class NoProcesses:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def start(self) -> None:
            raise OSError("Resource temporarily unavailable")

    context = sharing.get_context("spawn")
    monkeypatch.setattr(context, "Process", NoProcesses)
    monkeypatch.setattr(sharing, "get_context", lambda method: context)
    monkeypatch.setattr(export, "PARALLEL_ROWS", 10)
    monkeypatch.setattr(export, "SPAN_ROWS", 100)
    monkeypatch.setattr(export.os, "cpu_count", lambda: 2)
    assert export.export_log(conn, Filter(), tmp_path / "two.csv", "csv", tz) == 500
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    assert not list(tmp_path.glob("*.partial*"))


def test_a_damaged_log_is_one_sentence_and_leaves_no_half_file(tmp_path: Path) -> None:
    from checkpoint.loadgen import build_log

    home = Home(tmp_path / "h").ensure()
    build_log(home.log_db, 300, stations=1, seed=2)
    with home.log_db.open("r+b") as handle:  # what a failing disk does: a stretch of a page overwritten
        handle.seek(4096)
        handle.write(b"A" * 2000)
    out = tmp_path / "x.csv"
    for args in (("log", "list"), ("log", "export", "--out", str(out))):
        result = run_cli(home, *args)
        assert result.exit_code == 2, result.output
        assert "is damaged" in result.output and "unexpected" not in result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob("x.csv*"))
