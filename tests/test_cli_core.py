"""The core through the real command line: keys, passes, verify, revocations, log, settings."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint.keys import key_id_of
from checkpoint.passes import PREFIX
from checkpoint.paths import Home

from .conftest import run_cli


def checkpoint(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).with_name("checkpoint")
    return subprocess.run(
        [str(exe), "--home", str(home), *args], capture_output=True, text=True, env={**os.environ}, timeout=60
    )


def test_from_an_empty_home_issue_a_png_and_verify_it(tmp_path: Path) -> None:
    """The issue's acceptance: keys init → pass issue --png → verify --image --json → allow, ok."""
    home = tmp_path / "office"
    assert checkpoint(home, "keys", "init").returncode == 0
    key_files = list((home / "office" / "keys").glob("*.key"))
    assert len(key_files) == 1 and stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    png = tmp_path / "p.png"
    issued = checkpoint(
        home, "pass", "issue", "--plate", "鄂A·12345", "--category", "medical", "--holder", "张三",
        "--org", "县人民医院", "--png", str(png), "--json",
    )  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    pass_id = json.loads(issued.stdout)["pass_id"]
    result = checkpoint(home, "verify", "--image", str(png), "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["decision"], decision["reason"]) == ("allow", "ok")
    assert decision["pass"]["pass_id"] == pass_id and decision["pass"]["plate"] == "鄂A12345"


def verify(home: Home, *args: str) -> tuple[int, dict[str, object]]:
    result = run_cli(home, "verify", "--json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_verify_reaches_every_pass_reason(office_home: Home, station_home: Home, issue) -> None:  # type: ignore[no-untyped-def]
    good = issue()
    at = ("--at", "2026-02-03T12:00")
    assert verify(station_home, "--payload", good.payload, *at) == (
        0,
        verify(station_home, "--payload", good.payload, *at)[1],
    )
    assert verify(station_home, "--payload", good.payload, *at)[1]["reason"] == "ok"

    raw = base45.b45decode(good.payload[len(PREFIX) :])
    body, signature = raw[:-64], raw[-64:]
    other = Ed25519PrivateKey.generate()
    changed = good.payload[:30] + ("A" if good.payload[30] != "A" else "B") + good.payload[31:]
    foreign_body = bytes.fromhex(key_id_of(other.public_key())) + body[4:]
    cases = {
        changed: {"bad_signature", "malformed"},
        PREFIX + base45.b45encode(body + bytes(b ^ 0xFF for b in signature)).decode(): {"bad_signature"},
        PREFIX + base45.b45encode(body + other.sign(PREFIX.encode() + body)).decode(): {"bad_signature"},
        PREFIX + base45.b45encode(foreign_body + other.sign(PREFIX.encode() + foreign_body)).decode(): {
            "unknown_key"
        },
        good.payload[:-12]: {"malformed"},
        good.payload + "000": {"malformed"},
        PREFIX + "%%%%": {"malformed"},
        PREFIX + "A" * 10_000: {"malformed"},
        "https://example.cn/pass?id=1": {"not_a_pass"},
        "6901234567892": {"not_a_pass"},
        " ": {"not_a_pass"},
    }
    for payload, reasons in cases.items():
        code, decision = verify(station_home, "--payload", payload, *at)
        assert code == 1 and decision["decision"] == "deny", payload[:40]
        assert decision["reason"] in reasons, (payload[:40], decision)

    assert verify(station_home, "--payload", good.payload, "--at", "2026-03-01")[1]["reason"] == "expired"
    assert (
        verify(station_home, "--payload", good.payload, "--at", "2026-01-10")[1]["reason"] == "not_yet_valid"
    )
    elsewhere = issue(checkpoints=("south-gate",))
    assert verify(station_home, "--payload", elsewhere.payload, *at)[1]["reason"] == "wrong_checkpoint"
    here = issue(checkpoints=("south-gate", "north-gate"))
    assert verify(station_home, "--payload", here.payload, *at)[1]["reason"] == "ok"


def test_revocation_reaches_a_station_only_through_a_newer_list(
    office_home: Home,
    station_home: Home,
    issue,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    # Revocation lists leave out passes expired for 30 days, so this pass is valid in real time.
    today = dt.datetime.now(dt.UTC)
    target = issue(valid_from=today - timedelta(days=1), valid_until=today + timedelta(days=5))
    at: tuple[str, ...] = ()
    older = tmp_path / "rev-1.json"
    assert run_cli(office_home, "revocations", "export", str(older)).exit_code == 0
    assert run_cli(office_home, "pass", "revoke", target.data.pass_id, "--reason", "车辆调离").exit_code == 0
    newer = tmp_path / "rev-2.json"
    assert run_cli(office_home, "revocations", "export", str(newer)).exit_code == 0
    # The office home sees its own revocation at once.
    assert verify(office_home, "--payload", target.payload, *at)[1]["reason"] == "revoked"
    # The station does not, until it imports the newer list.
    assert verify(station_home, "--payload", target.payload, *at)[1]["reason"] == "ok"
    assert run_cli(station_home, "revocations", "import", str(newer)).exit_code == 0
    assert verify(station_home, "--payload", target.payload, *at)[1]["reason"] == "revoked"
    # An older list is refused with one sentence, and changes nothing.
    before = station_home.revocations.read_bytes()
    refused = run_cli(station_home, "revocations", "import", str(older))
    assert refused.exit_code == 2
    assert "older" in refused.stderr and "nothing was changed" in refused.stderr
    assert station_home.revocations.read_bytes() == before
    # A list altered after signing is refused too.
    data = json.loads(newer.read_text(encoding="utf-8"))
    data["entries"] = []
    data["seq"] += 5
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(data), encoding="utf-8")
    refused = run_cli(station_home, "revocations", "import", str(forged))
    assert refused.exit_code == 2 and "bad signature" in refused.stderr
    assert verify(station_home, "--payload", target.payload, *at)[1]["reason"] == "revoked"


def test_trust_export_import_and_rotation(office_home: Home, tmp_path: Path) -> None:
    station = Home(tmp_path / "new-station")
    trust_file = tmp_path / "usb" / "trust.json"
    assert run_cli(office_home, "keys", "export-trust", str(trust_file)).exit_code == 0
    assert b"PRIVATE" not in trust_file.read_bytes()
    assert run_cli(station, "keys", "import-trust", str(trust_file)).exit_code == 0
    assert not station.office.exists()  # a station's home never holds the office's private key
    old = run_cli(office_home, "pass", "issue", "--plate", "鄂B22222", "--category", "official", "--json")
    old_payload = json.loads(old.stdout)["payload"]
    rotated = run_cli(office_home, "keys", "rotate", "--grace-days", "10")
    assert rotated.exit_code == 0, rotated.stderr
    new = run_cli(office_home, "pass", "issue", "--plate", "鄂B33333", "--category", "official", "--json")
    new_payload = json.loads(new.stdout)["payload"]
    assert json.loads(new.stdout)["key_id"] != json.loads(old.stdout)["key_id"]
    # The station has not imported the new trust file yet: the new key is unknown, the old still good.
    assert verify(station, "--payload", new_payload)[1]["reason"] == "unknown_key"
    assert verify(station, "--payload", old_payload)[1]["reason"] == "ok"
    assert run_cli(office_home, "keys", "export-trust", str(trust_file)).exit_code == 0
    assert run_cli(station, "keys", "import-trust", str(trust_file)).exit_code == 0
    assert verify(station, "--payload", new_payload)[1]["reason"] == "ok"
    assert verify(station, "--payload", old_payload)[1]["reason"] == "ok"
    # After the old key's grace period it is no longer trusted.
    after_grace = (dt.datetime.now(dt.UTC) + timedelta(days=11)).strftime("%Y-%m-%dT%H:%M")
    assert verify(station, "--payload", old_payload, "--at", after_grace)[1]["reason"] == "unknown_key"


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("[station]\nfever_threshold = 50\n", "station.fever_threshold"),
        ("[station]\ncamra = 1\n", "station.camra"),
        ("[station\nid = 1\n", "not valid TOML"),
        ('[station]\nid = "north gate!"\n', "station.id"),
        ('[ui]\nlanguage = "fr"\n', "ui.language"),
    ],
)
def test_a_bad_setting_is_one_sentence_naming_the_key(tmp_path: Path, config: str, words: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(config, encoding="utf-8")
    result = checkpoint(home, "verify", "--payload", "x")
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_bad_settings_from_the_environment_and_files(tmp_path: Path) -> None:
    env = {**os.environ, "CHECKPOINT_STATION__ANTI_PASSBACK": "sometimes"}
    exe = Path(sys.executable).with_name("checkpoint")
    result = subprocess.run(
        [str(exe), "--home", str(tmp_path), "verify", "--payload", "x"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2 and "station.anti_passback" in result.stderr
    missing = checkpoint(tmp_path, "--config", str(tmp_path / "nope.toml"), "verify", "--payload", "x")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    not_image = tmp_path / "x.png"
    not_image.write_bytes(b"\x89PNG garbage")
    (tmp_path / "trust.json").write_text("{not json", encoding="utf-8")
    damaged = checkpoint(tmp_path, "verify", "--payload", "x")
    assert damaged.returncode == 2 and "not valid JSON" in damaged.stderr


def test_verify_needs_a_trust_file_and_a_readable_image(tmp_path: Path, office_home: Home) -> None:
    empty = checkpoint(tmp_path / "empty", "verify", "--payload", "CP1:XYZ")
    assert empty.returncode == 2 and "trusts no office key" in empty.stderr
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    bad = checkpoint(office_home.root, "verify", "--image", str(junk))
    assert bad.returncode == 2 and "not an image" in bad.stderr
    both = checkpoint(office_home.root, "verify")
    assert both.returncode == 2 and "exactly one" in both.stderr


def test_log_seal_verify_and_tamper_through_the_cli(station_home: Home) -> None:
    import asyncio

    from checkpoint.store import LogStore

    from .test_store import draft, tamper

    async def fill() -> None:
        store = await LogStore.open(station_home.log_db, "north-gate")
        async with store:
            for i in range(1, 6):
                await store.append(draft(i))

    asyncio.run(fill())
    assert "Sealed north-gate at entry 5" in run_cli(station_home, "log", "seal").stdout
    ok = run_cli(station_home, "log", "verify", "--json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["stations"][0]["last_sealed_seq"] == 5
    listed = run_cli(station_home, "log", "list", "--json", "--limit", "3")
    assert [json.loads(line)["seq"] for line in listed.stdout.splitlines()] == [5, 4, 3]
    tamper(
        station_home.log_db, "UPDATE entries SET body = replace(body, '鄂A10002', '鄂A00000') WHERE seq = 2"
    )
    bad = run_cli(station_home, "log", "verify")
    assert bad.exit_code == 1 and "first bad entry 2" in bad.stdout


def test_an_older_or_foreign_trust_file_is_refused(office_home: Home, tmp_path: Path) -> None:
    station = Home(tmp_path / "station")
    first = tmp_path / "trust-1.json"
    second = tmp_path / "trust-2.json"
    assert run_cli(office_home, "keys", "export-trust", str(first)).exit_code == 0
    assert run_cli(station, "keys", "import-trust", str(first)).exit_code == 0
    assert run_cli(office_home, "keys", "rotate").exit_code == 0
    assert run_cli(office_home, "keys", "export-trust", str(second)).exit_code == 0
    assert "added" in run_cli(station, "keys", "import-trust", str(second)).stdout
    before = station.trust.read_bytes()
    rollback = run_cli(station, "keys", "import-trust", str(first))
    assert rollback.exit_code == 2 and "would stop trusting" in rollback.stderr
    assert station.trust.read_bytes() == before
    other = Home(tmp_path / "other-office")
    assert run_cli(other, "keys", "init").exit_code == 0
    foreign = tmp_path / "foreign.json"
    assert run_cli(other, "keys", "export-trust", str(foreign)).exit_code == 0
    assert run_cli(station, "keys", "import-trust", str(foreign)).exit_code == 2
    assert station.trust.read_bytes() == before
    replaced = run_cli(station, "keys", "import-trust", str(foreign), "--replace")
    assert replaced.exit_code == 0 and "removed" in replaced.stdout


def test_a_pass_whose_files_cannot_be_written_is_not_issued(office_home: Home, tmp_path: Path) -> None:
    bad = run_cli(
        office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical",
        "--png", str(tmp_path / "ok.png"), "--pdf", "/proc/no/card.pdf",
    )  # fmt: skip
    assert bad.exit_code == 2 and "Cannot write" in bad.stderr
    assert "No passes" in run_cli(office_home, "pass", "list").stdout
    first = run_cli(office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical")
    assert first.exit_code == 0 and "already has" not in first.stderr
    again = run_cli(office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical")
    assert again.exit_code == 0 and "already has live pass" in again.stderr


def test_global_options_may_follow_the_command() -> None:
    from checkpoint.cli import hoist_global_options

    assert hoist_global_options(["office", "--home", "/h"]) == ["--home", "/h", "office"]
    assert hoist_global_options(["log", "list", "--config=/c.toml", "--json"]) == [
        "--config=/c.toml",
        "log",
        "list",
        "--json",
    ]
    assert hoist_global_options(["--home", "/h", "verify"]) == ["--home", "/h", "verify"]
    assert hoist_global_options(["pass", "revoke", "X", "--", "--home"]) == [
        "pass",
        "revoke",
        "X",
        "--",
        "--home",
    ]


def test_the_revocation_list_number_changes_only_with_the_list(
    office_home: Home, issue, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    today = dt.datetime.now(dt.UTC)
    first, second = (issue(plate=p, valid_until=today + timedelta(days=5)) for p in ("鄂A11111", "鄂A22222"))
    revoked = run_cli(office_home, "pass", "revoke", first.data.pass_id, "--reason", "lost")
    assert "revocation list number 1" in revoked.stdout
    for name in ("a.json", "b.json"):
        out = run_cli(office_home, "revocations", "export", str(tmp_path / name))
        assert "number 1 with 1 pass" in out.stdout
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    run_cli(office_home, "pass", "revoke", second.data.pass_id, "--reason", "duty ended")
    assert (
        "number 2 with 2 pass"
        in run_cli(office_home, "revocations", "export", str(tmp_path / "c.json")).stdout
    )
