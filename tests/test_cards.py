"""Pass cards: rendered with pdftoppm at 150 dpi, every QR decoded from the raster, each verifies."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pyzbar import pyzbar

from checkpoint.cards import CARD_H, CATEGORY_RGB, write_card, write_sheet
from checkpoint.models import Category
from checkpoint.paths import Home

from .conftest import NOW, run_cli

AT = (NOW + timedelta(hours=1)).isoformat()  # verify as of the fixture's clock, not today's
HOSTILE = ["[bold red]X[/]", "[@click=app.quit]x[/]", "张三\x1b[31mred"]


def render(pdf: Path, tmp_path: Path) -> list[Path]:
    prefix = tmp_path / pdf.stem
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(prefix)], check=True)
    return sorted(tmp_path.glob(f"{pdf.stem}-*.png"))


def decode(png: Path, *, quadrants: bool = False) -> list[str]:
    """Every QR on the page; on a sheet each card's quarter is decoded on its own (ZBar can miss one
    of four codes on a whole page)."""
    found = []
    with Image.open(png) as image:
        grey = image.convert("L")
        w, h = grey.size
        parts = [grey.crop((x, y, x + w // 2, y + h // 2)) for y in (0, h // 2) for x in (0, w // 2)]
        for part in parts if quadrants else [grey]:
            found += pyzbar.decode(part, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return sorted(r.data.decode("ascii") for r in found)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True
    ).stdout


def assert_allows(home: Home, payload: str) -> None:
    result = run_cli(home, "verify", "--payload", payload, "--at", AT, "--json")
    assert result.exit_code == 0, result.output
    assert '"reason": "ok"' in result.output


def test_single_card_qr_decodes_at_150_dpi_and_verifies(office_home: Home, issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    issued = issue(plate="鄂A12345", holder="张三", org="县人民医院")
    pdf = tmp_path / "card.pdf"
    write_card(issued, pdf, office="测试镇人民政府", tz="Asia/Shanghai")
    pages = render(pdf, tmp_path)
    assert len(pages) == 1
    assert decode(pages[0]) == [issued.payload]
    assert_allows(office_home, issued.payload)
    text = pdf_text(pdf)
    for expected in (
        "A·12345",
        "张三",
        "县人民医院",
        "医护人员",
        "Medical staff",
        issued.data.pass_id,
        "测试镇人民政府",
    ):
        assert expected in text


def test_qr_is_at_least_50_mm_wide(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    issued = issue()
    pdf = tmp_path / "card.pdf"
    write_card(issued, pdf, office="Office", tz="Asia/Shanghai")
    (page,) = render(pdf, tmp_path)
    with Image.open(page) as image:
        (symbol,) = pyzbar.decode(image.convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE])
    width_mm = symbol.rect.width / 150 * 25.4  # the code itself, without its quiet zone
    assert width_mm >= 50


def test_category_band_has_the_category_colour(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for category in Category:
        issued = issue(category=category, plate=f"鄂A{list(Category).index(category)}2345")
        pdf = tmp_path / f"{category.value}.pdf"
        write_card(issued, pdf, office="Office", tz="Asia/Shanghai")
        (page,) = render(pdf, tmp_path)
        with Image.open(page) as image:
            pixel = image.convert("RGB").getpixel((10, 10))  # top-left of the band
        assert pixel == CATEGORY_RGB[category]


def test_a4_sheet_holds_four_cards_per_page_all_decode_and_verify(
    office_home: Home, issue, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    passes = [issue(plate=f"鄂A{n:05d}", category=list(Category)[n % 3]) for n in range(1, 7)]
    pdf = tmp_path / "sheet.pdf"
    write_sheet(passes, pdf, office="Office", tz="Asia/Shanghai")
    pages = render(pdf, tmp_path)
    assert len(pages) == 2
    with Image.open(pages[0]) as image:
        assert abs(image.size[0] - 1240) <= 1 and abs(image.size[1] - 1754) <= 1  # A4 at 150 dpi
    assert len(decode(pages[0], quadrants=True)) == 4
    decoded = decode(pages[0], quadrants=True) + decode(pages[1], quadrants=True)
    assert sorted(decoded) == sorted(p.payload for p in passes)
    for payload in decoded:
        assert_allows(office_home, payload)


def test_hostile_holder_is_printed_literally(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    issued = issue(holder="[bold red]X[/]", org="[@click=app.quit]x[/]")
    pdf = tmp_path / "card.pdf"
    write_card(issued, pdf, office="=1+1 \x1b[2J", tz="Asia/Shanghai")
    text = pdf_text(pdf)
    assert "[bold red]X[/]" in text
    assert "[@click=app.quit]x[/]" in text
    assert "\x1b" not in text
    assert "\\x1b[2J" in text  # the escape is printed as its code, visibly


def test_cli_issue_pdf_writes_a_card(office_home: Home, tmp_path: Path) -> None:
    pdf = tmp_path / "one.pdf"
    result = run_cli(office_home, "pass", "issue", "--plate", "鄂a 54321", "--category", "emergency",
                     "--holder", "王五", "--pdf", str(pdf))  # fmt: skip
    assert result.exit_code == 0, result.output
    (page,) = render(pdf, tmp_path)
    (payload,) = decode(page)
    result = run_cli(office_home, "verify", "--payload", payload, "--json")
    assert result.exit_code == 0, result.output
    assert "A·54321" in pdf_text(pdf)


@pytest.mark.parametrize("holder", HOSTILE[:2])
def test_long_organisation_wraps_without_losing_the_card(issue, tmp_path: Path, holder: str) -> None:  # type: ignore[no-untyped-def]
    issued = issue(
        holder=holder, org="湖北省武汉市某某区人民政府办公室应急管理局第三派出所综合协调科值班室" * 1
    )
    pdf = tmp_path / "card.pdf"
    write_card(issued, pdf, office="Office", tz="Asia/Shanghai")
    (page,) = render(pdf, tmp_path)
    assert decode(page) == [issued.payload]
    assert holder in pdf_text(pdf)


def test_card_without_a_latin_truetype_font_still_prints_and_scans(
    issue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from checkpoint import cards

    monkeypatch.setattr(cards, "LATIN_CANDIDATES", ())
    cards._latin_fonts.cache_clear()
    try:
        issued = issue(plate="鄂A12345", holder="张三 Zhang")
        pdf = tmp_path / "card.pdf"
        write_card(issued, pdf, office="Office", tz="Asia/Shanghai")
        (page,) = render(pdf, tmp_path)
        assert decode(page) == [issued.payload]
        text = pdf_text(pdf)
        assert "12345" in text and "张三 Zhang" in text and issued.data.pass_id in text
    finally:
        cards._latin_fonts.cache_clear()


def test_card_prints_the_checkpoints_or_all(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    some = issue(plate="鄂A12345", checkpoints=("north-gate", "east-road"))
    every = issue(plate="鄂A12346")
    for issued, expected in ((some, "north-gate, east-road"), (every, "全部 all")):
        pdf = tmp_path / f"{issued.data.pass_id}.pdf"
        write_card(issued, pdf, office="测试镇人民政府", tz="Asia/Shanghai")
        (page,) = render(pdf, tmp_path)
        assert decode(page) == [issued.payload]
        text = pdf_text(pdf)
        assert "适用卡口" in text and "Checkpoints" in text
        assert expected in text
        assert "测试镇人民政府" in text  # the office line is still there, below


def test_fullest_card_keeps_every_field_above_the_bottom_band(issue, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The longest holder and organisation a pass carries and as many checkpoints as the validator lets
    through: every one is printed whole, and the office line stays on the card."""
    from checkpoint.pass_request import check_request

    checkpoints = tuple(f"checkpoint-{n:02d}" for n in range(8))
    checked = check_request(
        {"plate": "鄂A12345", "category": "medical", "holder": "张" * 40, "org": "县" * 60,
         "checkpoints": ", ".join(checkpoints)}, tz="Asia/Shanghai", valid_days=14, now=NOW,
    )  # fmt: skip
    assert checked.ok, checked.errors
    issued = issue(holder="张" * 40, org="县" * 60, checkpoints=checkpoints)
    pdf = tmp_path / "full.pdf"
    write_card(issued, pdf, office="OFFICE-LINE", tz="Asia/Shanghai")
    (page,) = render(pdf, tmp_path)
    assert decode(page) == [issued.payload]
    text = pdf_text(pdf)
    raw = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True
    )
    whole = "".join(raw.stdout.split())  # in drawing order: each value's lines one after the other
    assert "OFFICE-LINE" in text and "…" not in text and "..." not in text
    assert "张" * 40 in whole and "县" * 60 in whole and "".join(", ".join(checkpoints).split()) in whole
    # Every word ends above the bottom band (pdftotext's boxes are in points from the top of the page).
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    bottoms = [float(m) for m in re.findall(r'yMax="([0-9.]+)"', boxes)]
    assert bottoms and max(bottoms) <= (CARD_H - 4) * 72 / 25.4
