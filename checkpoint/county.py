"""The county store: every station of every township merged into one PostgreSQL database.

An office home whose setting `log.database` is a `postgresql://…` URL keeps its merged log here instead
of in `log.db`. The rows are the same as the SQLite store's: an entry IS its canonical body (the hashed
JSON array, stored verbatim as text), and every named column is derived from that body by the server
(`entries_derive`, a trigger), never taken from a file. What is new at this size:

- versioned migrations (`county_init`), and roles per county database `<db>_importer` (reads and inserts,
  never updates or deletes the log), `<db>_auditor` (reads only) and `<db>_retention` (may only call
  `purge_personal`, the one SECURITY DEFINER function that nulls personal data older than the retention
  period);
- bundles merge with the SAME checks as at a township (`bundle.read_bundle`), then in one transaction
  per bundle under a per-station advisory lock: the stored hash at the bundle's overlap is compared first
  (one match proves the whole prefix; a mismatch is a fork, refused whole and recorded in `alerts`), and
  only the new tail is copied in with COPY;
- a rollup (station, local day, category, verdict, direction, reason) kept current by a statement
  trigger on every insert, so a county's daily report reads a few hundred rows;
- chains verified in SQL (hash, link, gaps, commitments, columns against the body), seals in Python
  against the stored station keys.

SQL lives in this module only (and in `county_report.py`'s adapter); every statement is parameterised.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from psycopg import sql

from . import chain
from .bundle import Bundle, EnrolmentCheck, ImportResult, enrolment_check, pending_dir, read_bundle
from .errors import CheckpointError
from .keys import key_id_of, public_from_raw, raw_public
from .store import ENTRY_COLUMNS, INSERT_COLUMNS, SHIFT_COLUMNS, Enrolment
from .timeutil import from_micros, to_micros, utcnow

SCHEMA_VERSION = 3
ROLES = ("importer", "auditor", "retention")
STATION_LOCK = 0x434B  # the advisory lock class of "one station's merge" ("CK")


def is_county(database: str) -> bool:
    """Whether a `log.database` setting names a county server (else the log is log.db in the home)."""
    return database.startswith(("postgresql://", "postgres://"))


def where(url: str) -> str:
    """The server and database of a URL, without its password: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.path.strip('/')} on {host}:{parts.port or 5432}"


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A connection to the county server, or one sentence saying why there is none."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"Cannot reach the county database {where(url)} ({detail}); check log.database and that the "
            "server is running."
        ) from exc


@contextmanager
def session(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose server errors become one sentence each."""
    conn = connect(url, autocommit=True)
    try:
        yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise CheckpointError(
            f"The county database {where(url)} refused this ({exc.diag.message_primary}); "
            "connect as a role that may do it (docs/county.md)."
        ) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise CheckpointError(
            f"The county database {where(url)} has no county store yet; run 'checkpoint county init' first."
        ) from exc
    except psycopg.Error as exc:
        raise CheckpointError(
            f"The county database {where(url)} failed ({exc.diag.message_primary or exc}); try again "
            "(what was merged stays, and importing a bundle twice adds nothing)."
        ) from exc
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------- schema


def _derive_function() -> str:
    """The trigger that fills every named column from the body (and refuses edits of the log)."""
    sets = []
    for index, name in enumerate(chain.CHAINED):
        kind = "bigint" if name in chain.INTEGER_FIELDS else "text"
        sets.append(f"NEW.{name} := (d ->> {index})::{kind};")
    return f"""
    CREATE FUNCTION entries_derive() RETURNS trigger LANGUAGE plpgsql AS $fn$
    DECLARE d jsonb;
    BEGIN
      IF TG_OP = 'UPDATE' AND (NEW.body IS DISTINCT FROM OLD.body OR NEW.hash IS DISTINCT FROM OLD.hash
          OR NEW.personal IS NOT NULL OR NEW.salt IS NOT NULL) THEN
        RAISE EXCEPTION 'the traffic log is append-only';
      END IF;
      d := NEW.body::jsonb;
      IF jsonb_typeof(d) <> 'array' OR jsonb_array_length(d) <> {len(chain.CHAINED)} THEN
        RAISE EXCEPTION 'an entry body is a JSON array of {len(chain.CHAINED)} values';
      END IF;
      {" ".join(sets)}
      RETURN NEW;
    END $fn$;
    """


def _entry_table() -> str:
    """Text in byte order (COLLATE "C"), as SQLite orders it: pages and reports list what a township's do,
    and indexes compare bytes instead of asking the locale."""
    lines = [
        'body text COLLATE "C" NOT NULL',
        'hash text COLLATE "C" NOT NULL',
        "personal text",
        "salt bytea",
    ]
    for name in chain.CHAINED:
        kind = "bigint" if name in chain.INTEGER_FIELDS else 'text COLLATE "C"'
        lines.append(f"{name} {kind}{' NOT NULL' if name in chain.REQUIRED_FIELDS else ''}")
    return ",\n      ".join(lines)


_MIGRATIONS: list[str] = [
    # version 1
    f"""
    CREATE TABLE county (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      version integer NOT NULL,
      timezone text COLLATE "C" NOT NULL,
      retention_days integer NOT NULL CHECK (retention_days >= 1)
    );
    CREATE TABLE stations (
      station_id text COLLATE "C" PRIMARY KEY,
      public_key bytea NOT NULL,
      name text COLLATE "C" NOT NULL DEFAULT '',
      first_seen bigint NOT NULL
    );
    CREATE TABLE entries (
      {_entry_table()},
      PRIMARY KEY (station_id, seq)
    );
    CREATE UNIQUE INDEX entries_id ON entries (id);
    CREATE INDEX entries_ts ON entries (ts);
    CREATE INDEX entries_station_ts ON entries (station_id, ts);
    CREATE INDEX entries_reason_ts ON entries (reason, ts);
    CREATE INDEX entries_refers_to ON entries (refers_to) WHERE refers_to IS NOT NULL;
    CREATE INDEX entries_fevers_ts ON entries (ts) WHERE fevers > 0;
    CREATE TABLE seals (
      station_id text COLLATE "C" NOT NULL,
      seq bigint NOT NULL,
      head_hash text COLLATE "C" NOT NULL,
      sealed_at bigint NOT NULL,
      key_id text COLLATE "C" NOT NULL,
      signature bytea NOT NULL,
      PRIMARY KEY (station_id, seq)
    );
    CREATE TABLE shifts (
      id text COLLATE "C" PRIMARY KEY,
      station_id text COLLATE "C" NOT NULL,
      operator text COLLATE "C" NOT NULL,
      leader text COLLATE "C" NOT NULL,
      started bigint NOT NULL,
      ended bigint,
      sealed_seq bigint
    );
    CREATE TABLE alerts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      at bigint NOT NULL,
      station_id text COLLATE "C" NOT NULL,
      kind text COLLATE "C" NOT NULL,
      bundle text COLLATE "C" NOT NULL,
      detail text COLLATE "C" NOT NULL
    );
    CREATE TABLE rollup (
      station_id text COLLATE "C" NOT NULL,
      day date NOT NULL,
      category text COLLATE "C" NOT NULL,
      verdict text COLLATE "C" NOT NULL,
      direction text COLLATE "C" NOT NULL,
      reason text COLLATE "C" NOT NULL,
      entries bigint NOT NULL,
      fevers bigint NOT NULL,
      PRIMARY KEY (day, station_id, category, verdict, direction, reason)
    );
    {_derive_function()}
    CREATE TRIGGER entries_derive BEFORE INSERT OR UPDATE ON entries
      FOR EACH ROW EXECUTE FUNCTION entries_derive();
    CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $fn$;
    CREATE TRIGGER entries_no_delete BEFORE DELETE OR TRUNCATE ON entries
      FOR EACH STATEMENT EXECUTE FUNCTION append_only();
    CREATE TRIGGER seals_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON seals
      FOR EACH STATEMENT EXECUTE FUNCTION append_only();
    CREATE TRIGGER alerts_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON alerts
      FOR EACH STATEMENT EXECUTE FUNCTION append_only();

    -- The rollup counts each vehicle once, by its latest entry (as the report does): an entry that a
    -- later one refers to (an overridden denial, a corrected entry) is taken out of its bucket.
    CREATE FUNCTION rollup_add() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_catalog AS $fn$
    DECLARE zone text := (SELECT timezone FROM county);
    BEGIN
      INSERT INTO rollup AS r
      SELECT n.station_id, (to_timestamp(n.ts / 1000000.0) AT TIME ZONE zone)::date,
             coalesce(n.category, ''), n.verdict, n.direction, n.reason,
             count(*), count(*) FILTER (WHERE n.fevers > 0)
      FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM entries x WHERE x.refers_to = n.id)
      GROUP BY 1, 2, 3, 4, 5, 6
      ON CONFLICT (day, station_id, category, verdict, direction, reason)
      DO UPDATE SET entries = r.entries + excluded.entries, fevers = r.fevers + excluded.fevers;
      WITH gone AS (
        SELECT o.station_id, (to_timestamp(o.ts / 1000000.0) AT TIME ZONE zone)::date AS day,
               coalesce(o.category, '') AS category, o.verdict, o.direction, o.reason,
               count(*) AS n, count(*) FILTER (WHERE o.fevers > 0) AS f
        FROM entries o
        WHERE o.id IN (SELECT refers_to FROM new_rows WHERE refers_to IS NOT NULL)
          AND o.id NOT IN (SELECT id FROM new_rows)
          AND NOT EXISTS (SELECT 1 FROM entries x WHERE x.refers_to = o.id
                          AND x.id NOT IN (SELECT id FROM new_rows))
        GROUP BY 1, 2, 3, 4, 5, 6
      )
      UPDATE rollup r SET entries = r.entries - g.n, fevers = r.fevers - g.f FROM gone g
      WHERE (r.day, r.station_id, r.category, r.verdict, r.direction, r.reason)
          = (g.day, g.station_id, g.category, g.verdict, g.direction, g.reason);
      RETURN NULL;
    END $fn$;
    CREATE TRIGGER entries_rollup AFTER INSERT ON entries REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollup_add();

    -- Retention: the only way to remove personal data, and only what is older than the retention period.
    CREATE FUNCTION purge_personal(before bigint) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_catalog AS $fn$
    DECLARE
      keep integer := (SELECT retention_days FROM county);
      newest bigint := (extract(epoch FROM now()) * 1000000)::bigint - keep::bigint * 86400000000;
      n bigint;
    BEGIN
      IF before > newest THEN
        RAISE EXCEPTION 'personal data younger than % days is kept', keep;
      END IF;
      UPDATE entries SET personal = NULL, salt = NULL WHERE ts < before AND personal IS NOT NULL;
      GET DIAGNOSTICS n = ROW_COUNT;
      RETURN n;
    END $fn$;
    REVOKE ALL ON FUNCTION purge_personal(bigint) FROM PUBLIC;
    CREATE FUNCTION body_says(body text, named jsonb) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $fn$
    BEGIN RETURN body::jsonb = named; EXCEPTION WHEN others THEN RETURN false; END $fn$;
    """,
    # version 2: the stations enrolled at the county (key confirmed by a person; no trust on first use), as
    # the SQLite office's `enrolled_stations`. An enrolment is never changed or removed: only a retirement
    # is added to it, once. (`stations` stays the key each station's seals are checked with.)
    """
    CREATE TABLE enrolled_stations (
      station_id text COLLATE "C" PRIMARY KEY,
      public_key bytea NOT NULL,
      name text COLLATE "C" NOT NULL DEFAULT '',
      enrolled_at bigint NOT NULL,
      retired_at bigint,
      retire_reason text COLLATE "C"
    );
    CREATE FUNCTION enrolment_kept() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      IF NEW.station_id IS DISTINCT FROM OLD.station_id OR NEW.public_key IS DISTINCT FROM OLD.public_key
          OR NEW.name IS DISTINCT FROM OLD.name OR NEW.enrolled_at IS DISTINCT FROM OLD.enrolled_at
          OR OLD.retired_at IS NOT NULL OR NEW.retired_at IS NULL THEN
        RAISE EXCEPTION 'an enrolment is kept as it was; only its retirement is added, once';
      END IF;
      RETURN NEW;
    END $fn$;
    CREATE TRIGGER enrolled_stations_kept BEFORE UPDATE ON enrolled_stations
      FOR EACH ROW EXECUTE FUNCTION enrolment_kept();
    CREATE TRIGGER enrolled_stations_no_delete BEFORE DELETE OR TRUNCATE ON enrolled_stations
      FOR EACH STATEMENT EXECUTE FUNCTION append_only();
    """,
    # version 3: the daily report's shifts and hourly chart from rollups too (no scan of the day's entries)
    """
    -- Every entry of a (station, local day, operator, leader), superseded ones included (the report's
    -- shifts table counts log entries): added to, never taken from.
    CREATE TABLE rollup_shifts (
      day date NOT NULL,
      station_id text COLLATE "C" NOT NULL,
      operator text COLLATE "C" NOT NULL,
      leader text COLLATE "C" NOT NULL,
      first_ts bigint NOT NULL,
      last_ts bigint NOT NULL,
      entries bigint NOT NULL,
      PRIMARY KEY (day, station_id, operator, leader)
    );
    -- Vehicles per (station, local day, local clock hour, verdict, direction), each counted once by its
    -- latest entry, as the rollup counts them.
    CREATE TABLE rollup_hours (
      day date NOT NULL,
      station_id text COLLATE "C" NOT NULL,
      hour smallint NOT NULL,
      verdict text COLLATE "C" NOT NULL,
      direction text COLLATE "C" NOT NULL,
      entries bigint NOT NULL,
      PRIMARY KEY (day, station_id, hour, verdict, direction)
    );
    CREATE FUNCTION rollup_add_more() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_catalog AS $fn$
    DECLARE zone text := (SELECT timezone FROM county);
    BEGIN
      INSERT INTO rollup_shifts AS r
      SELECT (to_timestamp(n.ts / 1000000.0) AT TIME ZONE zone)::date, n.station_id, n.operator, n.leader,
             min(n.ts), max(n.ts), count(*)
      FROM new_rows n GROUP BY 1, 2, 3, 4
      ON CONFLICT (day, station_id, operator, leader) DO UPDATE SET first_ts = least(r.first_ts, excluded.first_ts),
        last_ts = greatest(r.last_ts, excluded.last_ts), entries = r.entries + excluded.entries;
      INSERT INTO rollup_hours AS r
      SELECT (to_timestamp(n.ts / 1000000.0) AT TIME ZONE zone)::date, n.station_id,
             extract(hour FROM to_timestamp(n.ts / 1000000.0) AT TIME ZONE zone), n.verdict, n.direction, count(*)
      FROM new_rows n
      WHERE NOT EXISTS (SELECT 1 FROM entries x WHERE x.refers_to = n.id)
      GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (day, station_id, hour, verdict, direction) DO UPDATE SET entries = r.entries + excluded.entries;
      WITH gone AS (
        SELECT (to_timestamp(o.ts / 1000000.0) AT TIME ZONE zone)::date AS day, o.station_id,
               extract(hour FROM to_timestamp(o.ts / 1000000.0) AT TIME ZONE zone) AS hour, o.verdict,
               o.direction, count(*) AS n
        FROM entries o
        WHERE o.id IN (SELECT refers_to FROM new_rows WHERE refers_to IS NOT NULL)
          AND o.id NOT IN (SELECT id FROM new_rows)
          AND NOT EXISTS (SELECT 1 FROM entries x WHERE x.refers_to = o.id
                          AND x.id NOT IN (SELECT id FROM new_rows))
        GROUP BY 1, 2, 3, 4, 5
      )
      UPDATE rollup_hours r SET entries = r.entries - g.n FROM gone g
      WHERE (r.day, r.station_id, r.hour, r.verdict, r.direction)
          = (g.day, g.station_id, g.hour, g.verdict, g.direction);
      RETURN NULL;
    END $fn$;
    CREATE TRIGGER entries_rollup_more AFTER INSERT ON entries REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION rollup_add_more();
    -- What the log already holds.
    INSERT INTO rollup_shifts
    SELECT (to_timestamp(ts / 1000000.0) AT TIME ZONE (SELECT timezone FROM county))::date, station_id,
           operator, leader, min(ts), max(ts), count(*)
    FROM entries GROUP BY 1, 2, 3, 4;
    INSERT INTO rollup_hours
    SELECT (to_timestamp(ts / 1000000.0) AT TIME ZONE (SELECT timezone FROM county))::date, station_id,
           extract(hour FROM to_timestamp(ts / 1000000.0) AT TIME ZONE (SELECT timezone FROM county)),
           verdict, direction, count(*)
    FROM entries e WHERE NOT EXISTS (SELECT 1 FROM entries x WHERE x.refers_to = e.id)
    GROUP BY 1, 2, 3, 4, 5;
    """,
]


def _grants(prefix: str) -> sql.Composed:
    importer, auditor, retention = (sql.Identifier(f"{prefix}_{r}") for r in ROLES)
    statements = [
        sql.SQL(
            "GRANT SELECT ON county, stations, entries, seals, shifts, alerts, rollup, rollup_shifts, rollup_hours "
            "TO {}, {}"
        ).format(importer, auditor),
        sql.SQL("GRANT INSERT ON stations, entries, seals, shifts, alerts TO {}").format(importer),
        sql.SQL("GRANT UPDATE (ended, sealed_seq) ON shifts TO {}").format(importer),
        # Enrolling and retiring stations is the office's work, as at a township (the trigger keeps it to that).
        sql.SQL("GRANT SELECT ON enrolled_stations TO {}, {}").format(importer, auditor),
        sql.SQL("GRANT INSERT, UPDATE (retired_at, retire_reason) ON enrolled_stations TO {}").format(
            importer
        ),
        sql.SQL("GRANT EXECUTE ON FUNCTION purge_personal(bigint) TO {}").format(retention),
    ]
    return sql.SQL("; ").join(statements)


def role_prefix(conn: psycopg.Connection[Any]) -> str:
    """Roles are named after the county database (roles belong to the whole server)."""
    name = conn.execute("SELECT current_database()").fetchone()
    return str(name[0] if name else "county")[:40]


@dataclass(frozen=True)
class InitResult:
    before: int
    after: int
    roles: tuple[str, ...]


def county_init(url: str, *, timezone: str, retention_days: int) -> InitResult:
    """Create the county store or bring it to SCHEMA_VERSION, and its roles; safe to run again."""
    with session(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (STATION_LOCK,))
        exists = conn.execute("SELECT to_regclass('county') IS NOT NULL").fetchone()
        before = 0
        if exists and exists[0]:
            row = conn.execute("SELECT version FROM county").fetchone()
            before = int(row[0]) if row else 0
        if before > SCHEMA_VERSION:
            raise CheckpointError(
                f"The county database was set up by a newer checkpoint (schema {before}); upgrade checkpoint."
            )
        prefix = role_prefix(conn)
        roles = tuple(f"{prefix}_{r}" for r in ROLES)
        for role in roles:
            known = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if known is None:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        for number in range(before, SCHEMA_VERSION):
            conn.execute(_MIGRATIONS[number])
            if number == 0:
                conn.execute(
                    "INSERT INTO county (version, timezone, retention_days) VALUES (0, %s, %s)",
                    (timezone, retention_days),
                )
            conn.execute("UPDATE county SET version = %s", (number + 1,))
        conn.execute(_grants(prefix))
    return InitResult(before, SCHEMA_VERSION, roles)


def county_zone(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute("SELECT timezone FROM county").fetchone()
    return str(row[0]) if row else "Asia/Shanghai"


# ---------------------------------------------------------------------------------------------- enrolment

_ENROLMENT = (
    "SELECT station_id, public_key, name, enrolled_at, retired_at, retire_reason FROM enrolled_stations"
)


def _enrolment_row(row: Sequence[Any]) -> Enrolment:
    return Enrolment(
        station_id=str(row[0]),
        public_key=public_from_raw(bytes(row[1])),
        name=str(row[2]),
        enrolled_at=from_micros(int(row[3])),
        retired_at=None if row[4] is None else from_micros(int(row[4])),
        retire_reason=None if row[5] is None else str(row[5]),
    )


def _enrolment(conn: psycopg.Connection[Any], station_id: str) -> Enrolment | None:
    row = conn.execute(f"{_ENROLMENT} WHERE station_id = %s", (station_id,)).fetchone()
    return None if row is None else _enrolment_row(row)


def _enrolments(conn: psycopg.Connection[Any]) -> dict[str, Enrolment]:
    return {str(r[0]): _enrolment_row(r) for r in conn.execute(f"{_ENROLMENT} ORDER BY station_id")}


def _enrolment_check(conn: psycopg.Connection[Any]) -> EnrolmentCheck:
    """The township's check for `read_bundle` (`bundle.enrolment_check`) over the county's enrolments; a
    bundle under another key than the enrolled one is also recorded as an alert."""
    enrolled = _enrolments(conn)
    base = enrolment_check(enrolled)

    def check(station_id: str, public_key: Ed25519PublicKey, what: str) -> None:
        try:
            base(station_id, public_key, what)
        except CheckpointError:
            known = enrolled.get(station_id)
            if known is not None:
                name = what.removeprefix("The bundle ").removesuffix(f" from {station_id}")
                _alert(
                    conn,
                    station_id,
                    "key",
                    name,
                    f"station {station_id} is enrolled here with key {key_id_of(known.public_key)}, "
                    f"not {key_id_of(public_key)}",
                )
            raise

    return check


def enrolments(url: str) -> dict[str, Enrolment]:
    """Every station enrolled at the county, retired ones included, by id."""
    with session(url) as conn:
        return _enrolments(conn)


def enrolment_of(url: str, station_id: str) -> Enrolment | None:
    with session(url) as conn:
        return _enrolment(conn, station_id)


def _enrol(
    conn: psycopg.Connection[Any], station_id: str, public_key: Ed25519PublicKey, name: str, at: datetime
) -> Enrolment:
    """Inside a transaction under the station's lock: the same rule as `LogStore.enrol_station`."""
    raw = raw_public(public_key)
    known = _enrolment(conn, station_id)
    pinned = conn.execute("SELECT public_key FROM stations WHERE station_id = %s", (station_id,)).fetchone()
    if (known is not None and raw_public(known.public_key) != raw) or (
        pinned is not None and bytes(pinned[0]) != raw
    ):
        raise CheckpointError(
            f"Station {station_id} is already known here with another key; nothing was "
            "enrolled — a replacement laptop is enrolled under a new station id."
        )
    if known is not None:
        return known
    conn.execute(
        "INSERT INTO enrolled_stations (station_id, public_key, name, enrolled_at) VALUES (%s, %s, %s, %s)",
        (station_id, raw, name, to_micros(at)),
    )
    return Enrolment(station_id, public_key, name, at)


def _retire(conn: psycopg.Connection[Any], station_id: str, reason: str, at: datetime) -> Enrolment:
    known = _enrolment(conn, station_id)
    if known is None:
        raise CheckpointError(
            f"Station {station_id} is not enrolled here; `checkpoint stations list` shows who is."
        )
    if known.retired_at is not None:
        return known
    conn.execute(
        "UPDATE enrolled_stations SET retired_at = %s, retire_reason = %s WHERE station_id = %s",
        (to_micros(at), reason, station_id),
    )
    return Enrolment(known.station_id, known.public_key, known.name, known.enrolled_at, at, reason)


def enrol_station(
    url: str, station_id: str, public_key: Ed25519PublicKey, name: str, *, now: datetime
) -> Enrolment:
    """Record an enrolled station (enrolling the same key again is harmless; another key is refused)."""
    with session(url) as conn, conn.transaction():
        _lock_station(conn, station_id)
        return _enrol(conn, station_id, public_key, name, now)


def retire_station(url: str, station_id: str, reason: str, *, now: datetime) -> Enrolment:
    """Retire an enrolled station from `now` on (once; a second retirement keeps the first)."""
    with session(url) as conn, conn.transaction():
        _lock_station(conn, station_id)
        return _retire(conn, station_id, reason, now)


def head(url: str, station_id: str) -> tuple[int, str]:
    """The newest entry the county holds of `station_id`: (seq, hash), or (0, GENESIS)."""
    with session(url) as conn:
        row = conn.execute(
            "SELECT seq, hash FROM entries WHERE station_id = %s ORDER BY seq DESC LIMIT 1", (station_id,)
        ).fetchone()
    return (0, chain.GENESIS) if row is None else (int(row[0]), str(row[1]))


@dataclass(frozen=True)
class CountyStore:
    """The county store as an office store (`sync.OfficeStore`, `stations.EnrolmentStore`): what the sync
    folder, `checkpoint serve` and `stations enrol/list/retire` need, over PostgreSQL. Each call is one
    session, run in a thread (psycopg's blocking API; the merge is CPU and network work)."""

    url: str
    root: Path  # the office home (bundles waiting for their predecessor are kept under it)

    async def import_bundle(self, path: Path, *, retention_days: int | None = None) -> list[ImportResult]:
        return await asyncio.to_thread(
            import_bundles, self.url, [path], root=self.root, retention_days=retention_days
        )

    async def head(self, station_id: str) -> tuple[int, str]:
        return await asyncio.to_thread(head, self.url, station_id)

    async def enrolment(self, station_id: str) -> Enrolment | None:
        return await asyncio.to_thread(enrolment_of, self.url, station_id)

    async def enrolments(self) -> dict[str, Enrolment]:
        return await asyncio.to_thread(enrolments, self.url)

    async def enrol_station(
        self, station_id: str, public_key: Ed25519PublicKey, name: str, *, now: datetime
    ) -> Enrolment:
        return await asyncio.to_thread(enrol_station, self.url, station_id, public_key, name, now=now)

    async def retire_station(self, station_id: str, reason: str, *, now: datetime) -> Enrolment:
        return await asyncio.to_thread(retire_station, self.url, station_id, reason, now=now)


# ---------------------------------------------------------------------------------------------- merge


def _lock_station(conn: psycopg.Connection[Any], station_id: str) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (STATION_LOCK, station_id))


def _alert(conn: psycopg.Connection[Any], station_id: str, kind: str, name: str, detail: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO alerts (at, station_id, kind, bundle, detail) VALUES (%s, %s, %s, %s, %s)",
            (to_micros(utcnow()), station_id, kind, name, detail),
        )


def merge(conn: psycopg.Connection[Any], bundle: Bundle, path: Path) -> ImportResult:
    """Merge one checked bundle: one transaction under the station's lock. Raises CheckpointError: a station
    not enrolled with the bundle's key, or retired before the bundle was written, is refused by the same
    rule as at a township (`stations.admit_bundle`); a bundle that forks its history is also recorded as an
    alert."""
    from .stations import admit_bundle

    result = ImportResult(path, bundle.station_id, bundle.from_seq, bundle.to_seq)
    what = f"The bundle {path.name} from {bundle.station_id}"
    refuse = f"{what} is refused, nothing was imported:"
    with conn.transaction():
        _lock_station(conn, bundle.station_id)
        enrolment = admit_bundle(_enrolment(conn, bundle.station_id), bundle, what)
        stored = conn.execute(
            "SELECT public_key FROM stations WHERE station_id = %s", (bundle.station_id,)
        ).fetchone()
        if stored is not None and bytes(stored[0]) != raw_public(enrolment.public_key):
            # Seals are checked with the stored key: it must be the enrolled one.
            alert: tuple[str, str] | None = (
                "key",
                f"station {bundle.station_id} is known here with another key "
                f"({key_id_of(public_from_raw(bytes(stored[0])))}, not {key_id_of(bundle.public_key)})",
            )
        else:
            alert = _append(conn, bundle, result, refuse, known=stored is not None)
    if alert is not None:
        kind, problem = alert
        _alert(conn, bundle.station_id, kind, path.name, problem)
        raise CheckpointError(f"{refuse} {problem}; it is recorded as an alert.")
    return result


def _append(
    conn: psycopg.Connection[Any], bundle: Bundle, result: ImportResult, refuse: str, *, known: bool
) -> tuple[str, str] | None:
    """Inside the station's transaction: compare at the overlap, then copy the new tail in. Returns the
    alert for a fork (nothing written), or None."""
    row = conn.execute(
        "SELECT seq, hash FROM entries WHERE station_id = %s ORDER BY seq DESC LIMIT 1", (bundle.station_id,)
    ).fetchone()
    head_seq, head_hash = (0, chain.GENESIS) if row is None else (int(row[0]), str(row[1]))
    if bundle.from_seq > head_seq + 1:
        result.held = True
        result.missing = (head_seq + 1, bundle.from_seq - 1)
        return None
    overlap = min(head_seq, bundle.to_seq)
    if overlap >= bundle.from_seq:
        # One comparison proves the whole prefix: each hash covers the one before it.
        at = conn.execute(
            "SELECT hash FROM entries WHERE station_id = %s AND seq = %s", (bundle.station_id, overlap)
        ).fetchone()
        if at is None or str(at[0]) != bundle.hash_at(overlap):
            return (
                "fork",
                f"its entry {overlap} differs from the one already imported (a forked or altered log)",
            )
        result.already = overlap - bundle.from_seq + 1
    elif bundle.prev_hash != head_hash:
        return "fork", f"it does not link onto entry {head_seq} that the county already has (a forked log)"
    if not known:
        conn.execute(
            "INSERT INTO stations VALUES (%s, %s, %s, %s)",
            (bundle.station_id, raw_public(bundle.public_key), bundle.station_name, to_micros(utcnow())),
        )
    new = bundle.entries[max(0, head_seq + 1 - bundle.from_seq) :]
    if new:
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY entries ({', '.join(INSERT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for entry in new:
                copy.write_row(entry)
    result.added = len(new)
    result.seals = _merge_seals(conn, bundle, refuse)
    if bundle.shifts:
        conn.cursor().executemany(
            f"INSERT INTO shifts ({', '.join(SHIFT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(SHIFT_COLUMNS))}) "
            "ON CONFLICT (id) DO UPDATE SET ended = excluded.ended, sealed_seq = excluded.sealed_seq "
            "WHERE shifts.station_id = excluded.station_id",
            bundle.shifts,
        )
    return None


def _merge_seals(conn: psycopg.Connection[Any], bundle: Bundle, refuse: str) -> int:
    added = 0
    for seal in bundle.seals:
        if seal[1] < bundle.from_seq:
            at = conn.execute(
                "SELECT hash FROM entries WHERE station_id = %s AND seq = %s", (seal[0], seal[1])
            ).fetchone()
            if at is None or at[0] != seal[2]:
                raise CheckpointError(
                    f"{refuse} its seal at entry {seal[1]} does not match the county's entry."
                )
        cursor = conn.execute(
            "INSERT INTO seals VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", seal
        )
        added += max(cursor.rowcount, 0)
    return added


def import_bundles(
    url: str,
    paths: Sequence[Path],
    *,
    root: Path,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> list[ImportResult]:
    """`bundle import` on a county home: check every bundle as a township does, merge each in its own
    transaction, hold those whose predecessor has not arrived (root/bundles/pending), retry held ones,
    then purge personal data older than the retention period (when this role may: an importer may not, and
    the county's retention role purges on its own schedule)."""
    results: list[ImportResult] = []
    with session(url) as conn:
        check = _enrolment_check(conn)
        checked = [(path, read_bundle(path, check)) for path in paths]
        for path, bundle in checked:
            result = merge(conn, bundle, path)
            if result.held:
                _hold(path, bundle, root)
            results.append(result)
        results.extend(_retry_pending(conn, root, check))
        may_purge = conn.execute(
            "SELECT has_function_privilege('purge_personal(bigint)', 'EXECUTE')"
        ).fetchone()
        if retention_days is not None and may_purge and may_purge[0]:  # else the retention role's job
            purged = _purge(conn, (now or utcnow()) - timedelta(days=retention_days))
            if results:
                results[-1].purged = purged
    return results


def _hold(path: Path, bundle: Bundle, root: Path) -> None:
    folder = pending_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{bundle.station_id}-{bundle.from_seq:09d}-{bundle.to_seq:09d}.bundle"
    if path.resolve() != target.resolve():
        shutil.copyfile(path, target)


def _retry_pending(conn: psycopg.Connection[Any], root: Path, check: EnrolmentCheck) -> list[ImportResult]:
    folder = pending_dir(root)
    done: list[ImportResult] = []
    progress = True
    while progress and folder.is_dir():
        progress = False
        for path in sorted(folder.glob("*.bundle")):
            try:
                result = merge(conn, read_bundle(path, check), path)
            except CheckpointError:
                path.rename(path.with_suffix(".refused"))
                continue
            if not result.held:
                path.unlink()
                done.append(result)
                progress = True
    return done


def _purge(conn: psycopg.Connection[Any], before: datetime) -> int:
    try:
        with conn.transaction():
            row = conn.execute("SELECT purge_personal(%s)", (to_micros(before),)).fetchone()
    except psycopg.errors.RaiseException as exc:
        raise CheckpointError(
            f"The county database keeps names and temperatures for its retention period "
            f"({exc.diag.message_primary}); nothing was purged."
        ) from exc
    return int(row[0]) if row else 0


def purge(url: str, before: datetime) -> int:
    """`log purge` on a county home: through `purge_personal` only."""
    with session(url) as conn:
        return _purge(conn, before)


# ---------------------------------------------------------------------------------------------- verify

# Per station: entries, head, and the first entry that breaks each rule (NULL when none does). The
# per-row checks run in the scan (in parallel workers), so the window's sort carries only small columns.
_NAMED = "jsonb_build_array(" + ", ".join(chain.CHAINED) + ")"
_VERIFY_SQL = f"""
WITH checked AS (
  SELECT station_id, seq, hash, prev_hash,
    encode(sha256(convert_to('{chain.DOMAIN}' || body, 'UTF8')), 'hex') = hash AS hash_ok,
    (personal IS NULL) = (salt IS NULL)
      AND (personal IS NULL OR encode(sha256(salt || convert_to(personal, 'UTF8')), 'hex') = commitment)
      AS personal_ok,
    {{columns}} AS columns_ok
  FROM entries
  WHERE station_id = %(station)s
), e AS (
  SELECT *, lag(hash) OVER w AS before_hash, coalesce(lag(seq) OVER w, 0) AS before_seq
  FROM checked WINDOW w AS (PARTITION BY station_id ORDER BY seq)
)
SELECT station_id, count(*), max(seq),
  min(before_seq + 1) FILTER (WHERE seq <> before_seq + 1),
  min(seq) FILTER (WHERE prev_hash IS DISTINCT FROM coalesce(before_hash, '{chain.GENESIS}')),
  min(seq) FILTER (WHERE NOT hash_ok),
  min(seq) FILTER (WHERE NOT personal_ok),
  min(seq) FILTER (WHERE NOT columns_ok)
FROM e GROUP BY station_id ORDER BY station_id
"""
# Do the named columns still say what the body says? First as text: the canonical body rebuilt from the
# columns (a compact JSON array of text, integers and nulls, escaped as `chain.canonical` escapes — PostgreSQL's
# to_json escapes the same characters the same way) equals the stored body exactly, with no JSON parsed;
# a body equal to the rebuilt text gives back those very columns when parsed, so that proves them. Only a row
# whose text differs (a tampered one, or a body stored in another spelling of the same JSON) is compared as
# jsonb. That form fails on a body that is not JSON at all (only a superuser with the triggers off can store
# one); then the careful form asks `body_says` row by row.
_REBUILT = " || ',' || ".join(
    f"coalesce({name}::text, 'null')"
    if name in chain.INTEGER_FIELDS
    else f"coalesce(to_json({name})::text, 'null')"
    for name in chain.CHAINED
)
_COLUMNS_FAST = f"(body = '[' || {_REBUILT} || ']' OR {_NAMED} = body::jsonb)"
_COLUMNS_CAREFUL = f"(body = '[' || {_REBUILT} || ']' OR body_says(body, {_NAMED}))"


# Every station with entries or seals (as the SQLite store reports them), one index probe per station for
# the entries (a loose scan of the primary key).
_STATIONS_SQL = """
WITH RECURSIVE s AS (
  SELECT min(station_id) AS id FROM entries
  UNION ALL
  SELECT (SELECT min(station_id) FROM entries WHERE station_id > s.id) FROM s WHERE s.id IS NOT NULL
)
SELECT id FROM s WHERE id IS NOT NULL
UNION SELECT station_id FROM seals
"""


def verify(
    url: str, *, station: str | None = None, progress: Callable[[int, int], None] | None = None
) -> chain.VerifyResult:
    """Verify every station's chain in SQL and its seals against the stored station keys.

    Station by station (each along its primary key, no sort), on up to four connections at once: more
    than this machine's two cores, so that while one thread checks a station's seals in Python or waits
    for its rows the server works on the others' stations."""
    from concurrent.futures import ThreadPoolExecutor

    with session(url) as conn:
        stations = [station] if station else sorted(str(r[0]) for r in conn.execute(_STATIONS_SQL))
        total_row = conn.execute("SELECT coalesce(sum(entries), 0) FROM rollup").fetchone()
    total = int(total_row[0]) if total_row and station is None else 0
    result = chain.VerifyResult()
    done = 0
    workers = max(1, min(4, len(stations)))
    local = threading.local()
    opened: list[psycopg.Connection[Any]] = []

    def check(sid: str) -> chain.ChainReport:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect(url, autocommit=True)
            opened.append(conn)
        return _verify_station(conn, sid)

    try:
        with ThreadPoolExecutor(workers) as pool:
            for report in pool.map(check, stations):
                result.stations.append(report)
                done += report.entries
                if progress is not None:
                    progress(done, max(total, done))
    except psycopg.Error as exc:
        raise CheckpointError(
            f"The county database {where(url)} failed ({exc.diag.message_primary or exc}); verify again."
        ) from exc
    finally:
        for conn in opened:
            conn.close()
    return result


def _verify_station(conn: psycopg.Connection[Any], sid: str) -> chain.ChainReport:
    """One station's chain and seals, in one snapshot."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        key_row = conn.execute("SELECT public_key FROM stations WHERE station_id = %s", (sid,)).fetchone()
        seal_rows: list[tuple[int, str, int, bytes]] = []
        hashes_at: dict[int, str] = {}
        for seq, head_hash, sealed_at, signature, stored in conn.execute(
            "SELECT s.seq, s.head_hash, s.sealed_at, s.signature, e.hash FROM seals s "
            "LEFT JOIN entries e ON e.station_id = s.station_id AND e.seq = s.seq "
            "WHERE s.station_id = %s ORDER BY s.seq",
            (sid,),
        ):
            seal_rows.append((int(seq), str(head_hash), int(sealed_at), bytes(signature)))
            if stored is not None:
                hashes_at[int(seq)] = str(stored)
        try:
            with conn.transaction():
                row = conn.execute(_VERIFY_SQL.format(columns=_COLUMNS_FAST), {"station": sid}).fetchone()
        except psycopg.DataError:  # class 22: some body is not JSON
            row = conn.execute(_VERIFY_SQL.format(columns=_COLUMNS_CAREFUL), {"station": sid}).fetchone()
    report = chain.ChainReport(sid)
    if row is not None:
        _, count, head, gap, link, altered, personal, columns = row
        report.entries = int(count)
        report.head_seq = int(head)
        if gap is not None:
            report.fail(int(gap), f"entry {gap} is missing")
        if link is not None:
            report.fail(int(link), f"entry {link} does not link to entry {int(link) - 1}")
        for seq in (altered, columns):
            if seq is not None:
                report.fail(int(seq), f"entry {seq} was altered")
        if personal is not None:
            report.fail(int(personal), f"the personal fields of entry {personal} were altered")
    report.seals = len(seal_rows)
    public_key = None if key_row is None else public_from_raw(bytes(key_row[0]))
    chain._check_seals(report, sid, seal_rows, hashes_at, public_key)
    return report


# ---------------------------------------------------------------------------------------------- read


def recent_rows(url: str, limit: int) -> list[tuple[Any, ...]]:
    """`log list` on a county home: the newest entries of every station, as `store.ENTRY_COLUMNS` rows."""
    with session(url) as conn:
        return conn.execute(
            f"SELECT {', '.join(ENTRY_COLUMNS)} FROM entries ORDER BY ts DESC, station_id DESC, seq DESC LIMIT %s",
            (limit,),
        ).fetchall()


@dataclass(frozen=True)
class Alert:
    at: datetime
    station_id: str
    kind: str
    bundle: str
    detail: str


def alerts(url: str) -> list[Alert]:
    with session(url) as conn:
        rows = conn.execute("SELECT at, station_id, kind, bundle, detail FROM alerts ORDER BY id").fetchall()
    return [Alert(from_micros(int(r[0])), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]


# ---------------------------------------------------------------------------------------------- township


CHUNK = 20_000


def import_log(
    url: str, path: Path, progress: Callable[[int, int], None] | None = None
) -> list[ImportResult]:
    """`county import-log FILE`: a township office's log.db, verified first, merged station by station in
    bundle-sized transactions through the same merge as bundles (so running it twice adds nothing)."""
    from .store import open_reader, verify_log

    verdict = verify_log(path)
    if not verdict.ok:
        bad = next(r for r in verdict.stations if not r.ok)
        raise CheckpointError(
            f"{path} fails verification ({bad.station_id}: first bad entry {bad.first_bad_seq}: {bad.problem}); "
            "nothing was imported."
        )
    reader = open_reader(path)
    results: list[ImportResult] = []
    try:
        keys = {
            str(r[0]): (bytes(r[1]), str(r[2]))
            for r in reader.execute("SELECT station_id, public_key, name FROM stations")
        }
        missing = [r.station_id for r in verdict.stations if r.station_id not in keys]
        if missing:
            raise CheckpointError(
                f"{path} holds entries of {missing[0]} but not its station key; nothing was imported."
            )
        township = _township_enrolments(reader, path, keys)
        total, done = verdict.entries, 0
        with session(url) as conn:
            _carry_enrolments(conn, path, township, [r.station_id for r in verdict.stations])
            for report in verdict.stations:
                gone = next((e.retired_at for e in township if e.station_id == report.station_id), None)
                for bundle in chunks(reader, report.station_id, *keys[report.station_id], retired=gone):
                    results.append(merge(conn, bundle, path))
                    done += len(bundle.entries)
                    if progress is not None:
                        progress(done, total)
    except sqlite3.DatabaseError as exc:
        raise CheckpointError(f"{path} is damaged and cannot be read ({exc}).") from exc
    finally:
        reader.close()
    return results


def _township_enrolments(
    reader: sqlite3.Connection, path: Path, keys: dict[str, tuple[bytes, str]]
) -> list[Enrolment]:
    """The township's enrolled stations, each checked against the key its chain and seals verified with."""
    from .store import _enrolment as township_enrolment

    known = reader.execute("SELECT 1 FROM sqlite_master WHERE name = 'enrolled_stations'").fetchone()
    if known is None:
        return []
    found = [
        township_enrolment(r)
        for r in reader.execute(
            "SELECT station_id, public_key, name, enrolled_at, retired_at, retire_reason "
            "FROM enrolled_stations ORDER BY station_id"
        )
    ]
    for item in found:
        pinned = keys.get(item.station_id)
        if pinned is not None and pinned[0] != raw_public(item.public_key):
            raise CheckpointError(
                f"{path} enrols station {item.station_id} with another key than the one its log is signed "
                "with; nothing was imported."
            )
    return found


def _carry_enrolments(
    conn: psycopg.Connection[Any], path: Path, township: list[Enrolment], with_entries: list[str]
) -> None:
    """One transaction: the township's enrolments (and retirements) become the county's, unless the county
    enrols one of its stations under another key; and every station with entries must be enrolled then."""
    with conn.transaction():
        for item in township:
            _lock_station(conn, item.station_id)
            try:
                _enrol(conn, item.station_id, item.public_key, item.name, item.enrolled_at)
            except CheckpointError as exc:
                raise CheckpointError(
                    f"Station {item.station_id} of {path} is enrolled at the county with another key; "
                    "nothing was imported."
                ) from exc
            if item.retired_at is not None:
                _retire(conn, item.station_id, item.retire_reason or "", item.retired_at)
        enrolled = _enrolments(conn)
        for station_id in with_entries:
            if station_id not in enrolled:
                raise CheckpointError(
                    f"{path} holds entries of station {station_id}, which is enrolled neither there nor at the "
                    "county; enrol it first (checkpoint stations enrol REQUEST-FILE); nothing was imported."
                )


def chunks(
    reader: sqlite3.Connection,
    station_id: str,
    raw_key: bytes,
    name: str,
    size: int = CHUNK,
    *,
    retired: datetime | None = None,
) -> Iterator[Bundle]:
    """One station's entries as bundle-sized runs, each re-hashed and linked as it is read (`retired`: when
    the station was retired, if it was)."""
    seals = [
        (station_id, int(r[0]), str(r[1]), int(r[2]), str(r[3]), bytes(r[4]))
        for r in reader.execute(
            "SELECT seq, head_hash, sealed_at, key_id, signature FROM seals WHERE station_id = ? ORDER BY seq",
            (station_id,),
        )
    ]
    shifts = [
        tuple(r)
        for r in reader.execute(
            f"SELECT {', '.join(SHIFT_COLUMNS)} FROM shifts WHERE station_id = ? ORDER BY started",
            (station_id,),
        )
    ]
    cursor = reader.execute(
        "SELECT seq, prev_hash, body, hash, personal, salt FROM entries WHERE station_id = ? ORDER BY seq",
        (station_id,),
    )
    prev, expected = chain.GENESIS, 1
    key = public_from_raw(raw_key)
    first = True
    while rows := cursor.fetchmany(size):
        start, start_prev = expected, prev
        entries: list[tuple[str, str, str | None, bytes | None]] = []
        for seq, prev_hash, body, digest, personal, salt in rows:
            if seq != expected or prev_hash != prev or chain.entry_hash(body) != digest:
                raise CheckpointError(
                    f"Entry {expected} of {station_id} changed while it was read; nothing more was imported."
                )
            entries.append((body, digest, personal, None if salt is None else bytes(salt)))
            prev, expected = digest, expected + 1
        end = expected - 1
        run = Bundle(
            station_id=station_id,
            station_name=name,
            public_key=key,
            from_seq=start,
            to_seq=end,
            prev_hash=start_prev,
            entries=entries,
            seals=[s for s in seals if start <= s[1] <= end],
            shifts=shifts if first else [],  # a shift row is an upsert: once is enough
        )
        # The township merged these entries: they were written no later than the newest of them (what a
        # retired station's enrolment is checked against).
        run.created = None if retired is None else run.newest_time()
        yield run
        first = False
