"""Which language to speak: English or Simplified Chinese, from a setting or from the locale."""

from __future__ import annotations

import os

LANGUAGES = ("en", "zh")


def detect_language(setting: str = "auto") -> str:
    """`en` or `zh` from the setting, else from LC_ALL / LC_MESSAGES / LANG (first one set wins)."""
    if setting in LANGUAGES:
        return setting
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"
