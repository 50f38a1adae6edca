"""Licence plates: one normal form for storing and matching, one display form for people."""

from __future__ import annotations

import re
import unicodedata

from .errors import CheckpointError

# What a plate may hold once normalised: CJK province and suffix characters, Latin capitals, digits.
_PLATE = re.compile(r"[\u4e00-\u9fffA-Z0-9]{4,12}")
# A standard mainland plate: province character, issuing-office letter, 5 (6 for new energy) more.
_STANDARD = re.compile(r"[\u4e00-\u9fff][A-Z][A-Z0-9]{4,5}[A-Z0-9\u4e00-\u9fff]")
_SEPARATORS = " \t·・.•‧-_\u3000"


def normalise_plate(text: str) -> str:
    """`鄂a · 12345` → `鄂A12345`. Raises CheckpointError for anything that cannot be a plate."""
    folded = unicodedata.normalize("NFKC", text)
    compact = "".join(ch for ch in folded if ch not in _SEPARATORS).upper()
    if not _PLATE.fullmatch(compact):
        raise CheckpointError(
            f"{clean_for_message(text)!r} is not a plate number; write it like 鄂A·12345 "
            "(4 to 12 letters, digits and Chinese characters)."
        )
    return compact


def is_standard_plate(plate: str) -> bool:
    """True for a normalised plate in the usual mainland shape (鄂A12345, 鄂AD12345)."""
    return bool(_STANDARD.fullmatch(plate))


def display_plate(plate: str) -> str:
    """`鄂A12345` → `鄂A·12345`, the way it is painted on the car."""
    if len(plate) >= 3 and "\u4e00" <= plate[0] <= "\u9fff" and plate[1].isascii():
        return f"{plate[:2]}·{plate[2:]}"
    return plate


def clean_for_message(text: str) -> str:
    from .text import clean

    return clean(text, limit=40)
