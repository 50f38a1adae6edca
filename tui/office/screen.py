"""The office screens: the pass list (search, filters), the issue form with its card preview, a pass's
detail. Modals (revoke, renew, export, key rotation) are in `office_forms.py`.

Every value from the register or typed by a person reaches a widget through `tui.safe`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast
from zoneinfo import ZoneInfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Label, Select, Static

from checkpoint.cards import CardText, card_text, fast_matrix
from checkpoint.desk import STATUSES, Renewed, Revoked
from checkpoint.errors import CheckpointError
from checkpoint.models import Category
from checkpoint.pass_request import Checked, shown_plate
from checkpoint.plates import display_plate
from checkpoint.registry import IssuedPass
from checkpoint.text import cell_width, clean
from checkpoint.timeutil import fmt_local

from ..i18n import Translator
from ..safe import cell, plain
from ..widgets.key_footer import MarkedFooter
from .card import CardPreview, plain_lines

if TYPE_CHECKING:
    from .app import OfficeApp

MAX_ROWS = 300  # rows on screen at once; the search and filters narrow a longer list
SEARCH_DELAY = 0.25  # seconds of quiet typing before the list is rebuilt
SCROLLBAR = 2  # cells the list's vertical scrollbar takes
MIN_ORG = 10  # narrower than this, the organisation column is dropped
FORM_FIELDS = ("plate", "category", "holder", "org", "valid_from", "valid_until", "checkpoints", "occupants")
FORM_DEFAULTS = {name: "5" if name == "occupants" else "" for name in FORM_FIELDS}


def list_columns(width: int, category: int, status: int) -> list[tuple[str, int]]:
    """The pass list's columns and their widths for a table `width` cells wide.

    `category` and `status` are the widest labels in the screen's language. Pass id, plate and valid-until
    keep their width; when the row does not fit, the organisation goes first, then the holder, category
    and status narrow (down to a floor each).
    """
    fixed = {"pass_id": 8, "plate": 10, "valid_until": 16}
    wants = {"category": category, "status": status}
    floors = {"holder": 8, "category": 8, "status": 8}

    def room(keys: tuple[str, ...]) -> int:  # cells left for holder (and org): each column pads 1 + 1
        return width - SCROLLBAR - 2 * len(keys) - sum(fixed.values()) - sum(wants.values())

    keys: tuple[str, ...] = ("pass_id", "plate", "category", "holder", "org", "valid_until", "status")
    left = room(keys)
    if left >= 2 * MIN_ORG:  # holder and organisation share what is left, the organisation gets more
        holder = min(max(left * 2 // 5, MIN_ORG), 16)
        widths = {**fixed, **wants, "holder": holder, "org": min(left - holder, 24)}
    else:
        keys = tuple(k for k in keys if k != "org")
        left = room(keys)
        short = max(floors["holder"] - left, 0)  # what category and status give up so the holder fits
        for key in ("category", "status"):
            give = min(short, wants[key] - floors[key])
            wants[key] -= give
            short -= give
        widths = {**fixed, **wants, "holder": min(max(room(keys), floors["holder"]), 16)}
    return [(key, widths[key]) for key in keys]


def translate_office_bindings(node: DOMNode, t: Translator) -> None:
    """Give `node`'s key bindings the catalog's descriptions (`office.key.<action>`)."""
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=t(f"office.key.{b.action}")) if t.has(f"office.key.{b.action}") else b
            for b in bindings
        ]


def status_text(t: Translator, status: str) -> str:
    return t("status.expiring") if status == "expiring" else t(f"status.{status}")


def short_when(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """A local time for the card preview: without the year when it is this year (`02-17 12:00`)."""
    local = moment.astimezone(tz)
    return local.strftime("%m-%d %H:%M" if local.year == now.astimezone(tz).year else "%Y-%m-%d %H:%M")


def card_labels(t: Translator) -> dict[str, str]:
    return {
        "holder": t("field.holder"),
        "org": t("field.org"),
        "valid": t("office.card.valid"),
        "pass_id": t("field.pass_id"),
        "occupants": t("field.occupants"),
        "checkpoints": t("field.checkpoints"),
        "office": t("office.card.office"),
        "no_qr": t("office.card.no_qr"),
    }


class PassListScreen(Screen[None]):
    """Every pass the office issued, newest first; search and filters; the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "issue", "Issue"),
        Binding("f3", "search", "Search"),
        Binding("enter", "detail", "Detail", show=False),
        Binding("f4", "revoke", "Revoke"),
        Binding("f4", "revoke_revoked", show=False),  # F4 and F5 on a revoked pass: say why not (see below)
        Binding("f5", "renew", "Renew"),
        Binding("f5", "renew_revoked", show=False),
        Binding("f6", "export", "Export"),
        Binding("f7", "rotate", "New key"),
        Binding("f8", "batch", "Batch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.passes: dict[str, IssuedPass] = {}
        self.columns: list[tuple[str, int]] = []
        self._debounce: Timer | None = None

    @property
    def office(self) -> OfficeApp:
        return cast("OfficeApp", self.app)

    def compose(self) -> ComposeResult:
        t = self.office.t
        translate_office_bindings(self, t)
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder=t("office.list.search"), id="search")
            yield Select(
                [(t(f"category.{c.value}"), c.value) for c in Category],
                prompt=t("office.list.any_category"),
                id="category",
            )
            yield Select(
                [(status_text(t, s), s) for s in STATUSES], prompt=t("office.list.any_status"), id="status"
            )
        table: DataTable[Content] = DataTable(id="passes", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(Content(""), id="summary")
        yield MarkedFooter()

    def on_mount(self) -> None:
        self.set_columns(self.size.width)
        self.query_one("#passes", DataTable).focus()

    def on_resize(self) -> None:
        self.set_columns(self.size.width)

    def set_columns(self, width: int) -> None:
        """Lay the list's columns out for this width (the organisation goes first when it is narrow)."""
        t = self.office.t
        category = max(cell_width(t(f"category.{c.value}")) for c in Category)
        status = max(cell_width(status_text(t, s)) for s in STATUSES)
        layout = list_columns(width, category, status)
        if layout == self.columns:
            return
        self.columns = layout
        labels = {
            "pass_id": t("field.pass_id"),
            "plate": t("field.plate"),
            "category": t("field.category"),
            "holder": t("field.holder"),
            "org": t("field.org"),
            "valid_until": t("field.valid_until"),
            "status": t("office.list.status"),
        }
        table = self.query_one("#passes", DataTable)
        table.clear(columns=True)
        for key, cells in layout:
            table.add_column(labels[key], key=key, width=cells)
        self.refresh_list()

    def on_screen_resume(self) -> None:
        self.set_columns(self.size.width)  # the terminal may have been resized under another screen
        self.refresh_list()

    def refresh_list(self, select: str | None = None) -> None:
        t = self.office.t
        desk = self.office.desk
        category = self.query_one("#category", Select).value
        status = self.query_one("#status", Select).value
        found = desk.find(
            search=self.query_one("#search", Input).value,
            category=None if category == Select.NULL else Category(str(category)),
            status=None if status == Select.NULL else str(status),
            limit=MAX_ROWS,
        )
        table = self.query_one("#passes", DataTable)
        current = select or self.selected_id()
        table.clear()
        self.passes = {}
        for issued in found.passes:
            d = issued.data
            state = desk.status(issued)
            self.passes[d.pass_id] = issued
            cells = {
                "pass_id": d.pass_id,
                "plate": display_plate(d.plate),
                "category": t(f"category.{d.category.value}"),
                "holder": d.holder,
                "org": d.org,
                "valid_until": fmt_local(d.valid_until, self.office.tz),
                "status": status_text(t, state),
            }
            table.add_row(*(cell(cells[key]) for key, _ in self.columns), key=d.pass_id)
        shown, matched = len(found.passes), found.matched
        key = "office.list.summary" if matched == shown else "office.list.summary_capped"
        self.query_one("#summary", Static).update(
            plain(t(key, shown=shown, matched=matched, total=found.total))
        )
        if current is not None and current in self.passes:
            table.move_cursor(row=table.get_row_index(current))

    def selected_id(self) -> str | None:
        table = self.query_one("#passes", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:
            return None
        return None if key.value is None else str(key.value)

    def selected(self) -> IssuedPass | None:
        pass_id = self.selected_id()
        return None if pass_id is None else self.passes.get(pass_id)

    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        # Wait for a pause in typing: rebuilding a long list on every key would lag.
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(SEARCH_DELAY, self.refresh_list)

    @on(Select.Changed)
    def _filters_changed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.refresh_list()
        self.query_one("#passes", DataTable).focus()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.action_detail()

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.refresh_bindings()  # revoke / renew are greyed on a revoked pass

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("revoke_revoked", "renew_revoked"):
            issued = self.selected() if self.is_mounted else None
            return issued is not None and issued.revoked_at is not None
        if action in ("detail", "revoke", "renew"):
            issued = self.selected() if self.is_mounted else None
            if issued is None:
                return None
            if action in ("revoke", "renew") and issued.revoked_at is not None:
                return None
        return True

    # F4 and F5 are greyed on a revoked pass, and pressing one says why: Textual tries a key's bindings in
    # order, so the hidden second binding of each runs when the first is disabled (and only then).
    def action_revoke_revoked(self) -> None:
        issued = self.selected()
        if issued is not None:
            explain_revoked(self.office, issued, "revoke")

    def action_renew_revoked(self) -> None:
        issued = self.selected()
        if issued is not None:
            explain_revoked(self.office, issued, "renew")

    def action_issue(self) -> None:
        self.app.push_screen(IssueScreen())

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_detail(self) -> None:
        issued = self.selected()
        if issued is not None:
            self.app.push_screen(PassDetailScreen(issued.data.pass_id))

    def action_revoke(self) -> None:
        issued = self.selected()
        if issued is not None:
            start_revoke(self.office, issued, self.refresh_list)

    def action_renew(self) -> None:
        issued = self.selected()
        if issued is not None:
            start_renew(self.office, issued, lambda new_id: self.refresh_list(select=new_id))

    def action_export(self) -> None:
        from .forms import ExportScreen

        self.app.push_screen(ExportScreen(self.office.home.exports))

    def action_rotate(self) -> None:
        from .forms import RotateScreen

        self.app.push_screen(RotateScreen())

    def action_batch(self) -> None:
        from .forms import BatchScreen

        stamp = self.office.clock().astimezone(self.office.tz).strftime("%Y%m%d-%H%M")

        def finished(_: object) -> None:
            self.refresh_list()

        self.app.push_screen(BatchScreen(self.office.home.exports / f"batch-{stamp}"), finished)


def explain_revoked(app: OfficeApp, issued: IssuedPass, action: str) -> None:
    """One sentence on why a revoked pass can be neither revoked nor renewed (and what to do instead)."""
    text = app.t(
        f"office.{action}.revoked",
        pass_id=issued.data.pass_id,
        at=fmt_local(issued.revoked_at, app.tz) if issued.revoked_at else "",
        reason=clean(issued.revoke_reason or ""),
    )
    app.notify(text, severity="warning", markup=False, timeout=8)


def start_revoke(app: OfficeApp, issued: IssuedPass, done: Callable[[], object]) -> None:
    """Ask for a reason behind a confirmation; the form revokes through the desk."""
    from .forms import RevokeScreen

    def finish(result: object) -> None:
        if isinstance(result, Revoked):
            app.notify(
                app.t("office.revoke.done", pass_id=result.issued.data.pass_id, seq=result.revocations.seq),
                markup=False,
                timeout=6,
            )
            done()

    app.push_screen(RevokeScreen(issued), finish)


def start_renew(app: OfficeApp, issued: IssuedPass, done: Callable[[str], object]) -> None:
    from .forms import RenewScreen

    def finish(result: object) -> None:
        if isinstance(result, Renewed):
            app.notify(
                app.t("office.renew.done", old=result.old.data.pass_id, new=result.new.data.pass_id),
                markup=False,
                timeout=6,
            )
            done(result.new.data.pass_id)

    app.push_screen(RenewScreen(issued), finish)


def save_card(app: OfficeApp, issued: IssuedPass, say: Callable[[str], object] | None = None) -> None:
    """The card (PDF, to print) and the QR (PNG, to send to a phone) into `<home>/exports`, by the desk.

    Where the files went is told by `say` (the issue form's own line) or else by a notification."""
    try:
        files = app.desk.save_card(issued)
    except CheckpointError as exc:
        app.report_error(exc)
        return
    assert files.pdf is not None and files.png is not None
    text = app.t("office.detail.saved", pdf=str(files.pdf), png=files.png.name)
    if say is None:
        app.notify(text, markup=False, timeout=8)
    else:
        say(text)


class IssueScreen(Screen[None]):
    """The issue form, validated field by field, with a live preview of the card."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Issue", priority=True),
        Binding("f9", "save_card", "Save card"),
        Binding("escape", "back", "Back"),
    ]

    last: IssuedPass | None = None
    issued_values: dict[str, str] | None = None

    def __init__(self) -> None:
        super().__init__()
        self.flagged: set[str] = set()  # the fields whose red note is shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_card" and self.last is None:
            return None
        return True

    def action_save_card(self) -> None:
        if self.last is not None:
            save_card(self.office, self.last, self.say)

    @property
    def office(self) -> OfficeApp:
        return cast("OfficeApp", self.app)

    def compose(self) -> ComposeResult:
        t = self.office.t
        translate_office_bindings(self, t)
        yield Header()
        with Horizontal(id="issue"):
            with VerticalScroll(id="form"):
                yield Label(t("office.form.heading"), classes="heading")
                for name in FORM_FIELDS:
                    with Horizontal(classes="field"):
                        yield Label(t(f"office.form.{name}"), classes="field-label")
                        if name == "category":
                            yield Select(
                                [(t(f"category.{c.value}"), c.value) for c in Category],
                                prompt=t("office.form.choose"),
                                id="f-category",
                                compact=True,
                            )
                        else:
                            yield Input(
                                value="5" if name == "occupants" else "",
                                placeholder=t(f"office.form.{name}_hint"),
                                id=f"f-{name}",
                                compact=True,
                            )
                    yield Static(Content(""), id=f"e-{name}", classes="field-error")
                # Under the form, not under the card: the card's QR fills the screen's height.
                yield Static(Content(""), id="issued-note")
            with VerticalScroll(id="preview-side"):
                yield CardPreview(card_labels(t), t("office.card.placeholder"), id="preview")
        yield MarkedFooter()

    def on_mount(self) -> None:
        self.query_one("#f-plate", Input).focus()
        self.update_preview()

    def values(self) -> dict[str, str]:
        values = {
            name: self.query_one(f"#f-{name}", Input).value for name in FORM_FIELDS if name != "category"
        }
        category = self.query_one("#f-category", Select).value
        values["category"] = "" if category == Select.NULL else str(category)
        return values

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        # One check per change: the notes and the preview are built from the same result.
        checked = self.office.desk.check(self.values())
        self.refresh_errors(checked)
        self.update_preview(checked)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        self.focus_next()

    def update_preview(self, checked: Checked | None = None) -> None:
        """The card as the form stands: each field that is right as the pass will have it (even while
        another is still wrong), what is typed for one that is not."""
        t = self.office.t
        values = self.values()
        if self.last is not None and values == self.issued_values:
            return  # the issued card (with its QR) stays until the form changes
        if checked is None:
            checked = self.office.desk.check(values)
        valid = "—"
        if checked.valid_from is not None and checked.valid_until is not None:
            # Short enough for the card's width (CardPreview wraps what still is not).
            now, tz = self.office.clock(), self.office.tz
            valid = f"{short_when(checked.valid_from, tz, now)} → {short_when(checked.valid_until, tz, now)}"
        if checked.checkpoints is None:
            checkpoints = clean(values["checkpoints"].strip())
        else:
            checkpoints = ", ".join(checked.checkpoints) or t("checkpoints.all")
        category = checked.category
        text = CardText(
            title="",
            category_zh=t(f"category.{category.value}") if category is not None else t("office.form.choose"),
            category_en="",
            plate=shown_plate(checked) or "—",
            holder=clean(values["holder"]),
            org=clean(values["org"]),
            valid=valid,
            pass_id=t("office.card.new_id"),
            office=clean(self.office.settings.office.name),
            checkpoints=checkpoints,
            occupants=values["occupants"].strip(),
        )
        self.query_one(CardPreview).show(text, category, None)

    def show_errors(self, checked: Checked) -> None:
        """A red note under each bad field (on Ctrl+S)."""
        self.flagged = set(checked.errors)
        self.refresh_errors(checked)

    def refresh_errors(self, checked: Checked) -> None:
        """The notes shown follow their field as it changes: gone once it is right, reworded while it is
        wrong in another way. A field not yet flagged gets no note until Ctrl+S."""
        messages = checked.messages(self.office.t)
        for name in FORM_FIELDS:
            note = self.query_one(f"#e-{name}", Static)
            if name in self.flagged and name not in messages:
                self.flagged.discard(name)
            note.update(plain(messages[name] if name in self.flagged else ""))
            note.display = name in self.flagged

    def action_submit(self) -> None:
        t = self.office.t
        checked = self.office.desk.check(self.values())
        self.show_errors(checked)
        if checked.request is None:
            first = next(iter(checked.errors))
            self.query_one(f"#f-{first}").focus()
            self.notify(t("office.form.fix", count=len(checked.errors)), severity="error", markup=False)
            return
        # What happened is said on the form's own line, not in a toast: a toast would lie over the QR
        # that a phone may be scanning from the screen right now.
        try:
            done = self.office.desk.issue(checked.request)
        except CheckpointError as exc:
            self.office.report_error(exc)
            return
        self.show_issued(done.issued)
        plate = display_plate(done.issued.data.plate)
        key = "office.form.exists_note" if done.existing else "office.form.issued_note"
        self.say(t(key, pass_id=done.issued.data.pass_id, plate=plate), warning=done.existing)

    def say(self, text: str, *, warning: bool = False) -> None:
        """The form's status line, under the form (and above the card when they are stacked)."""
        note = self.query_one("#issued-note", Static)
        note.update(plain(text))
        note.set_class(warning, "-warning")

    def show_issued(self, issued: IssuedPass) -> None:
        self.last = issued
        self.issued_values = self.values()
        self.refresh_bindings()
        text = card_text(issued, office=self.office.settings.office.name, tz=self.office.settings.ui.timezone)
        text = replace(text, category_en=self.office.t(f"category.{issued.data.category.value}"))
        if self.office.t.lang == "zh":
            text = replace(text, category_en="")
        preview = self.query_one(CardPreview)
        preview.show(text, issued.data.category, fast_matrix(issued.payload))
        if self.has_class("-narrow"):  # the card is below the form: the status line on top, the QR after it
            note = self.query_one("#issued-note", Static)
            self.call_after_refresh(note.scroll_visible, animate=False, top=True)

    def changed(self) -> bool:
        """Whether Esc would lose something typed: the form differs from both its defaults and the pass
        it last issued (or gave back)."""
        values = {name: value.strip() for name, value in self.values().items()}
        issued = None if self.issued_values is None else {k: v.strip() for k, v in self.issued_values.items()}
        return values != FORM_DEFAULTS and values != issued

    def action_back(self) -> None:
        if not self.changed():
            self.dismiss(None)
            return
        from .forms import DiscardScreen

        def answered(discard: object) -> None:
            if discard is True:
                self.dismiss(None)

        self.app.push_screen(DiscardScreen(), answered)


class PassDetailScreen(Screen[None]):
    """One pass in full, with its card and QR; revoke, renew, save the card."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("f4", "revoke", "Revoke"),
        Binding("f4", "revoke_revoked", show=False),  # as in the pass list: say why not
        Binding("f5", "renew", "Renew"),
        Binding("f5", "renew_revoked", show=False),
        Binding("f9", "save_card", "Save card"),
    ]

    def __init__(self, pass_id: str) -> None:
        super().__init__()
        self.pass_id = pass_id

    @property
    def office(self) -> OfficeApp:
        return cast("OfficeApp", self.app)

    @property
    def issued(self) -> IssuedPass:
        return self.office.desk.get(self.pass_id)

    def compose(self) -> ComposeResult:
        t = self.office.t
        translate_office_bindings(self, t)
        yield Header()
        with Horizontal(id="detail"):
            with VerticalScroll(id="detail-scroll"):
                yield CardPreview(card_labels(t), "", id="detail-card")
            yield Static(Content(""), id="detail-status")
        yield MarkedFooter()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        t = self.office.t
        issued = self.issued
        text = card_text(issued, office=self.office.settings.office.name, tz=self.office.settings.ui.timezone)
        text = replace(text, category_en="" if t.lang == "zh" else text.category_en)
        self.query_one(CardPreview).show(text, issued.data.category, fast_matrix(issued.payload))
        lines = [t("office.detail.status", status=status_text(t, self.office.desk.status(issued)))]
        lines.append(t("office.detail.issued", at=fmt_local(issued.data.issued_at, self.office.tz)))
        lines.append(t("office.detail.key", key_id=issued.data.key_id))
        if issued.replaces:
            lines.append(t("office.detail.replaces", pass_id=issued.replaces))
        if issued.revoked_at is not None:
            lines.append(
                t(
                    "office.detail.revoked",
                    at=fmt_local(issued.revoked_at, self.office.tz),
                    reason=clean(issued.revoke_reason or ""),
                )
            )
        self.query_one("#detail-status", Static).update(plain_lines(lines))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        revoked = self.is_mounted and self.issued.revoked_at is not None
        if action in ("revoke_revoked", "renew_revoked"):
            return revoked
        if action in ("revoke", "renew") and revoked:
            return None
        return True

    def action_revoke_revoked(self) -> None:
        explain_revoked(self.office, self.issued, "revoke")

    def action_renew_revoked(self) -> None:
        explain_revoked(self.office, self.issued, "renew")

    def action_back(self) -> None:
        self.dismiss(None)

    def action_revoke(self) -> None:
        start_revoke(self.office, self.issued, self.show)

    def action_renew(self) -> None:
        def renewed(new_id: str) -> None:
            self.pass_id = new_id
            self.show()

        start_renew(self.office, self.issued, renewed)

    def action_save_card(self) -> None:
        save_card(self.office, self.issued)
