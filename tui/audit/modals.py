"""The audit modals: one entry's details with its chain link, the verification with its progress bar,
and the help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from checkpoint.audit import AuditLog, CloneAlert, EntryCheck
from checkpoint.catalog import say_error
from checkpoint.chain import VerifyResult
from checkpoint.errors import CheckpointError
from checkpoint.plates import display_plate
from checkpoint.report import ReportFormat, report_file_name, write_report
from checkpoint.store import Entry

from ..base import WorkerErrors
from ..i18n import Translator
from ..safe import plain
from .context import AuditContext, translate_audit_bindings


def zoned_time(moment: datetime) -> str:
    """`2026-02-03 09:30:00 UTC+8 (Asia/Shanghai)`: an offset and the zone's name, never an ambiguous
    abbreviation such as CST (China, or US Central?)."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    label = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    key = getattr(moment.tzinfo, "key", None)
    return f"{moment.strftime('%Y-%m-%d %H:%M:%S')} {label}" + (f" ({key})" if key else "")


class _Cancelled(Exception):
    pass


class DetailScreen(WorkerErrors, ModalScreen[None]):
    """Everything the log says about one entry, and whether its chain link holds."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    def __init__(self, app: AuditContext, entry: Entry, alerts: Sequence[CloneAlert]) -> None:
        super().__init__()
        self.audit_app = app
        self.entry = entry
        self.alerts = list(alerts)
        self.check: EntryCheck | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(id="detail-title")
            yield Static(id="detail-fields")
            yield Static(id="detail-chain")
        yield Footer()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.audit_app.t)
        t = self.audit_app.t
        e = self.entry
        self.query_one("#detail-title", Static).update(
            Content(t("audit.detail.title", station=e.station_id, seq=e.seq)).stylize("bold")
        )
        self.query_one("#detail-fields", Static).update(self.fields())
        self.query_one("#detail-chain", Static).update(plain("…"))
        self.run_check()

    def fields(self) -> Content:
        t = self.audit_app.t
        e = self.entry
        tz = self.audit_app.tz
        temps = " ".join(f"{x / 10:.1f}" for x in e.temperatures)
        rows: list[tuple[str, object]] = [
            (t("field.time"), zoned_time(e.ts.astimezone(tz))),
            (t("field.station"), e.station_id),
            (t("field.direction"), t(f"direction.{e.direction.value}")),
            (t("field.decision"), t(f"verdict.{e.verdict.value}")),
            (t("field.reason"), t(f"reason.{e.reason.value}")),
            (t("field.category"), t(f"category.{e.category}") if e.category else "-"),
            (t("field.plate"), display_plate(e.plate) if e.plate else "-"),
            (t("field.pass_id"), e.pass_id or "-"),
            (t("field.holder"), t("audit.detail.purged") if e.purged else (e.holder or "-")),
            (t("field.org"), e.org or "-"),
            (t("field.occupants"), "-" if e.occupants is None else e.occupants),
            (t("field.temperature"), t("audit.detail.purged") if e.purged else (temps or "-")),
            (t("field.operator"), e.operator),
            (t("field.leader"), e.leader),
        ]
        if e.denied_for is not None:
            rows.append((t("audit.detail.denied_for"), t(f"reason.{e.denied_for.value}")))
        if e.override_by or e.override_reason:
            rows.append((t("audit.detail.override"), f"{e.override_by or '-'}: {e.override_reason or '-'}"))
        if e.warnings:
            rows.append((t("audit.detail.warnings"), ", ".join(t(f"reason.{w.value}") for w in e.warnings)))
        if e.note:
            rows.append((t("audit.detail.note"), e.note))
        rows.append((t("audit.detail.id"), e.id))
        lines = [Content(f"{label}: ").stylize("bold") + plain(value, limit=200) for label, value in rows]
        for alert in self.alerts:
            note = t(
                "audit.clone.note",
                first=alert.first.station_id,
                second=alert.second.station_id,
                minutes=max(1, round(alert.gap.total_seconds() / 60)),
            )
            lines.append(plain(note).stylize("bold $warning"))
        return Content("\n").join(lines)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_check(self) -> None:
        # The entry's chain link, and both ends of an override (the denial it lets through, or the entry
        # that let this one through).
        found = self.audit_app.audit_log.detail(self.entry)
        self.app.call_from_thread(self.show_check, found.check, found.refers_to, found.superseded_by)

    def show_check(
        self,
        check: EntryCheck | None,
        earlier: tuple[str, int] | None = None,
        later: tuple[str, int] | None = None,
    ) -> None:
        self.check = check
        t = self.audit_app.t
        target = self.query_one("#detail-chain", Static)
        if check is None:
            target.update(plain(t("audit.detail.missing")).stylize("bold $error"))
            return
        links = []
        if earlier is not None:
            links.append(
                plain(t("audit.detail.refers_to", station=earlier[0], seq=earlier[1])).stylize("bold")
            )
        if later is not None:
            links.append(
                plain(t("audit.detail.superseded_by", station=later[0], seq=later[1])).stylize("bold")
            )
        lines = [
            *links,
            Content(t("audit.detail.chain")).stylize("bold underline"),
            Content(f"{t('audit.detail.prev_hash')}: ").stylize("bold") + plain(check.prev_hash),
            Content(f"{t('audit.detail.hash')}: ").stylize("bold") + plain(check.hash),
            plain(t("audit.detail.verified")).stylize("bold $success")
            if check.ok
            else plain(t("audit.detail.altered")).stylize("bold $error"),
        ]
        if check.clock is not None:
            kind, micros = check.clock
            minutes = max(1, micros // 60_000_000)
            lines.append(plain(t(f"audit.detail.clock_{kind}", minutes=minutes)).stylize("bold $warning"))
        if check.sealed_at_seq is None:
            lines.append(plain(t("audit.detail.unsealed")))
        elif check.seal_ok is False:
            lines.append(plain(t("audit.detail.seal_bad", seq=check.sealed_at_seq)).stylize("bold $error"))
        else:
            lines.append(plain(t("audit.detail.sealed", seq=check.sealed_at_seq)))
        target.update(Content("\n").join(lines))

    def action_close(self) -> None:
        self.dismiss(None)


class VerifyScreen(WorkerErrors, ModalScreen[VerifyResult | None]):
    """Recompute every chain and check every seal in a thread, with a progress bar and a clear verdict."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, log: AuditLog, t: Translator) -> None:
        super().__init__()
        self.audit_log = log
        self.t = t
        self.result: VerifyResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="verify"):
            yield Static(Content(self.t("audit.verify.title")).stylize("bold"), id="verify-title")
            yield ProgressBar(id="verify-progress", show_eta=False)
            yield Static(id="verify-status")
        yield Footer()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.t)
        self.run_verify()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_verify(self) -> None:
        worker = get_current_worker()
        last = [0]

        def progress(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise _Cancelled
            if done - last[0] >= 20_000 or done >= total:
                last[0] = done
                self.app.call_from_thread(self.show_progress, done, total)

        try:
            result = self.audit_log.verify(progress)
        except _Cancelled:
            return
        except Exception as exc:  # a damaged or missing file: say so in the dialog, never hang at "--%"
            message = exc.message if isinstance(exc, CheckpointError) else f"{type(exc).__name__}: {exc}"
            self.app.call_from_thread(self.show_failure, message)
            return
        self.app.call_from_thread(self.show_result, result)

    def show_failure(self, message: str) -> None:
        self.query_one("#verify-status", Static).update(
            plain(self.t("audit.verify.failed", error=message)).stylize("bold $error")
        )
        self.add_class("bad")

    def show_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#verify-status", Static).update(
            plain(self.t("audit.verify.running", done=done, total=total))
        )

    def show_result(self, result: VerifyResult) -> None:
        self.result = result
        t = self.t
        bar = self.query_one(ProgressBar)
        bar.update(total=max(result.entries, 1), progress=max(result.entries, 1))
        lines = [
            plain(t("audit.verify.ok", entries=result.entries)).stylize("bold $success")
            if result.ok
            else plain(t("audit.verify.bad")).stylize("bold $error")
        ]
        for s in result.stations:
            if s.ok:
                lines.append(
                    plain(
                        t(
                            "audit.verify.station_ok",
                            station=s.station_id,
                            entries=s.entries,
                            sealed=s.last_sealed_seq,
                        )
                    )
                )
            else:
                lines.append(
                    plain(
                        t(
                            "audit.verify.station_bad",
                            station=s.station_id,
                            seq=s.first_bad_seq,
                            problem=s.problem,
                        )
                    ).stylize("$error")
                )
        self.query_one("#verify-status", Static).update(Content("\n").join(lines))
        self.add_class("ok" if result.ok else "bad")

    def action_close(self) -> None:
        self.workers.cancel_all()
        self.dismiss(self.result)


class AuditHelpScreen(ModalScreen[None]):
    """F1: what every key does."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, t: Translator) -> None:
        super().__init__()
        self.t = t

    def compose(self) -> ComposeResult:
        with Vertical(id="audit-help"):
            yield Static(Content(self.t("audit.help.text")))
        yield Footer()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.t)

    def action_close(self) -> None:
        self.dismiss(None)


REPORT_FORMATS: tuple[ReportFormat, ...] = ("pdf", "html", "md")


class ReportScreen(WorkerErrors, ModalScreen[Path | None]):
    """The daily situation report of one day, saved as PDF, HTML or Markdown in the exports folder:
    pick the format (Enter), then the log is verified with a progress bar and the report is written by
    the log's own `report` (`audit.AuditLog`) — the same report `checkpoint report` writes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(
        self,
        log: AuditLog,
        day: date,
        tz: ZoneInfo,
        t: Translator,
        out_dir: Path,
        *,
        names: dict[str, str] | None = None,
        fever_threshold: float = 37.3,
    ) -> None:
        super().__init__()
        self.audit_log = log
        self.day = day
        self.tz = tz
        self.t = t
        self.out_dir = out_dir
        self.names = names
        self.fever_threshold = fever_threshold
        self.saved: Path | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(id="report"):
            yield Static(
                Content(t("audit.report.title", day=self.day.isoformat())).stylize("bold"), id="report-title"
            )
            yield OptionList(
                *(Option(t(f"audit.report.format.{fmt}"), id=fmt) for fmt in REPORT_FORMATS),
                id="report-formats",
            )
            yield ProgressBar(id="report-progress", show_eta=False)
            yield Static(plain(t("audit.report.choose")), id="report-status")
        yield Footer()

    def on_mount(self) -> None:
        translate_audit_bindings(self, self.t)
        self.query_one(ProgressBar).display = False
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.running or event.option.id not in REPORT_FORMATS:
            return
        self.running = True
        fmt = next(f for f in REPORT_FORMATS if f == event.option.id)
        self.query_one(OptionList).disabled = True
        self.query_one(ProgressBar).display = True
        self.query_one("#report-status", Static).update(plain(self.t("audit.report.verifying")))
        self.save(fmt)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def save(self, fmt: ReportFormat) -> None:
        worker = get_current_worker()
        last = [0]

        def progress(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise _Cancelled
            if done - last[0] >= 20_000 or done >= total:
                last[0] = done
                self.app.call_from_thread(self.show_progress, done, total)

        out = self.out_dir / report_file_name(self.day, fmt)
        try:
            report = self.audit_log.report(
                self.day,
                self.tz,
                progress=progress,
                fever_threshold=self.fever_threshold,
                names=self.names,
            )
            self.out_dir.mkdir(parents=True, exist_ok=True)  # the home's own exports folder
            write_report(report, fmt, self.t.lang, out)
        except _Cancelled:
            return
        except CheckpointError as exc:  # a full disk, a damaged log: said in the dialog
            self.app.call_from_thread(self.show_failure, say_error(exc, self.t.lang))
            return
        verified = report.verification is not None and report.verification.ok
        self.app.call_from_thread(self.show_saved, out, verified)

    def show_progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.query_one("#report-status", Static).update(
            plain(self.t("audit.verify.running", done=done, total=total))
        )

    def show_failure(self, message: str) -> None:
        self.running = False
        self.query_one(OptionList).disabled = False
        self.query_one("#report-status", Static).update(
            plain(self.t("audit.report.failed", error=message)).stylize("bold $error")
        )
        self.add_class("bad")

    def show_saved(self, path: Path, verified: bool) -> None:
        self.saved = path
        bar = self.query_one(ProgressBar)
        bar.update(total=1, progress=1)
        key = "audit.report.saved" if verified else "audit.report.saved_unverified"
        self.query_one("#report-status", Static).update(plain(self.t(key, path=str(path))))
        self.add_class("ok" if verified else "bad")

    def action_close(self) -> None:
        self.workers.cancel_all()
        self.dismiss(self.saved)
