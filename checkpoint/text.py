"""Untrusted text: neutralise control and bidi characters before anything is shown, logged or printed.

Everything decoded from a QR code, imported from a file or typed by a person goes through `clean()`
before it reaches a terminal, a log line, a PDF or a report. Markup is a separate concern: the UI
renders such text as `Content`/`Text`, never as markup (see `tui/safe.py`).
"""

from __future__ import annotations

import unicodedata

# Bidirectional formatting characters: they reorder what follows them on screen ("Trojan source").
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters that can hide or join text.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _replacement(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # Control Pictures: ESC shows as ␛, NUL as ␀
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"


def is_unsafe(ch: str) -> bool:
    """True for a character that must not reach a terminal as it is."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return True
    if ch in _BIDI or ch in _INVISIBLE:
        return True
    category = unicodedata.category(ch)
    # Cs: lone surrogates, Co: private use, Cn: unassigned, Zl/Zp: line and paragraph separators.
    return category in ("Cs", "Co", "Cn", "Zl", "Zp")


def clean(text: str, *, limit: int | None = None) -> str:
    """Return `text` with every unsafe character replaced by a visible stand-in.

    `limit` cuts the result to that many characters, ending in an ellipsis.
    """
    if any(is_unsafe(ch) for ch in text):
        text = "".join(_replacement(ch) if is_unsafe(ch) else ch for ch in text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def has_unsafe(text: str) -> bool:
    """True when `text` holds any character `clean()` would replace."""
    return any(is_unsafe(ch) for ch in text)


def cell_width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
"""What a spreadsheet takes for the start of a formula (a full-width sign is folded to its ASCII one)."""


def neutralise_formula(value: str) -> str:
    """A spreadsheet cell that cannot run as a formula: a leading `'` when it starts like one."""
    return "'" + value if value.startswith(FORMULA_START) else value
