"""Reading the traffic log for audit: filters, keyset pages, one entry's chain link, hourly traffic,
the clone alert. Everything here reads (a `store.open_reader` connection, or the county's `county_reader.Reader`)
and never writes; `AuditLog` is what the audit screen asks, whichever store keeps the log.

Pages are keyset-paginated on (ts, station_id, seq), so the millionth row costs what the first does.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import chain
from .keys import public_from_raw, verify_signature
from .models import Category, Direction, Reason, Verdict
from .store import CURRENT_ONLY, ENTRY_COLUMNS, Entry, entry_from_row
from .timeutil import from_micros, to_micros

if TYPE_CHECKING:
    from .report import DailyReport

CLONE_WINDOW = timedelta(minutes=10)
"""The same pass entering at two different stations within this interval is implausible: a cloned pass."""

PAGE_SIZE = 200

Key = tuple[int, str, int]
"""A row's place in the log's total order: (ts micros, station_id, seq)."""

_SEPARATORS = re.compile(r"[\s·・.•‧\-_\u3000]+")


def normalise_partial_plate(text: str) -> str:
    """What a person typed to find a plate (`鄂a·123`) → the stored form of that part (`鄂A123`)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


@dataclass(frozen=True)
class Filter:
    """The auditor's question. Every field is optional; `end` is exclusive."""

    start: datetime | None = None
    end: datetime | None = None
    station: str | None = None
    direction: Direction | None = None
    verdict: Verdict | None = None
    reason: Reason | None = None
    category: Category | None = None
    plate: str | None = None
    operator: str | None = None
    fevers_only: bool = False
    plate_in: tuple[str, ...] | None = None
    """Set by `Vocabulary.resolve`: the exact plates the partial `plate` matches (an indexed IN list)."""
    operator_in: tuple[str, ...] | None = None
    """Set by `Vocabulary.resolve`: the exact operators the partial `operator` matches."""
    current_only: bool = False
    """Leave out superseded entries (a denial a later override refers to): for totals, which count each
    vehicle once by its latest entry. The browse table lists every entry (it is the log)."""

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition (without WHERE) and its parameters; `1` when nothing is asked."""
        parts: list[str] = []
        params: list[Any] = []
        if self.start is not None:
            parts.append("ts >= ?")
            params.append(to_micros(self.start))
        if self.end is not None:
            parts.append("ts < ?")
            params.append(to_micros(self.end))
        for column, value in (
            ("station_id", self.station),
            ("direction", self.direction),
            ("verdict", self.verdict),
            ("reason", self.reason),
            ("category", self.category),
        ):
            if value:
                parts.append(f"{column} = ?")
                params.append(str(value))
        for column, exact, partial in (
            ("plate", self.plate_in, normalise_partial_plate(self.plate or "")),
            ("operator", self.operator_in, (self.operator or "").strip()),
        ):
            if exact is not None:
                parts.append(f"{column} IN ({', '.join('?' * len(exact))})" if exact else "0")
                params.extend(exact)
            elif partial:
                parts.append(f"instr({column}, ?) > 0")
                params.append(partial)
        if self.fevers_only:
            parts.append("fevers > 0")
        if self.current_only:
            parts.append(CURRENT_ONLY)
        return (" AND ".join(parts) or "1"), params

    def for_day(self, day: date, tz: ZoneInfo) -> Filter:
        start, end = day_bounds(day, tz)
        return replace(self, start=start, end=end)


class Vocabulary:
    """The distinct plates and operators of a log, so that a partial match becomes an exact IN list that
    SQLite answers from an index instead of scanning a million rows. Kept up to date incrementally
    (the log only grows: new rows have higher rowids)."""

    MAX_IN = 400
    """A partial match with more candidates than this stays a scan: it is common, so the scan stops early."""

    def __init__(self) -> None:
        self.plates: set[str] = set()
        self.operators: set[str] = set()
        self._rowid = 0
        self._lock = threading.Lock()  # the TUI's query workers share one vocabulary

    def refresh(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._refresh(conn)

    def _refresh(self, conn: sqlite3.Connection) -> None:
        top = conn.execute("SELECT MAX(rowid) FROM entries").fetchone()[0] or 0
        if top == self._rowid:
            return
        if self._rowid == 0:
            self.plates = {
                r[0] for r in conn.execute("SELECT DISTINCT plate FROM entries WHERE plate IS NOT NULL")
            }
            self.operators = {r[0] for r in conn.execute("SELECT DISTINCT operator FROM entries")}
        else:
            for plate, operator in conn.execute(
                "SELECT plate, operator FROM entries WHERE rowid > ?", (self._rowid,)
            ):
                if plate is not None:
                    self.plates.add(plate)
                self.operators.add(operator)
        self._rowid = top

    def resolve(self, conn: sqlite3.Connection, flt: Filter) -> Filter:
        """`flt` with its partial plate/operator turned into exact lists when that makes the query fast."""
        if not flt.plate and not flt.operator:
            return flt
        with self._lock:
            self._refresh(conn)
            return self._resolve(flt)

    def _resolve(self, flt: Filter) -> Filter:
        plate_in = operator_in = None
        needle = normalise_partial_plate(flt.plate or "")
        if needle:
            found = [p for p in self.plates if needle in p]
            plate_in = tuple(sorted(found)) if len(found) <= self.MAX_IN else None
        name = (flt.operator or "").strip()
        if name:
            names = [o for o in self.operators if name in o]
            operator_in = tuple(sorted(names)) if len(names) <= self.MAX_IN else None
        return replace(flt, plate_in=plate_in, operator_in=operator_in)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local calendar day `day` in `tz` as a UTC [start, end) pair (DST-safe)."""
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    return start, end


_SELECT = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"


def key_of(entry: Entry) -> Key:
    return (to_micros(entry.ts), entry.station_id, entry.seq)


def page(
    conn: sqlite3.Connection,
    flt: Filter,
    after: Key | None = None,
    *,
    limit: int = PAGE_SIZE,
    newest_first: bool = True,
) -> list[Entry]:
    """Up to `limit` entries matching `flt`, strictly after `after` in the chosen order (keyset paging)."""
    where, params = flt.where()
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    if after is not None:
        # The plain `ts` bound lets SQLite range-scan its ts index; the row value breaks ties exactly.
        where += f" AND ts {op}= ? AND (ts, station_id, seq) {op} (?, ?, ?)"
        params = [*params, after[0], *after]
    sql = f"{_SELECT} WHERE {where} ORDER BY ts {order}, station_id {order}, seq {order} LIMIT ?"
    rows = conn.execute(sql, (*params, limit)).fetchall()
    return [entry_from_row(row) for row in rows]


def superseded(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of these entries a later entry refers to (an overridden denial, a corrected entry)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(
            str(r[0])
            for r in conn.execute(f"SELECT refers_to FROM entries WHERE refers_to IN ({marks})", chunk)
        )
    return found


def count(conn: sqlite3.Connection, flt: Filter, *, cap: int | None = None) -> int:
    """How many entries match (stops counting at `cap` when given)."""
    where, params = flt.where()
    if cap is None:
        return int(conn.execute(f"SELECT COUNT(*) FROM entries WHERE {where}", params).fetchone()[0])
    sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM entries WHERE {where} LIMIT ?)"
    return int(conn.execute(sql, (*params, cap)).fetchone()[0])


def stations(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT station_id FROM stations UNION SELECT DISTINCT station_id FROM shifts ORDER BY 1"
    ).fetchall()
    known = [str(r[0]) for r in rows]
    if not known:
        known = [str(r[0]) for r in conn.execute("SELECT DISTINCT station_id FROM entries ORDER BY 1")]
    return known


def operators(conn: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT DISTINCT operator FROM shifts ORDER BY 1")]


@dataclass(frozen=True)
class EntryCheck:
    """One entry's chain link, checked on its own: is it the entry its hash says, and does it link?"""

    prev_hash: str
    hash: str
    hash_ok: bool
    links_ok: bool
    personal_ok: bool
    purged: bool
    next_links: bool | None
    sealed_at_seq: int | None
    seal_ok: bool | None
    # How the clocks moved since the entry before (chain.clock_step): a warning, not tampering.
    clock: tuple[str, int] | None = None

    @property
    def ok(self) -> bool:
        return (
            self.hash_ok
            and self.links_ok
            and self.personal_ok
            and self.next_links is not False
            and self.seal_ok is not False
        )


def check_entry(conn: sqlite3.Connection, station_id: str, seq: int) -> EntryCheck | None:
    """Recompute one entry's hash, its link to the entry before and after, and the first seal covering it."""
    row = conn.execute(
        f"SELECT prev_hash, hash, commitment, personal, salt, {chain.CANONICAL_SQL} "
        "FROM entries WHERE station_id = ? AND seq = ?",
        (station_id, seq),
    ).fetchone()
    if row is None:
        return None
    prev_hash, stored, commit, personal, salt, canonical = row
    before = conn.execute(
        "SELECT hash, ts, mono FROM entries WHERE station_id = ? AND seq = ?", (station_id, seq - 1)
    ).fetchone()
    now_at = conn.execute(
        "SELECT ts, mono FROM entries WHERE station_id = ? AND seq = ?", (station_id, seq)
    ).fetchone()
    clock = None if before is None else chain.clock_step(int(before[1]), int(before[2]), *map(int, now_at))
    expected_prev = chain.GENESIS if seq == 1 else (None if before is None else before[0])
    after = conn.execute(
        "SELECT prev_hash FROM entries WHERE station_id = ? AND seq = ?", (station_id, seq + 1)
    ).fetchone()
    seal = conn.execute(
        "SELECT s.seq, s.head_hash, s.sealed_at, s.signature, e.hash, k.public_key FROM seals s "
        "LEFT JOIN entries e ON e.station_id = s.station_id AND e.seq = s.seq "
        "LEFT JOIN stations k ON k.station_id = s.station_id "
        "WHERE s.station_id = ? AND s.seq >= ? ORDER BY s.seq LIMIT 1",
        (station_id, seq),
    ).fetchone()
    seal_ok: bool | None = None
    sealed_at_seq: int | None = None
    if seal is not None:
        sealed_at_seq = int(seal[0])
        if seal[5] is None:
            seal_ok = None
        else:
            message = chain.seal_message(station_id, int(seal[0]), seal[1], int(seal[2]))
            seal_ok = verify_signature(public_from_raw(bytes(seal[5])), bytes(seal[3]), message) and (
                seal[4] == seal[1]
            )
    return EntryCheck(
        prev_hash=prev_hash,
        hash=stored,
        hash_ok=chain.entry_hash(canonical) == stored,
        links_ok=expected_prev is not None and prev_hash == expected_prev,
        personal_ok=personal is None or chain.commitment(salt, personal) == commit,
        purged=personal is None and commit != chain.EMPTY_COMMITMENT,
        next_links=None if after is None else after[0] == stored,
        sealed_at_seq=sealed_at_seq,
        seal_ok=seal_ok,
        clock=clock,
    )


class Traffic:
    """Vehicles let in, let out and turned back: the counter behind the hourly chart and the report's
    categories (each adds its own key: the hour, the category)."""

    allowed_in: int
    allowed_out: int
    denied: int

    @property
    def total(self) -> int:
        return self.allowed_in + self.allowed_out + self.denied

    def add(self, verdict: str, direction: str, n: int = 1) -> None:
        if verdict == "deny":
            self.denied += n
        elif direction == "in":
            self.allowed_in += n
        else:
            self.allowed_out += n


@dataclass
class HourCount(Traffic):
    hour: int
    allowed_in: int = 0
    allowed_out: int = 0
    denied: int = 0


def hourly(conn: sqlite3.Connection, flt: Filter, day: date, tz: ZoneInfo) -> list[HourCount]:
    """Vehicles per local hour of `day` (24 buckets; 23 or 25 on a DST change are folded by clock hour).
    A total: each vehicle counts once, by its latest entry (superseded entries are left out)."""
    where, params = replace(flt.for_day(day, tz), current_only=True).where()
    hours = [HourCount(h) for h in range(24)]
    rows = conn.execute(
        f"SELECT ts / 3600000000, verdict, direction, COUNT(*) FROM entries WHERE {where} GROUP BY 1, 2, 3",
        params,
    ).fetchall()
    for utc_hour, verdict, direction, n in rows:
        hours[from_micros(int(utc_hour) * 3_600_000_000).astimezone(tz).hour].add(verdict, direction, n)
    return hours


@dataclass(frozen=True)
class Sighting:
    station_id: str
    seq: int
    ts: datetime
    plate: str | None


@dataclass(frozen=True)
class CloneAlert:
    """One pass allowed in at two different stations `gap` apart, less than the clone window."""

    pass_id: str
    first: Sighting
    second: Sighting

    @property
    def gap(self) -> timedelta:
        return self.second.ts - self.first.ts


@dataclass
class CloneAlerts:
    alerts: list[CloneAlert] = field(default_factory=list)

    def flagged(self) -> set[tuple[str, int]]:
        """(station, seq) of every entry in an alert."""
        keys: set[tuple[str, int]] = set()
        for alert in self.alerts:
            keys.add((alert.first.station_id, alert.first.seq))
            keys.add((alert.second.station_id, alert.second.seq))
        return keys


def clone_alerts(
    conn: sqlite3.Connection,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    window: timedelta = CLONE_WINDOW,
    station: str | None = None,
) -> CloneAlerts:
    """Passes allowed IN at two different stations less than `window` apart, between start and end.

    Entries up to `window` before `start` are looked at too, so an alert across midnight is not lost;
    with `station`, only alerts that involve that station are kept.
    """
    parts = ["verdict = 'allow'", "direction = 'in'", "pass_id IS NOT NULL"]
    params: list[Any] = []
    if start is not None:
        parts.append("ts >= ?")
        params.append(to_micros(start - window))
    if end is not None:
        parts.append("ts < ?")
        params.append(to_micros(end))
    rows = conn.execute(
        f"SELECT pass_id, station_id, seq, ts, plate FROM entries WHERE {' AND '.join(parts)} ORDER BY ts",
        params,
    ).fetchall()
    window_us = window // timedelta(microseconds=1)
    start_us = None if start is None else to_micros(start)
    last_seen: dict[str, list[tuple[str, int, int, str | None]]] = defaultdict(list)
    result = CloneAlerts()
    for pass_id, station_id, seq, ts, plate in rows:
        recent = [s for s in last_seen[pass_id] if ts - s[2] < window_us]
        for other in recent:
            if other[0] != station_id and (start_us is None or ts >= start_us):
                alert = CloneAlert(
                    pass_id,
                    Sighting(other[0], other[1], from_micros(other[2]), other[3]),
                    Sighting(station_id, seq, from_micros(ts), plate),
                )
                if station is None or station in (other[0], station_id):
                    result.alerts.append(alert)
                break
        recent.append((station_id, seq, ts, plate))
        last_seen[pass_id] = recent
    return result


def override_links(
    conn: sqlite3.Connection, entry: Entry
) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """Both ends of an override: (station, seq) of the entry `entry` refers to, and of the first entry that
    refers to `entry` (the override that let this denial through), each None when there is none."""
    earlier = conn.execute("SELECT station_id, seq FROM entries WHERE id = ?", (entry.refers_to,)).fetchone()
    later = conn.execute(
        "SELECT station_id, seq FROM entries WHERE refers_to = ? ORDER BY seq LIMIT 1", (entry.id,)
    ).fetchone()
    return (
        None if earlier is None else (str(earlier[0]), int(earlier[1])),
        None if later is None else (str(later[0]), int(later[1])),
    )


@dataclass(frozen=True)
class EntryDetail:
    """One entry's chain link and the two ends of its override, for the detail view."""

    check: EntryCheck | None
    refers_to: tuple[str, int] | None
    superseded_by: tuple[str, int] | None


Progress = chain.Progress


class AuditLog:
    """What the audit screen asks of a traffic log, whichever store keeps it: a township's or station's
    SQLite `log.db` (`SQLiteLog`) or the county's PostgreSQL server (`county_reader.CountyLog`).

    Both answer with the same queries of this module, through a connection that `reading()` opens (a
    SQLite reader, or a `county_reader.Reader` in one read-only snapshot); only verification, export and
    the daily report are each store's own. Every method opens its own connection, so the screen's
    thread workers may call them side by side."""

    label: str
    """What the screen's title shows: the file's name, or the county database and its host."""

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def resolve(self, conn: sqlite3.Connection, flt: Filter) -> Filter:
        """`flt` made fast for this store (SQLite: partial plates and operators as exact IN lists)."""
        return flt

    def page(
        self, flt: Filter, after: Key | None = None, *, limit: int = PAGE_SIZE
    ) -> tuple[list[Entry], set[str]]:
        """A keyset page (newest first) and which of its entries a later entry supersedes."""
        with self.reading() as conn:
            rows = page(conn, self.resolve(conn, flt), after, limit=limit)
            return rows, superseded(conn, [e.id for e in rows])

    def count(self, flt: Filter, *, cap: int | None = None) -> int:
        with self.reading() as conn:
            return count(conn, self.resolve(conn, flt), cap=cap)

    def clone_alerts(self, flt: Filter) -> CloneAlerts:
        with self.reading() as conn:
            return clone_alerts(conn, flt.start, flt.end, station=flt.station)

    def hourly(self, flt: Filter, day: date, tz: ZoneInfo) -> list[HourCount]:
        with self.reading() as conn:
            return hourly(conn, self.resolve(conn, replace(flt, start=None, end=None)), day, tz)

    def stations(self) -> list[str]:
        with self.reading() as conn:
            return stations(conn)

    def detail(self, entry: Entry) -> EntryDetail:
        with self.reading() as conn:
            check = check_entry(conn, entry.station_id, entry.seq)
            return EntryDetail(check, *override_links(conn, entry))

    def verify(self, progress: Progress | None = None) -> chain.VerifyResult:
        raise NotImplementedError

    def export_csv(self, flt: Filter, out: Path, tz: ZoneInfo) -> int:
        raise NotImplementedError

    def report(
        self,
        day: date,
        tz: ZoneInfo,
        *,
        progress: Progress | None = None,
        fever_threshold: float = 37.3,
        names: dict[str, str] | None = None,
    ) -> DailyReport:
        """The daily situation report of `day`, as `checkpoint report` makes it: the log verified first
        (`progress` as it goes), then the day counted (`count_day`)."""
        verification = self.verify(progress)
        return self.count_day(day, tz, verification, fever_threshold=fever_threshold, names=names)

    def count_day(
        self, day: date, tz: ZoneInfo, verification: chain.VerifyResult, **options: Any
    ) -> DailyReport:
        """`report.build_report` of `day` over this store (`options`: its fever_threshold and names)."""
        from .report import build_report

        with self.reading() as conn:
            return build_report(conn, day, tz, verification=verification, **options)


class SQLiteLog(AuditLog):
    """A `log.db`: read through `store.open_reader`, partial matches resolved by a `Vocabulary`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = path.name
        self.vocab = Vocabulary()

    @contextmanager
    def _open(self) -> Iterator[sqlite3.Connection]:
        from .store import open_reader

        conn = open_reader(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def reading(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._open()

    def resolve(self, conn: sqlite3.Connection, flt: Filter) -> Filter:
        return self.vocab.resolve(conn, flt)

    def stations(self) -> list[str]:
        with self.reading() as conn:
            self.vocab.refresh(conn)
            return stations(conn)

    def verify(self, progress: Progress | None = None) -> chain.VerifyResult:
        from .store import verify_log

        return verify_log(self.path, None, progress)

    def export_csv(self, flt: Filter, out: Path, tz: ZoneInfo) -> int:
        from .export import export_log

        with self.reading() as conn:
            return export_log(conn, self.resolve(conn, flt), out, "csv", tz)


def open_log(database: str, path: Path) -> AuditLog:
    """The log the audit screen reads: the county server when `database` (the `log.database` setting) is
    a PostgreSQL URL, else the SQLite file at `path`. Raises CheckpointError (one sentence) when there is
    none to read."""
    from .county import is_county

    if is_county(database):
        from .county_reader import CountyLog

        return CountyLog.open(database)
    from .errors import CheckpointError
    from .store import open_reader

    open_reader(path).close()  # one sentence now rather than an empty screen: no log, or not a log
    if not path.exists():
        raise CheckpointError(f"There is no traffic log at {path}.")
    return SQLiteLog(path)
