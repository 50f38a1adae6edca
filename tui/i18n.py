"""The screens' use of the translation catalog, which lives in the core (`checkpoint.catalog`), so the
screens, the reports, the cards and the command line read the same words."""

from __future__ import annotations

from dataclasses import replace

from textual.dom import DOMNode

from checkpoint.catalog import LANGUAGES, Translator, catalog, missing_keys
from checkpoint.language import detect_language

__all__ = ["LANGUAGES", "Translator", "catalog", "detect_language", "missing_keys", "translate_bindings"]


def translate_bindings(node: DOMNode, t: Translator, prefix: str = "key.") -> None:
    """Give `node`'s key bindings the catalog's descriptions (`<prefix><action>`) in the chosen language."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=t(f"{prefix}{b.action}")) if t.has(f"{prefix}{b.action}") else b
            for b in bindings
        ]
