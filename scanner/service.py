"""The scanning loop the station runs in a thread worker: open → read → decode → events, forever.

`ScanService(spec).run(emit, should_stop)` never raises for camera trouble. It reports:

* `StatusEvent(state, detail, fps)` — `opening`, `live` (first frame, then about once a second with the
  frame rate), `lost` (no frame for `lost_after` seconds, or the driver returned errors), `reconnecting`
  (a new attempt after a backoff of 0.5, 1, 2, 4, 5, 5 … seconds), `no_camera` (the source cannot be
  opened; for a file or folder this is final and `detail` is the sentence saying why), `ended` (a file or
  folder source has no more frames).
* `CodeEvent(detection)` — a new, non-duplicate code.
* `PreviewEvent(image)` — a small grey picture for a viewfinder, at most 5 per second.

It returns when `should_stop()` is true (checked at least every 0.25 s) or when a file source ends.

Native decoder hangs: decoding runs in a helper thread and the service waits at most `decode_timeout`
seconds for it. If a decode takes longer, the helper is abandoned (it is a daemon thread), the service
switches to the other decoder and says so in a `live` status. Both decoders let go of the GIL while they
decode, so a hung decode does not hold the capture thread. A hard crash (a segfault) inside native code
ends the process running the service: the station runs it in a child process for that reason (see
docs/scanner.md).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from .decoders import AUTO_DECODER, DECODERS
from .pipeline import Detection, Pipeline
from .sources import Frame, FrameSource, SourceError, open_source
from .spec import camera_index

__all__ = ["CodeEvent", "PreviewEvent", "ScanEvent", "ScanService", "StatusEvent"]

State = Literal["opening", "live", "lost", "reconnecting", "no_camera", "ended"]
BACKOFF = (0.5, 1.0, 2.0, 4.0, 5.0)


@dataclass(frozen=True)
class StatusEvent:
    state: State
    detail: str = ""
    fps: float = 0.0


@dataclass(frozen=True)
class CodeEvent:
    detection: Detection


@dataclass(frozen=True)
class PreviewEvent:
    image: np.ndarray


ScanEvent = StatusEvent | CodeEvent | PreviewEvent


class _Stalled(Exception):
    pass


class _DecodeThread:
    """Runs `pipeline.process` in a daemon thread so that the caller can stop waiting for it."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._jobs: queue.Queue[Frame] = queue.Queue(maxsize=1)
        self._results: queue.Queue[list[Detection] | BaseException] = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="qr-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            frame = self._jobs.get()
            try:
                result: list[Detection] | BaseException = self.pipeline.process(frame)
            except BaseException as exc:  # reported to the caller, which carries on
                result = exc
            self._results.put(result)

    def process(self, frame: Frame, timeout: float) -> list[Detection]:
        self._jobs.put(frame)
        try:
            result = self._results.get(timeout=timeout)
        except queue.Empty:
            raise _Stalled from None
        if isinstance(result, BaseException):
            return []
        return result


class ScanService:
    def __init__(
        self,
        spec: str,
        *,
        decoder: str = "auto",
        duplicate_seconds: float = 5.0,
        preview: tuple[int, int] | None = (64, 48),
        opener: Callable[[str], FrameSource] = open_source,
        lost_after: float = 1.5,
        decode_timeout: float = 2.0,
        backoff: tuple[float, ...] = BACKOFF,
        pace_fps: float | None = None,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`pace_fps` replays a file source at that rate instead of as fast as possible; `loop` starts
        a file source again at its end (a demo feed). `opener` is `open_source` (tests pass others);
        `clock` and `sleep` are the loop's time (a test passes a clock that moves only when it waits)."""
        self.spec = spec
        self.decoder = decoder
        self.duplicate_seconds = duplicate_seconds
        self.preview = preview
        self.opener = opener
        self.lost_after = lost_after
        self.decode_timeout = decode_timeout
        self.backoff = backoff
        self.pace_fps = pace_fps
        self.loop = loop
        self.frames = 0
        self._clock = clock
        self._wait = sleep
        self._window = (clock(), 0)  # frame-rate window: start, frames since
        self._worker = _DecodeThread(Pipeline(decoder, duplicate_seconds))

    # -- the loop ------------------------------------------------------------------------------------
    def run(self, emit: Callable[[ScanEvent], None], should_stop: Callable[[], bool]) -> None:
        attempt = 0
        looping = False
        while not should_stop():
            if not looping:
                emit(StatusEvent("opening" if attempt == 0 else "reconnecting", self.spec))
            try:
                source = self.opener(self.spec)
            except SourceError as exc:
                emit(StatusEvent("no_camera", exc.message))
                if camera_index(self.spec) is None:  # a file or folder will not appear by itself
                    return
                attempt += 1
                self._sleep(attempt, should_stop)
                continue
            try:
                ended = self._pump(source, emit, should_stop, announce=not looping)
            finally:
                source.close()
            looping = False
            if ended:
                if self.loop and not should_stop():
                    looping = True  # start the file again, quietly: the feed is still live
                    continue
                emit(StatusEvent("ended", self.spec))
                return
            if should_stop():
                return
            attempt += 1
            self._sleep(attempt, should_stop)

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1: the first), growing up to the last step."""
        return self.backoff[min(attempt, len(self.backoff)) - 1] if self.backoff else 0.0

    def _sleep(self, attempt: int, should_stop: Callable[[], bool]) -> None:
        delay = self.backoff_delay(attempt)
        deadline = self._clock() + delay
        while not should_stop() and self._clock() < deadline:
            self._wait(min(0.05, max(0.0, deadline - self._clock())))

    def _pump(
        self,
        source: FrameSource,
        emit: Callable[[ScanEvent], None],
        should_stop: Callable[[], bool],
        *,
        announce: bool = True,
    ) -> bool:
        """Read and decode until the source ends (True) or is lost or we are stopped (False)."""
        last_frame = self._clock()
        live = not announce
        last_preview = -1.0
        if announce:  # a looping feed keeps counting its frame rate across the restarts (a short folder
            self._window = (self._clock(), 0)  # takes less than the one-second window to play)
        window_start, window_frames = self._window
        next_due = self._clock()
        while not should_stop():
            frame = source.read(timeout=0.25)
            now = self._clock()
            if frame is None:
                if not source.live:
                    return True
                failed = bool(getattr(source, "failed", False))
                if failed or now - last_frame > self.lost_after:
                    why = "the camera returned an error" if failed else "no picture from the camera"
                    emit(StatusEvent("lost", why))
                    return False
                continue
            last_frame = now
            if not live:
                live = True
                emit(StatusEvent("live", self.spec, 0.0))
            self.frames += 1
            for detection in self._decode(frame, emit):
                emit(CodeEvent(detection))
            if self.preview is not None and now - last_preview >= 0.2:
                last_preview = now
                small = cv2.resize(frame.image, self.preview, interpolation=cv2.INTER_AREA)
                emit(PreviewEvent(small))
            window_frames += 1
            if now - window_start >= 1.0:
                emit(StatusEvent("live", self.spec, window_frames / (now - window_start)))
                window_start, window_frames = now, 0
            self._window = (window_start, window_frames)
            if self.pace_fps and not source.live:
                next_due += 1.0 / self.pace_fps
                delay = next_due - self._clock()
                if delay > 0:
                    self._wait(delay)
                else:
                    next_due = self._clock()
        return False

    def _decode(self, frame: Frame, emit: Callable[[ScanEvent], None]) -> list[Detection]:
        try:
            return self._worker.process(frame, self.decode_timeout)
        except _Stalled:
            old = self._worker.pipeline
            current = old.decoder.name
            other = (
                next(name for name in DECODERS if name != current) if current in DECODERS else AUTO_DECODER
            )
            fresh = Pipeline(other, self.duplicate_seconds)
            fresh._seen = dict(old._seen)
            self._worker = _DecodeThread(fresh)
            emit(StatusEvent("live", f"the {current} decoder hung; switched to {other}", 0.0))
            return []
