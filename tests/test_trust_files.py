"""Signed trust files and revocation lists: what a station takes, what it refuses, and what it remembers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint.keys import (
    Keyring,
    TrustedKey,
    TrustList,
    fingerprint,
    key_id_of,
    load_trust,
    sign_trust,
)
from checkpoint.paths import Home
from checkpoint.revocations import Revocation, save_list, sign_list
from checkpoint.store import verify_log
from checkpoint.timeutil import utcnow

from .conftest import run_cli

OFFICE = "Test township office"


def office_fingerprint(office: Home) -> str:
    out = run_cli(office, "keys", "fingerprint")
    assert out.exit_code == 0, out.stderr
    return out.stdout.strip().rsplit(": ", 1)[1]


def fresh_station(tmp_path: Path, office: Home, name: str = "station") -> tuple[Home, Path]:
    """A new station that took the office's trust file with the fingerprint confirmed."""
    station = Home(tmp_path / name)
    trust_file = tmp_path / f"{name}-trust.json"
    assert run_cli(office, "keys", "export-trust", str(trust_file)).exit_code == 0
    took = run_cli(
        station, "keys", "import-trust", str(trust_file), "--fingerprint", office_fingerprint(office)
    )
    assert took.exit_code == 0, took.stderr
    station.config.write_text('[station]\nid = "north-gate"\n', encoding="utf-8")
    return station, trust_file


def one_sentence(result_stderr: str) -> bool:
    text = result_stderr.strip()
    return "\n" not in text and "Traceback" not in text and "unexpected" not in text.lower()


def test_keys_fingerprint_prints_short_groups(office_home: Home) -> None:
    fp = office_fingerprint(office_home)
    groups = fp.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    keyring = Keyring(office_home.office_keys, OFFICE)
    assert fp == fingerprint(keyring.private_key(keyring.active().key_id).public_key())


def test_a_fresh_station_takes_its_first_trust_file_only_with_the_fingerprint(
    office_home: Home, tmp_path: Path
) -> None:
    station = Home(tmp_path / "station")
    trust_file = tmp_path / "trust.json"
    assert run_cli(office_home, "keys", "export-trust", str(trust_file)).exit_code == 0
    blind = run_cli(station, "keys", "import-trust", str(trust_file))  # no terminal here
    assert blind.exit_code == 2 and "--fingerprint" in blind.stderr and one_sentence(blind.stderr)
    assert not station.trust.exists()
    other = Home(tmp_path / "other")
    assert run_cli(other, "keys", "init").exit_code == 0
    wrong = run_cli(
        station, "keys", "import-trust", str(trust_file), "--fingerprint", office_fingerprint(other)
    )
    assert wrong.exit_code == 2 and "fingerprint" in wrong.stderr and not station.trust.exists()
    typed = office_fingerprint(office_home).replace(" ", "-").lower()  # people type it any way
    assert run_cli(station, "keys", "import-trust", str(trust_file), "--fingerprint", typed).exit_code == 0
    assert load_trust(station.trust).keys


def test_an_unsigned_trust_file_is_refused(office_home: Home, tmp_path: Path) -> None:
    station = Home(tmp_path / "station")
    plain = tmp_path / "plain.json"
    plain.write_bytes(office_home.trust.read_bytes())  # the office's own, unsigned list
    refused = run_cli(
        station, "keys", "import-trust", str(plain), "--fingerprint", office_fingerprint(office_home)
    )
    assert refused.exit_code == 2 and "not a signed" in refused.stderr and not station.trust.exists()


def test_a_trust_file_adding_a_key_not_signed_by_a_trusted_key_is_refused(
    office_home: Home, tmp_path: Path
) -> None:
    station, trust_file = fresh_station(tmp_path, office_home)
    before = station.trust.read_bytes()
    genuine = load_trust(station.trust)
    attacker = Ed25519PrivateKey.generate()
    evil_key = TrustedKey(
        key_id_of(attacker.public_key()), attacker.public_key(), utcnow() - timedelta(days=1), None, "x"
    )
    widened = TrustList((*genuine.keys, evil_key))
    # Signed by the attacker's own key only.
    self_signed = tmp_path / "self-signed.json"
    self_signed.write_text(
        json.dumps(sign_trust(widened, OFFICE, [attacker], utcnow()).to_json()), encoding="utf-8"
    )
    refused = run_cli(station, "keys", "import-trust", str(self_signed))
    assert refused.exit_code == 2 and "not signed by any office key this home trusts" in refused.stderr
    # The genuine signatures kept on an edited body.
    data = json.loads(trust_file.read_text(encoding="utf-8"))
    body = json.loads(data["body"])
    body["keys"].append(evil_key.to_json())
    data["body"] = json.dumps(body, sort_keys=True)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data), encoding="utf-8")
    assert run_cli(station, "keys", "import-trust", str(edited)).exit_code == 2
    assert station.trust.read_bytes() == before


def test_after_rotation_the_old_key_vouches_for_the_new_one(office_home: Home, tmp_path: Path) -> None:
    station, trust_file = fresh_station(tmp_path, office_home)
    assert run_cli(office_home, "keys", "rotate", "--grace-days", "5").exit_code == 0
    assert run_cli(office_home, "keys", "export-trust", str(trust_file)).exit_code == 0
    took = run_cli(station, "keys", "import-trust", str(trust_file))  # no fingerprint needed
    assert took.exit_code == 0 and "added" in took.stdout
    assert len(load_trust(station.trust).keys) == 2


@pytest.mark.parametrize(
    "poison, words",
    [
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ('{"format": "checkpoint-trust-signed/1", "body": "' + "[" * 100_000 + '", "signatures": [1]}', ""),
        ('{"format": "checkpoint-trust-signed/1", "n": 1' + "0" * 400 + "}", "digits"),
    ],
    ids=["deep", "deep-body", "huge-number"],
)
def test_a_hostile_trust_file_is_one_sentence(
    office_home: Home, tmp_path: Path, poison: str, words: str
) -> None:
    station = Home(tmp_path / "station")
    path = tmp_path / "poison.json"
    path.write_text(poison, encoding="utf-8")
    result = run_cli(
        station, "keys", "import-trust", str(path), "--fingerprint", office_fingerprint(office_home)
    )
    assert result.exit_code == 2 and one_sentence(result.stderr) and words in result.stderr
    assert not station.trust.exists()


def test_a_key_window_in_the_year_9999_is_one_sentence(office_home: Home, tmp_path: Path) -> None:
    station = Home(tmp_path / "station")
    keyring = Keyring(office_home.office_keys, OFFICE)
    key = keyring.private_key(keyring.active().key_id)
    trust = keyring.trust_list()
    data = sign_trust(trust, OFFICE, [key], utcnow()).to_json()
    body = json.loads(str(data["body"]))
    body["keys"][0]["valid_until"] = "9999-12-31T23:59:59-12:00"
    data = sign_trust(TrustList(), OFFICE, [], utcnow()).to_json() | {"body": json.dumps(body)}
    data["signatures"] = [{"key_id": keyring.active().key_id, "signature": "AAAA"}]
    path = tmp_path / "far.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run_cli(
        station, "keys", "import-trust", str(path), "--fingerprint", office_fingerprint(office_home)
    )
    assert result.exit_code == 2 and "9999" in result.stderr and one_sentence(result.stderr)


def test_an_oversized_trust_file_is_refused_before_it_is_read(office_home: Home, tmp_path: Path) -> None:
    station = Home(tmp_path / "station")
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (300 * 1024) + b"{}")
    result = run_cli(
        station, "keys", "import-trust", str(path), "--fingerprint", office_fingerprint(office_home)
    )
    assert result.exit_code == 2 and "larger than any trust file" in result.stderr


# --- revocation lists --------------------------------------------------------------------------------------


def office_key(office: Home) -> Ed25519PrivateKey:
    keyring = Keyring(office.office_keys, OFFICE)
    return keyring.private_key(keyring.active().key_id)


def write_list(
    path: Path, seq: int, key: Ed25519PrivateKey, *, issued_days: float = 0, ids: tuple[str, ...] = ()
) -> Path:
    moment = utcnow() + timedelta(days=issued_days)
    entries = [Revocation(pass_id, moment, "test") for pass_id in ids]
    save_list(path, sign_list(OFFICE, seq, moment, entries, key))
    return path


def test_a_list_from_a_key_outside_its_window_is_refused(office_home: Home, tmp_path: Path) -> None:
    old_key = office_key(office_home)
    assert run_cli(office_home, "keys", "rotate", "--grace-days", "1").exit_code == 0
    station, _ = fresh_station(tmp_path, office_home)  # trusts the old key (1 more day) and the new one
    assert len(load_trust(station.trust).keys) == 2
    late = write_list(tmp_path / "late.json", 5, old_key, issued_days=3)
    refused = run_cli(station, "revocations", "import", str(late))
    assert refused.exit_code == 2 and "not valid when" in refused.stderr
    assert not station.revocations.exists()
    in_time = write_list(tmp_path / "in-time.json", 5, old_key)
    assert run_cli(station, "revocations", "import", str(in_time)).exit_code == 0


def test_an_absurd_list_number_is_refused(office_home: Home, tmp_path: Path) -> None:
    station, _ = fresh_station(tmp_path, office_home)
    for seq, words in ((2**62, "19 digits"), (2**50, "believable list number")):
        huge = write_list(tmp_path / f"huge-{seq}.json", seq, office_key(office_home))
        refused = run_cli(station, "revocations", "import", str(huge))
        assert refused.exit_code == 2 and words in refused.stderr and one_sentence(refused.stderr)
        assert not station.revocations.exists()
    genuine = write_list(tmp_path / "ok.json", 3, office_key(office_home))
    assert run_cli(station, "revocations", "import", str(genuine)).exit_code == 0


def test_deleting_the_list_file_does_not_let_an_older_list_in(office_home: Home, tmp_path: Path) -> None:
    station, _ = fresh_station(tmp_path, office_home)
    key = office_key(office_home)
    old = write_list(tmp_path / "old.json", 4, key, ids=("7K3M9QXA",))
    new = write_list(tmp_path / "new.json", 5, key)  # un-revokes 7K3M9QXA
    assert run_cli(station, "revocations", "import", str(old)).exit_code == 0
    assert run_cli(station, "revocations", "import", str(new)).exit_code == 0
    station.revocations.unlink()
    rolled_back = run_cli(station, "revocations", "import", str(old))
    assert rolled_back.exit_code == 2 and "older than number 5" in rolled_back.stderr
    assert not station.revocations.exists()
    forked = write_list(tmp_path / "forked.json", 5, key, ids=("7K3M9QXA",))
    assert run_cli(station, "revocations", "import", str(forked)).exit_code == 2
    assert run_cli(station, "revocations", "import", str(new)).exit_code == 0  # the same list comes back
    assert station.revocations.exists()
    # The records are chained in the log and verify.
    result = verify_log(station.log_db)
    assert result.ok and result.records == 2


@pytest.mark.parametrize(
    "poison, words",
    [
        ("[" * 100_000 + "]" * 100_000, "nested"),
        ('{"format": "checkpoint-revocations/1", "seq": 1' + "0" * 5000 + "}", "digits"),
        (
            '{"format": "checkpoint-revocations/1", "seq": 1, "issued_at": "9999-12-31T23:59:59-12:00"}',
            "9999",
        ),
        ('{"format": "checkpoint-revocations/1", "seq": 1e999}', "too large"),
    ],
    ids=["deep", "huge-number", "year-9999", "infinity"],
)
def test_a_hostile_revocation_list_is_one_sentence(
    office_home: Home, tmp_path: Path, poison: str, words: str
) -> None:
    station, _ = fresh_station(tmp_path, office_home)
    path = tmp_path / "poison.json"
    path.write_text(poison, encoding="utf-8")
    result = run_cli(station, "revocations", "import", str(path))
    assert result.exit_code == 2 and words in result.stderr and one_sentence(result.stderr)
    assert not station.revocations.exists()
