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


def cells_prefix(text: str, room: int) -> str:
    """The longest start of `text` at most `room` cells wide (at least one character)."""
    width = 0
    for index, char in enumerate(text):
        width += cell_width(char)
        if width > room:
            return text[: max(index, 1)]
    return text


def wrap_units(units: Sequence[str], room: int) -> list[str]:
    """`units` joined by spaces into lines at most `room` cells wide, breaking between units; a unit
    wider than a line is cut where it must be (Chinese text has no spaces to break at)."""
    lines: list[str] = []
    line = ""
    for unit in units:
        joined = f"{line} {unit}" if line else unit
        if cell_width(joined) <= room:
            line = joined
            continue
        if line:
            lines.append(line)
        while cell_width(unit) > room:
            head = cells_prefix(unit, room)
            lines.append(head)
            unit = unit[len(head) :]
        line = unit
    lines.append(line)
    return lines


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
        self.rows: list[tuple[str, list[str]]] = []  # (label, the value's units: where a line may break)

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
            self.rows = []
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
        # The validity breaks after its arrow, never inside a date; the other values between words.
        start, arrow, end = text.valid.partition(" → ")
        valid = [start + " →", end] if arrow else [text.valid]
        self.rows = [
            (self.labels["holder"], text.holder.split(" ")),
            (self.labels["org"], text.org.split(" ")),
            (self.labels["valid"], valid),
            (self.labels["pass_id"], [text.pass_id]),
            (self.labels["occupants"], [text.occupants]),
            (self.labels["checkpoints"], text.checkpoints.split(" ")),
            (self.labels["office"], text.office.split(" ")),
        ]
        self.show_fields()

    def show_fields(self) -> None:
        """The fields, each value wrapped under itself so that no line is wider than the card."""
        fields = self.query_one("#card-fields", Static)
        if not self.rows:
            fields.update(Content(""))
            return
        width = max(cell_width(label) for label, _ in self.rows) + 2
        room = self.content_size.width - width  # 0 or less until the card is laid out
        lines = []
        for label, units in self.rows:
            parts = wrap_units(units, room) if room > 0 else [" ".join(units)]
            lines.append(label + " " * (width - cell_width(label)) + parts[0])
            lines.extend(" " * width + part for part in parts[1:])
        fields.update(plain_lines(lines))

    def on_resize(self) -> None:
        self.show_fields()
