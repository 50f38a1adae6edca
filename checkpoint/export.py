"""Exporting the traffic log: CSV for Excel/WPS and JSON lines for programs.

CSV is UTF-8 with a byte-order mark (so Excel and WPS read Chinese correctly), one header row, times in
local time with their offset. Every text cell is cleaned of control and bidi characters, and a cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` so that a spreadsheet never
runs it as a formula. Rows stream from a read-only connection in (ts, station, seq) order: memory stays
flat whatever the size of the log.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO
from zoneinfo import ZoneInfo

from .audit import Filter
from .errors import CheckpointError
from .fsutil import describe_os_error
from .text import clean

Format = Literal["csv", "jsonl"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl")

COLUMNS = (
    "station_id", "seq", "time", "direction", "decision", "reason", "denied_for", "warnings", "category",
    "plate", "pass_id", "holder", "org", "occupants", "temperatures", "fevers", "operator", "leader",
    "override_by", "override_reason", "vehicle", "note", "refers_to", "purged", "id", "hash",
)  # fmt: skip

_SQL_COLUMNS = (
    "station_id", "seq", "ts", "direction", "verdict", "reason", "denied_for", "warnings", "category",
    "plate", "pass_id", "personal", "org", "occupants", "fevers", "operator", "leader", "override_by",
    "override_reason", "vehicle", "note", "refers_to", "commitment", "id", "hash",
)  # fmt: skip

# Text made only of these characters needs no cleaning (the fast path for a million rows).
_SAFE = re.compile(r"[\x20-\x7e\u00b7\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]*")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EMPTY_COMMITMENT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

Progress = Callable[[int], None]


def safe_text(value: str) -> str:
    """Untrusted text cleaned of control/bidi characters (fast when there are none)."""
    return value if _SAFE.fullmatch(value) else clean(value)


def neutralise(value: str) -> str:
    """A spreadsheet cell that cannot run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


class _Rows:
    """Turns raw SELECT rows into export records, caching the repeated strings (names, stations)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.cache: dict[str, str] = {}
        self.epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def text(self, value: str | None) -> str | None:
        if value is None:
            return None
        cached = self.cache.get(value)
        if cached is None:
            cached = safe_text(value)
            if len(self.cache) < 50_000:
                self.cache[value] = cached
        return cached

    def record(self, row: tuple[Any, ...]) -> list[Any]:
        (station, seq, ts, direction, verdict, reason, denied_for, warnings, category, plate, pass_id,
         personal, org, occupants, fevers, operator, leader, override_by, override_reason, vehicle, note,
         refers_to, commitment, entry_id, digest) = row  # fmt: skip
        holder: str | None = None
        temperatures = ""
        if personal is not None:
            data = json.loads(personal)
            holder = data.get("holder")
            temperatures = " ".join(f"{int(t) / 10:.1f}" for t in data.get("temperatures", ()))
        text = self.text
        moment = (self.epoch + timedelta(microseconds=ts)).astimezone(self.tz)
        return [
            text(station), seq, moment.isoformat(timespec="seconds"), direction, verdict, reason, denied_for,
            warnings, category, text(plate), text(pass_id), text(holder), text(org), occupants, temperatures,
            fevers, text(operator), text(leader), text(override_by), text(override_reason), text(vehicle),
            text(note), refers_to, personal is None and commitment != _EMPTY_COMMITMENT, entry_id, digest,
        ]  # fmt: skip


_TEXT_INDEXES = tuple(
    i
    for i, name in enumerate(COLUMNS)
    if name
    in (
        "station_id", "plate", "pass_id", "holder", "org", "operator", "leader", "override_by",
        "override_reason", "vehicle", "note", "temperatures",
    )
)  # fmt: skip
_FORMULA_FIRST = frozenset(_FORMULA_START)


def _write_jsonl(handle: TextIO, records: Any, progress: Progress | None) -> int:
    n = 0
    dumps = json.dumps
    for batch in records:
        lines = []
        for record in batch:
            item = dict(zip(COLUMNS, record, strict=True))
            temps = item["temperatures"]
            item["temperatures"] = [float(t) for t in temps.split()] if temps else []
            item["warnings"] = [w for w in item["warnings"].split(",") if w]
            lines.append(dumps(item, ensure_ascii=False))
        handle.write("\n".join(lines) + "\n")
        n += len(lines)
        if progress is not None:
            progress(n)
    return n


def _fixed_offset(conn: sqlite3.Connection, tz: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset if it is the same over the whole log (no DST in the log's years), else None."""
    low, high = conn.execute("SELECT MIN(ts), MAX(ts) FROM entries").fetchone()
    if low is None:
        return None
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = (epoch + timedelta(microseconds=low)).astimezone(tz)
    last = (epoch + timedelta(microseconds=high)).astimezone(tz)
    probes = [first, last]
    for year in range(first.year, last.year + 1):
        probes += [datetime(year, month, 15, 12, tzinfo=tz) for month in (1, 4, 7, 10)]
    offsets = {p.utcoffset() for p in probes}
    offset = offsets.pop() if len(offsets) == 1 else None
    return offset if offset is not None and offset.total_seconds() % 60 == 0 else None


def _sql_text(expr: str) -> str:
    """A quoted CSV cell from a text expression, with a leading ' when it starts like a formula
    (=, +, -, @, tab, carriage return: code points 61, 43, 45, 64, 9, 13)."""
    quoted = f"replace({expr}, '\"', '\"\"') || '\"'"
    return (
        f"CASE WHEN {expr} IS NULL THEN '' WHEN unicode({expr}) IN (61, 43, 45, 64, 9, 13) "
        f"THEN '\"''' || {quoted} ELSE '\"' || {quoted} END"
    )


def _csv_line_sql(offset: timedelta | None) -> str:
    """SQL that writes one whole CSV line per entry, so a million rows cost one Python string each."""

    def number(expr: str) -> str:
        return f"ifnull({expr}, '')"

    if offset is not None:
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        time_sql = (
            f"strftime('%Y-%m-%dT%H:%M:%S', ts / 1000000, 'unixepoch', '{minutes:+d} minutes') || '{suffix}'"
        )
    else:
        time_sql = "checkpoint_local_time(ts)"
    temps = (
        "(SELECT ifnull(group_concat(printf('%.1f', value / 10.0), ' '), '') "
        "FROM json_each(personal, '$.temperatures'))"
    )
    purged = f"CASE WHEN personal IS NULL AND commitment != '{_EMPTY_COMMITMENT}' THEN 'yes' ELSE '' END"
    parts = [
        _sql_text("station_id"), number("seq"), time_sql, "direction", "verdict", "reason",
        "ifnull(denied_for, '')", _sql_text("warnings"), "ifnull(category, '')", _sql_text("plate"),
        _sql_text("pass_id"), _sql_text("json_extract(personal, '$.holder')"), _sql_text("org"),
        number("occupants"), f"CASE WHEN personal IS NULL THEN '' ELSE {temps} END", number("fevers"),
        _sql_text("operator"), _sql_text("leader"), _sql_text("override_by"), _sql_text("override_reason"),
        _sql_text("vehicle"), _sql_text("note"), "ifnull(refers_to, '')", purged, "id", "hash",
    ]  # fmt: skip
    return " || ',' || ".join(parts)


# A line made only of these characters needs no cleaning; any other line is redone in Python.
_SAFE_LINE = re.compile(r"[\x20-\x7e\u00b7\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e]*")


def _careful_line(conn: sqlite3.Connection, rows: _Rows, rowid: int) -> str:
    """One entry's CSV line through the careful path: every text cell cleaned, then neutralised."""
    raw = conn.execute(f"SELECT {', '.join(_SQL_COLUMNS)} FROM entries WHERE rowid = ?", (rowid,)).fetchone()
    record = rows.record(raw)
    for i in _TEXT_INDEXES:
        value = record[i]
        if value and value[0] in _FORMULA_FIRST:
            record[i] = "'" + value
    record[23] = "yes" if record[23] else ""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(record)
    return out.getvalue()


def _prepare(conn: sqlite3.Connection, tz: ZoneInfo, offset: timedelta | None) -> None:
    if offset is None:
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        conn.create_function(
            "checkpoint_local_time",
            1,
            lambda ts: (epoch + timedelta(microseconds=ts)).astimezone(tz).isoformat(timespec="seconds"),
            deterministic=True,
        )


def _lines(
    conn: sqlite3.Connection,
    where: str,
    params: list[Any],
    tz: ZoneInfo,
    offset: timedelta | None,
    batch: int,
) -> Iterator[list[str]]:
    """The CSV lines of the entries matching `where`, in (ts, station, seq) order, a batch at a time."""
    cursor = conn.execute(
        f"SELECT rowid, {_csv_line_sql(offset)} FROM entries WHERE {where} ORDER BY ts, station_id, seq",
        params,
    )
    rows = _Rows(tz)
    safe = _SAFE_LINE.fullmatch
    while True:
        chunk = cursor.fetchmany(batch)
        if not chunk:
            return
        yield [line if safe(line) else _careful_line(conn, rows, rowid) for rowid, line in chunk]


PARALLEL_ROWS = 50_000
"""From this many matching rows on, a CSV export is cut into time ranges built by one process per core
(SQLite's line building is the cost; processes do not share a GIL) and the parts are joined in order."""


def _ranges(
    conn: sqlite3.Connection, where: str, params: list[Any], total: int, parts: int
) -> list[tuple[int, int]]:
    """`parts` [low, high) ts ranges holding about the same number of matching rows (cut between timestamps)."""
    cuts: list[int] = []
    for i in range(1, parts):
        row = conn.execute(
            f"SELECT ts FROM entries WHERE {where} ORDER BY ts LIMIT 1 OFFSET ?",
            (*params, total * i // parts),
        ).fetchone()
        if row is not None and (not cuts or row[0] > cuts[-1]):
            cuts.append(int(row[0]))
    bounds = [-(2**63), *cuts, 2**63 - 1]
    return list(itertools.pairwise(bounds))


def _export_range(
    database: str, where: str, params: list[Any], span: tuple[int, int], zone_key: str, out: str, batch: int
) -> int:
    """In a worker process: the CSV lines of one time range, written to `out` (no header, no BOM)."""
    tz = ZoneInfo(zone_key)
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        offset = _fixed_offset(conn, tz)
        _prepare(conn, tz, offset)
        n = 0
        with open(out, "w", encoding="utf-8", newline="") as handle:
            for lines in _lines(
                conn, f"({where}) AND ts >= ? AND ts < ?", [*params, *span], tz, offset, batch
            ):
                handle.write("\r\n".join(lines) + "\r\n")
                n += len(lines)
        return n
    finally:
        conn.close()


def _export_csv(
    conn: sqlite3.Connection,
    where: str,
    params: list[Any],
    handle: TextIO,
    tz: ZoneInfo,
    progress: Progress | None,
    batch: int,
    part_prefix: Path,
) -> int:
    offset = _fixed_offset(conn, tz)
    _prepare(conn, tz, offset)
    csv.writer(handle, lineterminator="\r\n").writerow(COLUMNS)
    cores = min(os.cpu_count() or 1, 4)
    database = conn.execute("PRAGMA database_list").fetchone()[2]
    total = conn.execute(f"SELECT COUNT(*) FROM entries WHERE {where}", params).fetchone()[0]
    if cores >= 2 and total >= PARALLEL_ROWS and database:
        try:
            return _export_parts(
                conn, database, where, params, handle, tz, progress, batch, part_prefix, cores, total
            )
        except BrokenProcessPool:
            pass  # no worker processes here (e.g. run from a pipe): the one-process way below
    n = 0
    for lines in _lines(conn, where, params, tz, offset, batch):
        handle.write("\r\n".join(lines) + "\r\n")
        n += len(lines)
        if progress is not None:
            progress(n)
    return n


def _export_parts(
    conn: sqlite3.Connection,
    database: str,
    where: str,
    params: list[Any],
    handle: TextIO,
    tz: ZoneInfo,
    progress: Progress | None,
    batch: int,
    part_prefix: Path,
    cores: int,
    total: int,
) -> int:
    """Build the time ranges in worker processes; only when every part is written, join them in order."""
    from multiprocessing import get_context

    spans = _ranges(conn, where, params, total, cores * 2)
    parts = [part_prefix.with_name(f"{part_prefix.name}.{i}") for i in range(len(spans))]
    n = 0
    try:
        with ProcessPoolExecutor(max_workers=cores, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_export_range, database, where, params, span, tz.key, str(part), batch)
                for span, part in zip(spans, parts, strict=True)
            ]
            for future in futures:
                n += future.result()
                if progress is not None:
                    progress(n)
        for part in parts:
            with part.open(encoding="utf-8", newline="") as source:
                shutil.copyfileobj(source, handle, 1 << 20)
            part.unlink()
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    return n


def export_log(
    conn: sqlite3.Connection,
    flt: Filter,
    out: Path,
    fmt: Format,
    tz: ZoneInfo,
    *,
    progress: Progress | None = None,
    batch: int = 5000,
) -> int:
    """Write every entry matching `flt` to `out` (written to a temporary file, then renamed). Returns rows."""
    if fmt not in FORMATS:
        raise CheckpointError(f"Unknown export format {fmt!r}; use csv or jsonl.")
    where, params = flt.where()
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            with partial.open("w", encoding="utf-8-sig", newline="") as handle:
                n = _export_csv(conn, where, params, handle, tz, progress, batch, partial)
        else:
            cursor = conn.execute(
                f"SELECT {', '.join(_SQL_COLUMNS)} FROM entries WHERE {where} ORDER BY ts, station_id, seq",
                params,
            )
            rows = _Rows(tz)

            def records() -> Any:
                while True:
                    chunk = cursor.fetchmany(batch)
                    if not chunk:
                        return
                    yield [rows.record(row) for row in chunk]

            with partial.open("w", encoding="utf-8", newline="") as handle:
                n = _write_jsonl(handle, records(), progress)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CheckpointError(describe_os_error(exc, out)) from exc
    return n
