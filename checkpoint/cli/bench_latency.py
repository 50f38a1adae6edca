"""`checkpoint bench latency`: from the first decodable frame to the logged decision, at 30 fps.

A 1280×720 MJPG video of real passes (each held in view for `--hold` frames, with empty frames between)
is generated, then replayed as a live camera: a capture object hands out frame *i* no earlier than
`start + i / fps`, and `scanner.sources.LiveSource` keeps only the newest frame, exactly as with a
webcam. `scanner.service.ScanService` decodes; each new code is verified (`checkpoint.policy.decide`)
and appended to a fresh traffic log (`LogStore.append`: WAL, synchronous=FULL, fsync) on the asyncio
loop, as the station does.

"First decodable frame": before the replay, every frame of the video is decoded offline with zxing-cpp's
thorough full-frame call; the first frame of each pass's appearance that decodes is the start of the
clock (its arrival time in the replay). Latency = the moment `append` returned − that arrival.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..errors import CheckpointError
from .bench_scan import _percentile, sample_passes


class _PacedCapture:
    """A cv2.VideoCapture that delivers frame i at `start + i / fps` (a camera at `fps`), then fails."""

    def __init__(self, path: Path, fps: float) -> None:
        import cv2

        self._capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        self._fps = fps
        self._index = 0
        self.start = time.monotonic() + 0.2
        self.arrivals: dict[int, float] = {}
        self.done = threading.Event()

    def read(self) -> tuple[bool, Any]:
        ok, image = self._capture.read()
        if not ok:
            self.done.set()
            time.sleep(0.05)
            return False, None
        due = self.start + self._index / self._fps
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.arrivals[self._index] = time.monotonic()
        self._index += 1
        return True, image

    def release(self) -> None:
        self._capture.release()


def _first_decodable(path: Path, payloads: list[bytes]) -> dict[bytes, int]:
    """For each payload, the index of the first frame in which a thorough full-frame decode reads it."""
    import zxingcpp

    from scanner.sources import open_source

    first: dict[bytes, int] = {}
    source = open_source(str(path))
    try:
        while (frame := source.read()) is not None:
            qr: Any = zxingcpp.BarcodeFormat.QRCode
            for code in zxingcpp.read_barcodes(frame.image, formats=qr):
                raw = bytes(code.bytes)
                if raw in payloads and raw not in first:
                    first[raw] = frame.index
    finally:
        source.close()
    return first


async def _replay(
    path: Path, passes: list[str], trust: Any, fps: float, decoder: str, db: Path
) -> tuple[list[float], list[float], dict[str, float]]:
    from scanner.service import CodeEvent, ScanService
    from scanner.sources import LiveSource

    from ..models import Direction
    from ..passes import raw_hash
    from ..policy import Facts, LogState, StationRules, decide
    from ..revocations import RevocationList
    from ..store import EntryDraft, LogStore, Shift

    payloads = [p.encode("ascii") for p in passes]
    first = _first_decodable(path, payloads)
    capture = _PacedCapture(path, fps)
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[Any] = asyncio.Queue()
    stop = threading.Event()

    def opener(_spec: str) -> Any:
        return LiveSource(lambda: capture, "replay")

    service = ScanService("replay", decoder=decoder, preview=(64, 48), opener=opener, lost_after=1.0)

    def emit(event: Any) -> None:
        if isinstance(event, CodeEvent):
            loop.call_soon_threadsafe(events.put_nowait, event)

    def should_stop() -> bool:
        return stop.is_set() or capture.done.is_set()

    def work() -> None:
        try:
            service.run(emit, should_stop)
        finally:
            loop.call_soon_threadsafe(events.put_nowait, None)

    rules = StationRules(checkpoint_id="bench")
    revocations = RevocationList()
    facts = Facts(direction=Direction.IN)
    latencies: list[float] = []
    decode_ms: list[float] = []
    append_ms: list[float] = []
    frames_late: list[int] = []
    decided: list[float] = []
    allowed = 0
    store = await LogStore.open(db, "bench")
    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    cpu_started = time.process_time()
    worker.start()
    try:
        while (event := await events.get()) is not None:
            detection = event.detection
            decision = decide(detection.text, trust, revocations, rules, LogState(), facts, datetime.now(UTC))
            draft = EntryDraft.from_decision(
                decision,
                direction=facts.direction,
                shift=Shift("bench", "-"),
                raw_hash=raw_hash(detection.raw),
            )
            appending = time.monotonic()
            await store.append(draft)
            logged = time.monotonic()
            append_ms.append((logged - appending) * 1000)
            allowed += int(decision.allowed)
            decode_ms.append((detection.decoded_ts - detection.frame_ts) * 1000)
            index = first.get(detection.raw)
            if index is not None:  # a frame the offline pass missed but the pipeline read counts too
                frames_late.append(max(0, detection.frame_index - index))
                index = min(index, detection.frame_index)
            if index is not None and index in capture.arrivals:
                latencies.append((logged - capture.arrivals[index]) * 1000)
                decided.append((appending - capture.arrivals[index]) * 1000)
    finally:
        stop.set()
        worker.join(timeout=5)
        await store.close()
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    frames_in = len(capture.arrivals)
    info = {
        "passes": len(passes),
        "decodable": len(first),
        "decided": len(latencies),
        "allowed": allowed,
        "frames_delivered": frames_in,
        "frames_decoded": service.frames,
        "decoded_fps": service.frames / max(elapsed, 1e-9),
        "camera_fps": frames_in / max(elapsed, 1e-9),
        "cpu_percent_of_one_core": 100 * cpu / max(elapsed, 1e-9),
        "append_p50_ms": statistics.median(append_ms) if append_ms else float("nan"),
        "append_p95_ms": _percentile(append_ms, 0.95),
        "frames_late_max": max(frames_late, default=0),
        "decided_p50_ms": statistics.median(decided) if decided else float("nan"),
        "decided_p95_ms": _percentile(decided, 0.95),
    }
    return latencies, decode_ms, info


def register(group: click.Group) -> None:
    @group.command("latency")
    @click.option("--passes", "count", default=30, show_default=True, help="Passes shown one after another.")
    @click.option("--hold", default=15, show_default=True, help="Frames each pass stays in view.")
    @click.option("--gap", default=10, show_default=True, help="Empty frames between passes.")
    @click.option("--fps", default=30.0, show_default=True, help="Replay rate (frames per second).")
    @click.option(
        "--decoder", type=click.Choice(["auto", "zbar", "zxing"]), default="auto", show_default=True
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
    def bench_latency(count: int, hold: int, gap: int, fps: float, decoder: str, as_json: bool) -> None:
        """Latency from the first decodable frame to the logged decision, replaying 1280×720 at 30 fps."""
        import json

        from scanner.synthetic import compose_frame, render_code, write_video

        if count < 1 or hold < 1 or gap < 1 or fps <= 0:
            raise CheckpointError("--passes, --hold, --gap and --fps must be positive.")
        passes, trust = sample_passes(count, seed=11)
        with tempfile.TemporaryDirectory(prefix="checkpoint-latency-") as tmp:
            video = Path(tmp) / "feed.avi"

            def frames() -> Any:
                index = 0
                for text in passes:
                    code = render_code(text, size=600)
                    for _ in range(gap):
                        yield compose_frame(None, 1280, 720, seed=index)
                        index += 1
                    for _ in range(hold):
                        yield compose_frame(code, 1280, 720, seed=index, scale=0.55)
                        index += 1
                for _ in range(gap):
                    yield compose_frame(None, 1280, 720, seed=index)
                    index += 1

            write_video(video, frames(), fps=fps)
            latencies, decode_ms, info = asyncio.run(
                _replay(video, passes, trust, fps, decoder, Path(tmp) / "log.db")
            )
        if not latencies:
            raise CheckpointError("No pass was decided during the replay; the benchmark has no figure.")
        figures = {
            **info,
            "latency_p50_ms": statistics.median(latencies),
            "latency_p95_ms": _percentile(latencies, 0.95),
            "latency_max_ms": max(latencies),
            "decode_p50_ms": statistics.median(decode_ms),
            "decode_p95_ms": _percentile(decode_ms, 0.95),
        }
        if as_json:
            click.echo(json.dumps(figures))
            return
        click.echo(
            f"{info['passes']} passes, 1280x720 MJPG replayed at {fps:g} fps, decoder {decoder}: "
            f"{info['decided']} decided and logged ({info['allowed']} allowed)"
        )
        click.echo(
            f"first decodable frame -> logged decision: p50 {figures['latency_p50_ms']:.1f} ms, "
            f"p95 {figures['latency_p95_ms']:.1f} ms, max {figures['latency_max_ms']:.1f} ms"
        )
        click.echo(
            f"frame -> decoded: p50 {figures['decode_p50_ms']:.1f} ms, p95 {figures['decode_p95_ms']:.1f} ms; "
            f"camera {info['camera_fps']:.1f} fps delivered, {info['decoded_fps']:.1f} fps decoded "
            f"({info['frames_decoded']}/{info['frames_delivered']} frames); "
            f"CPU {info['cpu_percent_of_one_core']:.0f} % of one core (capture + decode + verify + log)"
        )
        click.echo(
            f"first decodable frame -> decision, before the log append: p50 {info['decided_p50_ms']:.1f} ms, "
            f"p95 {info['decided_p95_ms']:.1f} ms"
        )
        click.echo(
            f"log append (fsync): p50 {info['append_p50_ms']:.1f} ms, p95 {info['append_p95_ms']:.1f} ms; "
            f"decided at most {info['frames_late_max']} frames after the first decodable one"
        )
