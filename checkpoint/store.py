"""The traffic log on SQLite: append-only, hash-chained, durable before a verdict is shown.

`LogStore` owns the one writer connection (aiosqlite): WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`.
Readers (audit, export, verify) open their own read-only connections and never block the station.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import aiosqlite
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import chain
from .errors import CheckpointError
from .fsutil import describe_os_error, sqlite_trouble
from .keys import key_id_of, public_from_raw, raw_public
from .models import Direction, Reason, Verdict
from .policy import Decision
from .receipts import keep_seal, load_anchors
from .timeutil import from_micros, iso_local, to_micros, utcnow

if TYPE_CHECKING:
    from .bundle import Bundle
    from .keys import TrustList

SCHEMA_VERSION = 6


def _entry_columns() -> str:
    lines = ["body TEXT NOT NULL CHECK (json_valid(body) AND json_type(body) = 'array')", "hash TEXT NOT NULL",
             "personal TEXT", "salt BLOB"]  # fmt: skip
    for index, name in enumerate(chain.CHAINED):
        kind = "INTEGER" if name in chain.INTEGER_FIELDS else "TEXT"
        required = " NOT NULL" if name in chain.REQUIRED_FIELDS else ""
        lines.append(f"{name} {kind} GENERATED ALWAYS AS (json_extract(body, '$[{index}]')) STORED{required}")
    return ",\n        ".join(lines)


_SCHEMA = [
    # version 1. An entry is its `body` (the hashed canonical JSON array); every named column is generated
    # from it, so no column can be edited apart from the body the chain covers.
    f"""
    CREATE TABLE entries (
        {_entry_columns()}
    );
    CREATE UNIQUE INDEX entries_seq ON entries (station_id, seq);
    CREATE UNIQUE INDEX entries_id ON entries (id);
    CREATE INDEX entries_ts ON entries (ts);
    CREATE INDEX entries_pass ON entries (station_id, pass_id, seq);
    CREATE INDEX entries_plate ON entries (plate);
    CREATE TABLE seals (
        station_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        head_hash TEXT NOT NULL,
        sealed_at INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        signature BLOB NOT NULL,
        PRIMARY KEY (station_id, seq)
    );
    CREATE TABLE stations (
        station_id TEXT PRIMARY KEY,
        public_key BLOB NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        first_seen INTEGER NOT NULL
    );
    CREATE TABLE shifts (
        id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        operator TEXT NOT NULL,
        leader TEXT NOT NULL,
        started INTEGER NOT NULL,
        ended INTEGER,
        sealed_seq INTEGER
    );
    CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the traffic log is append-only'); END;
    CREATE TRIGGER entries_only_purge BEFORE UPDATE ON entries
    WHEN NOT (NEW.personal IS NULL AND NEW.salt IS NULL AND NEW.body IS OLD.body AND NEW.hash IS OLD.hash)
    BEGIN SELECT RAISE(ABORT, 'the traffic log is append-only'); END;
    CREATE TRIGGER seals_no_change BEFORE UPDATE ON seals
    BEGIN SELECT RAISE(ABORT, 'seals cannot be changed'); END;
    CREATE TRIGGER seals_no_delete BEFORE DELETE ON seals
    BEGIN SELECT RAISE(ABORT, 'seals cannot be deleted'); END;
    """,
    # version 2: indexes for the audit filters (station, reason, operator) in time order
    """
    CREATE INDEX entries_station_ts ON entries (station_id, ts);
    CREATE INDEX entries_reason_ts ON entries (reason, ts);
    CREATE INDEX entries_operator_ts ON entries (operator, ts);
    """,
    # version 3: a small partial index for "fevers only" (about 1 % of entries) in time order
    """
    CREATE INDEX entries_fevers_ts ON entries (ts) WHERE fevers > 0;
    """,
    # version 4: corrections and overrides name the entry they supersede
    """
    CREATE INDEX entries_refers_to ON entries (refers_to) WHERE refers_to IS NOT NULL;
    """,
    # version 5: the log's own records (a purge, an accepted revocation list), hash-chained among themselves
    # and each naming the entries' head when it was written (docs/log.md, "Records"). Personal data may be
    # dropped only from an entry older than a recorded purge's `before`.
    """
    CREATE TABLE records (
        n INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        kind TEXT GENERATED ALWAYS AS (json_extract(body, '$.kind')) STORED,
        before INTEGER GENERATED ALWAYS AS (json_extract(body, '$.before')) STORED
    );
    CREATE TRIGGER records_no_change BEFORE UPDATE ON records
    BEGIN SELECT RAISE(ABORT, 'the log records cannot be changed'); END;
    CREATE TRIGGER records_no_delete BEFORE DELETE ON records
    BEGIN SELECT RAISE(ABORT, 'the log records cannot be deleted'); END;
    DROP TRIGGER entries_only_purge;
    CREATE TRIGGER entries_only_purge BEFORE UPDATE ON entries
    WHEN NOT (NEW.personal IS NULL AND NEW.salt IS NULL AND NEW.body IS OLD.body AND NEW.hash IS OLD.hash
              AND OLD.ts < COALESCE((SELECT MAX(before) FROM records WHERE kind = 'purge'), -1))
    BEGIN SELECT RAISE(ABORT, 'the traffic log is append-only'); END;
    """,
    # version 6: the stations enrolled at this office (key confirmed by a person; no trust on first use)
    """
    CREATE TABLE enrolled_stations (
        station_id TEXT PRIMARY KEY,
        public_key BLOB NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        enrolled_at INTEGER NOT NULL,
        retired_at INTEGER,
        retire_reason TEXT
    );
    """,
]

# An entry that a later entry refers to (an override of a denial, a correction) is superseded: totals
# count each vehicle once, by its latest entry. Use in a WHERE clause over `entries`.
CURRENT_ONLY = "id NOT IN (SELECT refers_to FROM entries WHERE refers_to IS NOT NULL)"

# What a writer inserts: the body and its hash, and the personal data (not chained) with its salt.
INSERT_COLUMNS = ("body", "hash", "personal", "salt")
INSERT_SQL = f"INSERT INTO entries ({', '.join(INSERT_COLUMNS)}) VALUES (?, ?, ?, ?)"


def insert_row(
    values: Sequence[Any], personal: str | None, salt: bytes | None
) -> tuple[str, str, str | None, bytes | None]:
    """The row to insert for an entry whose chained values (CHAINED order) are `values`."""
    body = chain.canonical(values)
    return body, chain.entry_hash(body), personal, salt


SHIFT_COLUMNS = ("id", "station_id", "operator", "leader", "started", "ended", "sealed_seq")


@dataclass(frozen=True)
class Enrolment:
    """A station enrolled at this office: its key, confirmed by a person; retired when lost or stolen."""

    station_id: str
    public_key: Ed25519PublicKey
    name: str
    enrolled_at: datetime
    retired_at: datetime | None = None
    retire_reason: str | None = None


@dataclass
class Merged:
    """What `LogStore.merge_bundle` did: entries added and already here, seals added, or the gap it waits on."""

    added: int = 0
    already: int = 0
    seals: int = 0
    missing: tuple[int, int] | None = None


def _enrolment(row: Sequence[Any]) -> Enrolment:
    return Enrolment(
        station_id=str(row[0]),
        public_key=public_from_raw(bytes(row[1])),
        name=str(row[2]),
        enrolled_at=from_micros(int(row[3])),
        retired_at=None if row[4] is None else from_micros(int(row[4])),
        retire_reason=None if row[5] is None else str(row[5]),
    )


@dataclass(frozen=True)
class Shift:
    operator: str
    leader: str


@dataclass
class EntryDraft:
    """What the station knows about one vehicle; the store adds sequence, time and chain link."""

    direction: Direction
    verdict: Verdict
    reason: Reason
    operator: str
    leader: str
    denied_for: Reason | None = None
    warnings: tuple[Reason, ...] = ()
    pass_id: str | None = None
    key_id: str | None = None
    category: str | None = None
    plate: str | None = None
    holder: str | None = None
    org: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    occupants: int | None = None
    temperatures: tuple[int, ...] = ()
    fevers: int = 0
    vehicle: str | None = None
    note: str | None = None
    override_by: str | None = None
    override_reason: str | None = None
    raw_hash: str | None = None
    refers_to: str | None = None

    @classmethod
    def from_decision(
        cls,
        decision: Decision,
        *,
        direction: Direction,
        shift: Shift,
        occupants: int | None = None,
        temperatures: Sequence[int] = (),
        raw_hash: str | None = None,
        plate: str | None = None,
        vehicle: str | None = None,
        note: str | None = None,
        override_by: str | None = None,
        override_reason: str | None = None,
    ) -> EntryDraft:
        data = decision.pass_data
        return cls(
            direction=direction,
            verdict=decision.verdict,
            reason=decision.reason,
            operator=shift.operator,
            leader=shift.leader,
            denied_for=decision.denied_for,
            warnings=decision.warnings,
            pass_id=None if data is None else data.pass_id,
            key_id=decision.key_id,
            category=None if data is None else data.category.value,
            plate=plate if data is None else data.plate,
            holder=None if data is None else data.holder,
            org=None if data is None else data.org,
            valid_from=None if data is None else data.valid_from,
            valid_until=None if data is None else data.valid_until,
            occupants=occupants,
            temperatures=tuple(temperatures),
            fevers=len(decision.fevers),
            vehicle=vehicle,
            note=note,
            override_by=override_by,
            override_reason=override_reason,
            raw_hash=raw_hash,
        )


@dataclass
class Entry:
    """One row of the log as read back."""

    station_id: str
    seq: int
    id: str
    ts: datetime
    mono: int
    operator: str
    leader: str
    direction: Direction
    verdict: Verdict
    reason: Reason
    denied_for: Reason | None
    warnings: tuple[Reason, ...]
    pass_id: str | None
    key_id: str | None
    category: str | None
    plate: str | None
    org: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    occupants: int | None
    fevers: int
    vehicle: str | None
    note: str | None
    override_by: str | None
    override_reason: str | None
    raw_hash: str | None
    refers_to: str | None
    commitment: str
    prev_hash: str
    hash: str
    holder: str | None = None
    temperatures: tuple[int, ...] = ()
    purged: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, tz: tzinfo | None = None) -> dict[str, object]:
        """The JSON view; with `tz`, times are in that zone with their offset (the same instants)."""

        def when(moment: datetime | None) -> str | None:
            return None if moment is None else iso_local(moment, tz)

        return {
            "station_id": self.station_id,
            "seq": self.seq,
            "id": self.id,
            "ts": when(self.ts),
            "operator": self.operator,
            "leader": self.leader,
            "direction": self.direction.value,
            "decision": self.verdict.value,
            "reason": self.reason.value,
            "denied_for": None if self.denied_for is None else self.denied_for.value,
            "warnings": [w.value for w in self.warnings],
            "pass_id": self.pass_id,
            "key_id": self.key_id,
            "category": self.category,
            "plate": self.plate,
            "holder": self.holder,
            "org": self.org,
            "valid_from": when(self.valid_from),
            "valid_until": when(self.valid_until),
            "occupants": self.occupants,
            "temperatures": [t / 10 for t in self.temperatures],
            "fevers": self.fevers,
            "vehicle": self.vehicle,
            "note": self.note,
            "override_by": self.override_by,
            "override_reason": self.override_reason,
            "raw_hash": self.raw_hash,
            "refers_to": self.refers_to,
            "purged": self.purged,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


ENTRY_COLUMNS = (*chain.CHAINED, "hash", "personal")


def entry_from_row(row: Sequence[Any]) -> Entry:
    """Build an Entry from a row selected as ENTRY_COLUMNS."""
    values = dict(zip(ENTRY_COLUMNS, row, strict=True))
    personal = values.pop("personal")
    holder: str | None = None
    temperatures: tuple[int, ...] = ()
    if personal is not None:
        data = json.loads(personal)
        holder = data.get("holder")
        temperatures = tuple(int(t) for t in data.get("temperatures", ()))
    warnings = tuple(Reason(w) for w in values["warnings"].split(",") if w)
    return Entry(
        station_id=values["station_id"],
        seq=values["seq"],
        id=values["id"],
        ts=from_micros(values["ts"]),
        mono=values["mono"],
        operator=values["operator"],
        leader=values["leader"],
        direction=Direction(values["direction"]),
        verdict=Verdict(values["verdict"]),
        reason=Reason(values["reason"]),
        denied_for=None if values["denied_for"] is None else Reason(values["denied_for"]),
        warnings=warnings,
        pass_id=values["pass_id"],
        key_id=values["key_id"],
        category=values["category"],
        plate=values["plate"],
        org=values["org"],
        valid_from=None if values["valid_from"] is None else from_micros(values["valid_from"]),
        valid_until=None if values["valid_until"] is None else from_micros(values["valid_until"]),
        occupants=values["occupants"],
        fevers=values["fevers"],
        vehicle=values["vehicle"],
        note=values["note"],
        override_by=values["override_by"],
        override_reason=values["override_reason"],
        raw_hash=values["raw_hash"],
        refers_to=values["refers_to"],
        commitment=values["commitment"],
        prev_hash=values["prev_hash"],
        hash=values["hash"],
        holder=holder,
        temperatures=temperatures,
        purged=personal is None and values["commitment"] != chain.EMPTY_COMMITMENT,
    )


def _personal_json(draft: EntryDraft) -> str | None:
    if draft.holder is None and not draft.temperatures:
        return None
    return json.dumps(
        {"holder": draft.holder, "temperatures": list(draft.temperatures)},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a database to SCHEMA_VERSION (sync; used by the writer at open and by tools)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise CheckpointError(
            f"The log was written by a newer checkpoint (schema {version}); upgrade checkpoint to read it."
        )
    for number in range(version, SCHEMA_VERSION):
        conn.executescript(
            "BEGIN IMMEDIATE;" + _SCHEMA[number] + f"; PRAGMA user_version = {number + 1}; COMMIT;"
        )


def damaged(path: Path, exc: sqlite3.Error) -> CheckpointError:
    """The one sentence for a log file SQLite cannot read (a bad disk, a copy cut short)."""
    return CheckpointError(
        f"The traffic log {path} is damaged ({exc}); keep the file for the office — what was sent there in "
        "bundles is safe."
    )


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection for audit and verification; never blocks the writer (WAL)."""
    if not path.exists():
        raise CheckpointError(f"There is no traffic log at {path}.")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is not a traffic log, or it is damaged ({exc}).") from exc
    return conn


INSIDE_SQL = """
    SELECT e.pass_id FROM entries e
    JOIN (SELECT pass_id, MAX(seq) AS seq FROM entries
          WHERE station_id = ? AND verdict = 'allow' AND pass_id IS NOT NULL GROUP BY pass_id) last
      ON e.station_id = ? AND e.seq = last.seq
    WHERE e.direction = 'in'
"""


def inside_now(path: Path, station_id: str) -> frozenset[str]:
    """`LogStore.inside()` for a reader that does not write the log (empty when there is no log)."""
    if not path.exists():
        return frozenset()
    conn = open_reader(path)
    try:
        return frozenset(str(r[0]) for r in conn.execute(INSIDE_SQL, (station_id, station_id)))
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is damaged and cannot be read ({exc}).") from exc
    finally:
        conn.close()


def hash_at(path: Path, station_id: str, seq: int) -> str | None:
    """The hash of `station_id`'s entry `seq` in the log at `path` (None when it has no such entry)."""
    if not path.exists():
        return None
    conn = open_reader(path)
    try:
        row = conn.execute(
            "SELECT hash FROM entries WHERE station_id = ? AND seq = ?", (station_id, seq)
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, exc) from exc
    finally:
        conn.close()
    return None if row is None else str(row[0])


def read_enrolments(path: Path) -> list[Enrolment]:
    """The stations enrolled in the (office) log at `path`, for a reader that does not write it."""
    if not path.exists():
        return []
    conn = open_reader(path)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'enrolled_stations'").fetchone() is None:
            return []
        rows = conn.execute(
            "SELECT station_id, public_key, name, enrolled_at, retired_at, retire_reason "
            "FROM enrolled_stations ORDER BY station_id"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is damaged and cannot be read ({exc}).") from exc
    finally:
        conn.close()
    return [_enrolment(r) for r in rows]


class LogError(CheckpointError):
    """The log refused a write (nothing was recorded) or a read. `kind` — full, busy, failed, damaged,
    unreadable — lets a screen say the same in its own language (the station's catalog has `log.<kind>`)."""

    def __init__(self, message: str, kind: str, path: Path) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path


async def rollback(db: aiosqlite.Connection) -> None:
    """Undo the open transaction — unless SQLite already has: on a full disk or an I/O error it rolls back
    by itself, and a second ROLLBACK would fail and hide the error that brought us here."""
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            await db.execute("ROLLBACK")


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reads(
    method: Callable[Concatenate[LogStore, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[LogStore, _P], Coroutine[Any, Any, _T]]:
    """A LogStore read whose SQLite error (a damaged file) becomes one sentence, as writes do."""

    @functools.wraps(method)
    async def reading(store: LogStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await method(store, *args, **kwargs)
        except sqlite3.Error as exc:
            raise store._describe(exc, reading=True) from exc

    return reading


class LogStore:
    """The traffic log. One instance owns the single writer connection; everything else asks it."""

    def __init__(self, path: Path, station_id: str) -> None:
        self.path = path
        self.station_id = station_id
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, station_id: str) -> LogStore:
        store = cls(path, station_id)
        await store._connect()
        return store

    async def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            setup = sqlite3.connect(self.path, isolation_level=None)
            try:
                setup.execute("PRAGMA journal_mode = WAL")
                setup.execute("PRAGMA busy_timeout = 5000")
                migrate(setup)
            finally:
                setup.close()
            db = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise CheckpointError(f"{self.path} is not a traffic log, or it is damaged ({exc}).") from exc
        except (OSError, sqlite3.Error) as exc:
            raise CheckpointError(f"Cannot open the traffic log {self.path}: {exc}.") from exc
        try:
            await db.execute("PRAGMA synchronous = FULL")
            await db.execute("PRAGMA busy_timeout = 5000")
        except sqlite3.Error as exc:
            await db.close()
            raise CheckpointError(f"Cannot open the traffic log {self.path}: {exc}.") from exc
        self._db = db

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("the log store is closed")
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> LogStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def append(self, draft: EntryDraft, *, now: datetime | None = None) -> Entry:
        """Append one entry, durably (fsync'd) before returning it. Raises CheckpointError."""
        moment = now or utcnow()
        salt = os.urandom(16)
        personal = _personal_json(draft)
        commit = chain.commitment(salt if personal else None, personal)
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    async with self.db.execute(
                        "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1",
                        (self.station_id,),
                    ) as cursor:
                        head = await cursor.fetchone()
                    seq, prev = (1, chain.GENESIS) if head is None else (head[0] + 1, head[1])
                    values = (
                        self.station_id, seq, uuid.uuid4().hex, to_micros(moment), time.monotonic_ns(),
                        draft.operator, draft.leader, draft.direction.value, draft.verdict.value,
                        draft.reason.value, None if draft.denied_for is None else draft.denied_for.value,
                        ",".join(w.value for w in draft.warnings), draft.pass_id, draft.key_id,
                        draft.category, draft.plate, draft.org, _micros(draft.valid_from),
                        _micros(draft.valid_until), draft.occupants, draft.fevers, draft.vehicle, draft.note,
                        draft.override_by, draft.override_reason, draft.raw_hash, draft.refers_to, commit, prev,
                    )  # fmt: skip
                    row = insert_row(values, personal, salt if personal else None)
                    digest = row[1]
                    await self.db.execute(INSERT_SQL, row)
                    await self.db.execute("COMMIT")
                except BaseException:
                    await rollback(self.db)
                    raise
            except sqlite3.Error as exc:
                raise self._describe(exc) from exc
            except OSError as exc:
                raise CheckpointError(describe_os_error(exc, self.path)) from exc
        return entry_from_row((*values, digest, personal))

    def _describe(self, exc: sqlite3.Error, *, reading: bool = False) -> LogError:
        text = str(exc)
        trouble = sqlite_trouble(exc)
        if trouble == "damaged":
            return LogError(damaged(self.path, exc).message, "damaged", self.path)
        if reading:
            return LogError(
                f"The traffic log {self.path} could not be read ({text}); try again.", "unreadable", self.path
            )
        if trouble == "full":
            return LogError(
                f"The disk is full: the traffic log {self.path} cannot grow; free space now — nothing was recorded.",
                "full",
                self.path,
            )
        if trouble == "busy":
            return LogError(
                f"The traffic log {self.path} is busy in another program; try again.", "busy", self.path
            )
        return LogError(
            f"The traffic log {self.path} could not be written ({text}); nothing was recorded.",
            "failed",
            self.path,
        )

    @_reads
    async def head(self, station_id: str | None = None) -> tuple[int, str]:
        async with self.db.execute(
            "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1",
            (station_id or self.station_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return (0, chain.GENESIS) if row is None else (int(row[0]), str(row[1]))

    async def seal(self, key: Ed25519PrivateKey, *, now: datetime | None = None) -> tuple[int, str] | None:
        """Sign the chain head with the station key. None when the log is empty or already sealed there."""
        await self.pin_station(self.station_id, key.public_key())
        moment = to_micros(now or utcnow())
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    seq, head_hash = await self.head()
                    async with self.db.execute(
                        "SELECT 1 FROM seals WHERE station_id = ? AND seq = ?", (self.station_id, seq)
                    ) as cursor:
                        already = await cursor.fetchone()
                    if seq == 0 or already:
                        await self.db.execute("ROLLBACK")
                        return None
                    signature = key.sign(chain.seal_message(self.station_id, seq, head_hash, moment))
                    await self.db.execute(
                        "INSERT INTO seals VALUES (?, ?, ?, ?, ?, ?)",
                        (self.station_id, seq, head_hash, moment, key_id_of(key.public_key()), signature),
                    )
                    await self.db.execute("COMMIT")
                except BaseException:
                    await rollback(self.db)
                    raise
            except sqlite3.Error as exc:
                raise self._describe(exc) from exc
        # A copy outside log.db: deleting the seal row, or an older copy of the file, is then caught.
        keep_seal(
            self.path.parent, self.station_id, seq, head_hash, moment, key_id_of(key.public_key()), signature
        )
        return seq, head_hash

    async def pin_station(self, station_id: str, public_key: Ed25519PublicKey, name: str = "") -> None:
        """Remember a station's public key; refuse a different key for a station already known."""
        raw = raw_public(public_key)
        async with self.db.execute(
            "SELECT public_key FROM stations WHERE station_id = ?", (station_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            await self.db.execute(
                "INSERT INTO stations VALUES (?, ?, ?, ?)", (station_id, raw, name, to_micros(utcnow()))
            )
        elif bytes(row[0]) != raw:
            raise CheckpointError(
                f"Station {station_id!r} is known here with another key; a log signed with a new key is refused."
            )

    # -- enrolment (the office store) ---------------------------------------------------------------

    async def enrol_station(
        self, station_id: str, public_key: Ed25519PublicKey, name: str, *, now: datetime
    ) -> Enrolment:
        """Record an enrolled station. Enrolling the same key again is harmless; another key for an id
        already enrolled, or for an id whose entries this log holds under another key, is refused."""
        raw = raw_public(public_key)
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    known = await self._enrolment(station_id)
                    async with self.db.execute(
                        "SELECT public_key FROM stations WHERE station_id = ?", (station_id,)
                    ) as cursor:
                        pinned = await cursor.fetchone()
                    if (known is not None and raw_public(known.public_key) != raw) or (
                        pinned is not None and bytes(pinned[0]) != raw
                    ):
                        raise CheckpointError(
                            f"Station {station_id} is already known here with another key; nothing was "
                            "enrolled — a replacement laptop is enrolled under a new station id."
                        )
                    if known is None:
                        await self.db.execute(
                            "INSERT INTO enrolled_stations (station_id, public_key, name, enrolled_at) "
                            "VALUES (?, ?, ?, ?)",
                            (station_id, raw, name, to_micros(now)),
                        )
                    await self.db.execute("COMMIT")
                except BaseException:
                    await rollback(self.db)
                    raise
            except sqlite3.Error as exc:
                raise self._describe(exc) from exc
        return known or Enrolment(station_id, public_key, name, now)

    async def retire_station(self, station_id: str, reason: str, *, now: datetime) -> Enrolment:
        """Mark an enrolled station retired from `now` on (once; a second retirement keeps the first)."""
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    known = await self._enrolment(station_id)
                    if known is None:
                        raise CheckpointError(
                            f"Station {station_id} is not enrolled here; `checkpoint stations list` shows who is."
                        )
                    if known.retired_at is None:
                        await self.db.execute(
                            "UPDATE enrolled_stations SET retired_at = ?, retire_reason = ? WHERE station_id = ?",
                            (to_micros(now), reason, station_id),
                        )
                    await self.db.execute("COMMIT")
                except BaseException:
                    await rollback(self.db)
                    raise
            except sqlite3.Error as exc:
                raise self._describe(exc) from exc
        if known.retired_at is not None:
            return known
        return Enrolment(known.station_id, known.public_key, known.name, known.enrolled_at, now, reason)

    async def _enrolment(self, station_id: str) -> Enrolment | None:
        async with self.db.execute(
            "SELECT station_id, public_key, name, enrolled_at, retired_at, retire_reason "
            "FROM enrolled_stations WHERE station_id = ?",
            (station_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _enrolment(row)

    @_reads
    async def enrolments(self) -> dict[str, Enrolment]:
        """Every station enrolled here, retired ones included, by id."""
        async with self.db.execute(
            "SELECT station_id, public_key, name, enrolled_at, retired_at, retire_reason "
            "FROM enrolled_stations ORDER BY station_id"
        ) as cursor:
            rows = await cursor.fetchall()
        return {str(r[0]): _enrolment(r) for r in rows}

    async def merge_bundle(self, bundle: Bundle, name: str) -> Merged:
        """Merge a checked bundle verbatim in one write transaction (this store's lock): refused whole
        unless its station is enrolled with the bundle's key (and not retired before it was written) and
        it extends what this log holds; a bundle that starts after a gap changes nothing and says so."""
        from .stations import admit_bundle

        what = f"The bundle {name} from {bundle.station_id}"
        refuse = f"{what} is refused, nothing was imported:"
        result = Merged()
        async with self._lock:
            db = self.db
            await db.execute("BEGIN IMMEDIATE")
            try:
                enrolment = admit_bundle(await self._enrolment(bundle.station_id), bundle, what)
                async with db.execute(
                    "SELECT seq, hash, ts FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1",
                    (bundle.station_id,),
                ) as cursor:
                    row = await cursor.fetchone()
                head_seq, head_hash = (0, chain.GENESIS) if row is None else (int(row[0]), str(row[1]))
                if bundle.from_seq > head_seq + 1:
                    await db.execute("ROLLBACK")
                    result.missing = (head_seq + 1, bundle.from_seq - 1)
                    return result
                if bundle.from_seq == head_seq + 1 and bundle.prev_hash != head_hash:
                    raise CheckpointError(
                        f"{refuse} it does not extend what the office holds: it does not link onto entry "
                        f"{head_seq} of {bundle.station_id} (a re-chained or rolled-back log)."
                    )
                if (
                    row is not None
                    and bundle.to_seq < head_seq
                    and bundle.created is not None
                    and to_micros(bundle.created) > int(row[2])
                ):
                    raise CheckpointError(
                        f"{refuse} it does not extend what the office holds: it ends at entry {bundle.to_seq} "
                        f"although it was written after entry {head_seq} that the office already has "
                        "(the station's log was cut or rolled back)."
                    )
                overlap_hi = min(head_seq, bundle.to_seq)
                if overlap_hi >= bundle.from_seq:
                    async with db.execute(
                        "SELECT seq, hash FROM entries WHERE station_id = ? AND seq BETWEEN ? AND ?",
                        (bundle.station_id, bundle.from_seq, overlap_hi),
                    ) as cursor:
                        known: dict[int, str] = {int(r[0]): str(r[1]) for r in await cursor.fetchall()}
                    for seq in range(bundle.from_seq, overlap_hi + 1):
                        if known.get(seq) != bundle.hash_at(seq):
                            raise CheckpointError(
                                f"{refuse} its entry {seq} differs from the one already imported "
                                "(a forked or altered log)."
                            )
                    result.already = overlap_hi - bundle.from_seq + 1
                new = bundle.entries[max(0, head_seq + 1 - bundle.from_seq) :]
                await db.execute(
                    "INSERT OR IGNORE INTO stations VALUES (?, ?, ?, ?)",
                    (
                        bundle.station_id,
                        raw_public(enrolment.public_key),
                        enrolment.name,
                        to_micros(utcnow()),
                    ),
                )
                await db.executemany(INSERT_SQL, new)
                for seal in bundle.seals:
                    if seal[1] < bundle.from_seq:
                        async with db.execute(
                            "SELECT hash FROM entries WHERE station_id = ? AND seq = ?", (seal[0], seal[1])
                        ) as cursor:
                            at = await cursor.fetchone()
                        if at is None or at[0] != seal[2]:
                            raise CheckpointError(
                                f"{refuse} its seal at entry {seal[1]} does not match the office's entry."
                            )
                    cursor = await db.execute("INSERT OR IGNORE INTO seals VALUES (?, ?, ?, ?, ?, ?)", seal)
                    result.seals += max(cursor.rowcount, 0)
                await db.executemany(
                    f"INSERT INTO shifts ({', '.join(SHIFT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(SHIFT_COLUMNS))}) "
                    "ON CONFLICT (id) DO UPDATE SET ended = excluded.ended, sealed_seq = excluded.sealed_seq "
                    "WHERE shifts.station_id = excluded.station_id",  # a shift ends later; never another station's row
                    bundle.shifts,
                )
                await db.execute("COMMIT")
            except BaseException:
                await rollback(db)
                raise
        result.added = len(new)
        return result

    @_reads
    async def station_keys(self) -> dict[str, Ed25519PublicKey]:
        async with self.db.execute("SELECT station_id, public_key FROM stations") as cursor:
            rows = await cursor.fetchall()
        return {str(r[0]): public_from_raw(bytes(r[1])) for r in rows}

    @_reads
    async def recent(self, limit: int = 50, station_id: str | None = None) -> list[Entry]:
        sql = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries"
        params: tuple[Any, ...] = ()
        if station_id is not None:
            sql += " WHERE station_id = ?"
            params = (station_id,)
        sql += " ORDER BY ts DESC, seq DESC LIMIT ?"
        async with self.db.execute(sql, (*params, limit)) as cursor:
            rows = await cursor.fetchall()
        return [entry_from_row(r) for r in rows]

    @_reads
    async def inside(self) -> frozenset[str]:
        """Pass ids whose last allowed movement at this station was IN."""
        async with self.db.execute(INSIDE_SQL, (self.station_id, self.station_id)) as cursor:
            rows = await cursor.fetchall()
        return frozenset(str(r[0]) for r in rows)

    @_reads
    async def newest_time(self) -> datetime | None:
        async with self.db.execute(
            "SELECT MAX(ts) FROM entries WHERE station_id = ?", (self.station_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else from_micros(row[0])

    @_reads
    async def counts_since(self, since: datetime) -> dict[str, int]:
        """Counters for the station screen: in, out, denied, fevers, overrides since `since`."""
        async with self.db.execute(
            f"""
            SELECT
              SUM(verdict = 'allow' AND direction = 'in'),
              SUM(verdict = 'allow' AND direction = 'out'),
              SUM(verdict = 'deny'),
              SUM(fevers > 0),
              SUM(reason = 'override')
            FROM entries WHERE station_id = ? AND ts >= ? AND {CURRENT_ONLY}
            """,
            (self.station_id, to_micros(since)),
        ) as cursor:
            row = await cursor.fetchone()
        keys = ("in", "out", "denied", "fevers", "overrides")
        return {k: int(v or 0) for k, v in zip(keys, row or (), strict=False)} | {
            k: 0 for k in keys if row is None
        }

    async def purge(self, before: datetime, *, now: datetime | None = None) -> int:
        """Drop names and temperatures of entries older than `before`; the chain still verifies.

        The purge is itself recorded first, in the same transaction (a `purge` record: up to which time,
        how many entries, the head of the log then), so that `log verify` can tell a purge from a wipe.
        Nothing is recorded when there is nothing to purge.
        """
        cutoff = to_micros(before)
        async with self._lock:
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    async with self.db.execute(
                        "SELECT COUNT(*), MIN(seq), MAX(seq) FROM entries WHERE ts < ? AND personal IS NOT NULL",
                        (cutoff,),
                    ) as cursor:
                        count, low, high = await cursor.fetchone() or (0, None, None)
                    if not count:
                        await self.db.execute("ROLLBACK")
                        return 0
                    data = {"before": cutoff, "entries": count, "first_seq": low, "last_seq": high}
                    await self._append_record("purge", data, now or utcnow())
                    cursor = await self.db.execute(
                        "UPDATE entries SET personal = NULL, salt = NULL WHERE ts < ? AND personal IS NOT NULL",
                        (cutoff,),
                    )
                    purged = cursor.rowcount
                    await self.db.execute("COMMIT")
                except BaseException:
                    await rollback(self.db)
                    raise
                return purged
            except sqlite3.Error as exc:
                raise self._describe(exc) from exc

    async def _append_record(self, kind: str, data: dict[str, object], now: datetime) -> None:
        """Within an open transaction: chain one record onto the log's records."""
        async with self.db.execute("SELECT n, hash FROM records ORDER BY n DESC LIMIT 1") as cursor:
            last = await cursor.fetchone()
        async with self.db.execute(
            "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1", (self.station_id,)
        ) as cursor:
            head = await cursor.fetchone()
        row = chain.record_row(
            last, kind, data, to_micros(now), self.station_id, (0, chain.GENESIS) if head is None else head
        )
        await self.db.execute("INSERT INTO records (n, body, hash) VALUES (?, ?, ?)", row)

    async def start_shift(self, shift: Shift, *, now: datetime | None = None) -> str:
        shift_id = uuid.uuid4().hex
        try:
            await self.db.execute(
                "INSERT INTO shifts (id, station_id, operator, leader, started) VALUES (?, ?, ?, ?, ?)",
                (shift_id, self.station_id, shift.operator, shift.leader, to_micros(now or utcnow())),
            )
        except sqlite3.Error as exc:
            raise self._describe(exc) from exc
        return shift_id

    @_reads
    async def open_shift(self) -> tuple[str, Shift, datetime] | None:
        """The shift signed in and not yet handed over (id, who, since): it carries on after a restart."""
        async with self.db.execute(
            "SELECT id, operator, leader, started FROM shifts WHERE station_id = ? AND ended IS NULL "
            "ORDER BY started DESC LIMIT 1",
            (self.station_id,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return str(row[0]), Shift(str(row[1]), str(row[2])), from_micros(int(row[3]))

    async def end_shift(self, shift_id: str, sealed_seq: int | None, *, now: datetime | None = None) -> None:
        try:
            await self.db.execute(
                "UPDATE shifts SET ended = ?, sealed_seq = ? WHERE id = ?",
                (to_micros(now or utcnow()), sealed_seq, shift_id),
            )
        except sqlite3.Error as exc:
            raise self._describe(exc) from exc


def append_record(path: Path, station_id: str, kind: str, data: dict[str, object], now: datetime) -> None:
    """Chain one record onto the log at `path` (created if needed): for a tool that holds no LogStore."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise CheckpointError(f"Cannot open the traffic log {path}: {exc}.") from exc
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 5000")
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        last = conn.execute("SELECT n, hash FROM records ORDER BY n DESC LIMIT 1").fetchone()
        head = conn.execute(
            "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1", (station_id,)
        ).fetchone()
        row = chain.record_row(last, kind, data, to_micros(now), station_id, head or (0, chain.GENESIS))
        conn.execute("INSERT INTO records (n, body, hash) VALUES (?, ?, ?)", row)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise damaged(path, exc) from exc
    finally:
        conn.close()


def latest_record(path: Path, kind: str) -> dict[str, Any] | None:
    """The body of the newest record of `kind` in the log at `path` (None: no log, or no such record)."""
    if not path.exists():
        return None
    conn = open_reader(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "records" not in tables:
            return None
        row = conn.execute(
            "SELECT body FROM records WHERE kind = ? ORDER BY n DESC LIMIT 1", (kind,)
        ).fetchone()
    except sqlite3.DatabaseError as exc:
        raise damaged(path, exc) from exc
    finally:
        conn.close()
    if row is None:
        return None
    body = json.loads(row[0])
    return body if isinstance(body, dict) else None


def verify_log(
    path: Path,
    station_keys: dict[str, Ed25519PublicKey] | None = None,
    progress: chain.Progress | None = None,
    anchors: dict[str, list[chain.Anchor]] | None = None,
    *,
    retention_days: int | None = None,
    now: datetime | None = None,
    own_station: str | None = None,
) -> chain.VerifyResult:
    """Verify every station's chain and seals in the log at `path` (sync; run it in a thread), the log's
    own records, and (with `retention_days`) that no personal data younger than that was removed unrecorded
    (tampering for `own_station` and the stations whose purges are recorded here; a warning for others).
    Each station's report also carries the places where its clock goes back (warnings, not tampering).

    `station_keys` overrides the keys pinned in the log (a station passes its own key file's key).
    `anchors` are what is kept outside the file (receipts, seal copies, a head code), by station: the log
    must still hold what each of them covers.
    """
    conn = open_reader(path)
    try:
        pinned = {
            str(r[0]): public_from_raw(bytes(r[1]))
            for r in conn.execute("SELECT station_id, public_key FROM stations")
        }
        pinned.update(station_keys or {})
        result = chain.verify_all(conn, str(path), pinned, progress)
        for station, kept in (anchors or {}).items():
            report = next((r for r in result.stations if r.station_id == station), None)
            if report is None:
                report = chain.ChainReport(station)
                result.stations.append(report)
            chain.check_anchors(conn, report, kept)
        records = chain.verify_records(conn, result)
        keep_from = None
        if retention_days is not None:
            keep_from = to_micros((now or utcnow()) - timedelta(days=retention_days))
        chain.check_purges(conn, result, records, keep_from, own_station)
        for report in result.stations:
            chain.check_clocks(conn, report)
        return result
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is damaged and cannot be verified ({exc}).") from exc
    finally:
        conn.close()


def verify_home_log(
    root: Path,
    station_id: str,
    trust: TrustList,
    station_key: Ed25519PublicKey | None,
    *,
    head_code: chain.Anchor | None = None,
    progress: chain.Progress | None = None,
    retention_days: int | None = None,
) -> chain.VerifyResult:
    """`verify_log` of the log in home `root`, also against the anchors this home keeps outside it for
    `station_id` (receipts, seal copies) and a head code from the duty book. Raises CheckpointError when
    the log file is gone although anchors say it held entries."""
    log_db = root / "log.db"
    anchors = load_anchors(root, station_id, trust, station_key)
    if head_code is not None:
        anchors.append(head_code)
    if not log_db.exists() and anchors:
        raise CheckpointError(
            f"There is no traffic log at {log_db}, although {len(anchors)} receipt(s), seal copies or head codes "
            "say it held entries: TAMPERED (the file was removed or moved).",
            exit_code=1,
        )
    if not log_db.exists():
        return chain.VerifyResult()  # no log and nothing that says there was one
    keys = {} if station_key is None else {station_id: station_key}
    return verify_log(
        log_db,
        keys,
        progress,
        {station_id: anchors} if anchors else None,
        retention_days=retention_days,
        own_station=station_id,
    )
