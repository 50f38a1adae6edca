"""Licence plates: one normal form for storing and matching, one display form for people.

A plate starts with a province abbreviation (鄂, 京, …) or a special series character (使, 领, 警, …);
traditional and Japanese forms of those characters (黒, 晉, 靑, 遼, …) fold to the standard form, so that
two passes can never differ only by a look-alike character. The letters I and O are not used on Chinese
plates (they read as 1 and 0) and are refused. docs/pass-format.md, "Plates".
"""

from __future__ import annotations

import re
import unicodedata

from .errors import CheckpointError

# The 31 province-level abbreviations of mainland plates.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Special series: embassies and consulates, police, driving schools, trailers, Hong Kong and Macau
# crossings, test and temporary plates. They may start a plate (使 014 001) or end one (鄂A1234警).
SPECIAL = "使领警学挂港澳试超临"
# Traditional Chinese and Japanese forms that people (or their input methods) type for the above.
VARIANTS = {
    "黒": "黑", "晉": "晋", "靑": "青", "遼": "辽", "滬": "沪", "蘇": "苏", "貴": "贵", "魯": "鲁",
    "陝": "陕", "閩": "闽", "贛": "赣", "寧": "宁", "瓊": "琼", "雲": "云", "領": "领", "學": "学",
    "掛": "挂", "試": "试", "臨": "临",
}  # fmt: skip
_FOLD = str.maketrans(VARIANTS)
# What a plate may hold once normalised: a first character from PROVINCES or SPECIAL, then Latin capitals
# (never I or O) and digits, and at most one special series character at the end.
_PLATE = re.compile(f"[{PROVINCES}{SPECIAL}][A-HJ-NP-Z0-9]{{3,10}}[{SPECIAL}]?")
_SEPARATORS = " \t·・.•‧-_\u3000"


class PlateError(CheckpointError):
    """Not a plate number. `kind`: `start` (no province or special series character first), `letters`
    (the letters I or O, which plates do not use), or `shape`."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def normalise_plate(text: str) -> str:
    """`鄂a · 12345` → `鄂A12345`, `黒A·12345` → `黑A12345`. Raises CheckpointError for anything that
    cannot be a plate."""
    folded = unicodedata.normalize("NFKC", text).translate(_FOLD)
    compact = "".join(ch for ch in folded if ch not in _SEPARATORS).upper()
    if _PLATE.fullmatch(compact):
        return compact
    shown = clean_for_message(text)
    if compact[:1] and compact[:1] not in PROVINCES + SPECIAL:
        raise PlateError(
            f"{shown!r} is not a plate number: a plate starts with a province (鄂, 京, 粤 …) or a special "
            "series character (使, 领, 警 …); write it like 鄂A·12345.",
            "start",
        )
    if ("I" in compact or "O" in compact) and _PLATE.fullmatch(compact.replace("I", "1").replace("O", "0")):
        raise PlateError(
            f"{shown!r} is not a plate number: plates do not use the letters I and O; type 1 or 0 instead.",
            "letters",
        )
    raise PlateError(
        f"{shown!r} is not a plate number; write it like 鄂A·12345 "
        "(a province character, then 3 to 10 letters and digits).",
        "shape",
    )


def display_plate(plate: str) -> str:
    """`鄂A12345` → `鄂A·12345`, the way it is painted on the car."""
    if len(plate) >= 3 and "\u4e00" <= plate[0] <= "\u9fff" and plate[1].isascii():
        return f"{plate[:2]}·{plate[2:]}"
    return plate


def clean_for_message(text: str) -> str:
    from .text import clean

    return clean(text, limit=40)
