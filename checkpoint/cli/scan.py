"""`checkpoint scan --source SRC`: headless scanning, one line per decision.

The source is a webcam index, a video file or an image folder (`scanner.sources.open_source`). Each new
code (duplicates within `station.duplicate_seconds` are one scan) is verified with this home's trust
list and revocation list under the station's rules; `--log` appends each decision to the traffic log
(and then knows who is inside, for anti-passback). A file or folder is scanned to its end; a webcam
until Ctrl-C, with camera status lines on stderr.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import click

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
        raise CheckpointError(
            "Give a source with --source: a webcam index (0), a video file or an image folder."
        )
    at = parse_when(at_text, zone(ctx.settings.ui.timezone)) if at_text else None
    trust = ctx.trust()
    revocations = ctx.revocations(trust)
    try:
        first = open_source(spec)
    except SourceError as exc:
        raise CheckpointError(exc.message) from exc
    asyncio.run(
        _scan(
            ctx,
            spec,
            first,
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
    first: Any,
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
    from scanner.service import CodeEvent, ScanService, StatusEvent
    from scanner.sources import open_source
    from scanner.spec import camera_index

    from ..models import Direction
    from ..passes import raw_hash
    from ..policy import Facts, LogState, decide
    from ..store import EntryDraft, LogStore, Shift, inside_now
    from ..timeutil import zone

    station = ctx.settings.station
    rules = station.rules()
    local = zone(ctx.settings.ui.timezone)  # JSON times as people read them, with their offset
    facts = Facts(direction=Direction(direction))
    opened = [first]

    def opener(text: str) -> Any:
        return opened.pop() if opened else open_source(text)

    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()
    service = ScanService(
        spec, decoder=decoder, duplicate_seconds=station.duplicate_seconds, preview=None, opener=opener
    )

    def emit(event: Any) -> None:
        if isinstance(event, CodeEvent | StatusEvent):
            loop.call_soon_threadsafe(events.put_nowait, event)

    def work() -> None:
        try:
            service.run(emit, stop.is_set)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, None)

    store = None
    on_duty = Shift(shift[0] or "scan", shift[1] or "scan")
    if log:
        ctx.home.ensure()
        store = await LogStore.open(ctx.home.log_db, station.id)
        current = await store.open_shift()  # the people signed in at this station are on duty
        if current is not None:
            on_duty = Shift(shift[0] or current[1].operator, shift[1] or current[1].leader)
    worker = threading.Thread(target=work, name="scan", daemon=True)
    worker.start()
    live = camera_index(spec) is not None
    try:
        while True:
            event = await events.get()
            if event is None:
                break
            if isinstance(event, StatusEvent):
                if live and event.state != "live":
                    say(f"camera: {event.state} {event.detail}".rstrip(), err=True)
                continue
            detection = event.detection
            now = at if at is not None else datetime.now(UTC)
            if store is not None:
                state = LogState(inside=await store.inside())
            else:  # not writing, but the log still says who is inside
                state = LogState(inside=inside_now(ctx.home.log_db, station.id))
            decision = decide(detection.text, trust, revocations, rules, state, facts, now)
            digest = raw_hash(detection.raw)
            seq = None
            if store is not None:
                draft = EntryDraft.from_decision(
                    decision, direction=facts.direction, shift=on_duty, raw_hash=digest
                )
                entry = await store.append(draft)
                seq = entry.seq
            data = decision.pass_data
            if as_json:
                out = decision.to_json(local)
                out["pass_id"] = None if data is None else data.pass_id
                out["frame"] = detection.frame_index
                out["raw_hash"] = digest
                out["logged_seq"] = seq
                echo_json(out)
            else:
                plate = "-" if data is None else clean(display_plate(data.plate), limit=12)
                pass_id = "-" if data is None else data.pass_id
                say(
                    f"frame {detection.frame_index:<6} {decision.verdict.value.upper():<5} "
                    f"{decision.reason.value:<18} {pass_id:<8} {plate:<12} {clean(decision.detail, limit=60)}"
                )
    finally:
        stop.set()
        worker.join(timeout=3)
        if store is not None:
            await store.close()
    if service.frames == 0:
        raise CheckpointError(f"No picture could be read from {spec}.")
