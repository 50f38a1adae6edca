"""The office desk and the one pass-request validator, on real keys and a real register in tmp_path."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from checkpoint.batch import BatchInvalid
from checkpoint.cards import card_text, printable, write_card
from checkpoint.desk import BatchEmpty, Desk, PassFiles
from checkpoint.errors import CheckpointError
from checkpoint.keys import TrustList, load_trust, read_json
from checkpoint.models import Category
from checkpoint.pass_request import Problem, RequestInvalid, check_request
from checkpoint.paths import Home
from checkpoint.revocations import load_list
from checkpoint.settings import load_settings
from tui.i18n import Translator

from .conftest import NOW, run_cli

EN, ZH = Translator("en"), Translator("zh")
GOOD = {"plate": "鄂a·12345", "category": "medical", "holder": "张三", "org": "县人民医院",
        "valid_from": "2026-02-03", "valid_until": "2026-02-17", "checkpoints": "north-gate", "occupants": "4"}  # fmt: skip
HEADER = "plate,category,holder,org,valid_from,valid_until,checkpoints,occupants"


@pytest.fixture
def desk(office_home: Home) -> Iterator[Desk]:
    with Desk(office_home, load_settings(office_home.config), clock=lambda: NOW) as opened:
        yield opened


def check(**changes: str):  # type: ignore[no-untyped-def]
    return check_request({**GOOD, **changes}, tz="Asia/Shanghai", valid_days=14, now=NOW)


def batch_file(path: Path, count: int) -> Path:
    lines = [f"鄂A{n:05d},medical,张三,县人民医院,2026-02-01,2026-02-20,,4" for n in range(count)]
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


# -- the validator -----------------------------------------------------------------------------


def test_a_good_request_is_normalised() -> None:
    checked = check()
    assert checked.ok and checked.errors == {}
    request = checked.request
    assert request is not None
    assert (request.plate, request.category, request.checkpoints, request.max_occupants) == (
        "鄂A12345", Category.MEDICAL, ("north-gate",), 4,
    )  # fmt: skip
    assert request.valid_until.isoformat() == "2026-02-17T15:59:00+00:00"  # the end of that day, Shanghai
    assert check(category="医护人员").category is Category.MEDICAL  # the words a batch file uses


def test_every_bad_field_has_its_kind_and_the_bad_value() -> None:
    checked = check(plate="XYZ", category="doctor", holder="a\x1b[2Jb", valid_from="2026-02-30",
                    checkpoints="north gate", occupants="x")  # fmt: skip
    assert checked.request is None
    kinds = {name: (e.kind, e.value) for name, e in checked.errors.items()}
    assert kinds == {
        "plate": (Problem.PLATE_START, "'XYZ'"),
        "category": (Problem.CATEGORY, "'doctor'"),
        "holder": (Problem.UNSAFE, "'a␛[2Jb'"),  # quoted with its control character made visible
        "valid_from": (Problem.DATE, "'2026-02-30'"),
        "checkpoints": (Problem.CHECKPOINT, "'north gate'"),
        "occupants": (Problem.NOT_A_NUMBER, "'x'"),
    }
    # The good fields are still there, for the preview.
    assert checked.org == "县人民医院" and checked.valid_from is None


def test_messages_quote_the_value_in_english_and_chinese() -> None:
    errors = check(plate="XYZ", valid_until="2026-02-01").errors
    assert errors["plate"].message(EN).startswith("'XYZ' is not a plate number")
    assert errors["plate"].message(ZH).startswith("车牌号格式不对：'XYZ'")
    order = errors["valid_until"]
    assert order.kind is Problem.ORDER
    assert order.message(EN) == (
        "The valid-until '2026-02-01 23:59' is not after the valid-from '2026-02-03 00:00'; "
        "give an end after the start."
    )
    assert "有效期至 '2026-02-01 23:59' 不晚于有效期自 '2026-02-03 00:00'" in order.message(ZH)
    for t in (EN, ZH):  # every kind has its sentence in both catalogs
        for kind in Problem:
            assert t.has(f"request.error.{kind.value}"), (t.lang, kind)


def test_limits_of_the_pass_and_of_the_card() -> None:
    assert check(occupants="0").errors["occupants"].kind is Problem.OCCUPANTS
    assert (
        check(occupants="61").errors["occupants"].message(EN).startswith("occupants '61' is not from 1 to 60")
    )
    assert check(holder="张" * 41).errors["holder"].kind is Problem.TOO_LONG
    assert (
        check(checkpoints=",".join(f"g{n}" for n in range(9))).errors["checkpoints"].kind is Problem.TOO_MANY
    )
    # Eight checkpoint ids of 24 characters are valid ids, but more than the card's two lines hold.
    long_ids = ", ".join(f"checkpoint-{n:02d}-abcdefghij" for n in range(8))
    assert check(checkpoints=long_ids).errors["checkpoints"].kind is Problem.NO_ROOM


@pytest.mark.parametrize("emoji", ["🚑", "🏥"])
def test_what_the_card_cannot_print_is_refused_in_one_sentence(emoji: str) -> None:
    error = check(org=f"县人民医院{emoji}").errors["org"]
    assert error.kind is Problem.UNPRINTABLE and error.detail == emoji
    said = error.message(EN)
    assert (
        said
        == f"The organisation '县人民医院{emoji}' holds {emoji}, which the pass card cannot print; leave it out."
    )
    assert said.count(".") == 1
    assert check(holder=f"张三{emoji}").errors["holder"].kind is Problem.UNPRINTABLE


def test_a_character_no_font_has_is_printed_as_its_full_code() -> None:
    assert printable("a🚑b") == "a\\U0001f691b"  # not `\u1f691`, which reads as U+1F69 and a "1"


def test_the_longest_organisation_the_validator_accepts_prints_whole(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    org = "通山县大畈镇人民政府卫生健康服务中心" * 4  # 72 characters: cut to the 60 a pass carries
    org = org[:60]
    assert check(org=org).ok
    issued = issue(org=org, holder="张" * 40)
    pdf = tmp_path / "card.pdf"
    write_card(issued, pdf, office="Office", tz="Asia/Shanghai")
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    assert "…" not in text and "..." not in text
    assert org in "".join(text.split()), text  # whole, over its two lines
    assert card_text(issued, office="Office", tz="Asia/Shanghai").org == org


# -- issuing -----------------------------------------------------------------------------------


def test_issue_gives_back_the_same_pass_and_names_what_differs(desk: Desk) -> None:
    request = desk.request(GOOD)
    first = desk.issue(request)
    assert not first.existing and first.live == ()
    again = desk.issue(desk.request({**GOOD, "holder": "李四", "occupants": "2"}))
    assert again.existing and again.issued.data.pass_id == first.issued.data.pass_id
    assert again.differs == ("holder", "occupants")
    other = desk.issue(desk.request({**GOOD, "valid_until": "2026-02-27"}))
    assert not other.existing and [p.data.pass_id for p in other.live] == [first.issued.data.pass_id]
    forced = desk.issue(request, new=True)
    assert not forced.existing and desk.registry.count() == 3


def test_a_request_with_bad_fields_is_refused_whole(desk: Desk) -> None:
    with pytest.raises(RequestInvalid) as refused:
        desk.request({**GOOD, "plate": "", "category": ""})
    assert list(refused.value.errors) == ["plate", "category"]
    assert {e.kind for e in refused.value.errors.values()} == {Problem.MISSING}
    assert refused.value.errors["category"].message(EN) == "Give the category; it may not be blank."
    assert desk.registry.count() == 0


def test_files_that_cannot_be_written_issue_nothing(desk: Desk, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(CheckpointError):
        desk.issue(desk.request(GOOD), files=PassFiles(png=blocker / "pass.png"))
    assert desk.registry.count() == 0


def test_save_card_writes_the_pdf_and_png_into_exports(desk: Desk, office_home: Home) -> None:
    issued = desk.issue(desk.request(GOOD)).issued
    files = desk.save_card(issued)
    assert files.png == office_home.exports / f"{issued.data.pass_id}_鄂A12345.png"
    assert files.png.stat().st_size > 0 and files.pdf is not None and files.pdf.stat().st_size > 0


def test_find_filters_by_category_and_status_and_counts(desk: Desk) -> None:
    medical = desk.issue(desk.request(GOOD)).issued
    desk.issue(
        desk.request({**GOOD, "plate": "鄂B22222", "category": "official", "valid_until": "2026-02-04"})
    )
    expired = desk.issue(desk.request({**GOOD, "plate": "鄂C33333", "valid_from": "2026-01-01",
                                       "valid_until": "2026-01-10"})).issued  # fmt: skip
    assert desk.status(medical) == "valid" and desk.status(expired) == "expired"
    found = desk.find(status="expiring")
    assert [p.data.plate for p in found.passes] == ["鄂B22222"] and found.total == 3
    found = desk.find(category=Category.MEDICAL, limit=1)
    assert len(found.passes) == 1 and found.matched == 2
    assert [p.data.pass_id for p in desk.find(search="c333").passes] == [expired.data.pass_id]


# -- revoking, renewing, the revocation list ---------------------------------------------------


def test_revoke_needs_a_reason_and_publishes(desk: Desk, office_home: Home) -> None:
    issued = desk.issue(desk.request(GOOD)).issued
    with pytest.raises(RequestInvalid) as refused:
        desk.revoke(issued.data.pass_id, "  ")
    assert refused.value.errors["reason"].kind is Problem.EMPTY
    done = desk.revoke(issued.data.pass_id.lower(), "card lost")
    assert done.issued.revoke_reason == "card lost" and done.revocations.seq == 1
    home_list = load_list(office_home.revocations, load_trust(office_home.trust))
    assert home_list.is_revoked(issued.data.pass_id) and home_list.seq == 1
    with pytest.raises(CheckpointError, match="already revoked"):
        desk.revoke(issued.data.pass_id, "again")


def test_the_list_number_changes_only_with_the_list(desk: Desk, tmp_path: Path) -> None:
    first = desk.export_revocations(tmp_path / "a.json")
    second = desk.export_revocations(tmp_path / "b.json")
    assert first.seq == second.seq == 1
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    issued = desk.issue(desk.request(GOOD)).issued
    assert desk.revoke(issued.data.pass_id, "lost").revocations.seq == 2
    (tmp_path / "usb").mkdir()
    assert desk.export_files(tmp_path / "usb").revocation_list.seq == 2
    assert desk.export_files(tmp_path / "usb").revocation_list.seq == 2


def test_export_refuses_a_missing_folder_but_makes_the_home_s_own(
    desk: Desk, office_home: Home, tmp_path: Path
) -> None:
    """QA: the office screen's F6 wrote to a mistyped `/nosuchusb/stick`, creating it on the laptop's
    disk, while the CLI refuses a missing folder. Only the home's own exports folder is made."""
    with pytest.raises(CheckpointError) as refused:
        desk.export_files(tmp_path / "nosuchusb" / "stick")
    assert refused.value.key == "office.export.no_folder" and "does not exist" in refused.value.message
    assert not (tmp_path / "nosuchusb").exists()
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CheckpointError, match="is not a folder"):
        desk.export_files(tmp_path / "a-file")
    assert not office_home.exports.exists()
    assert desk.export_files(office_home.exports).trust == office_home.exports / "trust.json"


def test_renew_takes_the_default_window_or_the_dates_given(desk: Desk) -> None:
    old = desk.issue(desk.request(GOOD)).issued
    done = desk.renew(old.data.pass_id)
    start, end = desk.renewal_window(old)
    assert (done.new.data.valid_from, done.new.data.valid_until) == (start, end)
    assert (
        done.old.revoke_reason == f"renewed as {done.new.data.pass_id}"
        and done.new.replaces == old.data.pass_id
    )
    assert done.revocations.is_revoked(old.data.pass_id)
    with pytest.raises(CheckpointError, match="is revoked"):
        desk.renew(old.data.pass_id)
    with pytest.raises(RequestInvalid) as refused:
        desk.renew(done.new.data.pass_id, "2026-03-01", "2026-02-01")
    assert refused.value.errors["valid_until"].kind is Problem.ORDER
    later = desk.renew(done.new.data.pass_id, "", "2026-03-31")
    assert later.new.data.valid_until.isoformat() == "2026-03-31T15:59:00+00:00"


def test_rotate_key_keeps_the_home_trust_file_equal_to_the_keyring(
    desk: Desk, office_home: Home, tmp_path: Path
) -> None:
    rotated = desk.rotate_key()
    assert rotated.old.valid_until == NOW + timedelta(days=30)
    assert {k.key_id for k in load_trust(office_home.trust).keys} == {rotated.old.key_id, rotated.new.key_id}
    (tmp_path / "usb").mkdir()
    trust = TrustList.from_json(read_json(desk.export_files(tmp_path / "usb").trust), "trust.json")
    assert trust.get(rotated.new.key_id) is not None


def test_no_office_keys_is_one_sentence(tmp_path: Path) -> None:
    home = Home(tmp_path / "empty").ensure()
    with pytest.raises(CheckpointError, match="has no office keys"):
        Desk(home, load_settings(home.config))


# -- batches -----------------------------------------------------------------------------------


def test_batch_names_every_bad_row_and_an_empty_file(desk: Desk, tmp_path: Path) -> None:
    source = batch_file(tmp_path / "b.csv", 2)
    source.write_text(source.read_text(encoding="utf-8") + "鄂X,medical,,,,,,2\n", encoding="utf-8")
    with pytest.raises(BatchInvalid) as invalid:
        desk.issue_batch(source, tmp_path / "out")
    (row,) = invalid.value.errors
    assert row.line == 4 and row.reasons(EN) == ["'鄂X' is not a plate number; write it like 鄂A·12345 "
                                                 "(4 to 12 letters, digits and Chinese characters)"]  # fmt: skip
    assert desk.registry.count() == 0
    (tmp_path / "e.csv").write_text(HEADER + "\n", encoding="utf-8")
    with pytest.raises(BatchEmpty):
        desk.issue_batch(tmp_path / "e.csv", tmp_path / "out")


def test_batch_writes_its_files_then_records_the_passes(desk: Desk, tmp_path: Path) -> None:
    out, sheet = tmp_path / "out", tmp_path / "cards" / "sheet.pdf"
    sheet.parent.mkdir()
    result = desk.issue_batch(batch_file(tmp_path / "b.csv", 3), out, sheet=sheet)
    assert result.issued == 3 and desk.registry.count() == 3
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*(f"{p.data.pass_id}_{p.data.plate}.png" for p in result.passes), "passes.csv"])
    assert sheet.stat().st_size > 0 and sorted(p.name for p in sheet.parent.iterdir()) == ["sheet.pdf"]


def test_a_register_that_cannot_grow_leaves_no_files_of_passes_that_do_not_exist(
    desk: Desk, tmp_path: Path
) -> None:
    """The files are written, then the register refuses the passes (SQLite's max_page_count: the same
    SQLITE_FULL as a full disk): nothing is issued and none of their files is left in the folder."""
    desk.issue(desk.request(GOOD))
    desk.registry.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = desk.registry.conn.execute("PRAGMA page_count").fetchone()[0]
    desk.registry.conn.execute(f"PRAGMA max_page_count = {pages}")
    out = tmp_path / "out"
    with pytest.raises(
        CheckpointError, match=r"^The disk is full: the pass register .* nothing was issued\.$"
    ):
        desk.issue_batch(batch_file(tmp_path / "b.csv", 200), out, sheet=out / "cards.pdf")
    assert desk.registry.count() == 1
    assert list(out.iterdir()) == []


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k none /mnt"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare and a mount namespace for a tiny tmpfs")
def test_pass_batch_onto_a_full_disk_issues_nothing(office_home: Home, tmp_path: Path) -> None:
    """Issue 14, item 9: `pass batch --out` onto a disk that fills up (a real 8 KiB tmpfs, mounted in a
    private mount namespace of the command's own): one sentence, exit 2, and no pass is live."""
    source = batch_file(tmp_path / "b.csv", 5)
    out = tmp_path / "usb"
    out.mkdir()
    command = [sys.executable, "-c", "from checkpoint.cli import main; main()", "--home", str(office_home.root),
               "pass", "batch", str(source), "--out", str(out)]  # fmt: skip
    full = subprocess.run(
        ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=8k none "$0" && exec "$@"', str(out), *command],
        capture_output=True, text=True,
    )  # fmt: skip
    assert full.returncode == 2, full.stderr
    (said,) = full.stderr.splitlines()
    assert said.startswith(f"checkpoint: The disk is full: cannot write {out}/") and said.endswith(
        "nothing was issued."
    ), said
    assert run_cli(office_home, "pass", "list").stdout == "No passes issued yet.\n"
    # With room (the tmpfs is gone with its namespace), the same file issues all five.
    again = run_cli(office_home, "pass", "batch", str(source), "--out", str(out), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["issued"] == 5
