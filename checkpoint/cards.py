"""Printable pass cards (fpdf2): one card per PDF, or an A4 sheet of four cards with cut marks.

A card is 100 × 140 mm: a colour band with the category in Chinese and English (emergency red,
official blue, medical green), the plate in large type, the QR (62 mm with its 4-module quiet zone,
drawn as vector rectangles), holder, organisation, validity, pass id, the checkpoints the pass is valid
for ("全部 all" when it names none) and the issuing office.

Holder and organisation are untrusted: they go through `clean()` and are printed as literal text;
a character no font has is printed as its code (`\\x1b`, `\\U0001f691`) so that nothing is
hidden. The pass-request validator asks this module (`unprintable`, `card_fits`) what a card can print
and how much its lines hold, with the same font metrics the card is laid out with: what it accepts, the
card prints whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .catalog import category_word
from .errors import CheckpointError
from .fonts import cjk_font
from .fsutil import describe_os_error
from .models import Category
from .plates import display_plate
from .registry import IssuedPass
from .text import clean
from .timeutil import fmt_local, zone

CARD_W = 100.0  # mm
CARD_H = 140.0
QR_SIZE = 62.0  # mm, quiet zone included (the code itself is about 55 mm)
A4 = (210.0, 297.0)
SHEET_X = (A4[0] - 2 * CARD_W) / 2  # 5 mm
SHEET_Y = (A4[1] - 2 * CARD_H) / 2  # 8.5 mm
CUT_MARK = 4.0
QUIET_ZONE = 4  # modules of white around the code
FIELD_GAP = 1.0  # mm between two fields: six of them (two wrapping) fit between the QR and the bottom band
LABEL_W = 27.0  # mm of a field's label
VALUE_W = CARD_W - 12 - LABEL_W  # mm of its value
SMALLEST = 5.5  # pt: a value that needs two lines is made this small before anything is cut
# The fields that may take two lines; the validator refuses what does not fit in them at SMALLEST.
FIELD_LINES = {"holder": 2, "org": 2, "checkpoints": 2}
MM_PER_PT = 25.4 / 72

CATEGORY_LABEL: dict[Category, tuple[str, str]] = {  # (Chinese, English): the catalog's one word each
    c: (category_word(c, "zh"), category_word(c, "en")) for c in Category
}
CATEGORY_RGB: dict[Category, tuple[int, int, int]] = {
    Category.EMERGENCY: (200, 30, 35),
    Category.OFFICIAL: (25, 80, 175),
    Category.MEDICAL: (20, 135, 70),
}
# A Latin font to pair with the CJK one (Droid Sans Fallback has no Latin letters or digits).
LATIN_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    ),
)


@dataclass(frozen=True)
class CardText:
    """What a card says, as printable strings (untrusted parts already cleaned)."""

    title: str
    category_zh: str
    category_en: str
    plate: str
    holder: str
    org: str
    valid: str
    pass_id: str
    office: str
    checkpoints: str
    occupants: str


def card_text(issued: IssuedPass, *, office: str, tz: str) -> CardText:
    d = issued.data
    zh, en = CATEGORY_LABEL[d.category]
    local = zone(tz)
    return CardText(
        title="车辆通行证  VEHICLE PASS",
        category_zh=zh,
        category_en=en,
        plate=display_plate(d.plate),
        holder=clean(d.holder),
        org=clean(d.org),
        valid=f"{fmt_local(d.valid_from, local)} → {fmt_local(d.valid_until, local)}",
        pass_id=d.pass_id,
        office=clean(office, limit=60),
        checkpoints=", ".join(d.checkpoints) if d.checkpoints else "全部 all",
        occupants=str(d.max_occupants),
    )


@cache
def _latin_fonts() -> tuple[str, str] | None:
    for regular, bold in LATIN_CANDIDATES:
        if Path(regular).is_file():
            return regular, bold if Path(bold).is_file() else regular
    return None


@cache
def _advances(path: str) -> dict[int, float]:
    """Each character's advance width in em (the same widths fpdf2 lays the text out with)."""
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        metrics = font["hmtx"].metrics
        per_em = float(font["head"].unitsPerEm)
        return {code: metrics[glyph][0] / per_em for code, glyph in font.getBestCmap().items()}


# Stand-ins for typographic characters when no font at hand has them.
_SUBSTITUTES = {"→": "->", "≤": "<=", "…": "...", "—": "-", "·": "."}
# What fpdf2's built-in Helvetica can print (Latin-1), the fallback when no Latin TrueType font is installed.
_CORE_POINTS = frozenset(range(0x20, 0x7F)) | frozenset(range(0xA0, 0x100))


@dataclass(frozen=True)
class Metrics:
    """The card's fonts: which characters each has, and how wide they are (em)."""

    cjk: dict[int, float]
    latin: dict[int, float]
    latin_bold: dict[int, float]

    def has(self, ch: str) -> bool:
        return ord(ch) in self.latin or ord(ch) in self.cjk

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Width in mm at `size` pt: each character in the font the card draws it with."""
        latin = self.latin_bold if bold else self.latin
        em = 0.0
        for ch in text:
            code = ord(ch)
            em += latin[code] if code in latin else self.cjk.get(code, 1.0)
        return em * size * MM_PER_PT


def metrics() -> Metrics:
    """The metrics of the fonts cards are printed with. Raises CheckpointError when there is no CJK font."""
    return _metrics(str(cjk_font()), _latin_fonts())


@cache
def _metrics(cjk_path: str, latin: tuple[str, str] | None) -> Metrics:
    cjk = _advances(cjk_path)
    if latin is None:
        from fpdf.fonts import CORE_FONTS_CHARWIDTHS

        def core(name: str) -> dict[int, float]:
            widths = CORE_FONTS_CHARWIDTHS[name]
            return {code: widths[chr(code)] / 1000 for code in _CORE_POINTS if chr(code) in widths}

        return Metrics(cjk, core("helvetica"), core("helveticaB"))
    regular, bold = _advances(latin[0]), _advances(latin[1])
    both = regular.keys() & bold.keys()
    return Metrics(cjk, {c: regular[c] for c in both}, {c: bold[c] for c in both})


def printable(text: str, fonts: Metrics | None = None) -> str:
    """`text` as the card prints it: a character no font has becomes a stand-in or its code."""
    fonts = fonts or metrics()
    out = []
    for ch in clean(text):
        code = ord(ch)
        if fonts.has(ch) or ch == " ":
            out.append(ch)
        elif ch in _SUBSTITUTES:
            out.append(_SUBSTITUTES[ch])
        elif 0x2400 <= code < 0x2420:  # a control picture from clean(): print the control's code
            out.append(f"\\x{code - 0x2400:02x}")
        elif code == 0x2421:
            out.append("\\x7f")
        elif code > 0xFFFF:
            out.append(f"\\U{code:08x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def wrap(text: str, width: float, size: float, fonts: Metrics) -> list[str]:
    """`text` in lines no wider than `width` mm at `size` pt (broken between characters, no hyphens)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and fonts.width(line + ch, size) > width:
            lines.append(line)
            line = ""
        line += ch
    if line or not lines:
        lines.append(line)
    return lines


def unprintable(text: str) -> list[str]:
    """The characters of `text` that no font of the card has (emoji: 🚑 🏥), each once.

    Without a CJK font nothing can be said (and no card printed): then nothing is refused here.
    """
    try:
        fonts = metrics()
    except CheckpointError:
        return []
    missing = [ch for ch in text if ch != " " and ch not in _SUBSTITUTES and not fonts.has(ch)]
    return list(dict.fromkeys(missing))


def card_fits(name: str, text: str) -> bool:
    """Whether the card prints `text` whole in field `name` (holder, org, checkpoints): in its lines at
    the smallest size the card uses. True when the fonts are missing (nothing can be measured)."""
    try:
        fonts = metrics()
    except CheckpointError:
        return True
    return len(wrap(printable(text, fonts), VALUE_W, SMALLEST, fonts)) <= FIELD_LINES[name]


class CardWriter:
    """Draws cards into one fpdf2 document (single-card pages or A4 sheets)."""

    def __init__(self, *, office: str, tz: str, sheet: bool) -> None:
        from fpdf import FPDF

        self.office = office
        self.tz = tz
        self.sheet = sheet
        self.pdf: Any = FPDF(unit="mm", format=A4 if sheet else (CARD_W, CARD_H))
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margin(0)
        self.pdf.set_creator("checkpoint")
        self.pdf.set_title("通行证 pass cards" if sheet else "通行证 pass card")
        self.metrics = metrics()
        latin = _latin_fonts()
        self.pdf.add_font("cjk", "", str(cjk_font()))
        if latin is not None:
            self.pdf.add_font("latin", "", latin[0])
            self.pdf.add_font("latin", "B", latin[1])
            self.latin_family = "latin"
        else:  # Droid Sans Fallback has no Latin glyphs: use the PDF's own Helvetica for them
            self.latin_family = "helvetica"
        self.latin_points = frozenset(self.metrics.latin)
        self.size = 10.0
        self.bold = False
        self.slot = 0

    def printable(self, text: str) -> str:
        return printable(text, self.metrics)

    # -- layout helpers -------------------------------------------------------------------------
    def _font(self, size: float, bold: bool = False) -> None:
        self.size = size
        self.bold = bold

    def _runs(self, text: str) -> list[tuple[str, str]]:
        """Split text into (family, run): Latin-font characters and the rest (CJK font)."""
        runs: list[tuple[str, str]] = []
        for ch in text:
            family = "latin" if ord(ch) in self.latin_points else "cjk"
            if runs and runs[-1][0] == family:
                runs[-1] = (family, runs[-1][1] + ch)
            else:
                runs.append((family, ch))
        return runs

    def _set(self, family: str) -> None:
        if family == "latin":
            self.pdf.set_font(self.latin_family, "B" if self.bold else "", self.size)
        else:
            self.pdf.set_font("cjk", "", self.size)

    def _width(self, text: str) -> float:
        """Width in mm at the current size, from the fonts' own advance widths (fpdf2 does not kern)."""
        return self.metrics.width(text, self.size, self.bold)

    def _text(self, x: float, y: float, text: str) -> None:
        """Draw `text` with its baseline at y, each run in the font that has its glyphs."""
        for family, run in self._runs(text):
            self._set(family)
            if self.bold and family == "cjk":  # the CJK font has no bold face: stroke the outline too
                with self.pdf.local_context(
                    text_mode="FILL_STROKE", line_width=self.size * 0.012, draw_color=self.pdf.text_color
                ):
                    self.pdf.text(x, y, run)
            else:
                self.pdf.text(x, y, run)
            x += self.pdf.get_string_width(run)

    def _fit(self, text: str, width: float, size: float, minimum: float, bold: bool = False) -> float:
        """The largest font size ≤ `size` (down to `minimum`) at which `text` fits in `width` mm."""
        while size > minimum:
            self._font(size, bold)
            if self._width(text) <= width:
                return size
            size -= 0.5
        self._font(minimum, bold)
        return minimum

    def _centre(self, x: float, y: float, w: float, text: str, size: float, bold: bool = False) -> None:
        self._fit(text, w - 4, size, 5, bold)
        self._text(x + (w - self._width(text)) / 2, y, text)

    def _field(self, x: float, y: float, label: str, value: str, *, max_lines: int = 1) -> float:
        """A label in grey and its value beside it; returns the y of the next field."""
        pdf = self.pdf
        label_w, value_w = LABEL_W, VALUE_W
        pdf.set_text_color(90, 90, 90)
        self._font(6.5)
        self._text(x, y, label)
        pdf.set_text_color(0, 0, 0)
        size = self._fit(value, value_w, 9, 7)
        lines = wrap(value, value_w, size, self.metrics)
        for smaller in (6.0, SMALLEST):  # two lines at a smaller size before anything is cut
            if len(lines) <= max_lines:
                break
            size = smaller
            self._font(size)
            lines = wrap(value, value_w, size, self.metrics)
        if len(lines) > max_lines:  # only a value the validator never saw (it refuses what does not fit)
            ellipsis = self.printable("…")
            lines = [*lines[: max_lines - 1], "".join(lines[max_lines - 1 :])]
            lines[-1] = lines[-1][: max(len(lines[-1]) - 1, 0)]
            while lines[-1] and self._width(lines[-1] + ellipsis) > value_w:
                lines[-1] = lines[-1][:-1]
            lines[-1] += ellipsis
        step = size * 0.3528 + 1.0
        for index, line in enumerate(lines):
            self._text(x + label_w, y + index * step, line)
        return y + max(len(lines), 1) * step + FIELD_GAP

    def _qr(self, matrix: Sequence[Sequence[bool]], x: float, y: float, size: float) -> None:
        """The code as filled rectangles, one per horizontal run of dark modules (quiet zone is white).

        The rectangles go into the page as one path of `re` operators and a single fill: a card has
        hundreds of them, and fpdf2's `rect()` costs ~50 µs each.
        """
        pdf = self.pdf
        module = size / len(matrix)
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, size, size, style="F")
        k, page_h = pdf.k, pdf.h
        ops = ["q 0 g"]
        for row_index, row in enumerate(matrix):
            top = y + row_index * module
            start = -1
            for col, dark in enumerate([*row, False]):
                if dark and start < 0:
                    start = col
                elif not dark and start >= 0:
                    # A hair of overlap keeps anti-aliasing seams out of the raster.
                    left, width = x + start * module, (col - start) * module + 0.02
                    ops.append(
                        f"{left * k:.3f} {(page_h - top) * k:.3f} {width * k:.3f} {-(module + 0.02) * k:.3f} re"
                    )
                    start = -1
        ops.append("f Q")
        pdf._out("\n".join(ops))

    # -- one card -------------------------------------------------------------------------------
    def card(self, issued: IssuedPass, matrix: Sequence[Sequence[bool]] | None = None) -> None:
        if self.sheet:
            if self.slot % 4 == 0:
                self.pdf.add_page()
                self._cut_marks()
            col, row = self.slot % 2, (self.slot // 2) % 2
            x0, y0 = SHEET_X + col * CARD_W, SHEET_Y + row * CARD_H
        else:
            self.pdf.add_page()
            x0, y0 = 0.0, 0.0
        self.slot += 1
        if matrix is None:
            matrix = fast_matrix(issued.payload)
        text = card_text(issued, office=self.office, tz=self.tz)
        p = self.printable
        pdf = self.pdf
        rgb = CATEGORY_RGB[issued.data.category]

        # Thin outline of the card (helps cutting; on the single card it is the page edge).
        pdf.set_draw_color(170, 170, 170)
        pdf.set_line_width(0.2)
        pdf.rect(x0 + 0.1, y0 + 0.1, CARD_W - 0.2, CARD_H - 0.2)

        # Colour band: category in Chinese and English, and the title.
        pdf.set_fill_color(*rgb)
        pdf.rect(x0, y0, CARD_W, 21, style="F")
        pdf.set_text_color(255, 255, 255)
        self._centre(x0, y0 + 10.5, CARD_W, p(text.category_zh), 22, bold=True)
        self._centre(x0, y0 + 17.5, CARD_W, p(f"{text.category_en}  ·  {text.title}"), 9)

        # Plate, large.
        pdf.set_text_color(0, 0, 0)
        self._centre(x0, y0 + 34, CARD_W, p(text.plate), 34, bold=True)

        # The QR, centred.
        self._qr(matrix, x0 + (CARD_W - QR_SIZE) / 2, y0 + 37, QR_SIZE)

        # Fields.
        x = x0 + 6
        y = y0 + 37 + QR_SIZE + 3.5
        y = self._field(x, y, p("持证人 Holder"), p(text.holder), max_lines=2)
        y = self._field(x, y, p("单位 Organisation"), p(text.org), max_lines=2)
        y = self._field(x, y, p("有效期 Valid"), p(text.valid))
        y = self._field(
            x, y, p("通行证号 Pass"), p(f"{text.pass_id}    乘车人数 occupants ≤ {text.occupants}")
        )
        y = self._field(x, y, p("适用卡口 Checkpoints"), p(text.checkpoints), max_lines=2)
        self._field(x, y, p("发证单位 Office"), p(text.office))

        # Bottom band in the category colour.
        pdf.set_fill_color(*rgb)
        pdf.rect(x0, y0 + CARD_H - 4, CARD_W, 4, style="F")

    def _cut_marks(self) -> None:
        """Short lines in the page margin where the guillotine cuts (card edges, never across a card)."""
        pdf = self.pdf
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.25)
        for i in range(3):
            x = SHEET_X + i * CARD_W
            pdf.line(x, SHEET_Y - CUT_MARK - 1, x, SHEET_Y - 1)
            pdf.line(x, A4[1] - SHEET_Y + 1, x, A4[1] - SHEET_Y + CUT_MARK + 1)
            y = SHEET_Y + i * CARD_H
            pdf.line(0.5, y, SHEET_X - 1, y)
            pdf.line(A4[0] - SHEET_X + 1, y, A4[0] - 0.5, y)

    def save(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.pdf.output(str(path))
        except OSError as exc:
            raise CheckpointError(describe_os_error(exc, path)) from exc


def write_card(issued: IssuedPass, path: Path, *, office: str, tz: str) -> None:
    """One pass card (100 × 140 mm page) as a PDF."""
    writer = CardWriter(office=office, tz=tz, sheet=False)
    writer.card(issued)
    writer.save(path)


def write_sheet(
    passes: Sequence[IssuedPass],
    path: Path,
    *,
    office: str,
    tz: str,
    matrices: Sequence[Sequence[Sequence[bool]]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """A4 sheets of four cards each, with cut marks. `matrices` (QR modules per pass) saves recomputing."""
    if not passes:
        raise CheckpointError("There are no passes to print on a sheet.")
    writer = CardWriter(office=office, tz=tz, sheet=True)
    for index, issued in enumerate(passes):
        writer.card(issued, None if matrices is None else matrices[index])
        if progress is not None:
            progress(index + 1, len(passes))
    writer.save(path)


def fast_matrix(text: str) -> list[list[bool]]:
    """The QR modules of a pass (level Q, alphanumeric mode, 4-module quiet zone included).

    Encoded by zxing-cpp (C++, about a millisecond) when it is installed; otherwise by
    `qrimage.qr_matrix` (pure Python qrcode, which spends ~0.1 s choosing the mask).
    """
    zxing: Any
    try:
        import zxingcpp as zxing
    except ImportError:  # pragma: no cover - zxing-cpp is a pinned dependency
        zxing = None
    if zxing is not None:
        code = zxing.create_barcode(text, zxing.BarcodeFormat.QRCode, ec_level="Q")
        image: Any = code.to_image(scale=1, add_quiet_zones=True)
        view = memoryview(image)
        rows, cols = view.shape or (0, 0)
        raw = view.tobytes()
        matrix = [[raw[r * cols + c] < 128 for c in range(cols)] for r in range(rows)]
        margin = min(next((c for c, dark in enumerate(row) if dark), cols) for row in matrix)
        if rows == cols and margin == QUIET_ZONE:
            return matrix
    from .qrimage import qr_matrix

    return qr_matrix(text)


def matrix_png(matrix: Sequence[Sequence[bool]], path: Path, *, box_size: int = 8) -> None:
    """The QR as a PNG from its modules (same image as `qrimage.write_png`, without re-encoding)."""
    from PIL import Image

    n = len(matrix)
    image = Image.new("1", (n, n), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((n * box_size, n * box_size), Image.Resampling.NEAREST)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(path), optimize=False)
    except OSError as exc:
        raise CheckpointError(describe_os_error(exc, path)) from exc
