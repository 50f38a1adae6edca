"""The translation catalog: every user-facing string in English and Simplified Chinese.

Catalog files are `checkpoint/locale/<area>.<lang>.json` (area: common, station, office, audit), merged at
load. Keys are dotted names (`station.allow`); values are `str.format` templates. A key missing from
the Chinese catalog falls back to English; a key missing from both shows the key itself, so a gap is
visible rather than a crash. Formatting untrusted values into a template is fine: the result is always
rendered as plain `Content`, never as markup (see `tui.safe`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from checkpoint.language import LANGUAGES, detect_language

__all__ = ["LANGUAGES", "Translator", "catalog", "detect_language", "missing_keys"]

_LOCALE = Path(__file__).parent.parent / "checkpoint" / "locale"


@cache
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted(_LOCALE.glob(f"*.{lang}.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


class Translator:
    """`t("station.allow")`, `t("station.fps", fps=12)`."""

    def __init__(self, lang: str = "en") -> None:
        self.lang = lang if lang in LANGUAGES else "en"

    def __call__(self, key: str, /, **values: object) -> str:
        template = catalog(self.lang).get(key) or catalog("en").get(key) or key
        if not values:
            return template
        try:
            return template.format(**values)
        except (KeyError, IndexError, ValueError):
            return template

    def has(self, key: str) -> bool:
        return key in catalog(self.lang)


def missing_keys(lang: str) -> set[str]:
    """Keys the English catalog has and `lang` lacks (a test keeps this empty)."""
    return set(catalog("en")) - set(catalog(lang))
