"""A camera scanned in a child process (the station's camera, and `checkpoint scan`'s).

Decoding happens in native code (ZBar, zxing-cpp). zxing-cpp's Python binding keeps the GIL for the
whole decode, so in a thread of the UI process every frame with a code in it froze Textual's event loop
(tens to hundreds of milliseconds on a busy 2-core laptop; see `checkpoint bench ui`). Here
`scanner.service.ScanService` runs in its own process (`spawn`: the UI process has threads, so no
fork) and sends its events back over a queue; the station's thread worker only waits on that queue,
which lets go of the GIL. A crash inside a native decoder ends the child, not the station: the worker
reports the camera lost and starts a new child after a pause.

This module imports neither Textual nor OpenCV at import time (the child process imports it); the
station screen and `checkpoint scan` both run their camera through it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import time
from collections.abc import Callable
from typing import Any

STOP_POLL_SECONDS = 0.25
RESTART_SECONDS = 2.0


def _child(spec: str, options: dict[str, Any], events: Any, stop: Any) -> None:
    """The child process: run the scan service, put every event on the queue, then None."""
    try:
        from scanner.service import ScanService

        service = ScanService(spec, **options)

        def emit(event: Any) -> None:
            kind = type(event).__name__
            if kind == "PreviewEvent":
                with contextlib.suppress(queue.Full):  # a preview may be dropped when busy; a code never is
                    events.put_nowait(("preview", event.image))
            elif kind == "CodeEvent":
                found = event.detection
                events.put(("code", found.text, bytes(found.raw), found.frame_index, found.frame_ts))
            elif kind == "StatusEvent":
                events.put(("status", str(event.state), str(event.detail), float(event.fps)))

        service.run(emit, stop.is_set)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # the station shows it as the camera's state, never as a traceback
        events.put(("status", "lost", f"{type(exc).__name__}: {exc}", 0.0))
    finally:
        events.put(None)


def scan_in_thread(
    spec: str,
    options: dict[str, Any],
    deliver: Callable[[tuple[Any, ...]], None],
    cancelled: Callable[[], bool],
) -> None:
    """The fallback when no child process can be started: the same events, from this thread. ZBar is
    used for `auto` here, because it lets go of the GIL while it decodes and zxing-cpp does not."""
    from scanner.service import ScanService

    if options.get("decoder", "auto") == "auto":
        options = {**options, "decoder": "zbar"}
    service = ScanService(spec, **options)

    def emit(event: Any) -> None:
        kind = type(event).__name__
        if kind == "PreviewEvent":
            deliver(("preview", event.image))
        elif kind == "CodeEvent":
            found = event.detection
            deliver(("code", found.text, bytes(found.raw), found.frame_index, found.frame_ts))
        elif kind == "StatusEvent":
            deliver(("status", str(event.state), str(event.detail), float(event.fps)))

    service.run(emit, cancelled)


def scan_in_child(
    spec: str,
    options: dict[str, Any],
    deliver: Callable[[tuple[Any, ...]], None],
    cancelled: Callable[[], bool],
) -> None:
    """Run the scanner for `spec` in a child process until `cancelled()`; `deliver` each event tuple:
    ("status", state, detail, fps), ("code", text, raw, frame index, frame time), ("preview", image). Blocks: call it from a
    thread worker."""
    context = multiprocessing.get_context("spawn")
    while not cancelled():
        try:
            events = context.Queue(maxsize=256)
            stop = context.Event()
            child = context.Process(target=_child, args=(spec, options, events, stop), daemon=True)
            child.start()
        except (OSError, ValueError):
            scan_in_thread(spec, options, deliver, cancelled)
            return
        finished = False
        try:
            while not cancelled():
                try:
                    event = events.get(timeout=STOP_POLL_SECONDS)
                except queue.Empty:
                    if not child.is_alive():
                        break
                    continue
                if event is None:
                    finished = True
                    break
                deliver(event)
        finally:
            stop.set()
            child.join(timeout=2.0)
            if child.is_alive():
                child.kill()
                child.join(timeout=1.0)
            events.close()
            events.cancel_join_thread()
        if finished or cancelled():
            return
        # The child died without saying goodbye (a native crash): say so, wait, start again.
        deliver(("status", "lost", f"the scanner stopped (exit code {child.exitcode})", 0.0))
        deadline = time.monotonic() + RESTART_SECONDS
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.05)
        deliver(("status", "reconnecting", spec, 0.0))
