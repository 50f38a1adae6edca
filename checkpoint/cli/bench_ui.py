"""`checkpoint bench ui`: event-loop lag of the station app while it scans a 30 fps source.

The real station app (the demo's office, passes and station, built in a temporary folder) runs headless
with `App.run_test()`; its camera worker scans a generated video replayed at camera rate; every valid
pass is answered (one temperature) so the check form, `policy.decide`, the durable log write and the
verdict all happen as at a junction. Meanwhile a probe on the same event loop sleeps 5 ms again and
again and records how late it wakes up: that lateness is what a key press or a verdict waits.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from .context import progress_line

TARGET_MAX_MS = 50.0
TARGET_P99_MS = 20.0
PROBE_SECONDS = 0.005


def _video(path: Path, payloads: list[str], fps: float) -> None:
    from scanner.synthetic import compose_frame, render_code, write_video

    def frames() -> Any:
        for index, text in enumerate(payloads):
            code = render_code(text, size=400)
            poses = [
                compose_frame(code, 640, 480, seed=index * 10 + k, scale=0.6, center=(0.48 + 0.02 * k, 0.5))
                for k in range(3)
            ]
            for k in range(15):
                yield poses[k % 3]
            empty = compose_frame(None, 640, 480, seed=index * 10 + 9)
            for _ in range(10):
                yield empty

    write_video(path, frames(), fps=fps)


def _summary(lags: list[float]) -> dict[str, Any]:
    lags_ms = sorted(lag * 1000 for lag in lags) or [0.0]
    return {
        "samples": len(lags),
        "lag_p50_ms": round(lags_ms[len(lags_ms) // 2], 2),
        "lag_p99_ms": round(lags_ms[min(len(lags_ms) - 1, int(len(lags_ms) * 0.99))], 2),
        "lag_max_ms": round(lags_ms[-1], 2),
        "stalls_over_50ms": sum(1 for lag in lags_ms if lag > TARGET_MAX_MS),
    }


async def _measure(station_root: Path, video: Path | None, seconds: float, fps: float) -> dict[str, Any]:
    """Probe the event loop of the station app for `seconds`, scanning `video` (None: camera off)."""
    from textual.widgets import Input

    from checkpoint.paths import Home
    from checkpoint.settings import load_settings
    from checkpoint.store import LogStore, Shift
    from tui.station.app import make_app
    from tui.station.screen import StationScreen

    home = Home(station_root)
    settings = load_settings(home.config)
    store = await LogStore.open(home.log_db, settings.station.id)
    await store.start_shift(Shift("bench", "bench"))
    await store.close()
    app = make_app(home, settings, camera=str(video) if video else "none", pace_fps=fps, language="en")
    lags: list[float] = []
    answered = 0
    fps_seen: list[float] = []
    label = "bench ui (scanning)" if video else "bench ui (camera off)"
    async with app.run_test(size=(120, 40)) as pilot:
        screen = next(s for s in app.screen_stack if isinstance(s, StationScreen))
        while video is not None and screen.camera_state != "live":  # opening the video is not measured
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        start = time.perf_counter()
        next_progress = 0.0
        while (elapsed := time.perf_counter() - start) < seconds:
            before = time.perf_counter()
            await asyncio.sleep(PROBE_SECONDS)
            lags.append(time.perf_counter() - before - PROBE_SECONDS)
            if screen.pending is not None:
                field = screen.query_one("#manual", Input)
                if field.value != "36.6":
                    field.value = "36.6"
                    field.post_message(Input.Submitted(field, field.value))
                    answered += 1
            if screen.camera_fps:
                fps_seen.append(screen.camera_fps)
            if elapsed >= next_progress:
                progress_line(int(elapsed), int(seconds), label)
                next_progress += 1.0
        progress_line(int(seconds), int(seconds), label)
        recorded = screen.recorded
    return {
        **_summary(lags),
        "camera_fps": round(statistics.median(fps_seen), 1) if fps_seen else 0.0,
        "decisions_logged": recorded,
        "valid_passes_answered": answered,
    }


@click.command("ui")
@click.option(
    "--seconds", type=click.FloatRange(2, 600), default=20.0, show_default=True, help="How long to measure."
)
@click.option(
    "--fps", type=click.FloatRange(1, 120), default=30.0, show_default=True, help="Replay rate of the source."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def bench_ui(seconds: float, fps: float, as_json: bool) -> None:
    """Event-loop lag of the station app while it scans a 30 fps source (targets: max ≤ 50 ms, p99 ≤ 20 ms)."""
    from ..demo import build_demo

    with tempfile.TemporaryDirectory(prefix="checkpoint-bench-ui-") as folder:
        root = Path(folder)
        demo = build_demo(root / "demo")
        video = root / "feed.avi"
        _video(video, demo.feed_codes(), fps)
        idle = asyncio.run(_measure(demo.station.root, None, max(seconds / 3, 2.0), fps))
        scanning = asyncio.run(_measure(demo.station.root, video, seconds, fps))
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = -1.0
    figures: dict[str, Any] = {
        "seconds": seconds,
        "source_fps": fps,
        "cores": os.cpu_count(),
        "load_average_1min": round(load, 2),
        "camera_off": idle,
        "scanning": scanning,
        "target_max_ms": TARGET_MAX_MS,
        "target_p99_ms": TARGET_P99_MS,
        "meets_targets": scanning["lag_max_ms"] <= TARGET_MAX_MS and scanning["lag_p99_ms"] <= TARGET_P99_MS,
    }
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(
        f"Station UI event-loop lag, scanning a {fps:.0f} fps video for {seconds:.0f} s "
        f"(camera ran at {scanning['camera_fps']} fps; {os.cpu_count()} cores, load average {load:.1f})"
    )
    click.echo(f"  {'':<22}{'camera off':>12}{'scanning':>12}{'target':>10}")
    for key, name, target in (
        ("lag_p50_ms", "p50", ""),
        ("lag_p99_ms", "p99", f"{TARGET_P99_MS:.0f} ms"),
        ("lag_max_ms", "max stall", f"{TARGET_MAX_MS:.0f} ms"),
    ):
        click.echo(f"  {name:<22}{idle[key]:>9.2f} ms{scanning[key]:>9.2f} ms{target:>10}")
    click.echo(f"  {'stalls over 50 ms':<22}{idle['stalls_over_50ms']:>12}{scanning['stalls_over_50ms']:>12}")
    click.echo(
        f"  scanning: {scanning['samples']} probes, {scanning['decisions_logged']} decisions logged, "
        f"{scanning['valid_passes_answered']} valid passes answered"
    )
    click.echo("  meets targets: " + ("yes" if figures["meets_targets"] else "NO"))


def register(group: click.Group) -> None:
    group.add_command(bench_ui)
