"""The office's register of issued passes (SQLite), and the issuing itself."""

from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from .errors import CheckpointError
from .fsutil import sqlite_trouble
from .keys import Keyring, read_json
from .models import Category, PassData
from .passes import PassFormatError, new_pass_id, sign_pass
from .revocations import Revocation, RevocationList, parse_list, save_list, sign_list
from .timeutil import from_micros, iso_local, to_micros, utcnow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passes (
    pass_id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    category TEXT NOT NULL,
    plate TEXT NOT NULL,
    holder TEXT NOT NULL,
    org TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    valid_until INTEGER NOT NULL,
    checkpoints TEXT NOT NULL,
    max_occupants INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    payload TEXT NOT NULL,
    revoked_at INTEGER,
    revoke_reason TEXT,
    replaces TEXT
);
CREATE INDEX IF NOT EXISTS passes_plate ON passes (plate);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# A pass's status (a code in JSON and in the TUI's catalog keys) as a word for people.
STATUS_WORDS = {
    "valid": "valid",
    "expired": "expired",
    "revoked": "revoked",
    "not_yet_valid": "not yet valid",
}


@dataclass(frozen=True)
class IssuedPass:
    data: PassData
    payload: str
    revoked_at: datetime | None = None
    revoke_reason: str | None = None
    replaces: str | None = None

    def status(self, now: datetime) -> str:
        """valid, expired, revoked or not_yet_valid."""
        if self.revoked_at is not None:
            return "revoked"
        if now > self.data.valid_until:
            return "expired"
        if now < self.data.valid_from:
            return "not_yet_valid"
        return "valid"

    def status_word(self, now: datetime) -> str:
        """The status for people: valid, expired, revoked or not yet valid."""
        return STATUS_WORDS[self.status(now)]

    def to_json(self, now: datetime, tz: tzinfo | None = None) -> dict[str, object]:
        """The JSON view; with `tz`, its times are in that zone with their offset (the same instants)."""
        return {
            **self.data.public_dict(tz),
            "status": self.status(now),
            "revoked_at": None if self.revoked_at is None else iso_local(self.revoked_at, tz),
            "revoke_reason": self.revoke_reason,
            "replaces": self.replaces,
            "payload": self.payload,
        }


_COLUMNS = (
    "pass_id, key_id, category, plate, holder, org, valid_from, valid_until, checkpoints, "
    "max_occupants, issued_at, payload, revoked_at, revoke_reason, replaces"
)


def _row_to_pass(row: tuple[object, ...]) -> IssuedPass:
    (pass_id, key_id, category, plate, holder, org, start, end, checkpoints, occupants, issued, payload,
     revoked_at, reason, replaces) = row  # fmt: skip
    data = PassData(
        pass_id=str(pass_id),
        key_id=str(key_id),
        category=Category(str(category)),
        plate=str(plate),
        holder=str(holder),
        org=str(org),
        valid_from=from_micros(int(start)),  # type: ignore[call-overload]
        valid_until=from_micros(int(end)),  # type: ignore[call-overload]
        checkpoints=tuple(json.loads(str(checkpoints))),
        max_occupants=int(occupants),  # type: ignore[call-overload]
        issued_at=from_micros(int(issued)),  # type: ignore[call-overload]
    )
    return IssuedPass(
        data=data,
        payload=str(payload),
        revoked_at=None if revoked_at is None else from_micros(int(revoked_at)),  # type: ignore[call-overload]
        revoke_reason=None if reason is None else str(reason),
        replaces=None if replaces is None else str(replaces),
    )


def _minute(moment: datetime) -> datetime:
    """The register keeps validity to the minute."""
    return moment.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class PassRequest:
    """What the office asks for; validated fields, not yet signed."""

    plate: str
    category: Category
    holder: str
    org: str
    valid_from: datetime
    valid_until: datetime
    checkpoints: tuple[str, ...]
    max_occupants: int


_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reads(method: Callable[Concatenate[Registry, _P], _T]) -> Callable[Concatenate[Registry, _P], _T]:
    """A register read on a damaged file (a bad disk, a copy cut short) as one sentence."""

    @functools.wraps(method)
    def reading(registry: Registry, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(registry, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if sqlite_trouble(exc) != "damaged":
                raise
            raise CheckpointError(
                f"The pass register {registry.path} is damaged ({exc}); restore it from the office's backup."
            ) from exc

    return reading


class Registry:
    """The office's passes. Sync sqlite3: the office is one desktop, one person at a time."""

    def __init__(self, path: Path, keyring: Keyring) -> None:
        self.path = path
        self.keyring = keyring
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise CheckpointError(f"{path} is not a pass register, or it is damaged ({exc}).") from exc

    def close(self) -> None:
        self.conn.close()

    @_reads
    def find_same(self, request: PassRequest) -> IssuedPass | None:
        """A live pass with the same plate, category and validity (so a re-run issues no duplicate).

        The validity is compared to the minute, as `build` signs it: a request for 23:59:59 finds the
        pass that was signed for 23:59.
        """
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM passes WHERE plate = ? AND category = ? AND valid_from = ? "
            "AND valid_until = ? AND revoked_at IS NULL ORDER BY issued_at, pass_id",
            (
                request.plate,
                request.category.value,
                to_micros(_minute(request.valid_from)),
                to_micros(_minute(request.valid_until)),
            ),
        ).fetchone()
        return None if row is None else _row_to_pass(row)

    def build(self, request: PassRequest, *, now: datetime | None = None) -> tuple[PassData, str]:
        """Sign a pass for `request` with the active key (not yet stored)."""
        key = self.keyring.active()
        private = self.keyring.private_key(key.key_id)
        moment = (now or utcnow()).replace(second=0, microsecond=0)
        data = PassData(
            pass_id=new_pass_id(),
            key_id=key.key_id,
            category=request.category,
            plate=request.plate,
            holder=request.holder,
            org=request.org,
            valid_from=_minute(request.valid_from),
            valid_until=_minute(request.valid_until),
            checkpoints=request.checkpoints,
            max_occupants=request.max_occupants,
            issued_at=moment,
        )
        try:
            payload = sign_pass(data, private)
        except PassFormatError as exc:
            raise CheckpointError(f"The pass cannot be issued: {exc}.") from exc
        return data, payload

    def issue(
        self, request: PassRequest, *, now: datetime | None = None, replaces: str | None = None
    ) -> IssuedPass:
        data, payload = self.build(request, now=now)
        self.store([(data, payload, replaces)])
        return IssuedPass(data, payload, replaces=replaces)

    @contextlib.contextmanager
    def _writing(self, nothing: str) -> Iterator[None]:
        """A write the register refuses (a full disk, a damaged file) as one sentence; `nothing` says
        what did not happen."""
        try:
            yield
        except sqlite3.Error as exc:
            if sqlite_trouble(exc) == "full":
                raise CheckpointError(
                    f"The disk is full: the pass register {self.path} cannot grow; free some space — {nothing}."
                ) from exc
            raise CheckpointError(
                f"The pass register {self.path} could not be written ({exc}); {nothing}."
            ) from exc

    def store(self, items: list[tuple[PassData, str, str | None]]) -> None:
        """Record signed passes in one transaction (all or nothing)."""
        with self._writing("nothing was issued"):
            self._store(items)

    def _store(self, items: list[tuple[PassData, str, str | None]]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                f"INSERT INTO passes ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                [
                    (
                        d.pass_id, d.key_id, d.category.value, d.plate, d.holder, d.org,
                        to_micros(d.valid_from), to_micros(d.valid_until), json.dumps(list(d.checkpoints)),
                        d.max_occupants, to_micros(d.issued_at), payload, None, None, replaces,
                    )
                    for d, payload, replaces in items
                ],
            )  # fmt: skip
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # SQLite rolls back by itself on a full disk or an I/O error
                self.conn.execute("ROLLBACK")
            raise

    @_reads
    def get(self, pass_id: str) -> IssuedPass:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM passes WHERE pass_id = ?", (pass_id,)).fetchone()
        if row is None:
            raise CheckpointError(f"No pass {pass_id} was issued here; `checkpoint pass list` shows them.")
        return _row_to_pass(row)

    @_reads
    def count(self) -> int:
        """How many passes the register holds (revoked ones too)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM passes").fetchone()[0])

    @_reads
    def list(self, *, search: str = "", limit: int | None = None) -> list[IssuedPass]:
        sql = f"SELECT {_COLUMNS} FROM passes"
        params: list[object] = []
        if search:
            sql += " WHERE plate LIKE ? ESCAPE '\\' OR holder LIKE ? ESCAPE '\\' OR pass_id LIKE ? ESCAPE '\\' OR org LIKE ? ESCAPE '\\'"
            pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params = [pattern] * 4
        sql += " ORDER BY issued_at DESC, pass_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [_row_to_pass(r) for r in self.conn.execute(sql, params)]

    def revoke(self, pass_id: str, reason: str, *, now: datetime | None = None) -> IssuedPass:
        issued = self.get(pass_id)
        if issued.revoked_at is not None:
            raise CheckpointError(f"Pass {pass_id} was already revoked.")
        with self._writing(f"pass {pass_id} was not revoked"):
            self.conn.execute(
                "UPDATE passes SET revoked_at = ?, revoke_reason = ? WHERE pass_id = ?",
                (to_micros(now or utcnow()), reason, pass_id),
            )
        return self.get(pass_id)

    @_reads
    def _meta(self, name: str, default: str) -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return default if row is None else str(row[0])

    @_reads
    def revocation_list(
        self, office: str, *, now: datetime | None = None, bump: bool = True
    ) -> RevocationList:
        """The signed list of every revoked pass still worth listing (not long expired).

        Each call with `bump` takes the next sequence number, so a station can tell newer from older.
        """
        moment = now or utcnow()
        seq = int(self._meta("revocation_seq", "0")) + (1 if bump else 0)
        horizon = to_micros(moment - timedelta(days=30))
        rows = self.conn.execute(
            "SELECT pass_id, revoked_at, revoke_reason FROM passes WHERE revoked_at IS NOT NULL "
            "AND valid_until >= ? ORDER BY revoked_at, pass_id",
            (horizon,),
        ).fetchall()
        entries = [Revocation(str(p), from_micros(int(t)), str(r or "")) for p, t, r in rows]
        key = self.keyring.active()
        rlist = sign_list(office, max(seq, 1), moment, entries, self.keyring.private_key(key.key_id))
        if bump:
            with self._writing("no new revocation list was made"):
                self.conn.execute(
                    "INSERT INTO meta VALUES ('revocation_seq', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    (str(rlist.seq),),
                )
        return rlist

    def publish_revocations(
        self, office: str, home_list: Path, *, now: datetime | None = None
    ) -> RevocationList:
        """The current signed list, made this (office) home's own list so its `verify` sees revocations.

        A new number is taken only when the list changed since the last one published: exporting twice
        gives stations the same list, and the number a revocation message names is the one they get.
        """
        current = self.revocation_list(office, now=now, bump=False)
        if home_list.exists():
            try:
                published = parse_list(read_json(home_list), str(home_list))
            except CheckpointError:
                published = None
            if (
                published is not None
                and published.seq == current.seq
                and published.key_id == current.key_id
                and [(e.pass_id, e.reason) for e in published.entries]
                == [(e.pass_id, e.reason) for e in current.entries]
            ):
                return published
        rlist = self.revocation_list(office, now=now)
        save_list(home_list, rlist)
        return rlist
