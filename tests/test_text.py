"""Untrusted text never reaches a terminal with control or bidi characters in it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checkpoint.plates import display_plate, normalise_plate
from checkpoint.text import cell_width, clean, has_unsafe, neutralise_formula

HOSTILE = [
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "abc\u202edcba",
    "x\u2066y\u2069",
    "\x00\x07\x08\x7f\x9b",
    "a\u200bb",
]


def test_hostile_strings_come_out_clean_and_visible() -> None:
    for text in HOSTILE:
        out = clean(text)
        assert not has_unsafe(out)
        assert len(out) == len(text)  # replaced, not dropped: staff can see something was there
    assert clean("\x1b[31m") == "␛[31m"


@given(st.text())
def test_clean_output_is_always_safe(text: str) -> None:
    assert not has_unsafe(clean(text))


def test_clean_cuts_long_text() -> None:
    assert clean("x" * 3000, limit=10) == "x" * 9 + "…"


def test_plates_normalise_and_display() -> None:
    assert normalise_plate("鄂a · 12345") == "鄂A12345"
    assert normalise_plate("鄂Ａ１２３４５") == "鄂A12345"  # full-width typing
    assert display_plate("鄂A12345") == "鄂A·12345"
    assert cell_width("鄂A·12345") == 9


def test_chinese_takes_two_columns() -> None:
    assert cell_width("张三") == 4 and cell_width("ab") == 2


def test_one_formula_rule_for_every_spreadsheet_file() -> None:
    from checkpoint.batch import neutralise_cell
    from checkpoint.export import neutralise

    for start in "=+-@＝＋－＠":
        assert neutralise_formula(f"{start}1+1") == f"'{start}1+1"
        assert neutralise(f"{start}x") == neutralise_cell(f"{start}x") == f"'{start}x"
    assert neutralise_formula("\tx") == "'\tx"
    assert neutralise_formula("a=1") == "a=1"
    assert neutralise_formula("") == ""
