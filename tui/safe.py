"""Untrusted text on screen: never markup, never control characters.

Anything decoded from a QR code, imported from a file or typed by a person is shown through these
helpers. `plain()` gives a `Content` that Textual will not parse as markup; `styled()` fills
`$name` placeholders of a trusted markup template with untrusted values as plain text.
"""

from __future__ import annotations

from textual.content import Content

from checkpoint.text import clean


def plain(text: object, *, limit: int | None = None) -> Content:
    """Untrusted text as literal Content (control and bidi characters made visible)."""
    return Content(clean(str(text), limit=limit))


def styled(template: str, /, **values: object) -> Content:
    """A trusted markup template (`"[b]$plate[/b]"`) with untrusted `$values` inserted literally."""
    return Content.from_markup(template, **{k: clean(str(v)) for k, v in values.items()})


def cell(text: object, *, limit: int | None = 40) -> Content:
    """A DataTable cell from untrusted text."""
    return plain("" if text is None else text, limit=limit)
