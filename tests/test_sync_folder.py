"""`checkpoint sync DIR` at both ends, office receipts, and the anchors a station keeps outside log.db."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from checkpoint import chain, sync
from checkpoint.paths import Home
from checkpoint.receipts import anchors_dir
from tests.conftest import run_cli
from tests.test_bundle import _append, _export, _import, _rows, _station, enrol


def _office(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office").ensure()
    home.config.write_text('[station]\nid = "office"\n[office]\nname = "Dafan office"\n', encoding="utf-8")
    made = run_cli(home, "keys", "init")
    assert made.exit_code == 0, made.output
    return home


def _trust(office: Home, station: Home) -> None:
    """The station's first trust file, as the README sets a station up (one place to change if that does)."""
    out = office.root / "trust-for-stations.json"
    assert run_cli(office, "keys", "export-trust", str(out)).exit_code == 0
    shown = run_cli(office, "keys", "fingerprint")
    assert shown.exit_code == 0, shown.output
    fp = shown.output.strip().rsplit(": ", 1)[1]
    taken = run_cli(station, "keys", "import-trust", str(out), "--fingerprint", fp)
    assert taken.exit_code == 0, taken.output


def _sync(home: Home, folder: Path, *, code: int = 0) -> str:
    result = run_cli(home, "sync", str(folder))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def _verify(home: Home, *extra: str) -> tuple[int, str]:
    result = run_cli(home, "log", "verify", *extra)
    return result.exit_code, result.output


def _copy_log(source: Path, target: Path) -> None:
    """A consistent copy of a log (what someone keeps to put back later)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()


def _put_back(copy: Path, log_db: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{log_db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, log_db)


@pytest.fixture
def homes(tmp_path: Path) -> tuple[Home, Home, Path]:
    """Two fresh homes set up as the README says: office keys, the station trusts them and is enrolled."""
    office = _office(tmp_path)
    station = _station(tmp_path, "north-gate")
    _trust(office, station)
    enrol(station, office)
    folder = tmp_path / "usb"
    folder.mkdir()
    return office, station, folder


def test_the_loop_from_two_fresh_homes_leaves_a_receipt_and_seal_rows_cannot_go(
    homes: tuple[Home, Home, Path],
) -> None:
    office, station, folder = homes
    _append(station, "north-gate", 5)
    sent = _sync(station, folder)
    assert "Wrote bundles/north-gate-000000001-000000005.bundle: entries 1 to 5" in sent
    took = _sync(office, folder)
    lines = took.strip().splitlines()
    assert lines[0].startswith("north-gate-000000001-000000005.bundle: imported 5 new entries")
    assert "Left the receipt for north-gate up to entry 5" in took
    assert "Left the trust file" in took and "Left revocation list number 1" in took
    assert (folder / "receipts" / "north-gate.receipt").is_file()
    assert _rows(office) == _rows(station)
    back = _sync(station, folder)
    assert "Kept the office receipt for entries up to 5" in back
    assert "Took revocation list number 1" in back
    assert "removed 1 older bundle(s)" in back and not list((folder / "bundles").glob("*.bundle"))
    kept = list((anchors_dir(station.root) / "receipts").glob("*.receipt"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["seq"] == 5
    assert list((anchors_dir(station.root) / "seals").glob("north-gate-*.seal"))
    code, text = _verify(station)
    assert code == 0 and "OK" in text and "Matches its 2 anchors" in text, text
    # an anchor edited to suit a rewritten log is itself caught
    original = kept[0].read_text()
    kept[0].write_text(original.replace('"seq": 5', '"seq": 4'))
    code, text = _verify(station)
    assert code == 1 and "has a bad signature" in text, text
    kept[0].write_text(original)
    # the station's disk is tampered with: the seal rows go (the triggers are dropped first)
    conn = sqlite3.connect(station.log_db)
    conn.executescript("DROP TRIGGER seals_no_delete; DELETE FROM seals;")
    conn.close()
    code, text = _verify(station)
    assert code == 1 and "TAMPERED" in text and "the seal at entry 5 was deleted" in text, text


def test_a_rolled_back_log_is_caught_by_a_receipt(homes: tuple[Home, Home, Path], tmp_path: Path) -> None:
    office, station, folder = homes
    _append(station, "north-gate", 3)
    _copy_log(station.log_db, tmp_path / "older.db")  # before the seal: the copy has no seal row either
    _append(station, "north-gate", 2)
    _sync(station, folder)
    _sync(office, folder)
    _sync(station, folder)
    # only the receipt is left to tell: remove the seal copies too (the attacker has the disk)
    shutil.rmtree(anchors_dir(station.root) / "seals")
    assert _verify(station)[0] == 0
    _put_back(tmp_path / "older.db", station.log_db)
    code, text = _verify(station)
    assert code == 1 and "TAMPERED — first bad entry 4: entries 4 to 5 are missing" in text, text
    # the next sync says so too, as soon as it sees the office's receipt
    again = _sync(station, folder, code=2)
    assert "The office holds entry 5 of this station with a hash this log does not have" in again
    assert "office receipt" in text
    # and a log that is simply gone is no way out either
    for name in ("log.db", "log.db-wal", "log.db-shm"):
        (station.root / name).unlink(missing_ok=True)
    code, text = _verify(station)
    assert code == 1 and "There is no traffic log" in text and "TAMPERED" in text


def test_the_head_code_in_the_duty_book(homes: tuple[Home, Home, Path]) -> None:
    _, station, _ = homes
    _append(station, "north-gate", 4)
    conn = sqlite3.connect(station.log_db)
    head_hash = conn.execute("SELECT hash FROM entries WHERE seq = 4").fetchone()[0]
    conn.close()
    code = chain.head_code(4, head_hash)
    assert code == f"4-{head_hash[:6].upper()}"
    good, text = _verify(station, "--head", code)
    assert good == 0 and "Matches its 1 anchor " in text, text
    bad, text = _verify(
        station, "--head", "4-" + ("000000" if not head_hash.startswith("000000") else "111111")
    )
    assert bad == 1 and "entry 4 differs from the one the head code" in text
    cut, text = _verify(station, "--head", f"9-{head_hash[:6]}")
    assert cut == 1 and "entries 5 to 9 are missing" in text
    for junk in ("4-9F3A", "4-9F3A2C1", "x-9F3A2C", "0-9F3A2C", "4 9F3A2C"):
        result = run_cli(station, "log", "verify", "--head", junk)
        assert result.exit_code == 2 and "is not a head code" in result.output


def test_the_office_refuses_a_bundle_that_does_not_extend_what_it_holds(
    homes: tuple[Home, Home, Path], tmp_path: Path
) -> None:
    office, station, _ = homes
    _append(station, "north-gate", 3)
    _copy_log(station.log_db, tmp_path / "older.db")
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b1.bundle")
    assert _import(office, tmp_path / "b1.bundle").exit_code == 0
    before = _rows(office)
    # the station's log is put back to entry 3 and sends it all again: it ends short of what the office has
    _put_back(tmp_path / "older.db", station.log_db)
    _export(station, tmp_path / "cut.bundle", "--all")
    cut = _import(office, tmp_path / "cut.bundle")
    assert cut.exit_code == 2 and "does not extend what the office holds" in cut.output
    assert "ends at entry 3" in cut.output
    # ... and then writes new entries 4 and 5 over the old ones: a fork
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "fork.bundle", "--all")
    fork = _import(office, tmp_path / "fork.bundle")
    assert fork.exit_code == 2 and "entry 4 differs from the one already imported" in fork.output
    assert _rows(office) == before
    # an old file that turns up again is still only "already imported"
    assert "already imported" in _import(office, tmp_path / "b1.bundle").output


def test_office_sync_takes_what_it_can_and_names_what_it_refuses(
    homes: tuple[Home, Home, Path], tmp_path: Path
) -> None:
    office, station, folder = homes
    stranger = _station(tmp_path / "elsewhere", "east-bridge")
    _append(station, "north-gate", 2)
    _append(stranger, "east-bridge", 2)
    _sync(station, folder)
    _sync(stranger, folder)
    took = _sync(office, folder, code=2)
    assert "Refused: The bundle east-bridge-000000001-000000002.bundle from east-bridge is refused" in took
    assert "not enrolled at this office" in took and "checkpoint stations enrol" in took
    assert "imported 2 new entries of north-gate" in took
    assert not (folder / "receipts" / "east-bridge.receipt").exists()
    assert {r[0] for r in _rows(office)} == {"north-gate"}


def test_a_station_keeps_no_receipt_it_cannot_verify(homes: tuple[Home, Home, Path], tmp_path: Path) -> None:
    office, station, folder = homes
    _append(station, "north-gate", 2)
    _sync(station, folder)
    _sync(office, folder)
    receipt = folder / "receipts" / "north-gate.receipt"
    data = json.loads(receipt.read_text())
    data["seq"] = 1  # claims less than the office signed
    receipt.write_text(json.dumps(data))
    back = _sync(station, folder, code=2)
    assert "Refused: north-gate.receipt has a bad signature" in back
    assert not list((anchors_dir(station.root) / "receipts").glob("*"))
    # a receipt signed by another office (a key this station does not trust) is refused too
    other = _office(tmp_path / "other")
    _station_enrolled_elsewhere = _station(tmp_path / "x", "north-gate")
    enrol(_station_enrolled_elsewhere, other)
    _append(_station_enrolled_elsewhere, "north-gate", 1)
    other_folder = tmp_path / "usb2"
    other_folder.mkdir()
    _sync(_station_enrolled_elsewhere, other_folder)
    _sync(other, other_folder)
    shutil.copyfile(other_folder / "receipts" / "north-gate.receipt", receipt)
    assert "which this home does not trust" in _sync(station, folder, code=2)


def test_the_office_side_takes_bundle_bytes_and_answers_with_a_receipt(
    homes: tuple[Home, Home, Path], tmp_path: Path
) -> None:
    """The piece a network service calls: bundle bytes in, signed receipt out (no folder involved)."""
    import asyncio

    from checkpoint.keys import Keyring, load_trust
    from checkpoint.receipts import check_receipt

    office, station, _ = homes
    _append(station, "north-gate", 3)
    _export(station, tmp_path / "b.bundle")
    side = sync.OfficeSync(office, "office", Keyring(office.office_keys, "Dafan office"), "Dafan office")
    results, receipt = asyncio.run(side.take_bundle_bytes((tmp_path / "b.bundle").read_bytes()))
    assert results[0].added == 3 and receipt is not None
    assert (receipt.station_id, receipt.seq) == ("north-gate", 3)
    assert receipt.head_hash == _rows(station)[-1][2]
    check_receipt(receipt, load_trust(station.trust), "the receipt")  # the station can verify it


def test_the_handover_shows_the_head_code_and_help_the_fingerprint(homes: tuple[Home, Home, Path]) -> None:
    import asyncio

    from tests.station_helpers import open_shift, station_app, wait_for
    from tui.station.forms import HandoverScreen, HelpScreen

    _, station, _ = homes
    _append(station, "north-gate", 2)
    asyncio.run(open_shift(station))
    conn = sqlite3.connect(station.log_db)
    head_hash = conn.execute("SELECT hash FROM entries WHERE seq = 2").fetchone()[0]
    conn.close()
    made = run_cli(station, "stations", "request", "--out", str(station.root / "r.json")).output
    fingerprint = made.split("Fingerprint: ", 1)[1].splitlines()[0]

    async def scenario() -> None:
        app = station_app(station)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f1")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            assert fingerprint in str(app.screen.query_one("#help-footnote").render())
            await pilot.press("escape")
            await pilot.press("f8")
            await wait_for(pilot, lambda: isinstance(app.screen, HandoverScreen))
            await wait_for(pilot, lambda: "2-" in str(app.screen.query_one("#summary").render()))
            shown = str(app.screen.query_one("#summary").render())
            assert f"Head code for the duty book: 2-{head_hash[:6].upper()}" in shown

    asyncio.run(scenario())


def test_the_office_screen_lists_enrolled_stations(homes: tuple[Home, Home, Path]) -> None:
    import asyncio

    from checkpoint.settings import load_settings
    from tests.station_helpers import wait_for
    from tui.office.app import make_app
    from tui.office.stations import StationsScreen

    office, station, _ = homes
    assert run_cli(office, "stations", "retire", "north-gate", "--reason", "[bold]stolen[/]").exit_code == 0
    made = run_cli(station, "stations", "request", "--out", str(station.root / "r.json")).output
    fingerprint = made.split("Fingerprint: ", 1)[1].splitlines()[0]

    async def scenario() -> None:
        app = make_app(office, load_settings(office.config))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("f9")
            await wait_for(pilot, lambda: isinstance(app.screen, StationsScreen))
            table = app.screen.query_one("#stations")
            row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
            assert row[0] == "north-gate" and row[2] == fingerprint
            assert "retired" in row[4] and "[bold]stolen[/]" in row[4]  # shown as text, not markup
            # QA: on screen every column showed only as much as its heading ("north-g", "activ").
            shown = "\n".join(table.render_line(y).text for y in range(table.size.height))
            assert "north-gate" in shown and fingerprint in shown and "[bold]stolen[/]" in shown, shown
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, StationsScreen))

    asyncio.run(scenario())
