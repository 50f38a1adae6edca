"""Station enrolment: no trust on first use. Requests are checked whole; only enrolled keys get in."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from checkpoint import bundle
from checkpoint.paths import Home
from checkpoint.stations import MAX_REQUEST_BYTES
from checkpoint.store import verify_log
from tests.conftest import run_cli
from tests.test_bundle import _append, _export, _import, _rows, _station, enrol


@pytest.fixture
def office(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office").ensure()
    home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    return home


def _request(station: Home) -> tuple[Path, str]:
    path = station.root / "request.json"
    made = run_cli(station, "stations", "request", "--out", str(path))
    assert made.exit_code == 0, made.output
    return path, made.output.split("Fingerprint: ", 1)[1].splitlines()[0]


def _enrolled_ids(office: Home) -> list[str]:
    listed = run_cli(office, "stations", "list", "--json")
    assert listed.exit_code == 0, listed.output
    return [s["station_id"] for s in json.loads(listed.output)["stations"]]


def test_request_then_enrol_with_the_fingerprint_read_out(tmp_path: Path, office: Home) -> None:
    station = _station(tmp_path, "north-gate")
    path, fingerprint = _request(station)
    groups = fingerprint.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    # the office types it as people do: lower case, no spaces
    done = run_cli(
        office, "stations", "enrol", str(path), "--fingerprint", fingerprint.replace(" ", "").lower()
    )
    assert done.exit_code == 0, done.output
    assert fingerprint in done.output and "Enrolled station north-gate" in done.output
    [item] = json.loads(run_cli(office, "stations", "list", "--json").output)["stations"]
    assert item["station_id"] == "north-gate" and item["name"] == "north-gate gate"
    assert item["fingerprint"] == fingerprint and item["retired_at"] is None
    assert "north-gate" in run_cli(office, "stations", "list").output


def test_a_wrong_fingerprint_or_no_terminal_enrols_nothing(tmp_path: Path, office: Home) -> None:
    station = _station(tmp_path, "north-gate")
    path, fingerprint = _request(station)
    wrong = ("0000 " + fingerprint[5:]) if not fingerprint.startswith("0000") else "1111" + fingerprint[4:]
    refused = run_cli(office, "stations", "enrol", str(path), "--fingerprint", wrong)
    assert refused.exit_code == 2 and "does not match" in refused.output and "Traceback" not in refused.output
    unasked = run_cli(office, "stations", "enrol", str(path))  # CliRunner's stdin is not a terminal
    assert unasked.exit_code == 2 and "at a terminal" in unasked.output
    assert _enrolled_ids(office) == []


def _rewrite_request(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    wrapper = json.loads(path.read_text())
    body = json.loads(wrapper["body"])
    change(body)
    wrapper["body"] = json.dumps(body, ensure_ascii=False)
    path.write_text(json.dumps(wrapper))


def test_a_request_is_checked_before_anyone_is_asked(tmp_path: Path, office: Home) -> None:
    station = _station(tmp_path, "north-gate")
    path, fingerprint = _request(station)
    original = path.read_text()

    def newline_id(body: dict) -> None:  # type: ignore[type-arg]
        body["station_id"] = "north-gate\n"

    def renamed(body: dict) -> None:  # type: ignore[type-arg]
        body["name"] = "East bridge"

    for change, words in ((newline_id, "no valid station id"), (renamed, "bad signature")):
        path.write_text(original)
        _rewrite_request(path, change)
        result = run_cli(office, "stations", "enrol", str(path), "--fingerprint", fingerprint)
        assert result.exit_code == 2 and words in result.output, result.output
    path.write_bytes(b" " * (MAX_REQUEST_BYTES + 1))
    big = run_cli(office, "stations", "enrol", str(path), "--fingerprint", fingerprint)
    assert big.exit_code == 2 and "too large" in big.output
    path.write_text("[" * 10_000)  # deep nesting under the size cap
    deep = run_cli(office, "stations", "enrol", str(path), "--fingerprint", fingerprint)
    assert deep.exit_code == 2 and "not a valid enrolment request" in deep.output
    assert _enrolled_ids(office) == []


def test_a_bundle_from_an_unenrolled_station_is_refused_whole(tmp_path: Path, office: Home) -> None:
    station = _station(tmp_path, "north-gate")
    _append(station, "north-gate", 4)
    _export(station, tmp_path / "b.bundle")
    _, fingerprint = _request(station)
    result = _import(office, tmp_path / "b.bundle")
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "north-gate" in result.output and fingerprint in result.output
    assert "checkpoint stations enrol" in result.output and "nothing was imported" in result.output
    assert _rows(office) == [] and not list(bundle.pending_dir(office.root).glob("*"))
    # once enrolled, the very same file goes in
    enrol(station, office)
    assert _import(office, tmp_path / "b.bundle").exit_code == 0
    assert _rows(office) == _rows(station)


def test_an_impostor_cannot_enrol_over_a_station(tmp_path: Path, office: Home) -> None:
    station = _station(tmp_path, "north-gate")
    enrol(station, office)
    impostor = _station(tmp_path / "other", "north-gate")
    path, fingerprint = _request(impostor)
    result = run_cli(office, "stations", "enrol", str(path), "--fingerprint", fingerprint)
    assert result.exit_code == 2 and "already known here with another key" in result.output
    [item] = json.loads(run_cli(office, "stations", "list", "--json").output)["stations"]
    assert item["fingerprint"] == _request(station)[1]


def test_a_retired_station_keeps_what_was_imported_and_its_later_bundles_are_refused(
    tmp_path: Path, office: Home
) -> None:
    station = _station(tmp_path, "north-gate")
    enrol(station, office)
    _append(station, "north-gate", 3)
    _export(station, tmp_path / "b1.bundle")
    assert _import(office, tmp_path / "b1.bundle").exit_code == 0
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b2.bundle")  # written before the laptop was reported stolen
    assert run_cli(office, "stations", "retire", "north-gate").exit_code == 2  # --reason is required
    retired = run_cli(office, "stations", "retire", "north-gate", "--reason", "laptop stolen")
    assert retired.exit_code == 0, retired.output
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b3.bundle")  # written after
    before = _rows(office)
    late = _import(office, tmp_path / "b3.bundle")
    assert late.exit_code == 2 and "was retired" in late.output and "laptop stolen" in late.output
    assert _rows(office) == before and len(before) == 3
    assert _import(office, tmp_path / "b2.bundle").exit_code == 0  # signed before the moment: accepted
    assert len(_rows(office)) == 5 and verify_log(office.log_db).ok
    [item] = json.loads(run_cli(office, "stations", "list", "--json").output)["stations"]
    assert item["retired_at"] is not None and item["retire_reason"] == "laptop stolen"


def test_a_bundle_is_checked_against_the_enrolled_key_not_its_own(tmp_path: Path, office: Home) -> None:
    """A bundle re-signed with another key, carrying that key, is refused although it verifies on its own."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from checkpoint.keys import raw_public

    station = _station(tmp_path, "north-gate")
    enrol(station, office)
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b.bundle")
    other = Ed25519PrivateKey.generate()
    wrapper = json.loads((tmp_path / "b.bundle").read_text())
    body = json.loads(wrapper["body"])
    body["public_key"] = base64.b64encode(raw_public(other.public_key())).decode()
    wrapper["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    wrapper["signature"] = base64.b64encode(other.sign(bundle._message(wrapper["body"].encode()))).decode()
    (tmp_path / "b.bundle").write_text(json.dumps(wrapper, ensure_ascii=False))
    result = _import(office, tmp_path / "b.bundle")
    assert result.exit_code == 2 and "is enrolled here with key" in result.output
    assert _rows(office) == []
    conn = sqlite3.connect(office.log_db)
    assert conn.execute("SELECT COUNT(*) FROM stations").fetchone()[0] == 0
    conn.close()


def test_a_bundle_naming_the_station_with_a_trailing_newline_is_refused(tmp_path: Path, office: Home) -> None:
    """`north-gate\\n` is not `north-gate`: it cannot be enrolled, so its bundle never gets in."""
    from checkpoint.keys import read_private_key
    from tests.test_bundle import _rewrite

    station = _station(tmp_path, "north-gate")
    enrol(station, office)
    _append(station, "north-gate", 2)
    _export(station, tmp_path / "b.bundle")

    def newline(body: dict) -> None:  # type: ignore[type-arg]
        body["station_id"] = "north-gate\n"

    _rewrite(tmp_path / "b.bundle", newline, read_private_key(station.station_key))
    result = _import(office, tmp_path / "b.bundle")
    assert result.exit_code == 2 and "nothing was imported" in result.output
    assert _rows(office) == []
