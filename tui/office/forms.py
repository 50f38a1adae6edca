"""The office's modals: revoke (reason + confirmation), renew, export to a folder, key rotation, help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, ProgressBar, Static
from textual.worker import get_current_worker

from checkpoint.batch import BatchInvalid
from checkpoint.catalog import say_error
from checkpoint.desk import BatchEmpty
from checkpoint.errors import CheckpointError
from checkpoint.pass_request import RequestInvalid
from checkpoint.plates import display_plate
from checkpoint.registry import IssuedPass
from checkpoint.timeutil import fmt_local

from ..base import WorkerErrors
from ..safe import plain
from .card import plain_lines
from .context import OfficeContext, translate_office_bindings

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 76; max-width: 100%; height: auto; max-height: 100%;
                    border: thick $primary; background: $surface; padding: 1 2; }}
{name} .title {{ text-style: bold; margin: 0 0 1 0; }}
{name} .warning {{ color: $warning; margin: 0 0 1 0; }}
{name} .error {{ color: $error; height: auto; }}
{name} Input {{ margin: 0 0 1 0; }}
"""


class OfficeModal(WorkerErrors, ModalScreen[object]):
    """Confirm with ctrl+s (or enter in the last field), cancel with escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "confirm", "Confirm", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    @property
    def office(self) -> OfficeContext:
        return cast(OfficeContext, self.app)

    def on_mount(self) -> None:
        translate_office_bindings(self, self.office.t)
        self.refresh_bindings()
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_confirm()

    def error(self, text: str) -> None:
        self.query_one("#error", Static).update(plain(text))

    def refused(self, exc: CheckpointError) -> None:
        """What the desk refused, in this screen's language (a bad field) or as its sentence."""
        if isinstance(exc, RequestInvalid):
            self.error(" ".join(error.message(self.office.t) for error in exc.errors.values()))
        else:
            self.error(say_error(exc, self.office.t.lang))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:  # pragma: no cover - every modal overrides it
        raise NotImplementedError


class RevokeScreen(OfficeModal):
    DEFAULT_CSS = MODAL_CSS.format(name="RevokeScreen")

    def __init__(self, issued: IssuedPass) -> None:
        super().__init__()
        self.issued = issued

    def compose(self) -> ComposeResult:
        t = self.office.t
        d = self.issued.data
        with Vertical():
            yield Static(
                plain(
                    t("office.revoke.title", pass_id=d.pass_id, plate=display_plate(d.plate), holder=d.holder)
                ),
                classes="title",
            )
            yield Static(plain(t("office.revoke.warning")), classes="warning")
            yield Label(t("field.reason"))
            yield Input(placeholder=t("office.revoke.reason_hint"), id="reason")
            yield Static(Content(""), id="error", classes="error")
        yield Footer()

    def action_confirm(self) -> None:
        try:
            revoked = self.office.desk.revoke(
                self.issued.data.pass_id, self.query_one("#reason", Input).value
            )
        except CheckpointError as exc:
            self.refused(exc)
            return
        self.dismiss(revoked)


class RenewScreen(OfficeModal):
    DEFAULT_CSS = MODAL_CSS.format(name="RenewScreen")

    def __init__(self, issued: IssuedPass) -> None:
        super().__init__()
        self.issued = issued

    def compose(self) -> ComposeResult:
        t = self.office.t
        d = self.issued.data
        start, end = self.office.desk.renewal_window(self.issued)
        with Vertical():
            yield Static(
                plain(t("office.renew.title", pass_id=d.pass_id, plate=display_plate(d.plate))),
                classes="title",
            )
            yield Static(plain(t("office.renew.explain")), classes="warning")
            yield Label(t("field.valid_from"))
            yield Input(fmt_local(start, self.office.tz), id="valid_from")
            yield Label(t("field.valid_until"))
            yield Input(fmt_local(end, self.office.tz)[:10], id="valid_until")
            yield Static(Content(""), id="error", classes="error")
        yield Footer()

    def action_confirm(self) -> None:
        try:
            renewed = self.office.desk.renew(
                self.issued.data.pass_id,
                self.query_one("#valid_from", Input).value,
                self.query_one("#valid_until", Input).value,
            )
        except CheckpointError as exc:
            self.refused(exc)
            return
        self.dismiss(renewed)


class ExportScreen(OfficeModal):
    """Write trust.json and a newly signed revocations.json to a folder (a USB stick)."""

    DEFAULT_CSS = MODAL_CSS.format(name="ExportScreen")

    def __init__(self, default: Path) -> None:
        super().__init__()
        self.default = default
        self.running = False

    def compose(self) -> ComposeResult:
        t = self.office.t
        with Vertical():
            yield Static(plain(t("office.export.title")), classes="title")
            yield Static(plain(t("office.export.explain")), classes="warning")
            yield Label(t("office.export.folder"))
            yield Input(str(self.default), id="folder")
            yield ProgressBar(total=3, show_eta=False, id="progress")
            yield Static(Content(""), id="result")
            yield Static(Content(""), id="error", classes="error")
        yield Footer()

    def action_confirm(self) -> None:
        if self.running:
            return
        text = self.query_one("#folder", Input).value.strip()
        if not text:
            self.error(self.office.t("office.export.need_folder"))
            return
        self.running = True
        self.error("")
        self.export(Path(text).expanduser())

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def export(self, folder: Path) -> None:
        worker = get_current_worker()
        self.app.call_from_thread(self._progress, 1)
        try:
            done = self.office.desk.export_files(folder)
        except CheckpointError as exc:
            self.app.call_from_thread(self._failed, say_error(exc, self.office.t.lang))
            return
        if worker.is_cancelled:
            return
        rlist = done.revocation_list
        self.app.call_from_thread(self._progress, 3)
        self.app.call_from_thread(self._done, done.trust, done.revocations, rlist.seq, len(rlist.entries))

    def _progress(self, step: int) -> None:
        self.query_one("#progress", ProgressBar).update(progress=step)

    def _failed(self, message: str) -> None:
        self.running = False
        self.error(message)

    def _done(self, trust_path: Path, list_path: Path, seq: int, count: int) -> None:
        self.running = False
        t = self.office.t
        text = t(
            "office.export.done", trust=str(trust_path), revocations=str(list_path), seq=seq, count=count
        )
        self.query_one("#result", Static).update(plain(text))
        self.office.notify(text, markup=False, timeout=8)


class RotateScreen(OfficeModal):
    """Make a new signing key, after saying plainly what that means."""

    DEFAULT_CSS = MODAL_CSS.format(name="RotateScreen")

    def compose(self) -> ComposeResult:
        t = self.office.t
        days = self.office.settings.office.key_grace_days
        until = fmt_local(self.office.clock() + timedelta(days=days), self.office.tz)
        with Vertical():
            yield Static(plain(t("office.rotate.title")), classes="title")
            yield Static(plain(t("office.rotate.warning", days=days, until=until)), classes="warning")
            yield Static(plain(t("office.rotate.confirm")))
            yield Static(Content(""), id="error", classes="error")
        yield Footer()

    def action_confirm(self) -> None:
        try:
            rotated = self.office.desk.rotate_key()
        except CheckpointError as exc:
            self.error(say_error(exc, self.office.t.lang))
            return
        old, new = rotated.old, rotated.new
        until = fmt_local(old.valid_until, self.office.tz) if old.valid_until else "-"
        self.office.notify(
            self.office.t("office.rotate.done", new=new.key_id, old=old.key_id, until=until),
            markup=False,
            timeout=10,
        )
        self.dismiss(new.key_id)


class DiscardScreen(ModalScreen[bool]):
    """Esc on an issue form with something typed in it: discard it (Enter) or keep editing (Esc)."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="DiscardScreen")
        + """
    DiscardScreen > Vertical { width: auto; }
    DiscardScreen #question { width: auto; }
    """
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "discard", "Discard"),
        Binding("escape", "keep", "Keep editing"),
    ]

    @property
    def office(self) -> OfficeContext:
        return cast(OfficeContext, self.app)

    def compose(self) -> ComposeResult:
        translate_office_bindings(self, self.office.t)
        with Vertical():
            yield Static(plain(self.office.t("office.discard.question")), id="question")
        yield Footer()

    def action_discard(self) -> None:
        self.dismiss(True)

    def action_keep(self) -> None:
        self.dismiss(False)


class OfficeHelpScreen(OfficeModal):
    DEFAULT_CSS = MODAL_CSS.format(name="OfficeHelpScreen")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1", "cancel", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(self.office.t("office.help")))
        yield Footer()


class BatchScreen(OfficeModal):
    """Issue every row of a CSV file (all or nothing): PNGs, passes.csv and the A4 sheet into a folder."""

    DEFAULT_CSS = (
        MODAL_CSS.format(name="BatchScreen")
        + """
    BatchScreen #rows { height: auto; max-height: 12; color: $error; }
    """
    )

    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out
        self.running = False

    def compose(self) -> ComposeResult:
        t = self.office.t
        with Vertical():
            yield Static(plain(t("office.batch.title")), classes="title")
            yield Static(plain(t("office.batch.explain")), classes="warning")
            yield Label(t("office.batch.file"))
            yield Input(placeholder="/media/usb/passes.csv", id="file")
            yield Label(t("office.batch.out"))
            yield Input(str(self.out), id="out")
            yield ProgressBar(total=100, show_eta=False, id="progress")
            yield Static(Content(""), id="result")
            with VerticalScroll(id="rows"):
                yield Static(Content(""), id="row-errors")
            yield Static(Content(""), id="error", classes="error")
        yield Footer()

    @on(Input.Submitted, "#file")
    def _file_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#out", Input).focus()

    def action_confirm(self) -> None:
        if self.running:
            return
        source = self.query_one("#file", Input).value.strip()
        out = self.query_one("#out", Input).value.strip()
        if not source or not out:
            self.error(self.office.t("office.batch.need_paths"))
            return
        self.running = True
        self.error("")
        self.query_one("#row-errors", Static).update(Content(""))
        self.run_batch(Path(source).expanduser(), Path(out).expanduser())

    @work(thread=True, exclusive=True, exit_on_error=False, group="batch")
    def run_batch(self, source: Path, out: Path) -> None:
        office = self.office
        t = office.t

        def call(method: Callable[..., object], *args: object) -> None:
            self.app.call_from_thread(method, *args)

        def progress(phase: str, done: int, total: int) -> None:
            if done == total or done % max(total // 50, 1) == 0:  # about 50 updates per phase
                call(self._progress, done, total, 0 if phase == "sign" else 1)

        try:
            result = office.desk.issue_batch(source, out, sheet=out / "cards.pdf", progress=progress)
        except BatchInvalid as invalid:
            call(self._bad_rows, [(e.line, reason) for e in invalid.errors for reason in e.reasons(t)])
            return
        except BatchEmpty:
            call(self._failed, t("office.batch.empty"))
            return
        except CheckpointError as exc:
            call(self._failed, say_error(exc, t.lang))
            return
        call(self._done, result.issued, result.existing, str(out))

    def _progress(self, done: int, total: int, phase: int) -> None:
        # Signing is the first fifth of the bar, writing PNGs and cards the rest.
        share = 20 * done / max(total, 1) if phase == 0 else 20 + 80 * done / max(total, 1)
        self.query_one("#progress", ProgressBar).update(progress=share)

    def _bad_rows(self, errors: list[tuple[int, str]]) -> None:
        self.running = False
        t = self.office.t
        self.error(t("office.batch.bad", count=len({line for line, _ in errors})))
        lines = [t("office.batch.line", line=line, reason=reason) for line, reason in errors]
        self.query_one("#row-errors", Static).update(plain_lines(lines))

    def _failed(self, message: str) -> None:
        self.running = False
        self.error(message)

    def _done(self, issued: int, existing: int, out: str) -> None:
        self.running = False
        self.query_one("#progress", ProgressBar).update(progress=100)
        text = self.office.t("office.batch.done", issued=issued, existing=existing, out=out)
        self.query_one("#result", Static).update(plain(text))
        self.office.notify(text, markup=False, timeout=8)
