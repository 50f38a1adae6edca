"""A faithful bulk builder for big traffic logs (benchmarks, demos, tests).

`build_log()` writes rows straight through sqlite3 with `executemany`, computing each entry's hash with
the same canonical body the store uses (the compact JSON array of the chained fields), so the result passes
`store.verify_log` exactly like a log written entry by entry through `LogStore.append`. It also pins a
deterministic key per station, seals every station's chain once a day and records the shifts.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import chain
from .keys import key_id_of, raw_public
from .models import Category, Reason
from .store import INSERT_SQL, migrate
from .timeutil import to_micros

DEFAULT_START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
MEAN_GAP_SECONDS = 5.0

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰", "涛", "明", "超", "华", "平", "红")
_ORGS = ("县人民医院", "镇卫生院", "县公安局", "镇政府", "县疾控中心", "县消防救援大队", "县中医院")
_PROVINCES = "鄂湘豫赣皖"
_DENY_REASONS = (
    (Reason.NO_PASS, 30),
    (Reason.EXPIRED, 15),
    (Reason.NOT_A_PASS, 12),
    (Reason.ALREADY_INSIDE, 8),
    (Reason.REVOKED, 6),
    (Reason.WRONG_CHECKPOINT, 6),
    (Reason.PLATE_MISMATCH, 5),
    (Reason.BAD_SIGNATURE, 4),
    (Reason.TOO_MANY_OCCUPANTS, 4),
    (Reason.NOT_YET_VALID, 3),
    (Reason.MALFORMED, 3),
    (Reason.UNKNOWN_KEY, 2),
    (Reason.CATEGORY_CLOSED, 2),
)
_PASS_REASONS = frozenset(
    {
        Reason.EXPIRED,
        Reason.ALREADY_INSIDE,
        Reason.REVOKED,
        Reason.WRONG_CHECKPOINT,
        Reason.PLATE_MISMATCH,
        Reason.TOO_MANY_OCCUPANTS,
        Reason.NOT_YET_VALID,
        Reason.CATEGORY_CLOSED,
        Reason.FEVER,
    }
)
_PASS_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def station_key(seed: int, station_id: str) -> Ed25519PrivateKey:
    """A deterministic station key for generated logs (never for a real station)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"loadgen/{seed}/{station_id}".encode()).digest()
    )


def station_ids(count: int) -> list[str]:
    names = ["north-gate", "east-bridge", "south-road", "west-hill", "river-ford"]
    return [names[i] if i < len(names) else f"station-{i + 1}" for i in range(count)]


class _Fleet:
    """The vehicles with passes that keep coming back, and a few without."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.rng = rng
        self.passes = [
            (
                "".join(rng.choice(_PASS_ALPHABET) for _ in range(8)),
                rng.choice(list(Category)).value,
                self.plate(),
                rng.choice(_SURNAMES)
                + rng.choice(_GIVEN)
                + (rng.choice(_GIVEN) if rng.random() < 0.6 else ""),
                rng.choice(_ORGS),
            )
            for _ in range(size)
        ]

    def plate(self) -> str:
        rng = self.rng
        return rng.choice(_PROVINCES) + rng.choice("ABCDEFGHJK") + f"{rng.randrange(100000):05d}"


def _rows(
    rng: random.Random, stations: list[str], entries: int, start: datetime
) -> Iterator[tuple[str, int, tuple[object, ...]]]:
    """(station, ts micros, full insert row) in time order; the row's prev_hash/hash are filled later."""
    fleet = _Fleet(rng, max(50, min(20_000, entries // 40)))
    key_id = "".join(rng.choice("0123456789ABCDEF") for _ in range(8))
    base = to_micros(start)
    gap = int(MEAN_GAP_SECONDS * 1_000_000)
    ts = base
    deny_reasons = [r for r, _ in _DENY_REASONS]
    deny_weights = [w for _, w in _DENY_REASONS]
    for n in range(entries):
        ts += rng.randrange(1, 2 * gap)
        station = stations[rng.randrange(len(stations))] if n >= len(stations) else stations[n]
        local_hour = ((ts // 3_600_000_000) + 8) % 24  # Asia/Shanghai
        shift_day = ts // 86_400_000_000  # shifts hand over at 08:00 Asia/Shanghai = 00:00 UTC
        operator = rng.choice(("值班员", "李警官", "王医生", "赵护士")) + str(shift_day % 7 + 1)
        leader = ("陈镇长", "刘书记", "周所长")[shift_day % 3]
        direction = "in" if rng.random() < 0.52 else "out"
        roll = rng.random()
        pass_row = fleet.passes[rng.randrange(len(fleet.passes))]
        fevers = 0
        denied_for = None
        override_by = override_reason = None
        temperatures: list[int] = []
        if roll < 0.82:
            verdict, reason = "allow", Reason.OK
        elif roll < 0.83:
            verdict, reason = "deny", Reason.FEVER
        elif roll < 0.835:
            verdict, reason, denied_for = (
                "allow",
                Reason.OVERRIDE,
                rng.choice((Reason.EXPIRED, Reason.NO_PASS)),
            )
            override_by = rng.choice(("陈镇长", "刘书记"))
            override_reason = rng.choice(("救护车转运病人", "抢修供电线路", "运送急需药品"))
        else:
            verdict = "deny"
            reason = rng.choices(deny_reasons, deny_weights)[0]
        has_pass = (
            reason in _PASS_REASONS
            or reason is Reason.OK
            or (reason is Reason.OVERRIDE and denied_for is not Reason.NO_PASS)
        )
        occupants = rng.choice((1, 1, 1, 2, 2, 3, 4)) if has_pass or reason is Reason.NO_PASS else None
        if occupants and direction == "in":
            temperatures = [rng.randrange(358, 372) for _ in range(occupants)]
            if reason is Reason.FEVER:
                temperatures[0] = rng.randrange(373, 395)
        if reason is Reason.OVERRIDE and temperatures and local_hour == 3:
            temperatures[0] = 375  # an ambulance patient with a fever, let through
        fevers = sum(1 for t in temperatures if t >= 373)
        pass_id: str | None
        category: str | None
        plate: str | None
        holder: str | None
        org: str | None
        valid_from: int | None
        valid_until: int | None
        raw: str | None
        if has_pass:
            pass_id, category, plate, holder, org = pass_row
            valid_from = base - 86_400_000_000 * 7
            valid_until = base + 86_400_000_000 * 400
            raw = hashlib.sha256(pass_row[0].encode()).hexdigest()
            kid: str | None = key_id
        else:
            pass_id = category = holder = org = None
            valid_from = valid_until = None
            plate = fleet.plate() if reason in (Reason.NO_PASS, Reason.OVERRIDE) else None
            raw = None if reason is Reason.NO_PASS or reason is Reason.OVERRIDE else f"{n:064x}"
            kid = None
        personal: str | None = None
        salt: bytes | None = None
        if holder is not None or temperatures:
            personal = json.dumps(
                {"holder": holder, "temperatures": temperatures},
                ensure_ascii=False,
                sort_keys=True,
                separators=(",", ":"),
            )
            salt = rng.randbytes(16)
        row = (
            station, 0, f"{rng.getrandbits(128):032x}", ts, ts * 1000, operator, leader, direction, verdict,
            reason.value, None if denied_for is None else denied_for.value, "", pass_id, kid, category, plate,
            org, valid_from, valid_until, occupants, fevers, None, None, override_by, override_reason, raw,
            None, chain.commitment(salt, personal), "", "", personal, salt,
        )  # fmt: skip
        yield station, ts, row


def build_log(
    path: Path,
    entries: int,
    *,
    stations: int = 3,
    seed: int = 1,
    start: datetime | None = None,
) -> None:
    """Write a log of `entries` entries over `stations` stations that `verify_log` passes.

    Entries are about 5 s apart on average, spread over the stations; each station's chain is sealed at
    every local 08:00 handover and at its head, with a deterministic key pinned in `stations`.
    """
    rng = random.Random(seed)
    ids = station_ids(max(1, stations))
    keys = {sid: station_key(seed, sid) for sid in ids}
    begin = start or DEFAULT_START
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        migrate(conn)
        conn.execute("PRAGMA synchronous = OFF")
        heads: dict[str, tuple[int, str]] = {}
        for sid in ids:
            row = conn.execute(
                "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq DESC LIMIT 1", (sid,)
            ).fetchone()
            heads[sid] = (0, chain.GENESIS) if row is None else (int(row[0]), str(row[1]))
        conn.execute("PRAGMA cache_size = -262144")  # 256 MB of page cache for the bulk insert
        # Bulk load without the secondary indexes, then build each index once, in sorted order.
        indexes = [
            (name, sql)
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' "
                "AND sql IS NOT NULL AND name != 'entries_seq'"
            )
        ]
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("BEGIN")
        for sid, key in keys.items():
            conn.execute(
                "INSERT OR IGNORE INTO stations VALUES (?, ?, ?, ?)",
                (sid, raw_public(key.public_key()), sid, to_micros(begin)),
            )
            conn.execute(  # the office enrolled them, as a real township does
                "INSERT OR IGNORE INTO enrolled_stations (station_id, public_key, name, enrolled_at) "
                "VALUES (?, ?, ?, ?)",
                (sid, raw_public(key.public_key()), sid, to_micros(begin)),
            )
        insert = INSERT_SQL
        seals: list[tuple[str, int, str, int, str, bytes]] = []
        shifts: dict[tuple[str, int], list[object]] = {}
        batch: list[tuple[object, ...]] = []
        sha256 = hashlib.sha256
        domain = chain.DOMAIN
        day_us = 86_400_000_000
        handover_offset = 0  # 08:00 Asia/Shanghai is 00:00 UTC
        last_day: dict[str, int] = {}
        last_ts: dict[str, int] = {}
        sealed: dict[str, int] = {}

        def seal(sid: str, at: int) -> None:
            seq, head = heads[sid]
            if seq and sealed.get(sid) != seq:
                key = keys[sid]
                signature = key.sign(chain.seal_message(sid, seq, head, at))
                seals.append((sid, seq, head, at, key_id_of(key.public_key()), signature))
                sealed[sid] = seq

        for sid, ts, row in _rows(rng, ids, entries, begin):
            day = (ts - handover_offset) // day_us
            if sid in last_day and last_day[sid] != day:
                seal(sid, day * day_us + handover_offset)
            last_day[sid] = day
            last_ts[sid] = ts
            seq, prev = heads[sid]
            seq += 1
            values = list(row)
            values[1] = seq
            values[28] = prev
            body = chain.canonical(values[: len(chain.CHAINED)])
            digest = sha256((domain + body).encode()).hexdigest()
            heads[sid] = (seq, digest)
            batch.append((body, digest, values[30], values[31]))
            shift = shifts.setdefault((sid, day), [row[5], row[6], day * day_us + handover_offset, ts, seq])
            shift[3], shift[4] = ts, seq
            if len(batch) >= 20_000:
                conn.executemany(insert, batch)
                batch.clear()
        if batch:
            conn.executemany(insert, batch)
        for sid in ids:
            seal(sid, last_ts.get(sid, to_micros(begin)) + 1)
        conn.executemany("INSERT OR IGNORE INTO seals VALUES (?, ?, ?, ?, ?, ?)", seals)
        conn.executemany(
            "INSERT INTO shifts (id, station_id, operator, leader, started, ended, sealed_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (f"{seed:x}-{sid}-{day}-{rng.getrandbits(32):08x}", sid, op, lead, started, ended, seq)
                for (sid, day), (op, lead, started, ended, seq) in shifts.items()
            ],
        )
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
