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
    trust_file.parent.mkdir()  # the stick is there (a missing folder is refused: tests/test_cli_errors.py)
    assert run_cli(office_home, "keys", "export-trust", str(trust_file)).exit_code == 0
    assert b"PRIVATE" not in trust_file.read_bytes()
    print_fp = run_cli(office_home, "keys", "fingerprint")
    fp = print_fp.stdout.strip().rsplit(": ", 1)[1]
    assert run_cli(station, "keys", "import-trust", str(trust_file), "--fingerprint", fp).exit_code == 0
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
    fp = run_cli(office_home, "keys", "fingerprint").stdout.strip().rsplit(": ", 1)[1]
    assert run_cli(station, "keys", "import-trust", str(first), "--fingerprint", fp).exit_code == 0
    assert run_cli(office_home, "keys", "rotate").exit_code == 0
    assert run_cli(office_home, "keys", "export-trust", str(second)).exit_code == 0
    assert "added" in run_cli(station, "keys", "import-trust", str(second)).stdout  # the old key signed it
    before = station.trust.read_bytes()
    rollback = run_cli(station, "keys", "import-trust", str(first))
    assert rollback.exit_code == 2 and "before the trust file this home has" in rollback.stderr
    assert station.trust.read_bytes() == before
    other = Home(tmp_path / "other-office")
    assert run_cli(other, "keys", "init").exit_code == 0
    foreign = tmp_path / "foreign.json"
    assert run_cli(other, "keys", "export-trust", str(foreign)).exit_code == 0
    assert run_cli(station, "keys", "import-trust", str(foreign)).exit_code == 2
    assert (
        run_cli(station, "keys", "import-trust", str(foreign), "--replace").exit_code == 2
    )  # not signed by ours
    assert station.trust.read_bytes() == before
    other_fp = run_cli(other, "keys", "fingerprint").stdout.strip().rsplit(": ", 1)[1]
    replaced = run_cli(station, "keys", "import-trust", str(foreign), "--replace", "--fingerprint", other_fp)
    assert replaced.exit_code == 0 and "removed" in replaced.stdout


def test_a_pass_whose_files_cannot_be_written_is_not_issued(office_home: Home, tmp_path: Path) -> None:
    bad = run_cli(
        office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical",
        "--png", str(tmp_path / "ok.png"), "--pdf", "/proc/card.pdf",  # a folder that takes no files
    )  # fmt: skip
    assert bad.exit_code == 2 and "Cannot write" in bad.stderr
    assert "No passes" in run_cli(office_home, "pass", "list").stdout
    first = run_cli(office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical")
    assert first.exit_code == 0 and "already has" not in first.stderr
    again = run_cli(office_home, "pass", "issue", "--plate", "鄂A·61111", "--category", "medical", "--new")
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


def _local_day(days: int) -> str:
    """A date `days` from today in the office's zone (Asia/Shanghai by default), as the CLI reads it."""
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def test_issuing_the_same_pass_again_gives_back_the_existing_one(office_home: Home, tmp_path: Path) -> None:
    """`pass issue` follows the rule of `pass batch` and the office screen: the same plate, category and
    validity give back the live pass (its files still written); --new issues another; other dates issue
    a new one with a note."""
    start, end = _local_day(10), _local_day(20)
    same = ("pass", "issue", "--plate", "鄂A·12126", "--category", "medical", "--holder", "张三",
            "--valid-from", start)  # fmt: skip
    first = run_cli(office_home, *same, "--valid-until", end, "--json")
    assert first.exit_code == 0 and first.stderr == ""
    issued = json.loads(first.stdout)
    assert issued["existing"] is False
    # The same request (a bare date means 23:59:59, the register keeps 23:59: still the same pass).
    files = {name: tmp_path / f"again.{name}" for name in ("png", "svg", "pdf")}
    again = run_cli(office_home, *same, "--valid-until", f"{end}T23:59", "--json",
                    *(arg for name, path in files.items() for arg in (f"--{name}", str(path))))  # fmt: skip
    assert again.exit_code == 0, again.output
    shown = json.loads(again.stdout)
    assert shown["existing"] is True and shown["pass_id"] == issued["pass_id"]
    assert shown["payload"] == issued["payload"] and again.stderr == ""
    assert all(path.stat().st_size > 0 for path in files.values())
    text = run_cli(office_home, *same, "--valid-until", end)
    assert text.exit_code == 0
    assert f"鄂A·12126 already has pass {issued['pass_id']}" in text.stdout
    assert "not issued again" in text.stdout and f"Pass {issued['pass_id']}" in text.stdout
    listed = run_cli(office_home, "pass", "list", "--json").stdout.splitlines()
    assert len(listed) == 1
    # Another holder on the same dates: still that pass, and a note that it differs.
    other = run_cli(office_home, "pass", "issue", "--plate", "鄂A12126", "--category", "medical",
                    "--holder", "李四", "--valid-from", start, "--valid-until", end)  # fmt: skip
    assert other.exit_code == 0 and "not issued again" in other.stdout
    assert f"pass {issued['pass_id']} differs from this request in holder" in other.stderr
    # --new asks for a second one on purpose.
    forced = run_cli(office_home, *same, "--valid-until", end, "--new", "--json")
    assert forced.exit_code == 0 and json.loads(forced.stdout)["existing"] is False
    assert json.loads(forced.stdout)["pass_id"] != issued["pass_id"]
    assert f"already has live pass(es) {issued['pass_id']}" in forced.stderr
    # Other dates are another request: issued, with the note naming the live passes.
    later = run_cli(office_home, *same, "--valid-until", _local_day(21))
    assert later.exit_code == 0 and "not issued again" not in later.stdout
    assert "already has live pass(es)" in later.stderr
    assert len(run_cli(office_home, "pass", "list", "--json").stdout.splitlines()) == 3
    # A different category is a different pass too.
    official = run_cli(office_home, "pass", "issue", "--plate", "鄂A12126", "--category", "official",
                       "--valid-from", start, "--valid-until", end, "--json")  # fmt: skip
    assert json.loads(official.stdout)["existing"] is False


def test_text_output_shows_status_words_and_json_keeps_codes(office_home: Home) -> None:
    issued = run_cli(office_home, "pass", "issue", "--plate", "鄂A·22222", "--category", "official",
                     "--valid-from", _local_day(5), "--valid-until", _local_day(9))  # fmt: skip
    assert issued.exit_code == 0
    pass_id = issued.stdout.split()[1]
    for result in (
        issued,
        run_cli(office_home, "pass", "list"),
        run_cli(office_home, "pass", "show", pass_id),
    ):
        assert "not yet valid" in result.stdout, result.stdout
        assert "not_yet_valid" not in result.stdout and "[" not in result.stdout
    assert "(not yet valid)" in issued.stdout
    assert (
        json.loads(run_cli(office_home, "pass", "show", pass_id, "--json").stdout)["status"]
        == "not_yet_valid"
    )
    assert json.loads(run_cli(office_home, "pass", "list", "--json").stdout)["status"] == "not_yet_valid"
    run_cli(office_home, "pass", "revoke", pass_id, "--reason", "lost")
    assert "(revoked)" in run_cli(office_home, "pass", "show", pass_id).stdout


def test_times_people_read_are_local_with_their_offset(
    office_home: Home, station_home: Home, tmp_path: Path
) -> None:
    """JSON and text show ui.timezone (+08:00 by default); the trust file, the revocation list and the
    signed pass keep UTC."""
    start = _local_day(1)
    result = run_cli(office_home, "pass", "issue", "--plate", "鄂A·33333", "--category", "medical",
                     "--valid-from", start, "--valid-until", _local_day(3), "--json")  # fmt: skip
    issued = json.loads(result.stdout)
    assert issued["valid_from"] == f"{start}T00:00:00+08:00"
    assert issued["valid_until"] == f"{_local_day(3)}T23:59:00+08:00"
    assert issued["issued_at"].endswith("+08:00")
    shown = json.loads(run_cli(office_home, "pass", "show", issued["pass_id"], "--json").stdout)
    assert shown["valid_from"] == issued["valid_from"]
    run_cli(office_home, "pass", "revoke", issued["pass_id"], "--reason", "lost")
    revoked = json.loads(run_cli(office_home, "pass", "list", "--json").stdout)
    assert revoked["revoked_at"].endswith("+08:00")
    # The pass itself still verifies at the station (the signed payload did not change), and the
    # station's JSON gives the same instant in its own local time.
    verified = run_cli(station_home, "verify", "--payload", issued["payload"], "--json")
    assert json.loads(verified.stdout)["pass"]["valid_from"] == issued["valid_from"]
    # Keys: text in local time, JSON with +08:00; the trust file keeps UTC.
    rotated = run_cli(office_home, "keys", "rotate")
    assert rotated.exit_code == 0 and "+00:00" not in rotated.stdout
    keys_text = run_cli(office_home, "keys", "list").stdout
    assert "+00:00" not in keys_text and "T" not in keys_text.split()[2]
    keys_json = json.loads(run_cli(office_home, "keys", "list", "--json").stdout)
    assert all(k["valid_from"].endswith("+08:00") for k in keys_json["keys"])
    assert keys_json["keys"][0]["valid_until"].endswith("+08:00")
    stored = json.loads(office_home.trust.read_text(encoding="utf-8"))
    assert all(k["valid_from"].endswith("+00:00") for k in stored["keys"])
    assert [k["key_id"] for k in stored["keys"]] == [k["key_id"] for k in keys_json["keys"]]
    # Revocations: text and JSON in local time; the signed file keeps UTC.
    shown_text = run_cli(office_home, "revocations", "show").stdout
    assert "+00:00" not in shown_text and f"{issued['pass_id']}  revoked " in shown_text
    view = json.loads(run_cli(office_home, "revocations", "show", "--json").stdout)
    assert view["issued_at"].endswith("+08:00") and view["entries"][0]["revoked_at"].endswith("+08:00")
    assert "signature" not in view  # a view, not the signed list
    on_disk = json.loads(office_home.revocations.read_text(encoding="utf-8"))
    assert on_disk["issued_at"].endswith("+00:00") and on_disk["entries"][0]["revoked_at"].endswith("+00:00")
    # Another zone in the settings is honoured.
    office_home.config.write_text('[ui]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    tokyo = json.loads(run_cli(office_home, "pass", "show", issued["pass_id"], "--json").stdout)
    assert tokyo["valid_from"] == f"{start}T01:00:00+09:00"


def test_the_first_revocation_list_a_home_imports_is_called_the_first(
    office_home: Home, station_home: Home, issue, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    today = dt.datetime.now(dt.UTC)
    issued = issue(plate="鄂A44444", valid_until=today + timedelta(days=5))
    first = tmp_path / "rev1.json"
    assert run_cli(office_home, "revocations", "export", str(first)).exit_code == 0
    imported = run_cli(station_home, "revocations", "import", str(first))
    assert imported.exit_code == 0
    assert "it is the first revocation list this home has" in imported.stdout
    assert "number 0" not in imported.stdout
    run_cli(office_home, "pass", "revoke", issued.data.pass_id, "--reason", "lost")
    second = tmp_path / "rev2.json"
    assert run_cli(office_home, "revocations", "export", str(second)).exit_code == 0
    newer = run_cli(station_home, "revocations", "import", str(second))
    assert newer.exit_code == 0 and "it was number 1." in newer.stdout


def test_verify_json_gives_scripts_one_object_even_when_it_cannot_decide(
    tmp_path: Path, office_home: Home
) -> None:
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    result = checkpoint(office_home.root, "verify", "--image", str(blank), "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout) == {
        "decision": None, "reason": None, "pass": None,
        "error": f"No QR code was found in {blank}; take a sharper picture with the whole code in it.",
    }  # fmt: skip
    assert (
        result.stderr
        == f"checkpoint: No QR code was found in {blank}; take a sharper picture with the whole code in it.\n"
    )


def test_pass_issue_takes_chinese_category_words_and_list_shows_a_future_start(office_home: Home) -> None:
    issued = run_cli(
        office_home, "pass", "issue", "--plate", "鄂A12399", "--category", "医护人员",
        "--valid-from", "2049-01-01", "--valid-until", "2049-01-10", "--json",
    )  # fmt: skip
    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.stdout)["category"] == "medical"
    listed = run_cli(office_home, "pass", "list").stdout
    assert "not yet valid from  2049-01-01 00:00" in listed and "until 2049" not in listed
