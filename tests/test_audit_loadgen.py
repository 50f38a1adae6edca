"""The bulk log builder writes logs the real verifier accepts and the real store can extend."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from checkpoint import chain
from checkpoint.loadgen import build_log
from checkpoint.models import Direction, Reason, Verdict
from checkpoint.store import EntryDraft, LogStore, open_reader, verify_log


def test_canonical_matches_sqlite_json_array() -> None:
    values = ["it's", 1, None, "鄂A12345", -5, "", "a,b", "x'y''z", '\x1b[31m\n\t"\\\u202e😀', 2**62]
    values += [None] * (len(chain.CHAINED) - len(values))
    conn = sqlite3.connect(":memory:")
    (expected,) = conn.execute(chain.CANONICAL_PARAMS_SQL, values).fetchone()
    assert chain.canonical(values) == expected


def test_built_log_verifies_has_variety_and_extends(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    build_log(path, 3000, stations=3, seed=7)
    result = verify_log(path)
    assert result.ok, [r.problem for r in result.stations]
    assert result.entries == 3000
    assert len(result.stations) == 3
    assert all(r.seals >= 1 and r.last_sealed_seq == r.head_seq for r in result.stations)
    conn = open_reader(path)
    reasons = {r[0] for r in conn.execute("SELECT DISTINCT reason FROM entries")}
    assert {"ok", "no_pass", "fever", "override", "expired"} <= reasons
    assert conn.execute("SELECT COUNT(*) FROM entries WHERE personal IS NOT NULL").fetchone()[0] > 1000
    assert conn.execute("SELECT COUNT(*) FROM entries WHERE fevers > 0").fetchone()[0] > 0
    assert conn.execute("SELECT COUNT(DISTINCT category) FROM entries").fetchone()[0] == 3
    assert conn.execute("SELECT COUNT(*) FROM shifts").fetchone()[0] >= 3
    station = conn.execute("SELECT station_id FROM entries LIMIT 1").fetchone()[0]
    conn.close()

    async def append() -> None:
        store = await LogStore.open(path, station)
        async with store:
            await store.append(
                EntryDraft(Direction.IN, Verdict.DENY, Reason.NO_PASS, "op", "lead", plate="鄂A1")
            )

    import asyncio

    asyncio.run(append())
    assert verify_log(path).ok


def test_same_seed_same_log(tmp_path: Path) -> None:
    build_log(tmp_path / "a.db", 500, seed=3)
    build_log(tmp_path / "b.db", 500, seed=3)
    heads = []
    for name in ("a.db", "b.db"):
        conn = open_reader(tmp_path / name)
        heads.append(conn.execute("SELECT station_id, seq, hash FROM entries ORDER BY 1, 2").fetchall())
        conn.close()
    assert heads[0] == heads[1]
