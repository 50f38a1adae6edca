"""A pass card on screen: the colour band, the plate, the QR in half blocks, and the fields.

Everything a pass holds is untrusted text and goes through `tui.safe` (never markup).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from checkpoint.cards import CardText
from checkpoint.models import Category
from checkpoint.text import cell_width

from ..safe import plain

HALF = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def plain_lines(lines: Iterable[str]) -> Content:
    """Untrusted lines as one literal Content (each line cleaned; the newlines are ours)."""
    return Content("\n").join(plain(line) for line in lines)


def qr_half_blocks(matrix: Sequence[Sequence[bool]]) -> list[str]:
    """The QR two module rows per text line, dark modules as block characters (quiet zone kept)."""
    lines = []
    for top in range(0, len(matrix), 2):
        upper = matrix[top]
        lower = matrix[top + 1] if top + 1 < len(matrix) else [False] * len(upper)
        lines.append("".join(HALF[(a, b)] for a, b in zip(upper, lower, strict=True)))
    return lines


class CardPreview(Vertical):
    """The card as text. `show(None)` shows the placeholder."""

    DEFAULT_CSS = """
    CardPreview { height: auto; width: 48; border: round $panel; padding: 0 1; }
    CardPreview > #card-band { width: 100%; text-align: center; text-style: bold; color: $text; }
    CardPreview > #card-band.emergency { background: $error; }
    CardPreview > #card-band.official { background: $primary; }
    CardPreview > #card-band.medical { background: $success; }
    CardPreview > #card-plate { width: 100%; text-align: center; text-style: bold; }
    CardPreview > #card-qr { width: auto; color: black; background: white; margin: 0 0 1 0; }
    CardPreview > #card-fields { width: auto; }
    """

    def __init__(self, labels: dict[str, str], placeholder: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        yield Static(Content(""), id="card-band")
        yield Static(Content(self.placeholder), id="card-plate")
        # The QR before the fields: on a 40-line terminal it must be whole on screen to be scanned.
        yield Static(Content(""), id="card-qr")
        yield Static(Content(""), id="card-fields")

    def show(
        self, text: CardText | None, category: Category | None, matrix: Sequence[Sequence[bool]] | None = None
    ) -> None:
        band = self.query_one("#card-band", Static)
        for cat in Category:
            band.set_class(category is cat, cat.value)
        plate = self.query_one("#card-plate", Static)
        qr = self.query_one("#card-qr", Static)
        fields = self.query_one("#card-fields", Static)
        if text is None:
            band.update(Content(""))
            plate.update(Content(self.placeholder))
            qr.update(Content(""))
            qr.display = False
            fields.update(Content(""))
            return
        band.update(plain(f"{text.category_zh}  {text.category_en}"))
        plate.update(plain(text.plate))
        if matrix is not None:
            qr.update(Content("\n".join(qr_half_blocks(matrix))))
            qr.display = True
            self.styles.width = max(len(matrix) + 4, 44)
        else:
            qr.update(Content(self.labels["no_qr"]))
            qr.display = True
        rows = [
            (self.labels["holder"], text.holder),
            (self.labels["org"], text.org),
            (self.labels["valid"], text.valid),
            (self.labels["pass_id"], text.pass_id),
            (self.labels["occupants"], text.occupants),
            (self.labels["checkpoints"], text.checkpoints),
            (self.labels["office"], text.office),
        ]
        width = max(cell_width(label) for label, _ in rows) + 2
        fields.update(plain_lines(label + " " * (width - cell_width(label)) + value for label, value in rows))
