"""Station bundles: export at the station, import at the office — idempotent, order-free, all-or-nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint import bundle, chain
from checkpoint.keys import read_private_key
from checkpoint.paths import Home
from checkpoint.store import LogStore, verify_log
from checkpoint.timeutil import utcnow
from tests.conftest import run_cli
from tests.test_audit_data import HOSTILE, draft


def _station(tmp_path: Path, station_id: str) -> Home:
    home = Home(tmp_path / station_id).ensure()
    home.config.write_text(f'[station]\nid = "{station_id}"\nname = "{station_id} gate"\n', encoding="utf-8")
    return home


def enrol(station: Home, office: Home) -> str:
    """Enrol `station` at `office` through the CLI, as the README says (request, then enrol with its
    fingerprint); returns the fingerprint."""
    request = station.root / "enrolment.json"
    made = run_cli(station, "stations", "request", "--out", str(request))
    assert made.exit_code == 0, made.output
    fingerprint = made.output.split("Fingerprint: ", 1)[1].splitlines()[0]
    done = run_cli(office, "stations", "enrol", str(request), "--fingerprint", fingerprint)
    assert done.exit_code == 0, done.output
    return fingerprint


def _enrolled(tmp_path: Path, office: Home, station_id: str) -> Home:
    home = _station(tmp_path, station_id)
    enrol(home, office)
    return home


def _append(home: Home, station_id: str, n: int, *, days_ago: float = 0) -> None:
    async def run() -> None:
        store = await LogStore.open(home.log_db, station_id)
        async with store:
            for i in range(n):
                entry = draft(
                    "in" if i % 2 == 0 else "out",
                    holder=HOSTILE[0] if i == 0 else "张三",
                    temperatures=(365, 370),
                )
                await store.append(entry, now=utcnow() - timedelta(days=days_ago, minutes=n - i))

    asyncio.run(run())


def _rows(home: Home) -> list[tuple[str, int, str]]:
    if not home.log_db.exists():
        return []
    conn = sqlite3.connect(home.log_db)
    rows = conn.execute("SELECT station_id, seq, hash FROM entries ORDER BY station_id, seq").fetchall()
    conn.close()
    return rows


def _export(home: Home, out: Path, *extra: str) -> None:
    result = run_cli(home, "bundle", "export", "--out", str(out), *extra)
    assert result.exit_code == 0, result.output


def _import(office: Home, *files: Path):  # type: ignore[no-untyped-def]
    return run_cli(office, "bundle", "import", *map(str, files))


@pytest.fixture
def office(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office").ensure()
    home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    return home


def test_import_twice_is_import_once(tmp_path: Path, office: Home) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 5)
    _export(station, tmp_path / "b1.bundle")
    first = _import(office, tmp_path / "b1.bundle")
    assert first.exit_code == 0, first.output
    assert "imported 5 new entries of north-gate" in first.output
    second = _import(office, tmp_path / "b1.bundle")
    assert second.exit_code == 0 and "already imported" in second.output
    assert _rows(office) == _rows(station)
    result = verify_log(office.log_db)
    assert result.ok and result.stations[0].last_sealed_seq == 5


def test_export_sends_only_what_is_new_and_order_does_not_matter(tmp_path: Path, office: Home) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 3)
    _export(station, tmp_path / "b1.bundle")
    nothing = run_cli(station, "bundle", "export", "--out", str(tmp_path / "none.bundle"))
    assert "Nothing new" in nothing.output and not (tmp_path / "none.bundle").exists()
    _append(station, "north-gate", 4)
    _export(station, tmp_path / "b2.bundle")
    b2 = json.loads(json.loads((tmp_path / "b2.bundle").read_text())["body"])
    assert (b2["from_seq"], b2["to_seq"]) == (4, 7)

    held = _import(office, tmp_path / "b2.bundle")
    assert held.exit_code == 0
    assert "held" in held.output and "entries 1 to 3 of north-gate" in held.output
    assert _rows(office) == []
    merged = _import(office, tmp_path / "b1.bundle")
    assert "imported 3 new entries" in merged.output and "imported 4 new entries" in merged.output
    assert _rows(office) == _rows(station)
    assert verify_log(office.log_db).ok
    assert not list(bundle.pending_dir(office.root).glob("*.bundle"))
    # and the cumulative export overlaps what the office has: still nothing doubled
    _export(station, tmp_path / "all.bundle", "--all")
    assert "already imported" in _import(office, tmp_path / "all.bundle").output
    assert _rows(office) == _rows(station)


def _rewrite(path: Path, change, key: Ed25519PrivateKey | None) -> None:  # type: ignore[no-untyped-def]
    wrapper = json.loads(path.read_text())
    body = json.loads(wrapper["body"])
    change(body)
    wrapper["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    if key is not None:
        signature = key.sign(bundle._message(wrapper["body"].encode()))
        wrapper["signature"] = base64.b64encode(signature).decode()
    path.write_text(json.dumps(wrapper, ensure_ascii=False))


def _edit_body(entry: list, column: str, value: object) -> None:  # type: ignore[type-arg]
    """Change one chained field inside an entry's canonical body (the hash is left as it was)."""
    values = json.loads(entry[0])
    values[chain.CHAINED.index(column)] = value
    entry[0] = chain.canonical(values)


def _plate_of_entry_3(body: dict) -> None:  # type: ignore[type-arg]
    _edit_body(body["entries"][2], "plate", "鄂A00000")


def _drop_entry_3(body: dict) -> None:  # type: ignore[type-arg]
    del body["entries"][2]
    body["to_seq"] -= 1


def _unlink_entry_3(body: dict) -> None:  # type: ignore[type-arg]
    _edit_body(body["entries"][2], "prev_hash", "0" * 64)


def _fever_erased(body: dict) -> None:  # type: ignore[type-arg]
    body["entries"][1][2] = '{"holder":"张三","temperatures":[365]}'


@pytest.mark.parametrize(
    ("change", "resign", "message"),
    [
        (_plate_of_entry_3, False, "bad signature"),
        (_plate_of_entry_3, True, "entry 3 was altered"),
        (_drop_entry_3, True, "entry 3 is missing"),
        (_unlink_entry_3, True, "entry 3 does not link to entry 2"),
        (_fever_erased, True, "personal fields of entry 2 were altered"),
    ],
)
def test_an_altered_bundle_is_refused_whole(  # type: ignore[no-untyped-def]
    tmp_path: Path, office: Home, change, resign: bool, message: str
) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 5)
    _export(station, tmp_path / "b.bundle")
    key = read_private_key(station.station_key) if resign else None
    _rewrite(tmp_path / "b.bundle", change, key)
    result = _import(office, tmp_path / "b.bundle")
    assert result.exit_code == 2
    assert message in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert _rows(office) == []


def test_a_fork_and_a_new_key_are_refused(tmp_path: Path, office: Home) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 3)
    _export(station, tmp_path / "b.bundle")
    assert _import(office, tmp_path / "b.bundle").exit_code == 0
    before = _rows(office)
    # a second machine claiming to be north-gate, with its own key and its own log
    impostor = _station(tmp_path / "other", "north-gate")
    _append(impostor, "north-gate", 4)
    _export(impostor, tmp_path / "impostor.bundle")
    result = _import(office, tmp_path / "impostor.bundle")
    assert result.exit_code == 2 and "is enrolled here with key" in result.output
    # the real station's bundle with an entry already imported changed and re-signed
    _export(station, tmp_path / "fork.bundle", "--all")
    _rewrite(tmp_path / "fork.bundle", _plate_of_entry_3, None)
    assert _import(office, tmp_path / "fork.bundle").exit_code == 2
    assert _rows(office) == before


def test_two_stations_merge_and_office_purges_old_personal_data(tmp_path: Path, office: Home) -> None:
    north, east = _enrolled(tmp_path, office, "north-gate"), _enrolled(tmp_path, office, "east-bridge")
    _append(north, "north-gate", 4, days_ago=40)
    _append(east, "east-bridge", 3)
    _export(north, tmp_path / "n.bundle")
    _export(east, tmp_path / "e.bundle")
    result = _import(office, tmp_path / "e.bundle", tmp_path / "n.bundle")
    assert result.exit_code == 0, result.output
    assert "Purged names and temperatures from 4 entries older than 28 days" in result.output
    conn = sqlite3.connect(office.log_db)
    assert conn.execute("SELECT COUNT(*) FROM entries WHERE personal IS NULL").fetchone()[0] == 4
    assert conn.execute("SELECT SUM(fevers), COUNT(*) FROM entries").fetchone() == (0, 7)
    conn.close()
    verified = run_cli(office, "log", "verify")
    assert verified.exit_code == 0, verified.output
    assert "north-gate: OK" in verified.output and "east-bridge: OK" in verified.output


def test_not_a_bundle(tmp_path: Path, office: Home) -> None:
    bad = tmp_path / "x.bundle"
    bad.write_text("hello")
    result = _import(office, bad)
    assert result.exit_code == 2 and "is not a checkpoint bundle" in result.output


def test_shifts_travel_and_a_later_bundle_ends_them(tmp_path: Path, office: Home) -> None:
    from checkpoint.store import Shift

    station = _enrolled(tmp_path, office, "north-gate")

    async def start() -> str:
        store = await LogStore.open(station.log_db, "north-gate")
        async with store:
            return await store.start_shift(Shift("李四", "王五"))

    async def end(shift_id: str) -> None:
        store = await LogStore.open(station.log_db, "north-gate")
        async with store:
            await store.end_shift(shift_id, 3)

    shift_id = asyncio.run(start())
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b1.bundle")
    assert _import(office, tmp_path / "b1.bundle").exit_code == 0
    asyncio.run(end(shift_id))
    _append(station, "north-gate", 1)
    _export(station, tmp_path / "b2.bundle")
    assert _import(office, tmp_path / "b2.bundle").exit_code == 0
    conn = sqlite3.connect(office.log_db)
    rows = conn.execute(
        "SELECT station_id, operator, leader, ended IS NOT NULL, sealed_seq FROM shifts"
    ).fetchall()
    conn.close()
    assert rows == [("north-gate", "李四", "王五", 1, 3)]


def test_a_full_disk_at_the_office_is_one_sentence_and_importing_again_finishes(
    tmp_path: Path, office: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The office log may not grow (SQLite's max_page_count on the import's own connection: the same
    SQLITE_FULL as a full disk). One sentence, nothing half-merged; with room again the import completes."""
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 40)
    _export(station, tmp_path / "b1.bundle")
    real_open = LogStore.open

    async def open_on_a_full_disk(path: Path, station_id: str) -> LogStore:
        store = await real_open(path, station_id)
        pages = (await (await store.db.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await store.db.execute(f"PRAGMA max_page_count = {pages}")
        return store

    monkeypatch.setattr(LogStore, "open", open_on_a_full_disk)
    full = _import(office, tmp_path / "b1.bundle")
    assert full.exit_code == 2
    assert full.output.startswith("checkpoint: The disk is full:") and full.output.count("\n") == 1
    assert "Traceback" not in full.output and _rows(office) == []
    monkeypatch.setattr(LogStore, "open", real_open)
    again = _import(office, tmp_path / "b1.bundle")
    assert again.exit_code == 0, again.output
    assert _rows(office) == _rows(station) and verify_log(office.log_db).ok
