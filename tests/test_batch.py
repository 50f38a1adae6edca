"""Batch issue from CSV (all or nothing, no duplicates, UTF-8/BOM/GBK), renew, and revocation hygiene."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pyzbar import pyzbar

from checkpoint.batch import neutralise_cell, parse_rows, read_rows
from checkpoint.keys import Keyring
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.timeutil import utcnow

from .conftest import run_cli

HEADER = "plate,category,holder,org,valid_from,valid_until,checkpoints,occupants"
CATEGORIES = ("medical", "official", "emergency")


def rows(count: int) -> list[str]:
    return [
        f"鄂A{n:05d},{CATEGORIES[n % 3]},持证人{n},县人民医院,2026-12-01,2026-12-20,,{1 + n % 5}"
        for n in range(count)
    ]


def write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n".join([HEADER, *lines]).encode(encoding) + b"\n")
    return path


def current() -> dict[str, object]:
    """Validity around the real clock (revocation lists and `verify` without --at use it)."""
    now = utcnow()
    return {"valid_from": now - timedelta(days=1), "valid_until": now + timedelta(days=13)}


def count_passes(home: Home) -> int:
    registry = Registry(home.registry, Keyring(home.office_keys, "x"))
    try:
        return len(registry.list())
    finally:
        registry.close()


@pytest.mark.slow
def test_thousand_rows_with_three_bad_issue_nothing_then_all(office_home: Home, tmp_path: Path) -> None:
    lines = rows(1000)
    good = list(lines)
    # Data lines start at file line 2: list index i is file line i + 2.
    lines[99] = "鄂A00099,bicycle,x,y,,,,1"  # line 101: bad category
    lines[499] = "not a plate!,medical,x,y,,,,1"  # line 501: bad plate
    lines[899] = "鄂A00899,medical,x,y,2026-12-20,2026-12-01,,1"  # line 901: dates reversed
    csv_path = write(tmp_path / "passes.csv", lines)
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout.splitlines()[0])
    assert [e["line"] for e in report["errors"]] == [101, 501, 901]
    assert "category" in report["errors"][0]["reason"]
    assert "plate" in report["errors"][1]["reason"]
    assert "valid-until" in report["errors"][2]["reason"]
    assert "3 bad rows; nothing was issued" in result.stderr
    assert count_passes(office_home) == 0
    assert not (tmp_path / "out").exists()

    write(csv_path, good)
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["issued"] == 1000 and report["existing"] == 0
    assert count_passes(office_home) == 1000
    assert len(list((tmp_path / "out").glob("*.png"))) == 1000


def test_bad_rows_are_all_named_in_plain_output(office_home: Home, tmp_path: Path) -> None:
    csv_path = write(tmp_path / "b.csv", [*rows(3), "鄂A1,medical,,,,,,1", "鄂A99999,medical,,,,,,x"])
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "line 5:" in result.stderr and "not a plate number" in result.stderr
    assert "line 6: occupants 'x' is not a whole number" in result.stderr
    assert "line 5: '鄂A1' is not a plate number" in result.stderr  # the bad value quoted
    assert "Traceback" not in result.output
    assert count_passes(office_home) == 0


def test_small_batch_writes_pngs_index_and_sheet_and_each_verifies(office_home: Home, tmp_path: Path) -> None:
    csv_path = write(tmp_path / "b.csv", rows(5))
    out, sheet = tmp_path / "out", tmp_path / "sheet.pdf"
    result = run_cli(
        office_home, "pass", "batch", str(csv_path), "--out", str(out), "--sheet", str(sheet), "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["issued"] == 5
    for item in report["passes"]:
        png = Path(item["png"])
        assert png.name == f"{item['pass_id']}_{item['plate']}.png"
        with Image.open(png) as image:
            (symbol,) = pyzbar.decode(image.convert("L"))
        verdict = run_cli(
            office_home, "verify", "--payload", symbol.data.decode(), "--at", "2026-12-02T12:00"
        )
        assert verdict.exit_code == 0, verdict.output
    assert sheet.stat().st_size > 0
    index = list(csv.DictReader(io.StringIO((out / "passes.csv").read_text(encoding="utf-8-sig"))))
    assert [r["line"] for r in index] == ["2", "3", "4", "5", "6"]
    assert {r["status"] for r in index} == {"issued"}


def test_rerun_issues_no_duplicates_and_says_so(office_home: Home, tmp_path: Path) -> None:
    csv_path = write(tmp_path / "b.csv", [*rows(3), "鄂B77777,medical,无日期,,,,,2"])  # default validity too
    out = tmp_path / "out"
    first = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(out), "--json")
    assert json.loads(first.stdout)["issued"] == 4
    second = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(out))
    assert second.exit_code == 0, second.output
    assert "Issued 0 new pass(es); 4 already existed" in second.stdout
    assert "line 2: 鄂A·00000 already has pass" in second.stdout
    assert count_passes(office_home) == 4


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_bom_and_gbk_files_with_chinese_categories(office_home: Home, tmp_path: Path, encoding: str) -> None:
    lines = ["鄂A10001,医护人员,张三,县人民医院,2026-12-01,2026-12-20,,4", "鄂A10002,应急车辆,李四,消防大队,,,,6",
             "鄂A10003,公务人员,王五,镇人民政府,,,,3"]  # fmt: skip
    csv_path = write(tmp_path / "b.csv", lines, encoding)
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in run_cli(office_home, "pass", "list", "--json").stdout.splitlines()]
    by_plate = {p["plate"]: p for p in listed}
    assert by_plate["鄂A10001"]["holder"] == "张三" and by_plate["鄂A10001"]["category"] == "medical"
    assert by_plate["鄂A10002"]["org"] == "消防大队" and by_plate["鄂A10002"]["category"] == "emergency"
    assert by_plate["鄂A10003"]["category"] == "official"


def test_chinese_headers_are_understood(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("车牌号,类别,持证人,单位\n鄂A10001,医护人员,张三,县人民医院\n", encoding="utf-8")
    ((line, row),) = read_rows(path)
    assert line == 2 and row["plate"] == "鄂A10001" and row["holder"] == "张三"


def test_unknown_column_and_binary_file_are_one_sentence(office_home: Home, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("plate,category,phone\n鄂A10001,medical,123\n", encoding="utf-8")
    result = run_cli(office_home, "pass", "batch", str(bad), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "unknown column 'phone'" in result.stderr
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81\x30\x81" * 50)
    result = run_cli(office_home, "pass", "batch", str(binary), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_same_pass_twice_in_one_file_is_a_bad_row(tmp_path: Path) -> None:
    from checkpoint.pass_request import Problem
    from tui.i18n import Translator

    path = write(tmp_path / "d.csv", [rows(1)[0], rows(1)[0]])
    good, errors = parse_rows(read_rows(path), tz="Asia/Shanghai", valid_days=14)
    assert len(good) == 1
    assert [(e.line, [p.kind for p in e.problems]) for e in errors] == [(3, [Problem.DUPLICATE])]
    assert errors[0].reason(Translator("en")) == "it asks for the same pass as line 2"


def test_hostile_holder_is_literal_and_csv_cells_are_neutralised(office_home: Home, tmp_path: Path) -> None:
    lines = ['鄂A20001,medical,[bold red]X[/],"=HYPERLINK(""http://x"")",,,,1',
             "鄂A20002,medical,[@click=app.quit]x[/],+1-2,,,,1", "鄂A20003,medical,@SUM(A1),-5,,,,1"]  # fmt: skip
    csv_path = write(tmp_path / "h.csv", lines)
    out = tmp_path / "out"
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(out))
    assert result.exit_code == 0, result.output
    index = list(csv.DictReader(io.StringIO((out / "passes.csv").read_text(encoding="utf-8-sig"))))
    assert index[0]["holder"] == "[bold red]X[/]" and index[0]["org"] == '\'=HYPERLINK("http://x")'
    assert index[1]["holder"] == "[@click=app.quit]x[/]" and index[1]["org"] == "'+1-2"
    assert index[2]["holder"] == "'@SUM(A1)" and index[2]["org"] == "'-5"
    esc = write(tmp_path / "e.csv", ["鄂A20004,medical,a\x1b[2Jb,,,,,1"])
    result = run_cli(office_home, "pass", "batch", str(esc), "--out", str(out))
    assert result.exit_code == 2 and "\x1b" not in result.output and "line 2" in result.stderr


def test_neutralise_cell() -> None:
    assert neutralise_cell("=1+1") == "'=1+1"
    assert neutralise_cell("\tx") == "\u2409x"  # the tab is made visible, so it no longer starts a formula
    assert neutralise_cell("a\x1bb") == "a\u241bb"
    assert neutralise_cell(5) == "5"


def test_renew_revokes_old_and_republishes(office_home: Home, issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = issue(plate="鄂A55555", holder="赵六", checkpoints=("north-gate",), **current())
    result = run_cli(
        office_home, "pass", "renew", old.data.pass_id.lower(), "--valid-until", "2027-03-01", "--json"
    )
    assert result.exit_code == 0, result.output
    new = json.loads(result.stdout)
    assert new["replaces"] == old.data.pass_id and new["revoked"] == old.data.pass_id
    assert (new["plate"], new["holder"], new["checkpoints"]) == ("鄂A55555", "赵六", ["north-gate"])
    assert new["valid_until"] == "2027-03-01T23:59:00+08:00"  # end of that day, in Shanghai time
    shown = json.loads(run_cli(office_home, "pass", "show", old.data.pass_id, "--json").stdout)
    assert shown["status"] == "revoked" and shown["revoke_reason"] == f"renewed as {new['pass_id']}"
    rlist = json.loads(office_home.revocations.read_text(encoding="utf-8"))
    assert [e["pass_id"] for e in rlist["entries"]] == [old.data.pass_id]
    again = run_cli(office_home, "pass", "renew", old.data.pass_id)
    assert again.exit_code == 2 and "revoked" in again.stderr


def test_station_denies_revoked_after_newer_list_and_refuses_older(
    office_home: Home, station_home: Home, issue, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    issued = issue(plate="鄂A66666", **current())  # the list leaves out passes expired a month ago
    at = utcnow().isoformat()
    first = tmp_path / "rev1.json"
    assert run_cli(office_home, "revocations", "export", str(first)).exit_code == 0
    assert run_cli(station_home, "revocations", "import", str(first)).exit_code == 0
    assert run_cli(station_home, "verify", "--payload", issued.payload, "--at", at).exit_code == 0
    assert run_cli(office_home, "pass", "revoke", issued.data.pass_id, "--reason", "lost").exit_code == 0
    second = tmp_path / "rev2.json"
    assert run_cli(office_home, "revocations", "export", str(second)).exit_code == 0
    imported = run_cli(station_home, "revocations", "import", str(second))
    assert imported.exit_code == 0, imported.output
    denied = run_cli(station_home, "verify", "--payload", issued.payload, "--at", at, "--json")
    assert denied.exit_code == 1 and json.loads(denied.stdout)["reason"] == "revoked"
    before = station_home.revocations.read_bytes()
    older = run_cli(station_home, "revocations", "import", str(first))
    assert older.exit_code == 2
    assert "older than number" in older.stderr and "nothing was changed" in older.stderr
    assert station_home.revocations.read_bytes() == before
    assert run_cli(station_home, "verify", "--payload", issued.payload, "--at", at).exit_code == 1
    shown = json.loads(run_cli(station_home, "revocations", "show", "--json").stdout)
    assert shown["issued_at"] is not None  # what the station's age display needs


def test_every_bad_field_of_a_row_is_reported(office_home: Home, tmp_path: Path) -> None:
    csv_path = write(
        tmp_path / "b.csv",
        [*rows(2), "鄂A·1,spaceship,,,2026-12-20,2026-12-01,north gate!,x", "鄂A99999,bicycle,,,,,,2"],
    )
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"), "--json")
    assert result.exit_code == 2
    report = json.loads(result.stdout.splitlines()[0])
    assert [e["line"] for e in report["errors"]] == [4, 5]
    first = report["errors"][0]["reasons"]
    assert len(first) == 5, first
    assert first[0].startswith("'鄂A·1' is not a plate number")  # the bad value quoted
    assert "'spaceship' is not a category" in first[1]
    assert "valid-until" in first[2]
    assert first[3].startswith("'north gate!' is not a checkpoint id")
    assert first[4] == "occupants 'x' is not a whole number; give one from 1 to 60"
    kinds = [(f["field"], f["kind"], f["value"]) for f in report["errors"][0]["fields"]]
    assert kinds == [("plate", "plate", "'鄂A·1'"), ("category", "category", "'spaceship'"),
                     ("valid_until", "order", "'2026-12-01 23:59'"), ("checkpoints", "checkpoint", "'north gate!'"),
                     ("occupants", "not_a_number", "'x'")]  # fmt: skip
    assert report["errors"][1]["reasons"] == [report["errors"][1]["reason"]]
    assert "'bicycle' is not a category" in report["errors"][1]["reason"]
    assert "2 bad rows; nothing was issued" in result.stderr
    # Plain output: each bad field on its own line, all under the row's line number.
    result = run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(tmp_path / "out"))
    assert sum(": line 4: " in line for line in result.stderr.splitlines()) == 5
    assert count_passes(office_home) == 0


def test_a_full_disk_issues_nothing_and_says_so(registry) -> None:  # type: ignore[no-untyped-def]
    """The register may not grow (SQLite's max_page_count: the same SQLITE_FULL as a full disk): a batch
    is refused whole in one sentence; once there is room it goes through."""
    from checkpoint.errors import CheckpointError
    from checkpoint.registry import Registry

    from .conftest import NOW, request

    assert isinstance(registry, Registry)
    registry.issue(request(plate="鄂A00001"), now=NOW)
    registry.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = registry.conn.execute("PRAGMA page_count").fetchone()[0]
    registry.conn.execute(f"PRAGMA max_page_count = {pages}")
    batch = [registry.build(request(plate=f"鄂A{i:05d}", holder="张" * 20), now=NOW) for i in range(2, 300)]
    with pytest.raises(
        CheckpointError, match=r"^The disk is full: the pass register .* nothing was issued\.$"
    ):
        registry.store([(data, payload, None) for data, payload in batch])
    assert [p.data.plate for p in registry.list()] == ["鄂A00001"]
    registry.conn.execute("PRAGMA max_page_count = 1073741823")
    registry.store([(data, payload, None) for data, payload in batch])
    assert len(registry.list()) == 299


def test_passes_csv_shows_local_times_with_their_offset(office_home: Home, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        office_home, "pass", "batch", str(write(tmp_path / "in.csv", rows(2))), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    index = list(csv.DictReader(io.StringIO((out / "passes.csv").read_text(encoding="utf-8-sig"))))
    assert [(r["valid_from"], r["valid_until"]) for r in index] == [
        ("2026-12-01T00:00:00+08:00", "2026-12-20T23:59:00+08:00")
    ] * 2


def test_pass_issue_gives_back_the_pass_a_batch_issued(office_home: Home, tmp_path: Path) -> None:
    """One rule for the batch, the office screen and `pass issue`: the same request is the same pass."""
    out = tmp_path / "out"
    csv_path = write(tmp_path / "in.csv", ["鄂A70001,医护人员,张三,县人民医院,2026-12-01,2026-12-20,,4"])
    assert run_cli(office_home, "pass", "batch", str(csv_path), "--out", str(out)).exit_code == 0
    index = list(csv.DictReader(io.StringIO((out / "passes.csv").read_text(encoding="utf-8-sig"))))
    single = run_cli(office_home, "pass", "issue", "--plate", "鄂A·70001", "--category", "medical",
                     "--holder", "张三", "--org", "县人民医院", "--occupants", "4",
                     "--valid-from", "2026-12-01", "--valid-until", "2026-12-20", "--json")  # fmt: skip
    assert single.exit_code == 0 and single.stderr == ""
    shown = json.loads(single.stdout)
    assert shown["existing"] is True and shown["pass_id"] == index[0]["pass_id"]
    assert count_passes(office_home) == 1


def test_a_damaged_register_is_one_sentence(office_home) -> None:  # type: ignore[no-untyped-def]
    from checkpoint.keys import Keyring
    from checkpoint.registry import Registry

    from .conftest import NOW, request, run_cli

    registry = Registry(office_home.registry, Keyring(office_home.office_keys, "Test township office"))
    for i in range(200):  # a register of a few pages
        registry.issue(request(plate=f"鄂A{i:05d}", holder="张" * 20), now=NOW)
    registry.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    registry.close()
    size = office_home.registry.stat().st_size
    with office_home.registry.open("r+b") as handle:  # a failing disk: all but the schema page overwritten
        handle.seek(4096)
        handle.write(b"A" * (size - 4096))
    listed = run_cli(office_home, "pass", "list")
    assert listed.exit_code == 2, listed.output
    assert "is damaged" in listed.output and "unexpected" not in listed.output
    assert listed.output.count("\n") == 1
