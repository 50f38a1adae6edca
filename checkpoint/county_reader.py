"""Reading the county store through the same code as a township's log: the report, the export, audit.

`report.build_report`, `audit.hourly`, `audit.clone_alerts` and `export.export_log` ask a connection
`execute(sql, params)` with SQLite's `?` marks; so do the audit queries (`audit.page`, `count`,
`stations`, `operators`, `check_entry`, `hourly`). `Reader` answers those calls on PostgreSQL (one
read-only snapshot; server-side cursors for exports), so what a report or an export contains is decided
in one place for both stores. The daily counts come from the county's rollup (`report.Totals`), not from the entries.

`CountyLog` is the county's `audit.AuditLog`: the audit screen reads the server through it exactly as it
reads a `log.db` through `audit.SQLiteLog`, and never knows which store it has.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from itertools import count
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import psycopg

from . import audit
from .audit import AuditLog, Filter, Progress
from .chain import VerifyResult
from .county import session, where
from .errors import CheckpointError
from .export import _SQL_COLUMNS, _TEXT_INDEXES, COLUMNS, Format, _Rows, export_log, neutralise
from .fsutil import describe_os_error
from .report import DailyReport, Totals, build_report

_TRUE = re.compile(r"\bWHERE 1\b")
_EMPTY_IN = re.compile(r"\b(WHERE|AND) 0\b")
_UNNAMED_SUBQUERY = re.compile(r"LIMIT %s\)$")  # PostgreSQL before 16 names every subquery in FROM


def translate(query: str) -> str:
    """SQLite's dialect, as the readers write it, in PostgreSQL's (and psycopg's %s marks)."""
    text = query.replace("%", "%%").replace("?", "%s").replace("instr(", "strpos(")
    text = _EMPTY_IN.sub(r"\1 FALSE", _TRUE.sub("WHERE TRUE", text))
    return _UNNAMED_SUBQUERY.sub("LIMIT %s) AS counted", text)


class Reader:
    """A psycopg connection inside a read-only transaction, called as the SQLite readers call theirs."""

    def __init__(self, conn: psycopg.Connection[Any], *, stream: bool = False) -> None:
        self.conn = conn
        self.stream = stream
        self._names = count()

    def execute(self, query: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """With `stream`, rows come from a server-side cursor (an export's memory stays flat); else in one
        round trip (pages, a report's day)."""
        if not self.stream:
            return self.conn.execute(translate(query), tuple(params))
        cursor = self.conn.cursor(name=f"reader_{next(self._names)}")
        cursor.itersize = 5000
        cursor.execute(translate(query), tuple(params))
        return cursor

    @property
    def sqlite(self) -> sqlite3.Connection:
        """This reader where a function's signature asks for a SQLite connection (it only calls execute)."""
        return cast(sqlite3.Connection, self)


@contextmanager
def reading(url: str, *, stream: bool = False) -> Iterator[Reader]:
    """A Reader in one read-only snapshot."""
    with session(url) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield Reader(conn, stream=stream)


def rollup_totals(reader: Reader, day: date, station: str | None) -> Totals:
    """The day's traffic, denials, shifts and hourly chart from the rollups (the county's zone's local
    day); the report reads only the few entries it lists (fevers, overrides, clone alerts)."""
    conn = reader.conn
    traffic = [
        (category or None, str(verdict), str(direction), int(n))
        for category, verdict, direction, n in conn.execute(
            "SELECT category, verdict, direction, sum(entries) FROM rollup "
            "WHERE day = %(day)s AND (%(station)s::text IS NULL OR station_id = %(station)s::text) "
            "GROUP BY 1, 2, 3 HAVING sum(entries) > 0",
            {"day": day, "station": station},
        )
    ]
    denials = [
        (str(reason), int(n))
        for reason, n in conn.execute(
            "SELECT reason, sum(entries) FROM rollup WHERE day = %(day)s AND verdict = 'deny' "
            "AND (%(station)s::text IS NULL OR station_id = %(station)s::text) "
            "GROUP BY 1 HAVING sum(entries) > 0 ORDER BY 2 DESC, 1",
            {"day": day, "station": station},
        )
    ]
    shifts = [
        (str(sid), str(op), str(lead), int(first), int(last), int(n))
        for sid, op, lead, first, last, n in conn.execute(
            "SELECT station_id, operator, leader, min(first_ts), max(last_ts), sum(entries) FROM rollup_shifts "
            "WHERE day = %(day)s AND (%(station)s::text IS NULL OR station_id = %(station)s::text) "
            "GROUP BY 1, 2, 3 ORDER BY 1, 4",
            {"day": day, "station": station},
        )
    ]
    hours = [audit.HourCount(h) for h in range(24)]
    for hour, verdict, direction, n in conn.execute(
        "SELECT hour, verdict, direction, sum(entries) FROM rollup_hours WHERE day = %(day)s "
        "AND (%(station)s::text IS NULL OR station_id = %(station)s::text) GROUP BY 1, 2, 3",
        {"day": day, "station": station},
    ):
        hours[int(hour)].add(str(verdict), str(direction), int(n))
    return Totals(traffic, denials, shifts, hours)


def county_report(
    url: str,
    day: date,
    tz: ZoneInfo,
    *,
    station: str | None = None,
    verification: VerifyResult | None = None,
    fever_threshold: float = 37.3,
    now: datetime | None = None,
    names: dict[str, str] | None = None,
) -> DailyReport:
    """The daily situation report of the county (or one station), counted from the rollup."""
    from .county import county_zone

    with reading(url) as reader:
        zone = county_zone(reader.conn)
        if zone != tz.key:
            raise CheckpointError(
                f'The county store counts days in {zone}, not {tz.key}; set ui.timezone = "{zone}" to report.'
            )
        return build_report(
            reader.sqlite,
            day,
            tz,
            station=station,
            verification=verification,
            fever_threshold=fever_threshold,
            now=now,
            names=names,
            totals=rollup_totals(reader, day, station),
        )


def county_export(
    url: str,
    flt: Filter,
    out: Path,
    fmt: Format,
    tz: ZoneInfo,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """`log export` on a county home: JSON lines through `export.export_log`, CSV with the same records
    and the same cell neutralisation."""
    with reading(url, stream=True) as reader:
        total = audit.count(reader.sqlite, flt)

        def step(done: int) -> None:
            if progress is not None:
                progress(done, total)

        if fmt == "jsonl":
            return export_log(reader.sqlite, flt, out, fmt, tz, progress=step)
        return _export_csv(reader, flt, out, tz, step)


def _export_csv(reader: Reader, flt: Filter, out: Path, tz: ZoneInfo, progress: Callable[[int], None]) -> int:
    where, params = flt.where()
    cursor = reader.execute(
        f"SELECT {', '.join(_SQL_COLUMNS)} FROM entries WHERE {where} ORDER BY ts, station_id, seq", params
    )
    rows = _Rows(tz)
    partial = out.with_name(out.name + ".partial")
    n = 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
            writer.writerow(COLUMNS)
            while chunk := cursor.fetchmany(5000):
                for raw in chunk:
                    record = rows.record(raw)
                    for i in _TEXT_INDEXES:
                        if record[i]:
                            record[i] = neutralise(record[i])
                    record[23] = "yes" if record[23] else ""
                    writer.writerow(record)
                n += len(chunk)
                progress(n)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CheckpointError(describe_os_error(exc, out)) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return n


class CountyLog(AuditLog):
    """The county store as the audit screen reads it: every query in one read-only snapshot of the server
    (a `Reader`; connect as an auditor login), verification in SQL (`county.verify`), the CSV export of
    `county_export`, the daily report from the rollup (`county_report`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = where(url)

    @classmethod
    def open(cls, url: str) -> CountyLog:
        """The county log at `url`, or one sentence: no server there, or no county store in it."""
        with reading(url) as reader:
            reader.execute("SELECT version FROM county").fetchone()
        return cls(url)

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        with reading(self.url) as reader:
            yield reader.sqlite

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._open()

    def verify(self, progress: Progress | None = None) -> VerifyResult:
        from .county import verify

        return verify(self.url, progress=progress)

    def export_csv(self, flt: Filter, out: Path, tz: ZoneInfo) -> int:
        return county_export(self.url, flt, out, "csv", tz)

    def count_day(self, day: date, tz: ZoneInfo, verification: VerifyResult, **options: Any) -> DailyReport:
        return county_report(self.url, day, tz, verification=verification, **options)
