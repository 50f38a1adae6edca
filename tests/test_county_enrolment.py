"""Enrolment on the county store (a real PostgreSQL server): no trust on first use, the same refusal
sentences as a township's SQLite office, retirement, and `county import-log` carrying a township's
enrolments across."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from checkpoint.paths import Home
from tests.conftest import run_cli
from tests.test_bundle import _append, _enrolled, _export, _rows, _station, enrol


@pytest.fixture
def office(tmp_path: Path, county_url: str) -> Home:
    home = Home(tmp_path / "county").ensure()
    home.config.write_text(
        f'[station]\nid = "county"\n\n[log]\ndatabase = "{county_url}"\n', encoding="utf-8"
    )
    return home


@pytest.fixture
def township(tmp_path: Path) -> Home:
    home = Home(tmp_path / "township").ensure()
    home.config.write_text('[station]\nid = "township"\n', encoding="utf-8")
    return home


def _pg(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def _entries(url: str) -> list[tuple[str, int, str]]:
    return [
        (str(a), int(b), str(c))  # type: ignore[call-overload]
        for a, b, c in _pg(url, "SELECT station_id, seq, hash FROM entries ORDER BY station_id, seq")
    ]


def _listed(home: Home) -> dict[str, dict[str, object]]:
    listed = run_cli(home, "stations", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return {s["station_id"]: s for s in json.loads(listed.output)["stations"]}


def test_an_unenrolled_station_is_refused_in_the_township_sentence_with_nothing_stored(
    tmp_path: Path, office: Home, township: Home, county_url: str
) -> None:
    station = _station(tmp_path, "north-gate")
    _append(station, "north-gate", 4)
    _export(station, tmp_path / "b.bundle")
    at_county = run_cli(office, "bundle", "import", str(tmp_path / "b.bundle"))
    at_township = run_cli(township, "bundle", "import", str(tmp_path / "b.bundle"))
    assert at_county.exit_code == 2 and "is not enrolled at this office" in at_county.output
    assert at_county.output == at_township.output  # one rule, one sentence, for both stores
    assert _entries(county_url) == [] and _pg(county_url, "SELECT * FROM stations") == []
    assert _pg(county_url, "SELECT * FROM alerts") == []
    # enrolled at the county (through the same CLI command), the very same file goes in
    fingerprint = enrol(station, office)
    assert _listed(office)["north-gate"]["fingerprint"] == fingerprint
    imported = run_cli(office, "bundle", "import", str(tmp_path / "b.bundle"))
    assert imported.exit_code == 0 and "imported 4 new entries" in imported.output, imported.output
    assert _entries(county_url) == _rows(station)
    assert run_cli(office, "log", "verify").exit_code == 0


def test_a_retired_station_s_later_bundle_is_refused_and_what_was_imported_stays(
    tmp_path: Path, office: Home, county_url: str
) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    _append(station, "north-gate", 3)
    _export(station, tmp_path / "b1.bundle")
    assert run_cli(office, "bundle", "import", str(tmp_path / "b1.bundle")).exit_code == 0
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b2.bundle")  # written before the laptop was reported stolen
    retired = run_cli(office, "stations", "retire", "north-gate", "--reason", "laptop stolen")
    assert retired.exit_code == 0, retired.output
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b3.bundle")
    late = run_cli(office, "bundle", "import", str(tmp_path / "b3.bundle"))
    assert late.exit_code == 2 and "was retired" in late.output and "laptop stolen" in late.output
    assert len(_entries(county_url)) == 3
    assert run_cli(office, "bundle", "import", str(tmp_path / "b2.bundle")).exit_code == 0
    assert len(_entries(county_url)) == 5
    item = _listed(office)["north-gate"]
    assert item["retired_at"] is not None and item["retire_reason"] == "laptop stolen"
    # an enrolment is never changed afterwards, even by the importer's own SQL
    with psycopg.connect(county_url) as conn, pytest.raises(psycopg.errors.RaiseException):
        conn.execute("UPDATE enrolled_stations SET retired_at = NULL WHERE station_id = 'north-gate'")


def test_an_impostor_cannot_enrol_over_a_station_nor_import_under_its_id(
    tmp_path: Path, office: Home, county_url: str
) -> None:
    station = _enrolled(tmp_path, office, "north-gate")
    impostor = _station(tmp_path / "other", "north-gate")
    request = impostor.root / "enrolment.json"
    made = run_cli(impostor, "stations", "request", "--out", str(request))
    fingerprint = made.output.split("Fingerprint: ", 1)[1].splitlines()[0]
    refused = run_cli(office, "stations", "enrol", str(request), "--fingerprint", fingerprint)
    assert refused.exit_code == 2 and "already known here with another key" in refused.output
    assert len(_listed(office)) == 1
    _append(impostor, "north-gate", 2)
    _export(impostor, tmp_path / "i.bundle")
    result = run_cli(office, "bundle", "import", str(tmp_path / "i.bundle"))
    assert result.exit_code == 2 and "is enrolled here with key" in result.output
    assert _entries(county_url) == [] and station.root.is_dir()
    assert "north-gate  key  i.bundle" in run_cli(office, "county", "alerts").output


def test_import_log_carries_the_township_s_enrolments_and_retirements(
    tmp_path: Path, office: Home, township: Home, county_url: str
) -> None:
    north, east = _enrolled(tmp_path, township, "north-gate"), _enrolled(tmp_path, township, "east-bridge")
    for home, sid in ((north, "north-gate"), (east, "east-bridge")):
        _append(home, sid, 3)
        _export(home, tmp_path / f"{sid}.bundle")
        assert run_cli(township, "bundle", "import", str(tmp_path / f"{sid}.bundle")).exit_code == 0
    assert run_cli(township, "stations", "retire", "east-bridge", "--reason", "lost").exit_code == 0
    moved = run_cli(office, "county", "import-log", str(township.log_db))
    assert moved.exit_code == 0 and "Imported 6 new entries of 2 station(s)" in moved.output, moved.output
    assert _listed(office) == _listed(township)  # same keys, times, retirement and reason
    again = run_cli(office, "county", "import-log", str(township.log_db))
    assert again.exit_code == 0 and "Imported 0 new entries" in again.output, again.output
    assert len(_pg(county_url, "SELECT * FROM enrolled_stations")) == 2
    # from now on the stations send to the county: the enrolled one is taken, the retired one refused
    _append(north, "north-gate", 2)
    _append(east, "east-bridge", 2)
    _export(north, tmp_path / "n2.bundle")
    _export(east, tmp_path / "e2.bundle")
    assert run_cli(office, "bundle", "import", str(tmp_path / "n2.bundle")).exit_code == 0
    late = run_cli(office, "bundle", "import", str(tmp_path / "e2.bundle"))
    assert late.exit_code == 2 and "was retired" in late.output, late.output
    assert len(_entries(county_url)) == 8


def test_import_log_refuses_a_township_that_enrols_a_county_station_under_another_key(
    tmp_path: Path, office: Home, township: Home, county_url: str
) -> None:
    _enrolled(tmp_path / "county-side", office, "north-gate")  # the county knows its own north-gate
    north = _enrolled(tmp_path, township, "north-gate")
    _append(north, "north-gate", 3)
    _export(north, tmp_path / "n.bundle")
    assert run_cli(township, "bundle", "import", str(tmp_path / "n.bundle")).exit_code == 0
    refused = run_cli(office, "county", "import-log", str(township.log_db))
    assert refused.exit_code == 2 and "enrolled at the county with another key" in refused.output
    assert _entries(county_url) == []


def test_the_office_screen_lists_the_countys_enrolled_stations(tmp_path: Path, office: Home) -> None:
    """F9 on a county home reads the enrolments on the server, not an empty log.db."""
    import asyncio

    from checkpoint.settings import load_settings
    from tests.station_helpers import wait_for
    from tui.office.app import make_app
    from tui.office.stations import StationsScreen

    assert run_cli(office, "keys", "init").exit_code == 0
    fingerprint = enrol(_station(tmp_path, "north-gate"), office)
    assert not office.log_db.exists()

    async def scenario() -> None:
        app = make_app(office, load_settings(office.config))
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("f9")
            await wait_for(pilot, lambda: isinstance(app.screen, StationsScreen))
            table = app.screen.query_one("#stations")
            await wait_for(pilot, lambda: table.row_count == 1)  # type: ignore[attr-defined]
            row = [str(c) for c in table.get_row_at(0)]  # type: ignore[attr-defined]
            assert row[0] == "north-gate" and row[2] == fingerprint

    asyncio.run(scenario())
