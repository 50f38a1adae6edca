"""The command line speaks Chinese when the locale or `ui.language` says so: its lines and its refusals
(one sentence on stderr, exit 2), with no English sentence left, through the real CLI on real homes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result

from checkpoint.paths import Home
from tests.conftest import run_cli

# What may stay Latin in a Chinese line: commands, options, paths, ids, key ids and fingerprints.
_COMMAND = re.compile(r"`[^`]*`|checkpoint(?: [\w.-]+)*|--[\w-]+|\S*/\S*")
_SENTENCE = re.compile(r"[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,}){2,}")  # three English words in a row


OFFICE = "Test township office"  # the fixtures' office name: data, not a sentence of the product


def english_left(text: str) -> list[str]:
    return _SENTENCE.findall(_COMMAND.sub(" ", text.replace(OFFICE, "")))


def said(result: Result) -> str:
    """A succeeding command's lines, all Chinese."""
    assert result.exit_code == 0, result.output
    assert re.search(r"[\u4e00-\u9fff]", result.stdout), result.stdout
    assert english_left(result.stdout) == [], result.stdout
    return result.stdout


def refused(result: Result) -> str:
    """A failing command's one Chinese sentence on stderr (exit 2)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(r"[\u4e00-\u9fff]", lines[0]) and english_left(lines[0]) == [], lines[0]
    assert lines[0].endswith(("。", "）")), lines[0]
    return lines[0]


@pytest.fixture
def zh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")


@pytest.mark.usefixtures("zh")
def test_the_office_issues_lists_shows_and_revokes_in_chinese(office_home: Home, tmp_path: Path) -> None:
    assert "发证单位指纹（密钥 " in said(run_cli(office_home, "keys", "fingerprint"))
    assert " 自 " in said(run_cli(office_home, "keys", "list"))
    assert "尚未发放任何通行证。" in said(run_cli(office_home, "pass", "list"))
    issued = said(
        run_cli(
            office_home, "pass", "issue", "--plate", "鄂A12345", "--category", "medical", "--holder", "张三"
        )
    )
    assert "医护人员" in issued and "（有效）" in issued and "持证人：张三" in issued
    pass_id = issued.split()[1]
    assert "有效" in said(run_cli(office_home, "pass", "list"))
    assert "二维码内容：" in said(run_cli(office_home, "pass", "show", pass_id))
    revoked = said(run_cli(office_home, "pass", "revoke", pass_id, "--reason", "车辆报废"))
    assert f"已作废通行证 {pass_id}" in revoked and "第 1 号吊销名单" in revoked
    out = tmp_path / "revocations.json"
    assert "已将第 1 号吊销名单（1 张通行证）写入" in said(
        run_cli(office_home, "revocations", "export", str(out))
    )
    assert "尚无已备案的卡口" in said(run_cli(office_home, "stations", "list"))
    assert "吊销名单" in refused(run_cli(office_home, "revocations", "import", str(tmp_path / "none.json")))
    assert "已有发证单位密钥" in refused(run_cli(office_home, "keys", "init"))
    assert "checkpoint serve" in refused(run_cli(office_home, "sync"))
    assert "不是有效的备案申请" in refused(run_cli(office_home, "stations", "enrol", str(out)))
    bad_plate = run_cli(office_home, "pass", "issue", "--plate", "XYZ", "--category", "medical")
    assert "车牌号" in refused(bad_plate)


@pytest.mark.usefixtures("zh")
def test_the_station_takes_lists_and_refuses_in_chinese(
    office_home: Home, station_home: Home, tmp_path: Path
) -> None:
    assert "此数据目录尚无吊销名单。" in said(run_cli(station_home, "revocations", "show"))
    out = tmp_path / "revocations.json"
    run_cli(office_home, "revocations", "export", str(out))
    first = said(run_cli(station_home, "revocations", "import", str(out)))
    assert "这是此数据目录的第一份吊销名单" in first
    assert "未作任何更改" in said(run_cli(station_home, "revocations", "import", str(out)))
    assert "第 1 号吊销名单" in said(run_cli(station_home, "revocations", "show"))
    assert "没有发证单位密钥" in refused(run_cli(station_home, "keys", "fingerprint"))
    assert "不是带签名的信任文件" in refused(run_cli(station_home, "keys", "import-trust", str(out)))
    assert "不是吊销名单" in refused(run_cli(station_home, "revocations", "import", str(station_home.trust)))
    assert "备案申请文件" in refused(run_cli(office_home, "stations", "enrol", str(tmp_path / "none.req")))
    assert "请用 --source 给出图像来源" in refused(run_cli(station_home, "scan", "--source", " "))


@pytest.mark.usefixtures("zh")
def test_a_bundle_goes_and_is_refused_in_chinese(
    office_home: Home, station_home: Home, tmp_path: Path
) -> None:
    bundle = tmp_path / "north.bundle"
    assert "自上次导出以来没有新记录" in said(run_cli(station_home, "bundle", "export", "--out", str(bundle)))
    junk = tmp_path / "junk.bundle"
    junk.write_text("hello", encoding="utf-8")
    assert "不是卡口数据包" in refused(run_cli(office_home, "bundle", "import", str(junk)))
    request = tmp_path / "north.request"
    assert "的备案申请写入" in said(run_cli(station_home, "stations", "request", "--out", str(request)))
    wrong = refused(run_cli(office_home, "stations", "enrol", str(request), "--fingerprint", "0000-0000"))
    assert "给出的指纹与卡口 north-gate 的备案申请" in wrong


def test_ui_language_zh_in_the_settings_speaks_chinese_under_an_english_locale(station_home: Home) -> None:
    station_home.config.write_text(
        '[station]\nid = "north-gate"\nname = "North gate"\n\n[ui]\nlanguage = "zh"\n', encoding="utf-8"
    )
    assert "此数据目录尚无吊销名单。" in said(run_cli(station_home, "revocations", "show"))
    assert "此数据目录尚未信任" not in said(run_cli(station_home, "keys", "list"))
    assert "没有发证单位密钥" in refused(run_cli(station_home, "keys", "fingerprint"))


def test_english_stays_english(office_home: Home, station_home: Home) -> None:
    result = run_cli(station_home, "keys", "fingerprint")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        "This home has no office keys, so it has no office fingerprint; run this in the office's home."
    )
    assert run_cli(office_home, "pass", "list").stdout == "No passes issued yet.\n"


@pytest.mark.usefixtures("zh")
def test_a_folder_sync_says_each_step_in_chinese(
    office_home: Home, station_home: Home, tmp_path: Path
) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    office = said(run_cli(office_home, "sync", str(stick)))
    assert "中没有数据包。" in office and "留下信任文件（1 个密钥）" in office and "号吊销名单" in office
    assert "不是文件夹" in refused(run_cli(office_home, "sync", str(tmp_path / "stick" / "none")))
    station = said(run_cli(station_home, "sync", str(stick)))
    assert (
        "信任 1 个发证单位密钥" in station
        and "本卡口的第一份吊销名单" in station
        and "吊销名单" in station
        and "无需发送：通行记录中还没有记录。" in station
    )
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (33 * 1024 * 1024))  # above the revocation list's cap: refused before reading
    assert "超出此类文件的上限" in refused(run_cli(station_home, "revocations", "import", str(big)))
