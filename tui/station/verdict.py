"""The verdict panel: a huge ALLOW or DENY in theme colours, the reason in words, the plate in large
type, and the pass fields. It shows what `policy.decide` said after the entry was logged; it never
decides anything itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from checkpoint.models import Category, Direction, Reason
from checkpoint.plates import display_plate
from checkpoint.temperature import format_tenths
from checkpoint.text import cell_width, clean
from checkpoint.timeutil import fmt_local

from ..i18n import Translator
from ..safe import plain

# A 5-pixel-high block font for the English verdict words; drawn with half blocks (3 rows) when the
# panel is narrow, with full blocks two columns per pixel (5 rows) when it is wide.
_FONT: dict[str, tuple[str, ...]] = {
    "A": (".##.", "#..#", "####", "#..#", "#..#"),
    "C": (".###", "#...", "#...", "#...", ".###"),
    "D": ("###.", "#..#", "#..#", "#..#", "###."),
    "E": ("####", "#...", "###.", "#...", "####"),
    "H": ("#..#", "#..#", "####", "#..#", "#..#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "K": ("#..#", "#.#.", "##..", "#.#.", "#..#"),
    "L": ("#...", "#...", "#...", "#...", "####"),
    "N": ("#..#", "##.#", "#.##", "#..#", "#..#"),
    "O": (".##.", "#..#", "#..#", "#..#", ".##."),
    "V": ("#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#.#.#", "##.##", "#...#"),
    "Y": ("#...#", ".#.#.", "..#..", "..#..", "..#.."),
    " ": ("..", "..", "..", "..", ".."),
}


def _pixels(word: str) -> list[str]:
    rows = ["", "", "", "", ""]
    for index, letter in enumerate(word):
        glyph = _FONT[letter]
        for r in range(5):
            rows[r] += ("." if index else "") + glyph[r]
    return rows


_HALF = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
MIN_GLYPH_PX = 10  # below this a Chinese glyph is no longer legible: spaced-out text instead


def is_latin(word: str) -> bool:
    """True when the block font above can draw `word` (the English verdict words)."""
    return bool(word) and all(ch in _FONT for ch in word)


@lru_cache(maxsize=64)
def _glyph_rows(word: str, px: int) -> tuple[str, ...]:
    """`word` drawn from the CJK font at `px` pixels, one bit per pixel ('#' ink, '.' paper): each glyph
    cropped to its ink left and right, one pixel apart."""
    from PIL import Image, ImageDraw, ImageFont

    from checkpoint.fonts import cjk_font

    font = ImageFont.truetype(str(cjk_font()), px)
    columns: list[str] = []
    for index, ch in enumerate(word):
        image = Image.new("1", (px + 2, px), 0)
        draw = ImageDraw.Draw(image)
        draw.fontmode = "1"  # no anti-aliasing: a pixel is ink or not
        draw.text((1, 0), ch, font=font, fill=1, anchor="lt")
        ink = ["".join("#" if image.getpixel((x, y)) else "." for y in range(px)) for x in range(px + 2)]
        while ink and "#" not in ink[0]:
            ink.pop(0)
        while ink and "#" not in ink[-1]:
            ink.pop()
        if not ink:  # a space or a glyph the font lacks
            ink = ["." * px] * (px // 3)
        if index:
            columns.append("." * px)
        columns.extend(ink)
    return tuple("".join(column[y] for column in columns) for y in range(px))


def cjk_big_text(word: str, width: int, height: int) -> str | None:
    """`word` (Chinese) in half-block characters from the CJK font, as large as fits `width` columns and
    `height` rows (two pixels a row); None when even the smallest legible size does not fit."""
    for px in range(height * 2 + 4, MIN_GLYPH_PX - 1, -1):
        try:
            rows = _glyph_rows(word, px)
        except OSError:  # no usable CJK font on this machine
            return None
        while rows and "#" not in rows[0]:
            rows = rows[1:]
        while rows and "#" not in rows[-1]:
            rows = rows[:-1]
        if not rows or len(rows[0]) > width or len(rows) > height * 2:
            continue
        if len(rows) % 2:
            rows = (*rows, "." * len(rows[0]))
        return "\n".join(
            "".join(_HALF[(a == "#", b == "#")] for a, b in zip(top, bottom, strict=True))
            for top, bottom in zip(rows[0::2], rows[1::2], strict=True)
        )
    return None


def big_text(word: str, width: int, height: int = 5) -> str:
    """`word` in large type that fits `width` columns and `height` rows (full blocks need 5, half
    blocks 3); Chinese is drawn from the CJK font (half blocks, 5 rows and more), else spaced out."""
    if word and not is_latin(word) and height >= MIN_GLYPH_PX // 2:
        drawn = cjk_big_text(word, width, height)
        if drawn is not None:
            return drawn
    if is_latin(word):
        rows = _pixels(word)
        if len(rows[0]) * 2 <= width and height >= 5:
            return "\n".join(row.replace("#", "██").replace(".", "  ") for row in rows)
        if len(rows[0]) <= width:
            pairs = [(rows[0], rows[1]), (rows[2], rows[3]), (rows[4], "." * len(rows[4]))]
            half = {("#", "#"): "█", ("#", "."): "▀", (".", "#"): "▄", (".", "."): " "}
            return "\n".join(
                "".join(half[(a, b)] for a, b in zip(top, bottom, strict=True)) for top, bottom in pairs
            )
    spaced = " ".join(word) if cell_width(word) * 2 <= width else word
    return f"\n{spaced}\n"


def _short(moment: datetime, tz: ZoneInfo) -> str:
    """A validity bound without the year (passes last weeks), so the line fits an 80-column screen."""
    return moment.astimezone(tz).strftime("%m-%d %H:%M")


class BigWord(Static):
    """A verdict word drawn in large type; re-laid out when the panel is resized."""

    DEFAULT_CSS = """
    BigWord { width: 1fr; height: 5; content-align: center middle; text-style: bold; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.word = ""

    def show_word(self, word: str) -> None:
        self.word = word
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(self.size.width - 2, 10) if self.size.width else 40
        height = self.size.height or 5
        self.update(Content(big_text(self.word, width, height)) if self.word else Content(""), layout=False)


@dataclass
class Shown:
    """What the panel shows: one logged entry (or a valid pass waiting for its checks)."""

    state: str  # "allow", "deny", "check", "idle", "error"
    reason: Reason | None = None
    denied_for: Reason | None = None
    warnings: tuple[Reason, ...] = ()
    plate: str | None = None
    category: Category | None = None
    holder: str | None = None
    org: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    occupants: int | None = None
    temperatures: tuple[int, ...] = ()
    fever_threshold: int = 373
    direction: Direction = Direction.IN
    code: str | None = None  # the scanned text, shown when it is not a pass
    note: str | None = None
    override_by: str | None = None
    override_reason: str | None = None
    at: datetime | None = None
    message: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class VerdictPanel(Vertical):
    """The big answer. CSS classes `allow`, `deny`, `check`, `idle`, `error` pick theme colours."""

    DEFAULT_CSS = """
    VerdictPanel { height: 1fr; padding: 0 1; border: heavy $panel; }
    VerdictPanel.allow { border: heavy $success; }
    VerdictPanel.allow BigWord { background: $success; color: $text; }
    VerdictPanel.deny { border: heavy $error; }
    VerdictPanel.deny BigWord { background: $error; color: $text; }
    VerdictPanel.check { border: heavy $warning; }
    VerdictPanel.check BigWord { background: $warning; color: $background; }
    VerdictPanel.error BigWord { background: $error-darken-2; }
    VerdictPanel.flash { background: $error 40%; }
    VerdictPanel.cjk BigWord { height: 8; }
    VerdictPanel #reason { text-style: bold; width: 1fr; height: 2; content-align: center middle; }
    VerdictPanel #plate { text-style: bold; width: 1fr; height: 1; content-align: center middle; color: $text; }
    VerdictPanel #fields { width: 1fr; height: 1fr; }
    """

    def __init__(self, t: Translator, tz: ZoneInfo, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.t = t
        self.tz = tz
        self.shown = Shown("idle")

    def compose(self) -> ComposeResult:
        yield BigWord(id="word")
        yield Static(id="reason")
        yield Static(id="plate")
        yield Static(id="fields")

    def on_mount(self) -> None:
        # Chinese verdict words are drawn from the CJK font and need more rows than the block letters.
        self.set_class(not is_latin(self.t("verdict.allow")), "cjk")
        self.show(Shown("idle"))

    def show(self, shown: Shown) -> None:
        self.shown = shown
        for name in ("allow", "deny", "check", "idle", "error"):
            self.set_class(shown.state == name, name)
        t = self.t
        word = {
            "allow": t("verdict.allow"),
            "deny": t("verdict.deny"),
            "check": t("station.word.check"),
            "error": t("station.word.error"),
        }.get(shown.state, "")
        self.query_one(BigWord).show_word(word)
        # Every part has a fixed height (CSS), so a new verdict is a redraw of this panel only, with
        # no layout pass of the whole screen.
        self.query_one("#reason", Static).update(self._reason_line(shown), layout=False)
        plate = shown.plate
        self.query_one("#plate", Static).update(
            plain(" ".join(display_plate(plate)), limit=40) if plate else Content(""), layout=False
        )
        self.query_one("#fields", Static).update(self._fields(shown), layout=False)

    def say(self, message: str) -> None:
        """A sentence in place of the reason line (a typing mistake during the check). A warning the
        check carries (already inside) stays above it: staff can still act on it."""
        said = Content.styled(clean(message), "bold $error")
        shown = self.shown
        if shown.state == "check" and shown.warnings:
            said = Content("\n").join([self._warning_line(shown), said])
        self.query_one("#reason", Static).update(said, layout=False)

    def _warning_line(self, shown: Shown) -> Content:
        return Content.styled(
            "⚠ " + ", ".join(self.t(f"reason.{w.value}") for w in shown.warnings), "bold $error"
        )

    def _reason_line(self, shown: Shown) -> Content:
        t = self.t
        if shown.state == "idle":
            return plain(shown.message or t("station.idle"))
        if shown.state == "error":
            return Content("")  # the whole sentence is in the fields' room below, which holds it at 80×24
        if shown.state == "check":
            hint = Content(t("station.check_hint"))
            if not shown.warnings:
                return hint
            # A warning (warn mode: already inside) is shown while staff can still act on it.
            return Content("\n").join([self._warning_line(shown), hint])  # first: never cut
        assert shown.reason is not None
        text = t(f"reason.{shown.reason.value}")
        if shown.reason is Reason.OVERRIDE and shown.denied_for is not None:
            text = t("station.overrode", reason=t(f"reason.{shown.denied_for.value}"))
        if shown.warnings:
            text += "  ⚠ " + ", ".join(t(f"reason.{w.value}") for w in shown.warnings)
        return Content(text)

    def _fields(self, shown: Shown) -> Content:
        t = self.t
        if shown.state == "error":  # what went wrong and what to do (write on paper): never cut
            return Content.styled(clean(shown.message), "bold")
        rows: list[tuple[str, Content]] = []
        if shown.state != "idle":
            rows.append((t("field.direction"), Content(t(f"direction.{shown.direction.value}"))))
        if shown.category is not None:
            rows.append((t("field.category"), Content(t(f"category.{shown.category.value}"))))
        if shown.holder is not None:
            rows.append((t("field.holder"), plain(shown.holder, limit=40)))
        if shown.org is not None:
            rows.append((t("field.org"), plain(shown.org, limit=60)))
        if shown.valid_from is not None and shown.valid_until is not None:
            span = f"{_short(shown.valid_from, self.tz)} – {_short(shown.valid_until, self.tz)}"
            rows.append((t("station.validity"), Content(span)))
        if shown.occupants is not None:
            rows.append((t("field.occupants"), Content(str(shown.occupants))))
        if shown.temperatures:
            parts: list[Content] = []
            for reading in shown.temperatures:
                text = format_tenths(reading) + " °C"
                parts.append(
                    Content.styled(text, "bold $error") if reading >= shown.fever_threshold else Content(text)
                )
            rows.append((t("field.temperature"), Content("  ").join(parts)))
        if shown.override_by is not None:
            rows.append((t("field.supervisor"), plain(shown.override_by, limit=40)))
        if shown.override_reason is not None:
            rows.append((t("field.reason"), plain(shown.override_reason, limit=120)))
        if shown.note:
            rows.append((t("field.reason"), plain(shown.note, limit=120)))
        if shown.code is not None:
            rows.append((t("station.code"), plain(shown.code, limit=160)))
        if shown.at is not None:
            rows.append((t("field.time"), Content(fmt_local(shown.at, self.tz, seconds=True))))
        if not rows:
            return Content("")
        width = max(cell_width(label) for label, _ in rows)
        lines = [
            Content.assemble((label + " " * (width - cell_width(label)), "dim"), "  ", value)
            for label, value in rows
        ]
        region = self.query_one("#fields", Static).content_region
        if region.height and len(lines) > region.height:
            lines = self._compact(rows, region.width, region.height)
        return Content("\n").join(lines)

    def _compact(self, rows: list[tuple[str, Content]], width: int, height: int) -> list[Content]:
        """On a small screen: fields run on in lines ("label value · label value"), and if that is still
        too long the least needed ones go (direction is in the status line; organisation, validity,
        holder, category are on the pass) — an override's supervisor, reason and time always stay."""
        t = self.t
        optional = [t(key) for key in ("field.direction", "field.org", "station.validity", "field.holder")]
        optional.append(t("field.category"))
        while True:
            lines: list[Content] = []
            for label, value in rows:
                item = Content.assemble((label, "dim"), " ", value)
                if lines and lines[-1].cell_length + 3 + item.cell_length <= width:
                    lines[-1] = Content.assemble(lines[-1], " · ", item)
                else:
                    lines.append(item)
            if len(lines) <= height or not optional:
                return lines
            drop = optional.pop(0)
            rows = [row for row in rows if row[0] != drop]

    def on_resize(self) -> None:
        self.call_after_refresh(lambda: self.show(self.shown))
