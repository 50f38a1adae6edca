"""The CJK font for PDFs (pass cards, reports): Droid Sans Fallback, from Debian's fonts-droid-fallback
(Apache 2.0), which `make run` / `make test` install. `CHECKPOINT_CJK_FONT` names another TTF."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CheckpointError

CANDIDATES = (
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/droid/DroidSansFallback.ttf",
)


def cjk_font() -> Path:
    """A TrueType font with Chinese glyphs, or one sentence saying how to get one."""
    override = os.environ.get("CHECKPOINT_CJK_FONT")
    for candidate in ([override] if override else []) + list(CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    raise CheckpointError(
        "No Chinese font was found for PDFs; install one with `sudo apt-get install fonts-droid-fallback` "
        "or set CHECKPOINT_CJK_FONT to a .ttf file."
    )
