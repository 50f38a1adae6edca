"""Issue 11's red-team findings, each a test: ids matched whole, every verification path, bundle fields,
the CSV export, recorded purges, clocks set back, look-alike plates, one station per home."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint import bundle, chain
from checkpoint.keys import read_private_key
from checkpoint.paths import Home
from checkpoint.store import LogStore, verify_log
from checkpoint.timeutil import utcnow
from tests.conftest import NOW, run_cli
from tests.test_audit_data import draft
from tests.test_bundle import _append, _export, _import, _rewrite, _station, enrol
from tests.test_store import tamper

NEWLINE_ID = "north-gate\n"


def one_sentence(text: str) -> bool:
    text = text.strip()
    return bool(text) and "\n" not in text and "Traceback" not in text and "unexpected" not in text.lower()


async def _fill(path: Path, station_id: str, count: int, *, start: int = 0) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    store = await LogStore.open(path, station_id)
    async with store:
        for i in range(count):
            await store.append(draft("in" if i % 2 == 0 else "out"), now=NOW + timedelta(minutes=start + i))
    return key


# --- ids -------------------------------------------------------------------------------------------------


def test_a_station_id_ending_in_a_newline_cannot_be_configured(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[station]\nid = "north-gate\\n"\n', encoding="utf-8")
    result = run_cli(home, "log", "seal")
    assert result.exit_code == 2 and "station.id" in result.stderr and one_sentence(result.stderr)
    assert not home.log_db.exists()


def test_a_bundle_from_a_station_id_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    station = Home(tmp_path / "station").ensure()
    asyncio.run(_fill(station.log_db, NEWLINE_ID, 3))
    out = tmp_path / "nl.bundle"
    asyncio.run(
        bundle.export_bundle(
            station.log_db, NEWLINE_ID, Ed25519PrivateKey.generate(), out, state_root=station.root
        )
    )
    office = Home(tmp_path / "office").ensure()
    office.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    result = _import(office, out)
    assert result.exit_code == 2 and one_sentence(result.stderr)
    assert not office.log_db.exists() or verify_log(office.log_db).entries == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_tampering_with_any_station_is_tampered_fast_or_slow(tmp_path: Path, workers: int) -> None:
    """A station whose bodies the fast scan sets aside (an id it does not recognise) is never clean."""
    path = tmp_path / "log.db"
    asyncio.run(_fill(path, "east-bridge", 4))
    asyncio.run(_fill(path, NEWLINE_ID, 4, start=10))
    assert verify_log(path).ok
    tamper(
        path,
        "UPDATE entries SET body = replace(body, '鄂A12345', '鄂A00000') WHERE seq = 2 AND station_id LIKE 'north%'",
    )
    from checkpoint.store import open_reader

    conn = open_reader(path)
    try:
        fast = chain.verify_all(conn, str(path), {}, workers=workers)
        slow = chain.verify_station(conn, NEWLINE_ID, None)
    finally:
        conn.close()
    reports = {r.station_id: r for r in fast.stations}
    assert not fast.ok and not reports[NEWLINE_ID].ok and reports[NEWLINE_ID].first_bad_seq == 2
    assert reports[NEWLINE_ID].entries == 4
    assert reports["east-bridge"].ok
    assert slow.first_bad_seq == 2


def test_log_verify_says_tampered_for_such_a_station(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    asyncio.run(_fill(home.log_db, NEWLINE_ID, 3))
    tamper(home.log_db, "UPDATE entries SET body = replace(body, '李四', '赵六') WHERE seq = 3")
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 1 and "TAMPERED" in result.stdout and "OK" not in result.stdout


def test_patterns_never_match_before_a_final_newline() -> None:
    from checkpoint.passes import CHECKPOINT_ID, PASS_ID

    assert CHECKPOINT_ID.match("north-gate\n") is None and CHECKPOINT_ID.fullmatch("north-gate\n") is None
    assert PASS_ID.match("7K3M9QXA\n") is None
    assert CHECKPOINT_ID.fullmatch("north-gate") and PASS_ID.fullmatch("7K3M9QXA")


# --- bundle fields ---------------------------------------------------------------------------------------


def _set(column: str, value: object):  # type: ignore[no-untyped-def]
    def change(body: dict) -> None:  # type: ignore[type-arg]
        entry = body["entries"][1]
        values = json.loads(entry[0])
        values[chain.CHAINED.index(column)] = value
        entry[0] = chain.canonical(values)
        entry[1] = chain.entry_hash(entry[0])
        # Re-chain what follows, as an attacker with the station key would.
        for later in body["entries"][2:]:
            vals = json.loads(later[0])
            vals[chain.CHAINED.index("prev_hash")] = entry[1]
            later[0] = chain.canonical(vals)
            later[1] = chain.entry_hash(later[0])
            entry = later
        body["seals"] = []

    return change


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("category", '=HYPERLINK("http://x","y")', "unknown category"),
        ("id", "x\r\ny", "bad id"),
        ("refers_to", "@SUM(A1)", "bad refers_to"),
        ("direction", "sideways", "unknown direction"),
        ("warnings", "ok,=cmd", "unknown warning"),
        ("pass_id", "7K3M9QXA\n", "bad pass id"),
        ("note", "x" * 5000, "note longer than"),
        ("ts", 2**62, "impossible time"),
    ],
    ids=["category", "id", "refers_to", "direction", "warnings", "pass_id", "note", "ts"],
)
def test_every_field_of_a_bundle_is_checked(tmp_path: Path, column: str, value: object, words: str) -> None:
    station = _station(tmp_path, "north-gate")
    _append(station, "north-gate", 4)
    path = tmp_path / "b.bundle"
    _export(station, path)
    _rewrite(path, _set(column, value), read_private_key(station.station_key))
    office = Home(tmp_path / "office").ensure()
    office.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    enrol(station, office)
    result = _import(office, path)
    assert result.exit_code == 2 and words in result.stderr and "nothing was imported" in result.stderr
    assert one_sentence(result.stderr)


def test_an_unsigned_bundle_is_refused_before_its_entries_are_parsed(tmp_path: Path) -> None:
    station = _station(tmp_path, "north-gate")
    _append(station, "north-gate", 2)
    path = tmp_path / "b.bundle"
    _export(station, path)
    wrapper = json.loads(path.read_text(encoding="utf-8"))
    # The body keeps its header but the rest is not even JSON: only the signature check can refuse it.
    wrapper["body"] = wrapper["body"][: wrapper["body"].index(',"created"')] + ',"entries":' + "[" * 100_000
    path.write_text(json.dumps(wrapper), encoding="utf-8")
    office = Home(tmp_path / "office").ensure()
    enrol(station, office)
    result = _import(office, path)
    assert result.exit_code == 2 and "bad signature" in result.stderr


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested"),
        ('{"format": "checkpoint-bundle/2", "body": "x", "n": 1' + "0" * 5000 + "}", "digits"),
    ],
    ids=["deep", "huge-number"],
)
def test_a_hostile_bundle_file_is_one_sentence(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "h.bundle"
    path.write_text(text, encoding="utf-8")
    result = _import(Home(tmp_path / "office"), path)
    assert result.exit_code == 2 and words in result.stderr and one_sentence(result.stderr)


def test_an_oversized_bundle_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle, "MAX_BYTES", 1000)
    path = tmp_path / "big.bundle"
    path.write_bytes(b"{" + b" " * 5000 + b"}")
    result = _import(Home(tmp_path / "office"), path)
    assert result.exit_code == 2 and "larger than any bundle can be" in result.stderr


# --- CSV export --------------------------------------------------------------------------------------------


def test_the_csv_export_neutralises_every_text_cell(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()

    async def fill() -> None:
        store = await LogStore.open(home.log_db, "north-gate")
        async with store:
            for i, value in enumerate(
                ("＝HYPERLINK(1)", "＋1", "－1", "＠SUM(A1)", "a\r\nb,c", "x\u202ey\x1b[2J")
            ):
                entry = replace(
                    draft(note=value, operator=value, holder=value), category="=cmd|' /C calc'!A0"
                )
                await store.append(entry, now=NOW + timedelta(minutes=i))

    asyncio.run(fill())
    out = tmp_path / "x.csv"
    assert run_cli(home, "log", "export", "--out", str(out)).exit_code == 0
    text = out.read_bytes()[3:].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6 and text.count("\n") == 7  # no raw line break inside a cell
    assert [r["note"][:2] for r in rows[:4]] == ["'＝", "'＋", "'－", "'＠"]
    assert rows[4]["note"] == "a␍␊b,c"
    assert rows[5]["note"] == "x\ufffdy␛[2J"
    assert all(r["category"].startswith("'=") for r in rows)
    assert all(r["operator"] == r["note"] == r["holder"] for r in rows)
    jsonl = tmp_path / "x.jsonl"
    assert run_cli(home, "log", "export", "--out", str(jsonl), "--format", "jsonl").exit_code == 0
    notes = [json.loads(line)["note"] for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert notes[4] == "a␍␊b,c" and notes[5] == "x\ufffdy␛[2J"


# --- purges ----------------------------------------------------------------------------------------------


def _named(path: Path) -> list[bool]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] is not None for row in conn.execute("SELECT personal FROM entries ORDER BY seq")]
    finally:
        conn.close()


def _purge_home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[station]\nid = "north-gate"\n', encoding="utf-8")

    async def fill() -> None:
        store = await LogStore.open(home.log_db, "north-gate")
        async with store:
            await store.append(draft(), now=utcnow() - timedelta(days=40))
            await store.append(draft(), now=utcnow() - timedelta(days=2))
            await store.append(draft(), now=utcnow() - timedelta(days=1))

    asyncio.run(fill())
    return home


def test_a_purge_is_recorded_and_verifies(tmp_path: Path) -> None:
    home = _purge_home(tmp_path)
    assert run_cli(home, "log", "purge").exit_code == 0
    assert _named(home.log_db) == [False, True, True]
    conn = sqlite3.connect(home.log_db)
    (body,) = conn.execute("SELECT body FROM records WHERE kind = 'purge'").fetchone()
    conn.close()
    record = json.loads(body)
    assert (
        record["entries"] == 1 and record["first_seq"] == record["last_seq"] == 1 and record["head"][0] == 3
    )
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 0, result.stdout
    assert run_cli(home, "log", "purge", "--older-than", "0", "--yes").exit_code == 0  # told twice
    assert run_cli(home, "log", "verify").exit_code == 0


def test_recent_personal_data_cannot_be_wiped_with_plain_sql(tmp_path: Path) -> None:
    home = _purge_home(tmp_path)
    conn = sqlite3.connect(home.log_db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE entries SET personal = NULL, salt = NULL WHERE seq = 3")
    conn.close()
    assert _named(home.log_db) == [True, True, True]


def test_a_wipe_behind_the_triggers_back_is_reported_by_log_verify(tmp_path: Path) -> None:
    home = _purge_home(tmp_path)
    tamper(home.log_db, "UPDATE entries SET personal = NULL, salt = NULL WHERE seq >= 2")
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 1
    assert "first bad entry 2" in result.stdout and "no purge is recorded" in result.stdout


def test_a_deleted_purge_record_is_tampering(tmp_path: Path) -> None:
    home = _purge_home(tmp_path)
    assert run_cli(home, "log", "purge", "--older-than", "0", "--yes").exit_code == 0
    conn = sqlite3.connect(home.log_db)
    conn.execute("DROP TRIGGER records_no_change")
    conn.execute("UPDATE records SET body = replace(body, '\"entries\":3', '\"entries\":1')")
    conn.commit()
    conn.close()
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 1 and "log record 1 was altered" in result.stdout


# --- time ------------------------------------------------------------------------------------------------


def test_log_verify_warns_where_the_clock_goes_back(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[station]\nid = "north-gate"\n', encoding="utf-8")

    async def fill() -> None:
        store = await LogStore.open(home.log_db, "north-gate")
        async with store:
            for moment in (
                NOW,
                NOW + timedelta(minutes=1),
                NOW - timedelta(days=2),
                NOW - timedelta(days=2, minutes=-1),
            ):
                await store.append(draft(), now=moment)

    asyncio.run(fill())
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 0  # a warning, not tampering
    assert "north-gate: OK" in result.stdout
    assert "warning — entry 3 is 2 days earlier than entry 2: the clock was set back" in result.stdout
    assert result.stdout.count("warning") == 1
    as_json = json.loads(run_cli(home, "log", "verify", "--json").stdout)
    assert as_json["ok"] and as_json["stations"][0]["warnings"][0]["seq"] == 3


# --- plates ----------------------------------------------------------------------------------------------


def test_look_alike_plates_are_one_plate_or_refused(office_home: Home) -> None:
    def issue(plate: str):  # type: ignore[no-untyped-def]
        return run_cli(office_home, "pass", "issue", "--plate", plate, "--category", "medical", "--json")

    first = issue("黑A12345")
    assert first.exit_code == 0, first.stderr
    same = issue("黒A·12345")  # the Japanese form: the same plate, so the same live pass comes back
    assert same.exit_code == 0 and json.loads(same.stdout)["pass_id"] == json.loads(first.stdout)["pass_id"]
    for variant, standard in (("晉A12345", "晋A12345"), ("靑A·12345", "青A12345")):
        result = issue(variant)
        assert result.exit_code == 0 and json.loads(result.stdout)["plate"] == standard
    for bad, words in (
        ("鄂AO1234", "I and O"),
        ("鄂AI1234", "I and O"),
        ("X12345", "starts with a province"),
    ):
        refused = issue(bad)
        assert refused.exit_code == 2 and words in refused.stderr and one_sentence(refused.stderr)


def test_the_plate_rules() -> None:
    from checkpoint.plates import normalise_plate

    assert normalise_plate("使014001") == "使014001"
    assert normalise_plate("鄂A1234警") == "鄂A1234警"
    assert normalise_plate("粤Z1234港") == "粤Z1234港"
    assert normalise_plate("鄂Ａ·１２３４５") == "鄂A12345"
    for bad in ("中A12345", "鄂A12警34", "鄂A-1234O"):
        with pytest.raises(Exception, match="not a plate number"):
            normalise_plate(bad)


# --- one station per home -----------------------------------------------------------------------------------


def test_a_second_station_on_the_same_home_refuses_naming_the_first(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from checkpoint.paths import Home, HomeLock\n"
         f"lock = HomeLock(Home(Path({str(home.root)!r}))); lock.acquire(); print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = run_cli(home, "station", "--camera", "none")
        assert second.exit_code == 2 and f"process {holder.pid}" in second.stderr
        assert one_sentence(second.stderr)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    from checkpoint.paths import HomeLock

    with HomeLock(home):  # the first one ended: the home is free again
        pass


async def test_the_audit_detail_shows_an_entry_whose_clock_went_back(tmp_path: Path) -> None:
    from textual.widgets import DataTable, Static

    from checkpoint.settings import Settings
    from tui.audit.app import make_app

    home = Home(tmp_path / "office").ensure()
    store = await LogStore.open(home.log_db, "north-gate")
    async with store:
        for moment in (NOW, NOW + timedelta(minutes=1), NOW - timedelta(days=2)):
            await store.append(draft(), now=moment)
    app = make_app(home, Settings(), language="en")
    async with app.run_test(size=(130, 42)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#entries", DataTable)
        seen = {}
        for seq in ("2", "3"):
            row = next(i for i in range(table.row_count) if str(table.get_row_at(i)[2]) == seq)
            table.move_cursor(row=row)
            table.focus()
            await pilot.press("enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            seen[seq] = str(app.screen.query_one("#detail-chain", Static).render())
            await pilot.press("escape")
            await pilot.pause()
    assert "Clock set back: this entry is 2881 min earlier" in seen["3"]
    assert "Clock set back" not in seen["2"]


def test_early_purged_entries_merged_from_a_station_are_a_warning_at_the_office(tmp_path: Path) -> None:
    station = _station(tmp_path, "north-gate")
    _append(station, "north-gate", 3, days_ago=2)
    assert run_cli(station, "log", "purge", "--older-than", "0", "--yes").exit_code == 0
    assert run_cli(station, "log", "verify").exit_code == 0  # recorded at the station
    _export(station, tmp_path / "b.bundle")
    office = Home(tmp_path / "office").ensure()
    office.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    enrol(station, office)
    assert _import(office, tmp_path / "b.bundle").exit_code == 0
    result = run_cli(office, "log", "verify")
    assert result.exit_code == 0 and "north-gate: OK" in result.stdout
    assert "warning — the names and temperatures of entry 1 are gone" in result.stdout
