"""The traffic log: append-only, chained, sealed; every kind of tampering is named by sequence number."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint.errors import CheckpointError
from checkpoint.models import Direction, Reason, Verdict
from checkpoint.store import EntryDraft, LogStore, verify_log

from .conftest import NOW

STATION = "north-gate"


def draft(i: int, **overrides: object) -> EntryDraft:
    fields: dict[str, object] = {
        "direction": Direction.IN if i % 2 else Direction.OUT,
        "verdict": Verdict.ALLOW,
        "reason": Reason.OK,
        "operator": "李四",
        "leader": "王五",
        "pass_id": f"PASS{i:04d}"[:8],
        "plate": f"鄂A{10000 + i}",
        "category": "medical",
        "holder": f"张{i}",
        "temperatures": (366, 368),
        "occupants": 2,
    }
    fields.update(overrides)
    return EntryDraft(**fields)  # type: ignore[arg-type]


async def build(path: Path, count: int, *, seal_at: tuple[int, ...] = ()) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    store = await LogStore.open(path, STATION)
    async with store:
        for i in range(1, count + 1):
            await store.append(draft(i), now=NOW + timedelta(seconds=i))
            if i in seal_at:
                await store.seal(key, now=NOW + timedelta(seconds=i))
    return key


def verify(path: Path, key: Ed25519PrivateKey) -> tuple[bool, int | None, str]:
    result = verify_log(path, {STATION: key.public_key()})
    report = result.stations[0]
    return result.ok, report.first_bad_seq, report.problem


def tamper(path: Path, *statements: str) -> None:
    """Edit the file behind the program's back, as an attacker with the sqlite3 module would."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    conn.execute("DROP TRIGGER IF EXISTS entries_only_purge")
    conn.execute("DROP TRIGGER IF EXISTS seals_no_delete")
    conn.execute("DROP TRIGGER IF EXISTS seals_no_change")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


async def test_entries_chain_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = await LogStore.open(path, STATION)
    async with store:
        first = await store.append(draft(1), now=NOW)
        second = await store.append(draft(2, temperatures=(381,), fevers=1), now=NOW + timedelta(seconds=5))
        recent = await store.recent(10)
    assert (first.seq, second.seq) == (1, 2)
    assert second.prev_hash == first.hash
    assert [e.seq for e in recent] == [2, 1]
    assert recent[0].temperatures == (381,) and recent[0].holder == "张2" and recent[0].fevers == 1
    assert recent[0].ts == NOW + timedelta(seconds=5)
    assert verify_log(path).ok


async def test_the_log_refuses_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    await build(path, 3)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="generated column"):
        conn.execute("UPDATE entries SET reason = 'override' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE entries SET body = replace(body, 'ok', 'override') WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM entries WHERE seq = 3")
    conn.close()


def field(name: str) -> str:
    """The JSON path of a chained field inside an entry's body."""
    from checkpoint.chain import CHAINED

    return f"'$[{CHAINED.index(name)}]'"


# Columns are generated from the hashed body, so an attacker edits bodies (and may copy or forge hashes).
@pytest.mark.parametrize(
    ("statements", "first_bad"),
    [
        ([f"UPDATE entries SET body = json_set(body, {field('verdict')}, 'deny') WHERE seq = 7"], 7),
        ([f"UPDATE entries SET body = json_set(body, {field('plate')}, '鄂A99999') WHERE seq = 4"], 4),
        ([f"UPDATE entries SET body = json_set(body, {field('ts')}, ts + 1) WHERE seq = 9"], 9),
        (["DELETE FROM entries WHERE seq = 5"], 5),
        (
            [
                # Swap entries 3 and 6 wholesale (body and hash), renumbering them.
                "CREATE TEMP TABLE pick AS SELECT seq, body, hash FROM entries WHERE seq IN (3, 6)",
                "DELETE FROM entries WHERE seq IN (3, 6)",
                f"INSERT INTO entries (body, hash) SELECT json_set(body, {field('seq')}, 9 - seq), hash "
                "FROM temp.pick",
            ],
            3,
        ),
        (
            [
                # Insert a forged entry 6, well linked to entry 5, renumbering the rest.
                "CREATE TEMP TABLE rest AS SELECT body, hash, personal, salt FROM entries WHERE seq >= 6",
                "DELETE FROM entries WHERE seq >= 6",
                f"INSERT INTO entries (body, hash, personal, salt) SELECT json_set(body, {field('seq')}, "
                f"json_extract(body, {field('seq')}) + 1), hash, personal, salt FROM temp.rest",
                f"INSERT INTO entries (body, hash) SELECT json_set(body, {field('seq')}, 6, {field('id')}, 'forged', "
                f"{field('prev_hash')}, (SELECT hash FROM entries WHERE seq = 5)), hash FROM entries WHERE seq = 12",
            ],
            6,
        ),
        (['UPDATE entries SET personal = \'{"holder":"X","temperatures":[360]}\' WHERE seq = 8'], 8),
    ],
    ids=["edit-verdict", "edit-plate", "edit-time", "delete", "swap", "insert", "edit-temperature"],
)
async def test_tampering_names_the_first_bad_entry(
    tmp_path: Path, statements: list[str], first_bad: int
) -> None:
    path = tmp_path / "log.db"
    key = await build(path, 12)
    assert verify(path, key)[0]
    tamper(path, *statements)
    ok, bad, problem = verify(path, key)
    assert not ok
    assert bad == first_bad, problem


async def test_truncation_after_a_seal_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    key = await build(path, 10, seal_at=(5, 10))
    ok, _, _ = verify(path, key)
    assert ok
    tamper(path, "DELETE FROM entries WHERE seq >= 9")
    ok, bad, problem = verify(path, key)
    assert not ok and bad == 9, problem


async def test_truncation_after_the_last_seal_is_not_provable_but_before_it_is(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    key = await build(path, 10, seal_at=(5,))
    tamper(path, "DELETE FROM entries WHERE seq >= 8")
    assert verify(path, key)[0]  # documented limit: only sealed entries are protected from truncation
    tamper(path, "DELETE FROM entries WHERE seq >= 4")
    ok, bad, _ = verify(path, key)
    assert not ok and bad == 4


async def test_a_forged_seal_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    key = await build(path, 6, seal_at=(6,))
    tamper(path, "UPDATE seals SET signature = zeroblob(64)")
    ok, bad, problem = verify(path, key)
    assert not ok and bad == 6 and "seal" in problem
    other = Ed25519PrivateKey.generate()
    assert not verify_log(path, {STATION: other.public_key()}).ok


async def test_a_rewritten_chain_fails_against_the_seal(tmp_path: Path) -> None:
    """Even recomputing every hash after an edit does not survive a seal made before it."""
    path = tmp_path / "log.db"
    key = await build(path, 6, seal_at=(6,))
    from checkpoint import chain

    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER entries_only_purge")
    prev = conn.execute("SELECT hash FROM entries WHERE seq = 2").fetchone()[0]
    for seq in range(3, 7):
        body = conn.execute("SELECT body FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
        values = json.loads(body)
        values[chain.CHAINED.index("prev_hash")] = prev
        if seq == 3:
            values[chain.CHAINED.index("verdict")] = "deny"
        body = chain.canonical(values)
        prev = chain.entry_hash(body)
        conn.execute("UPDATE entries SET body = ?, hash = ? WHERE seq = ?", (body, prev, seq))
    conn.commit()
    conn.close()
    ok, bad, problem = verify(path, key)
    assert not ok and bad == 6 and "sealed" in problem


async def test_purge_drops_personal_data_and_the_chain_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    key = await build(path, 10, seal_at=(10,))
    store = await LogStore.open(path, STATION)
    async with store:
        purged = await store.purge(NOW + timedelta(seconds=6))
        entries = {e.seq: e for e in await store.recent(20)}
    assert purged == 5
    assert entries[3].holder is None and entries[3].temperatures == () and entries[3].purged
    assert entries[8].holder == "张8" and entries[8].temperatures == (366, 368)
    assert entries[3].occupants == 2  # counts stay
    assert verify(path, key)[0]


async def test_anti_passback_state_and_counters(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    store = await LogStore.open(path, STATION)
    async with store:
        await store.append(draft(1, pass_id="AAAAAAAA", direction=Direction.IN), now=NOW)
        await store.append(draft(2, pass_id="BBBBBBBB", direction=Direction.IN), now=NOW)
        await store.append(draft(3, pass_id="AAAAAAAA", direction=Direction.OUT), now=NOW)
        await store.append(
            draft(4, pass_id="BBBBBBBB", verdict=Verdict.DENY, reason=Reason.ALREADY_INSIDE, fevers=1),
            now=NOW,
        )
        inside = await store.inside()
        counts = await store.counts_since(NOW - timedelta(hours=1))
    assert inside == frozenset({"BBBBBBBB"})
    assert counts == {"in": 2, "out": 1, "denied": 1, "fevers": 1, "overrides": 0}


async def test_an_overridden_denial_counts_once(tmp_path: Path) -> None:
    """A fever denial let through on an override is one vehicle: allowed, one fever, not turned back."""
    store = await LogStore.open(tmp_path / "log.db", STATION)
    async with store:
        denied = await store.append(
            draft(1, verdict=Verdict.DENY, reason=Reason.FEVER, temperatures=(365, 381), fevers=1), now=NOW
        )
        override = draft(
            1, reason=Reason.OVERRIDE, denied_for=Reason.FEVER, temperatures=(365, 381), fevers=1,
            override_by="王主任", override_reason="救护车",
        )  # fmt: skip
        override.refers_to = denied.id
        await store.append(override, now=NOW)
        counts = await store.counts_since(NOW - timedelta(hours=1))
    assert counts == {"in": 1, "out": 0, "denied": 0, "fevers": 1, "overrides": 1}


async def test_a_file_that_is_not_a_log_is_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CheckpointError, match="not a traffic log"):
        await LogStore.open(path, STATION)
    with pytest.raises(CheckpointError, match=r"not a traffic log|damaged"):
        verify_log(path)


@pytest.mark.parametrize("parallel", [False, True], ids=["one-process", "two-processes"])
def test_chunked_verification_agrees_with_entry_by_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    """The fast path (chunks, stitched, on two cores) finds what the exact path finds."""
    from checkpoint import chain
    from checkpoint.loadgen import build_log

    monkeypatch.setattr(chain, "CHUNK_ROWS", 500)
    monkeypatch.setattr(chain, "PARALLEL_FROM", 0 if parallel else 10**9)
    path = tmp_path / "log.db"
    build_log(path, 4000, stations=3, seed=3)
    result = verify_log(path)
    assert result.ok and result.entries == 4000 and len(result.stations) == 3
    station = result.stations[1].station_id
    tamper(path, f"DELETE FROM entries WHERE station_id = '{station}' AND seq = 700")
    broken = verify_log(path)
    assert not broken.ok
    bad = {r.station_id: r.first_bad_seq for r in broken.stations}
    assert bad[station] == 700 and sum(v is not None for v in bad.values()) == 1


async def test_the_open_shift_carries_on_until_handover(tmp_path: Path) -> None:
    from checkpoint.store import Shift

    store = await LogStore.open(tmp_path / "log.db", STATION)
    async with store:
        assert await store.open_shift() is None
        shift_id = await store.start_shift(Shift("李四", "王五"), now=NOW)
    reopened = await LogStore.open(tmp_path / "log.db", STATION)  # a restart
    async with reopened:
        assert await reopened.open_shift() == (shift_id, Shift("李四", "王五"), NOW)
        await reopened.end_shift(shift_id, None, now=NOW + timedelta(hours=24))
        assert await reopened.open_shift() is None


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"",
        b"[]",
        b'["north-gate"]',
        b'["north-gate",x1,',
        b'["north gate",1,',
        b'["a",' + b"9" * 5000 + b",",
    ],
    ids=["null", "empty", "no-commas", "one-field", "seq-not-digits", "bad-station", "seq-5000-digits"],
)
def test_the_fast_scan_marks_a_misshapen_body_broken_and_never_raises(body: bytes | None) -> None:
    """Bodies the log's own checks would refuse, as a damaged file could still hold them."""
    from checkpoint import chain

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE entries (hash TEXT, body BLOB, personal TEXT, salt BLOB)")
    conn.execute("INSERT INTO entries VALUES ('00', ?, NULL, NULL)", (body,))
    segments = chain.scan_chunk(conn, 0, 10, {})
    assert list(segments) == [""] and segments[""].broken


async def test_a_full_disk_refuses_the_entry_in_one_sentence_and_loses_nothing(tmp_path: Path) -> None:
    """SQLite's own "database or disk is full" (the file may not grow past max_page_count, exactly as on a
    full disk): the append is refused with one sentence, nothing half-written, and once there is room
    the chain carries on from where it stopped."""
    path = tmp_path / "log.db"
    store = await LogStore.open(path, STATION)
    async with store:
        await store.append(draft(1), now=NOW)
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = (await (await store.db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await store.db.execute(f"PRAGMA max_page_count = {pages}")
        refused = 0
        for i in range(2, 40):
            try:
                await store.append(draft(i, note="x" * 2000), now=NOW + timedelta(seconds=i))
            except CheckpointError as exc:
                assert exc.message.startswith("The disk is full") and "nothing was recorded" in exc.message
                refused += 1
                break
        assert refused == 1
        kept = (await store.head())[0]
        await store.db.execute("PRAGMA max_page_count = 1073741823")  # space freed
        entry = await store.append(draft(99), now=NOW + timedelta(minutes=5))
        assert entry.seq == kept + 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT COUNT(*) FROM entries").fetchone() == (kept + 1,)
    result = verify_log(path)
    assert result.ok and result.entries == kept + 1


def test_log_verify_says_what_is_not_sealed_yet(tmp_path: Path) -> None:
    import asyncio

    from checkpoint.paths import Home
    from tests.conftest import run_cli

    home = Home(tmp_path / "h").ensure()
    home.config.write_text(f'[station]\nid = "{STATION}"\n', encoding="utf-8")
    asyncio.run(build(home.log_db, 5))
    fresh = run_cli(home, "log", "verify")
    assert (
        fresh.exit_code == 0 and fresh.stdout == f"{STATION}: OK — 5 entries, chain whole; not sealed yet.\n"
    )
    assert run_cli(home, "log", "seal").exit_code == 0

    async def two_more() -> None:
        store = await LogStore.open(home.log_db, STATION)
        async with store:
            for i in (6, 7):
                await store.append(draft(i), now=NOW + timedelta(minutes=i))

    asyncio.run(two_more())
    later = run_cli(home, "log", "verify")
    assert later.exit_code == 0
    assert later.stdout == (
        f"{STATION}: OK — 7 entries, 1 seal, sealed up to entry 5; entries 6–7 are not sealed yet."
        " Matches its 1 anchor outside the log (a receipt, a seal copy or a head code).\n"  # the seal's copy
    )


def test_log_purge_keeps_the_retention_period_unless_told_twice(tmp_path: Path) -> None:
    import asyncio

    from checkpoint.paths import Home
    from checkpoint.timeutil import utcnow
    from tests.conftest import run_cli

    home = Home(tmp_path / "h").ensure()
    home.config.write_text(f'[station]\nid = "{STATION}"\n', encoding="utf-8")

    async def fill() -> None:
        store = await LogStore.open(home.log_db, STATION)
        async with store:
            await store.append(draft(1), now=utcnow() - timedelta(days=40))
            await store.append(draft(2), now=utcnow() - timedelta(days=2))

    def named() -> list[bool]:
        conn = sqlite3.connect(home.log_db)
        try:
            return [row[0] is not None for row in conn.execute("SELECT personal FROM entries ORDER BY seq")]
        finally:
            conn.close()

    asyncio.run(fill())
    assert run_cli(home, "log", "purge").exit_code == 0  # log.retention_days: 28
    assert named() == [False, True]
    hasty = run_cli(home, "log", "purge", "--older-than", "0")
    assert hasty.exit_code == 2 and "nothing was purged" in hasty.output and "--yes" in hasty.output
    assert named() == [False, True]
    assert run_cli(home, "log", "purge", "--older-than", "0", "--yes").exit_code == 0
    assert named() == [False, False]
    assert verify_log(home.log_db).ok


def test_log_list_json_gives_local_times_with_their_offset(tmp_path: Path) -> None:
    import asyncio
    from datetime import datetime

    from checkpoint.paths import Home
    from tests.conftest import run_cli

    home = Home(tmp_path / "h").ensure()
    home.config.write_text(f'[station]\nid = "{STATION}"\n', encoding="utf-8")  # ui.timezone: Asia/Shanghai
    asyncio.run(build(home.log_db, 1))
    [line] = run_cli(home, "log", "list", "--json").stdout.splitlines()
    ts = json.loads(line)["ts"]
    assert ts.endswith("+08:00") and datetime.fromisoformat(ts) == NOW + timedelta(seconds=1)
