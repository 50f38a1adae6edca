"""Exporting the traffic log: CSV for Excel/WPS and JSON lines for programs.

CSV is UTF-8 with a byte-order mark (so Excel and WPS read Chinese correctly), one header row, times in
local time with their offset. Every text cell is quoted and cleaned of control and bidi characters, and a
cell that starts with `=`, `+`, `-`, `@` (or their full-width forms `＝ ＋ － ＠`), a tab or a carriage return
gets a leading `'` so that a spreadsheet never runs it as a formula. JSON lines are cleaned the same way. Rows stream from a read-only connection in (ts, station, seq) order: memory stays
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
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal, TextIO
from zoneinfo import ZoneInfo

from .audit import Filter
from .chain import EMPTY_COMMITMENT
from .errors import CheckpointError
from .fsutil import write_error
from .store import damaged
from .text import FORMULA_START, clean, neutralise_formula

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
_SAFE_CHARS = r"\x20-\x7e\u00b7\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e"
_SAFE = re.compile(f"[{_SAFE_CHARS}]*")

Progress = Callable[[int], None]


def safe_text(value: str) -> str:
    """Untrusted text cleaned of control/bidi characters (fast when there are none)."""
    return value if _SAFE.fullmatch(value) else clean(value)


neutralise = neutralise_formula  # the one rule (checkpoint.text), under the name the export readers use


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
            text(station), seq, moment.isoformat(timespec="seconds"), text(direction), text(verdict),
            text(reason), text(denied_for), text(warnings), text(category), text(plate), text(pass_id),
            text(holder), text(org), occupants, temperatures, fevers, text(operator), text(leader),
            text(override_by), text(override_reason), text(vehicle), text(note), text(refers_to),
            personal is None and commitment != EMPTY_COMMITMENT, text(entry_id), text(digest),
        ]  # fmt: skip


_TEXT_INDEXES = tuple(
    i for i, name in enumerate(COLUMNS) if name not in ("seq", "occupants", "fevers", "purged")
)  # every cell but the numbers (and the yes/no of `purged`) is text: quoted, cleaned, neutralised


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
    # Two queries: each is an index lookup, while MIN and MAX together make SQLite scan the whole index.
    low = conn.execute("SELECT MIN(ts) FROM entries").fetchone()[0]
    high = conn.execute("SELECT MAX(ts) FROM entries").fetchone()[0]
    if low is None or high is None:
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


def _csv_line_sql(offset: timedelta | None) -> str:
    """SQL that writes one whole CSV line per entry with a single printf(), so a million rows cost one
    Python string each and SQLite builds each line in one allocation.

    Every text cell is quoted with `%w` (which doubles any `"`), the vocabularies, ids and hashes too (a
    log merged from elsewhere is not trusted to hold only what a station writes); an empty cell and a NULL
    both read as empty in Excel, WPS and csv readers. Only numbers are written bare. Formula neutralisation and the control-character check run
    afterwards in Python over a whole batch (`_batches`, `_neutralised`).
    """
    if offset is not None:
        seconds = int(offset.total_seconds())
        sign = "+" if seconds >= 0 else "-"
        suffix = f"{sign}{abs(seconds) // 3600:02d}:{abs(seconds) % 3600 // 60:02d}"
        local = f"ts / 1000000 + {seconds}"
        time_cell = (f"%sT%s{suffix}", f"date({local}, 'unixepoch'), time({local}, 'unixepoch')")
    else:
        time_cell = ("%s", "checkpoint_local_time(ts)")

    def text(expr: str) -> tuple[str, str]:
        return '"%w"', f"ifnull({expr}, '')"

    def bare(expr: str) -> tuple[str, str]:
        return "%s", expr  # printf writes NULL as nothing

    temps = (
        "CASE WHEN personal IS NULL THEN '' ELSE (SELECT ifnull(group_concat(printf('%.1f', value / 10.0), ' '), '') "
        "FROM json_each(personal, '$.temperatures')) END"
    )
    purged = f"iif(personal IS NULL AND commitment != '{EMPTY_COMMITMENT}', 'yes', '')"
    time_cell = ('"' + time_cell[0] + '"', time_cell[1])
    cells = [
        text("station_id"), bare("seq"), time_cell, text("direction"), text("verdict"), text("reason"),
        text("denied_for"), text("warnings"), text("category"), text("plate"), text("pass_id"),
        text("personal ->> '$.holder'"), text("org"), bare("occupants"), ('"%s"', temps), bare("fevers"),
        text("operator"), text("leader"), text("override_by"), text("override_reason"), text("vehicle"),
        text("note"), text("refers_to"), bare(purged), text("id"), text("hash"),
    ]  # fmt: skip
    assert len(cells) == len(COLUMNS)
    template = ",".join(fmt for fmt, _ in cells)
    return f"printf('{template}', {', '.join(args for _, args in cells)})"


# Text made only of these characters needs no cleaning; a batch with any other character is redone line
# by line, and a line with one is redone in Python (`_careful_line`).
_SAFE_BATCH = re.compile(f"[{_SAFE_CHARS}\r\n]*")
# A quoted cell that starts like a formula. Inside a quoted cell every `"` is doubled, so `,"=` can only be
# the start of a cell (and a safe line has no tab or carriage return in a cell).
_SIGNS = [c for c in FORMULA_START if c.isprintable()]  # FORMULA_START less the tab and carriage return
_FORMULA_CELL = re.compile(f'(^|,)"([{re.escape("".join(_SIGNS))}])', re.MULTILINE)
_FORMULA_HINTS = tuple('"' + c for c in _SIGNS if c.isascii())
_FULL_WIDTH_FORMULA = "".join(c for c in _SIGNS if not c.isascii())  # rare: looked for one at a time (fast)


def _neutralised(text: str) -> str:
    if any(hint in text for hint in _FORMULA_HINTS) or any(ch in text for ch in _FULL_WIDTH_FORMULA):
        return _FORMULA_CELL.sub("\\1\"'\\2", text)
    return text


def _careful_line(conn: sqlite3.Connection, rows: _Rows, rowid: int) -> str:
    """One entry's CSV line through the careful path: every text cell cleaned, then neutralised."""
    raw = conn.execute(f"SELECT {', '.join(_SQL_COLUMNS)} FROM entries WHERE rowid = ?", (rowid,)).fetchone()
    record = rows.record(raw)
    for i in _TEXT_INDEXES:
        value = record[i]
        if value:
            record[i] = neutralise_formula(value)
    record[23] = "yes" if record[23] else ""
    out = io.StringIO()
    csv.writer(out, lineterminator="", quoting=csv.QUOTE_NONNUMERIC).writerow(
        ["" if value is None else value for value in record]
    )
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


_line_of = itemgetter(1)


def _batches(
    conn: sqlite3.Connection,
    where: str,
    params: list[Any],
    tz: ZoneInfo,
    offset: timedelta | None,
    batch: int,
) -> Iterator[tuple[int, str]]:
    """The CSV text (lines ending in CRLF) of the entries matching `where`, in (ts, station, seq) order,
    a batch at a time, with the number of lines in it."""
    cursor = conn.execute(
        f"SELECT rowid, {_csv_line_sql(offset)} FROM entries WHERE {where} ORDER BY ts, station_id, seq",
        params,
    )
    rows = _Rows(tz)
    safe = _SAFE.fullmatch
    while True:
        chunk = cursor.fetchmany(batch)
        if not chunk:
            return
        text = "\r\n".join(map(_line_of, chunk))
        # A line break inside a cell is not safe either: it would pass the batch check, so count lines.
        if _SAFE_BATCH.fullmatch(text) is None or text.count("\n") != len(chunk) - 1:
            text = "\r\n".join(
                line if safe(line) else _careful_line(conn, rows, rowid) for rowid, line in chunk
            )
        yield len(chunk), _neutralised(text) + "\r\n"


def _write(
    handle: TextIO, batches: Iterator[tuple[int, str]], progress: Progress | None = None, done: int = 0
) -> int:
    """Write the batches' text; returns `done` plus the lines written (told to `progress` as it goes)."""
    for count, text in batches:
        handle.write(text)
        done += count
        if progress is not None:
            progress(done)
    return done


def _in_span(where: str, params: list[Any], span: tuple[int, int]) -> tuple[str, list[Any]]:
    """The filter narrowed to one [low, high) time range."""
    return f"({where}) AND ts >= ? AND ts < ?", [*params, *span]


PARALLEL_ROWS = 50_000
"""From this many matching rows on, a CSV export is cut into time ranges shared between this process and a
helper process per further core (SQLite's line building is the cost; processes do not share a GIL)."""
SPAN_ROWS = 25_000
"""About this many rows per time range: small enough that neither process is left with a long tail."""


def _spans(conn: sqlite3.Connection, where: str, params: list[Any], total: int) -> list[tuple[int, int]]:
    """[low, high) ts ranges covering every matching entry, cut at even times (a cut costs nothing)."""
    low = conn.execute(f"SELECT MIN(ts) FROM entries WHERE {where}", params).fetchone()[0]
    high = conn.execute(f"SELECT MAX(ts) FROM entries WHERE {where}", params).fetchone()[0]
    if low is None or high is None:
        return [(-(2**63), 2**63 - 1)]
    count = max(2, -(-total // SPAN_ROWS))
    width = max(1, -(-(high + 1 - low) // count))
    cuts = list(range(low + width, high + 1, width))
    bounds = [-(2**63), *cuts, 2**63 - 1]
    return list(itertools.pairwise(bounds))


def _export_range(
    index: int,
    database: str,
    where: str,
    params: list[Any],
    spans: list[tuple[int, int]],
    zone_key: str,
    offset: timedelta | None,
    parts: list[str],
    batch: int,
) -> int:
    """The CSV lines of time range `index`, written to its part file (no header, no BOM). Runs in a
    helper process, or here for a range a helper could not finish."""
    tz = ZoneInfo(zone_key)
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        _prepare(conn, tz, offset)
        with open(parts[index], "w", encoding="utf-8", newline="") as handle:
            return _write(handle, _batches(conn, *_in_span(where, params, spans[index]), tz, offset, batch))
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
        return _export_parts(
            conn,
            database,
            where,
            params,
            handle,
            tz,
            offset,
            progress,
            batch,
            part_prefix,
            cores - 1,
            total,
        )
    return _write(handle, _batches(conn, where, params, tz, offset, batch), progress)


def _export_parts(
    conn: sqlite3.Connection,
    database: str,
    where: str,
    params: list[Any],
    handle: TextIO,
    tz: ZoneInfo,
    offset: timedelta | None,
    progress: Progress | None,
    batch: int,
    part_prefix: Path,
    helpers: int,
    total: int,
) -> int:
    """Share the time ranges (checkpoint.sharing): this process writes ranges from the front straight into
    `handle` while the helpers build ranges from the back into part files, appended after in order."""
    from .sharing import share

    spans = _spans(conn, where, params, total)
    parts = [str(part_prefix.with_name(f"{part_prefix.name}.{i}")) for i in range(len(spans))]
    n = 0

    def here(index: int) -> None:
        nonlocal n
        n = _write(handle, _batches(conn, *_in_span(where, params, spans[index]), tz, offset, batch), done=n)
        if progress is not None:
            progress(n)

    def received(index: int, count: int) -> None:
        nonlocal n
        n += count
        if progress is not None:
            progress(n)

    try:
        mine = share(
            len(spans),
            here,
            _export_range,
            (database, where, params, spans, tz.key, offset, parts, batch),
            received,
            helpers,
        )
        handle.flush()
        for part in parts[mine:]:
            with open(part, "rb") as source:
                shutil.copyfileobj(source, handle.buffer, 1 << 20)
            os.unlink(part)
        handle.buffer.flush()
    finally:
        for part in parts:
            Path(part).unlink(missing_ok=True)
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
        raise write_error(exc, out) from exc
    except sqlite3.DatabaseError as exc:
        partial.unlink(missing_ok=True)
        database = Path(conn.execute("PRAGMA database_list").fetchone()[2] or "the log")
        raise damaged(database, exc) from exc
    except BaseException:
        partial.unlink(missing_ok=True)  # an interrupted export leaves no half file
        raise
    return n
