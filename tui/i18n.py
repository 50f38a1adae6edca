"""The screens' use of the translation catalog, which lives in the core (`checkpoint.catalog`), so the
screens, the reports, the cards and the command line read the same words."""

from __future__ import annotations

from checkpoint.catalog import LANGUAGES, Translator, catalog, missing_keys
from checkpoint.language import detect_language

__all__ = ["LANGUAGES", "Translator", "catalog", "detect_language", "missing_keys"]
