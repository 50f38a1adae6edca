"""Every user error on the command line is one sentence saying what to do, exit 2, in the user's language
(English, or Chinese with LANG=zh_CN.UTF-8 or `ui.language = "zh"`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checkpoint.paths import Home
from tests.conftest import run_cli


def one_sentence(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr  # not click's three lines (usage, hint, error)
    (line,) = lines
    assert line.startswith("checkpoint: ") and "Usage:" not in line and "Traceback" not in line, line
    assert line.endswith((".", "。")), line
    return line.removeprefix("checkpoint: ")


def test_a_missing_file_to_import(office_home: Home) -> None:
    result = run_cli(office_home, "bundle", "import", "/nonexist.bundle")
    assert result.exit_code == 2
    said = one_sentence(result.stderr)
    assert said.startswith("/nonexist.bundle does not exist; check the path"), said


def test_a_folder_given_as_the_settings_file(office_home: Home) -> None:
    result = run_cli(office_home, "--config", "/etc", "log", "list")
    assert result.exit_code == 2
    assert (
        one_sentence(result.stderr)
        == "--config: /etc is a folder; give a file's name, such as /etc/config.toml."
    )


def test_a_folder_given_as_the_export_file(office_home: Home, tmp_path: Path) -> None:
    result = run_cli(office_home, "log", "export", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert one_sentence(result.stderr).startswith(f"--out: {tmp_path} is a folder; give a file's name")


def test_a_category_that_is_not_one(office_home: Home) -> None:
    result = run_cli(office_home, "pass", "issue", "--category", "doctor")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == (
        "--category cannot be 'doctor': give one of emergency, official, medical; "
        "see `checkpoint pass issue --help`."
    )


def test_an_unknown_option_and_an_unknown_command(office_home: Home) -> None:
    result = run_cli(office_home, "log", "verify", "--nope")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == (
        "`checkpoint log verify` has no option --nope; see `checkpoint log verify --help`."
    )
    result = run_cli(office_home, "nosuch")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == "`checkpoint` has no command 'nosuch'; see `checkpoint --help`."


def test_a_missing_value(office_home: Home) -> None:
    result = run_cli(office_home, "log", "export", "--out")
    assert result.exit_code == 2
    said = one_sentence(result.stderr)
    assert "--out" in said and "see `checkpoint log export --help`" in said, said


def test_a_section_written_as_a_value(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('station = "x"\n', encoding="utf-8")
    result = run_cli(home, "log", "list")
    assert result.exit_code == 2
    said = one_sentence(result.stderr)
    assert said.startswith(f"[station] must be a section in {home.config}"), said
    assert "dictionary" not in said and "StationSettings" not in said


# -- in Chinese -------------------------------------------------------------------------------------


def test_usage_errors_in_chinese_with_the_locale(office_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = run_cli(office_home, "pass", "issue", "--category", "doctor")
    assert result.exit_code == 2
    said = one_sentence(result.stderr)
    assert (
        said.startswith("--category 不能是 'doctor'：请从") and "参见 `checkpoint pass issue --help`" in said
    )
    result = run_cli(office_home, "bundle", "import", "/nonexist.bundle")
    assert one_sentence(result.stderr) == "/nonexist.bundle 不存在；请检查路径（U 盘可能未插好）。"
    result = run_cli(office_home, "--config", "/etc", "log", "list")
    assert one_sentence(result.stderr) == "--config: /etc 是文件夹；请给出文件名，例如 /etc/config.toml。"


def test_errors_in_chinese_with_the_language_setting(tmp_path: Path) -> None:
    home = Home(tmp_path / "h").ensure()
    home.config.write_text('[ui]\nlanguage = "zh"\n', encoding="utf-8")
    result = run_cli(home, "verify", "--payload", "CP1:X")  # a setup error: no trust file
    assert result.exit_code == 2
    assert "没有受信任的发证单位密钥" in one_sentence(result.stderr)
    result = run_cli(home, "report", "--date", "someday")
    assert one_sentence(result.stderr) == "'someday' 不是日期；请写成 2026-02-03、today 或 yesterday。"
    result = run_cli(home, "log", "export", "--from", "soon", "--out", str(tmp_path / "x.csv"))
    assert one_sentence(result.stderr).startswith("'soon' 不是日期或时间")


def test_a_bad_settings_file_is_said_in_the_locale_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings cannot say which language to speak when they are what is wrong: the locale does."""
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    home = Home(tmp_path / "h").ensure()
    home.config.write_text("[ui\n", encoding="utf-8")
    result = run_cli(home, "log", "list")
    assert result.exit_code == 2
    assert one_sentence(result.stderr).startswith(f"设置文件 {home.config} 不是有效的 TOML")
    home.config.write_text('station = "x"\n', encoding="utf-8")
    result = run_cli(home, "log", "list")
    assert "[station] 必须是一节" in one_sentence(result.stderr)


def test_the_console_script_says_it_in_one_line_too(tmp_path: Path) -> None:
    """`main()` (the installed command) renders the same sentence as the group does."""
    exe = Path(sys.executable).with_name("checkpoint")
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "CHECKPOINT_HOME": str(tmp_path / "h")}
    done = subprocess.run(
        [str(exe), "pass", "issue", "--category", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert one_sentence(done.stderr).startswith("--category 不能是 'doctor'")


# -- a missing folder for a file the user named is refused; --mkdir creates it -----------------------

EXPORTS = [
    ("keys", "export-trust", "{out}/trust.json"),
    ("revocations", "export", "{out}/revocations.json"),
    ("bundle", "export", "--out", "{out}/north-gate.bundle"),
    ("pass", "issue", "--plate", "鄂A12345", "--category", "medical", "--pdf", "{out}/card.pdf"),
    ("pass", "issue", "--plate", "鄂A12346", "--category", "medical", "--png", "{out}/pass.png"),
    ("pass", "issue", "--plate", "鄂A12347", "--category", "medical", "--svg", "{out}/pass.svg"),
    ("log", "export", "--out", "{out}/log.csv"),
    ("report", "--out", "{out}/report.md"),
]


@pytest.mark.parametrize("args", EXPORTS, ids=lambda a: " ".join(a[:2]))
def test_an_export_refuses_a_missing_folder(office_home: Home, tmp_path: Path, args: tuple[str, ...]) -> None:
    usb = tmp_path / "nosuchusb"
    result = run_cli(office_home, *(a.format(out=usb) for a in args))
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == (
        f"The folder {usb} does not exist; check the path (a USB stick may not be mounted), "
        "or add --mkdir to create it."
    )
    assert not usb.exists()  # nothing was written anywhere near it


@pytest.mark.parametrize("args", [a for a in EXPORTS if a[0] in ("keys", "revocations", "pass")], ids=str)
def test_mkdir_creates_the_folder(office_home: Home, tmp_path: Path, args: tuple[str, ...]) -> None:
    usb = tmp_path / "usb" / "checkpoint"
    result = run_cli(office_home, *(a.format(out=usb) for a in args), "--mkdir")
    assert result.exit_code == 0, result.stderr
    (written,) = usb.iterdir()
    assert written.stat().st_size > 0


def test_a_file_where_the_folder_should_be(office_home: Home, tmp_path: Path) -> None:
    (tmp_path / "usb").write_text("not a folder")
    result = run_cli(office_home, "keys", "export-trust", str(tmp_path / "usb" / "trust.json"), "--mkdir")
    assert result.exit_code == 2
    assert one_sentence(result.stderr) == f"{tmp_path / 'usb'} is not a folder; give a path inside a folder."


def test_the_missing_folder_in_chinese(
    office_home: Home, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = run_cli(office_home, "keys", "export-trust", str(tmp_path / "nosuch" / "trust.json"))
    assert result.exit_code == 2
    assert one_sentence(result.stderr).startswith(f"文件夹 {tmp_path / 'nosuch'} 不存在")
