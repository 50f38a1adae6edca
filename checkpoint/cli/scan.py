"""`checkpoint scan --source SRC`: headless scanning, one line per decision.

The source is a webcam index, a video file or an image folder (`scanner.sources.open_source`). Each new
code (duplicates within `station.duplicate_seconds` are one scan) is verified with this home's trust
list and revocation list under the station's rules; `--log` appends each decision to the traffic log
(and then knows who is inside, for anti-passback). Every code goes through the station's check-in
service (`checkpoint.checkin`), so the entries are the station's; the camera runs in the station's
child-process supervisor (`scanner.supervisor`). A file or folder is scanned to its end; a webcam
until Ctrl-C, with camera status lines on stderr.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from ..catalog import Translator, error, reason_word
from ..errors import CheckpointError
from ..plates import display_plate
from ..text import clean
from .context import Context, echo_json, pass_ctx, say


def register(cli: click.Group) -> None:
    cli.add_command(scan)


@click.command("scan")
@click.option(
    "--source", "spec", help="Webcam index (0), video file or image folder [default: station.camera]."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision, one per line.")
@click.option("--log", "log", is_flag=True, help="Also append each decision to this home's traffic log.")
@click.option(
    "--operator",
    default=None,
    help="Operator on duty recorded with --log (default: the station's open shift, else 'scan').",
)
@click.option(
    "--leader",
    default=None,
    help="Shift leader recorded with --log (default: the station's open shift, else 'scan').",
)
@click.option(
    "--direction",
    type=click.Choice(["in", "out"]),
    default="in",
    show_default=True,
    help="Vehicles entering or leaving.",
)
@click.option(
    "--decoder",
    type=click.Choice(["auto", "zbar", "zxing"]),
    default=None,
    help="QR decoder [default: station.decoder].",
)
@click.option(
    "--at",
    "at_text",
    default=None,
    metavar="TIME",
    help="Decide as of this time (local time, as `verify --at`: 2026-02-03T12:00) to replay a recording; "
    "default: now.",
)
@pass_ctx
def scan(
    ctx: Context,
    spec: str | None,
    as_json: bool,
    log: bool,
    operator: str | None,
    leader: str | None,
    direction: str,
    decoder: str | None,
    at_text: str | None,
) -> None:
    """Scan passes headless and print one line per decision."""
    from scanner.sources import SourceError, open_source

    from ..timeutil import parse_when, zone

    station = ctx.settings.station
    spec = spec if spec is not None else station.camera
    if not spec.strip():
        raise error("cli.scan.no_source")
    at = parse_when(at_text, zone(ctx.settings.ui.timezone)) if at_text else None
    trust = ctx.trust()
    revocations = ctx.revocations(trust)
    try:
        open_source(spec).close()  # a missing or unreadable source is one sentence before anything starts
    except SourceError as exc:
        raise CheckpointError(exc.message) from exc
    asyncio.run(
        _scan(
            ctx,
            spec,
            as_json=as_json,
            log=log,
            shift=(operator, leader),
            direction=direction,
            decoder=decoder or station.decoder,
            at=at,
            trust=trust,
            revocations=revocations,
        )
    )


async def _scan(
    ctx: Context,
    spec: str,
    *,
    as_json: bool,
    log: bool,
    shift: tuple[str | None, str | None],
    direction: str,
    decoder: str,
    at: datetime | None,
    trust: Any,
    revocations: Any,
) -> None:
    """Every code goes through the station's own check-in service (`checkpoint.checkin`), so `scan --log`
    writes the entries the station would; the camera runs in the station's child-process supervisor."""
    from scanner.spec import camera_index
    from scanner.supervisor import scan_in_child

    from ..checkin import Check, CheckIn, Checking, NotRecorded, Recorded
    from ..models import Direction
    from ..store import LogStore, Shift, inside_now
    from ..timeutil import zone

    station = ctx.settings.station
    local = zone(ctx.settings.ui.timezone)  # JSON times as people read them, with their offset
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
    stop = threading.Event()
    options = {"decoder": decoder, "duplicate_seconds": station.duplicate_seconds, "preview": None}
    replay: list[float] = []  # the first code's frame time: --at plays the recording from that moment
    frame_ts = [0.0]

    def clock() -> datetime:
        if at is None:
            return datetime.now(UTC)
        return at + timedelta(seconds=max(frame_ts[0] - (replay[0] if replay else frame_ts[0]), 0.0))

    def deliver(event: tuple[Any, ...]) -> None:
        if event[0] in ("code", "status"):
            loop.call_soon_threadsafe(events.put_nowait, event)

    def work() -> None:
        try:
            scan_in_child(spec, options, deliver, stop.is_set)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, None)

    store = None
    if log:
        ctx.home.ensure()
        store = await LogStore.open(ctx.home.log_db, station.id)
    checkin = CheckIn(
        store,
        trust,
        revocations,
        station,
        clock=clock,
        hold_seconds=0.0,  # nobody reads a verdict here: every code is decided as it comes
        inside=None if store is not None else (lambda: inside_now(ctx.home.log_db, station.id)),
    )
    checkin.direction = Direction(direction)
    on_duty = Shift(shift[0] or "scan", shift[1] or "scan")
    current = None
    if store is not None:
        current = await checkin.resume()  # the people signed in at this station are on duty
        if current is not None:
            on_duty = Shift(shift[0] or current.shift.operator, shift[1] or current.shift.leader)
        if checkin.clock_behind():
            await store.close()
            raise error("cli.scan.clock_behind")
    checkin.work_as(on_duty)
    worker = threading.Thread(target=work, name="scan", daemon=True)
    worker.start()
    live = camera_index(spec) is not None
    frames = 0
    try:
        while True:
            event = await events.get()
            if event is None:
                break
            if event[0] == "status":
                state, detail = str(event[1]), str(event[2])
                if state == "live":
                    frames += 1
                elif state == "no_camera" and detail and not live:
                    raise CheckpointError(clean(detail, limit=300))
                elif live or state == "lost":
                    say(
                        clean(ctx.t("cli.scan.camera", state=state, detail=detail).rstrip(), limit=300),
                        err=True,
                    )
                continue
            text, raw, frame_index, ts = str(event[1]), bytes(event[2]), int(event[3]), float(event[4])
            frames += 1
            frame_ts[0] = ts
            if not replay:
                replay.append(ts)
            outcome = await checkin.code(text, raw, scanned=True)
            if isinstance(outcome, Checking):  # no thermometer here: the pass as it is
                outcome = await checkin.check(Check(None, ()))
            if isinstance(outcome, NotRecorded):
                raise CheckpointError(
                    outcome.error.message, key=outcome.error.key, values=outcome.error.key_values
                )
            if not isinstance(outcome, Recorded):
                continue  # the same code again: the same vehicle
            _print(outcome, frame_index, as_json, local, ctx.t)
    finally:
        stop.set()
        await asyncio.to_thread(worker.join, 5)
        if store is not None:
            await store.close()
    if frames == 0:
        raise error("cli.scan.no_picture", spec=spec)


def _print(recorded: Any, frame_index: int, as_json: bool, local: Any, t: Translator) -> None:
    decision, vehicle, entry = recorded.decision, recorded.vehicle, recorded.entry
    data = decision.pass_data
    if as_json:
        out = decision.to_json(local)
        out["pass_id"] = None if data is None else data.pass_id
        out["frame"] = frame_index
        out["raw_hash"] = vehicle.raw_hash
        out["logged_seq"] = None if entry is None else entry.seq
        echo_json(out)
    else:
        plate = "-" if data is None else clean(display_plate(data.plate), limit=12)
        pass_id = "-" if data is None else data.pass_id
        # English keeps the codes (scripts read them); another language says the staff's words.
        english = t.lang == "en"
        verdict = decision.verdict.value.upper() if english else t(f"verdict.{decision.verdict.value}")
        reason = decision.reason.value if english else reason_word(decision.reason, t.lang)
        say(
            f"{t('cli.scan.frame')} {frame_index:<6} {verdict:<5} "
            f"{reason:<18} {pass_id:<8} {plate:<12} {clean(decision.detail, limit=60)}"
        )
