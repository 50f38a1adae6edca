"""The whole loop over the network from two fresh homes, through the public CLI only: office keys, trust file,
enrolment with the fingerprint read out, `checkpoint serve`, `checkpoint sync` at the station; a pass revoked
at the office is then denied at the station."""

from __future__ import annotations

import re
from pathlib import Path

from checkpoint.paths import Home
from tests.conftest import run_cli
from tests.netsync_support import Server, office_rows, station_rows


def _ok(home: Home, *args: str) -> str:
    result = run_cli(home, *args)
    assert result.exit_code == 0, result.output
    return result.output


def test_two_fresh_homes_sync_over_the_network(tmp_path: Path) -> None:
    office = Home(tmp_path / "office")
    station = Home(tmp_path / "station").ensure()
    station.config.write_text('[station]\nid = "north-gate"\nname = "North gate"\n', encoding="utf-8")
    _ok(office, "keys", "init")
    office.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    _ok(office, "keys", "export-trust", str(tmp_path / "trust.json"))
    office_fp = _ok(office, "keys", "fingerprint").strip().rsplit(": ", 1)[1]
    _ok(station, "keys", "import-trust", str(tmp_path / "trust.json"), "--fingerprint", office_fp)
    said = _ok(station, "stations", "request", "--out", str(tmp_path / "north.enrol"))
    fingerprint = re.search(r"Fingerprint: ([0-9A-F ]+)", said)
    assert fingerprint is not None
    _ok(
        office,
        "stations",
        "enrol",
        str(tmp_path / "north.enrol"),
        "--fingerprint",
        fingerprint.group(1).strip(),
    )
    issued = _ok(office, "pass", "issue", "--plate", "鄂A·12345", "--category", "medical", "--holder", "张三",
                 "--org", "县人民医院", "--png", str(tmp_path / "pass.png"))  # fmt: skip
    assert "pass.png" in issued
    server = Server(office).start()
    try:
        with station.config.open("a", encoding="utf-8") as handle:
            handle.write(f'[sync]\nurl = "{server.url}"\n')
        first = _ok(station, "sync")
        assert "Imported revocation list number 1 (0 revoked pass(es)) from the office." in first
        assert "Nothing new to send to the office." in first
        (tmp_path / "feed").mkdir()
        (tmp_path / "pass.png").rename(tmp_path / "feed" / "pass.png")
        assert re.search(r"ALLOW\s+ok", _ok(station, "scan", "--source", str(tmp_path / "feed"), "--log"))
        sent = _ok(station, "sync")
        assert "Sent entries 1 to 1" in sent and "receipt for entry 1 kept." in sent
        assert office_rows(office, "north-gate") == station_rows(station, "north-gate")

        listed = _ok(office, "pass", "list", "--json")
        pass_id = re.search(r'"pass_id": "([0-9A-Z]{8})"', listed)
        assert pass_id is not None
        _ok(office, "pass", "revoke", pass_id.group(1), "--reason", "lost")
        assert "Imported revocation list number 2 (1 revoked pass(es))" in _ok(station, "sync")
        assert "DENY" in _ok(station, "scan", "--source", str(tmp_path / "feed"), "--log").replace(
            "ALLOW", ""
        )
        assert "Sent entries 2 to 2" in _ok(station, "sync")
        assert len(office_rows(office, "north-gate")) == 2
        assert "OK" in _ok(station, "log", "verify")
    finally:
        server.stop()
