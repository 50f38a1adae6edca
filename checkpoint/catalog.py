"""The translation catalog: every user-facing string in English and Simplified Chinese, in one place for
the screens, the reports, the cards and the command line.

Catalog files are `checkpoint/locale/<area>.<lang>.json` (areas: common, station, office, request — the
pass-request validator's fields and errors —, audit, report, cli, and errors: the core's refusals), merged
at load. Keys are dotted names (`station.allow`); values are `str.format` templates. A key
missing from the Chinese catalog falls back to English; a key missing from both shows the key itself, so a
gap is visible rather than a crash. Formatting untrusted values into a template is fine as long as the
result is rendered as plain text (never as markup, see `tui.safe`).

The one word for each reason (`reason.<code>`) and each category (`category.<value>`) lives in
`common.<lang>.json`; `reason_word()` and `category_word()` are how everything else reads them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from .errors import CheckpointError
from .language import LANGUAGES

__all__ = [
    "LANGUAGES",
    "LOCALE",
    "Translator",
    "catalog",
    "category_word",
    "error",
    "missing_keys",
    "reason_word",
    "say_error",
]

LOCALE = Path(__file__).parent / "locale"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every key of every area in `lang` (an unknown language has an empty catalog)."""
    merged: dict[str, str] = {}
    if lang not in LANGUAGES:
        return merged
    for path in sorted(LOCALE.glob(f"*.{lang}.json")):
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

    def count(self, key: str, n: int, /, **values: object) -> str:
        """`key.one` for one, `key.many` for any other number (`n` is among the values)."""
        return self(f"{key}.one" if n == 1 else f"{key}.many", n=n, **values)


def missing_keys(lang: str) -> set[str]:
    """Keys the English catalog has and `lang` lacks (a test keeps this empty)."""
    return set(catalog("en")) - set(catalog(lang))


def reason_word(reason: str, lang: str) -> str:
    """The words for a decision's reason (`Reason.FEVER` or `"fever"` → "Fever" / "发热"); an unknown code
    as it is. (Reason and Category are `StrEnum`s: this module imports no model, so that every module,
    `timeutil` included, may raise a catalog error.)"""
    code = str(reason)
    key = f"reason.{code}"
    return Translator(lang)(key) if key in catalog("en") else code


def category_word(category: str, lang: str) -> str:
    """The words for a pass category (`medical` → "Medical staff" / "医护人员"); unknown as it is."""
    value = str(category)
    key = f"category.{value}"
    return Translator(lang)(key) if key in catalog("en") else value


def error(key: str, /, *, exit_code: int | None = None, **values: object) -> CheckpointError:
    """A `CheckpointError` whose sentence is the catalog's `key`: English in `message`, and the key and
    values kept so that the command line (or a screen) says it in the user's language (`say_error`)."""
    return CheckpointError(Translator("en")(key, **values), exit_code=exit_code, key=key, values=values)


def say_error(exc: CheckpointError, lang: str) -> str:
    """The error's sentence in `lang` (an error not made from the catalog: its English message)."""
    if exc.key is None:
        return exc.message
    return Translator(lang)(exc.key, **exc.key_values)
