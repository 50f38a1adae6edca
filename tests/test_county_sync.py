"""The sync folder and `checkpoint serve` over a county home (a real PostgreSQL server): the office side
merges into the county store through the same `OfficeSync`, and the station gets the same signed receipts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from checkpoint.errors import CheckpointError
from checkpoint.netsync import sync_once
from checkpoint.paths import Home
from checkpoint.receipts import anchors_dir
from tests.conftest import run_cli
from tests.netsync_support import Server, append, make_station, settings_for, station_rows
from tests.test_bundle import _append, _rows, _station, enrol
from tests.test_sync_folder import _sync, _trust


def _county_office(root: Path, url: str) -> Home:
    home = Home(root / "county").ensure()
    home.config.write_text(
        f'[station]\nid = "county"\n[office]\nname = "County command"\n[log]\ndatabase = "{url}"\n',
        encoding="utf-8",
    )
    made = run_cli(home, "keys", "init")
    assert made.exit_code == 0, made.output
    return home


def _county_rows(url: str, station_id: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return [
            (int(r[0]), str(r[1]))
            for r in conn.execute(
                "SELECT seq, hash FROM entries WHERE station_id = %s ORDER BY seq", (station_id,)
            )
        ]


def test_station_to_county_through_the_sync_folder_leaves_a_receipt_and_twice_adds_nothing(
    tmp_path: Path, county_url: str
) -> None:
    office = _county_office(tmp_path, county_url)
    station = _station(tmp_path, "north-gate")
    _trust(office, station)
    enrol(station, office)
    folder = tmp_path / "usb"
    folder.mkdir()
    _append(station, "north-gate", 5)
    assert "entries 1 to 5" in _sync(station, folder)
    took = _sync(office, folder)
    assert took.splitlines()[0].startswith("north-gate-000000001-000000005.bundle: imported 5 new entries")
    assert "Left the receipt for north-gate up to entry 5" in took
    assert "Left the trust file" in took and "Left revocation list number 1" in took
    assert [(s, h) for _, s, h in _rows(station)] == _county_rows(county_url, "north-gate")
    assert not office.log_db.exists()  # merged on the server, nothing in a log.db
    back = _sync(station, folder)
    assert "Kept the office receipt for entries up to 5" in back and "Took revocation list number 1" in back
    kept = list((anchors_dir(station.root) / "receipts").glob("*.receipt"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["seq"] == 5
    code = run_cli(station, "log", "verify")
    assert code.exit_code == 0 and "Matches its 2 anchors" in code.output, code.output
    # the office's sync again, with the bundle still there: nothing is added twice
    again = _sync(station, folder)
    assert "Nothing new to send" in again
    resent = tmp_path / "again.bundle"
    assert run_cli(station, "bundle", "export", "--all", "--out", str(resent)).exit_code == 0
    (folder / "bundles").mkdir(exist_ok=True)
    resent.rename(folder / "bundles" / "north-gate-000000001-000000005.bundle")
    twice = _sync(office, folder)
    assert "already imported (north-gate entries 1 to 5)" in twice, twice
    assert len(_county_rows(county_url, "north-gate")) == 5
    assert run_cli(office, "log", "verify").exit_code == 0


def test_an_unenrolled_station_in_the_folder_is_refused_with_nothing_stored(
    tmp_path: Path, county_url: str
) -> None:
    office = _county_office(tmp_path, county_url)
    station = _station(tmp_path, "north-gate")
    _trust(office, station)
    folder = tmp_path / "usb"
    folder.mkdir()
    _append(station, "north-gate", 2)
    _sync(station, folder)
    refused = _sync(office, folder, code=2)
    assert "Refused: " in refused and "is not enrolled at this office" in refused
    assert _county_rows(county_url, "north-gate") == []
    assert not (folder / "receipts" / "north-gate.receipt").exists()


@pytest.fixture
def county_server(tmp_path: Path, county_url: str) -> Iterator[tuple[Server, Home]]:
    office = _county_office(tmp_path, county_url)
    server = Server(office).start()
    try:
        yield server, office
    finally:
        server.stop()


def test_serve_on_a_county_home_merges_pushed_bundles_into_postgresql(
    tmp_path: Path, county_url: str, county_server: tuple[Server, Home]
) -> None:
    server, office = county_server
    north = make_station(tmp_path, "north-gate", office)
    append(north, "north-gate", 7)
    settings = settings_for(north, server.url)
    with pytest.raises(CheckpointError, match="not enrolled at this office"):
        sync_once(north, settings)
    assert _county_rows(county_url, "north-gate") == []
    enrol(north, office)  # through `stations enrol` on the county home
    report = sync_once(north, settings)
    assert report.receipt is not None and report.receipt.seq == 7
    assert (report.added, report.already) == (7, 0)
    assert _county_rows(county_url, "north-gate") == station_rows(north, "north-gate")
    again = sync_once(north, settings)
    assert again.receipt is None and again.lines()[-1] == "Nothing new to send to the office."
    append(north, "north-gate", 3)
    third = sync_once(north, settings)
    assert third.receipt is not None and (third.sent_from, third.sent_to, third.added) == (8, 10, 3)
    assert _county_rows(county_url, "north-gate") == station_rows(north, "north-gate")
    assert not office.log_db.exists()
