"""Frame sources: a webcam by index, a video file, an image folder — all through `cv2.VideoCapture`.

`open_source(spec)` picks the kind from the spec: digits → a webcam index, a folder → an image folder,
anything else → a video file. Every source gives grey frames (`Frame.image` is 2-D `uint8`).

* A webcam is *live*: a capture thread reads continuously and keeps only the newest frame with its
  timestamp, so a slow decoder never works on stale pictures. `read()` waits for a frame newer than the
  last one it returned and gives None when none came within the timeout; `failed` says the capture thread
  gave up (the camera returned an error). Noticing a stalled camera and reopening it is `ScanService`'s job.
* A video file or an image folder is not live: `read()` returns every frame, in order, none dropped, and
  None at the end, so results are reproducible.

Image folders: a folder of `000000.png`, `000001.png`, … (what `synthetic.write_image_folder` writes, or
any printf-numbered sequence `%0Nd.<ext>` starting at 0 or 1) is read with `cv2.VideoCapture` on the
pattern (`CAP_IMAGES`), the same path as a video. Other folders (photos named by a phone) are read with
`cv2.imread` one file at a time in natural name order, since `CAP_IMAGES` can only follow a number
sequence; a file that is not an image is skipped.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# OpenCV's V4L2 backend waits up to 10 s in select() for a frame by default; a stalled camera must not
# block the capture thread that long. The value is in seconds and read once, at the first V4L2 frame
# read of the process (a function-level static in cap_v4l.cpp), so setting it at import is early enough.
os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", "1")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2
import numpy as np

from .spec import camera_index

cv2.utils.logging.setLogLevel(
    cv2.utils.logging.LOG_LEVEL_ERROR
)  # errors only: a missing camera is reported by us, in one sentence

__all__ = [
    "CameraSource",
    "Frame",
    "FrameSource",
    "ImageFolderSource",
    "LiveSource",
    "SourceError",
    "VideoSource",
    "open_source",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


class SourceError(Exception):
    """A source cannot be opened or read: a missing or corrupt file, no camera. One sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Frame:
    """One grey picture; `ts` is `time.monotonic()` when it was captured, `index` counts from 0."""

    image: np.ndarray
    ts: float
    index: int


class FrameSource(Protocol):
    live: bool

    def read(self, timeout: float = 1.0) -> Frame | None: ...

    def close(self) -> None: ...


def to_grey(image: np.ndarray) -> np.ndarray:
    """A 2-D uint8 contiguous grey image from whatever OpenCV returned (BGR, BGRA, grey)."""
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
        elif image.shape[2] == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        else:
            image = image[:, :, 0]
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image)
    return np.ascontiguousarray(image)


class _CaptureSource:
    """Every frame of a `cv2.VideoCapture` (a video file or a numbered image sequence), in order."""

    live = False

    def __init__(self, capture: Any, name: str) -> None:
        self._capture = capture
        self._name = name
        self._index = 0
        self._pending: np.ndarray | None = None
        ok, image = capture.read()
        if not ok or image is None:
            capture.release()
            raise SourceError(f"{name} has no picture this program can read.")
        self._pending = image

    def read(self, timeout: float = 1.0) -> Frame | None:
        if self._capture is None:
            return None
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, image = self._capture.read()
            if not ok or image is None:
                self.close()
                return None
        frame = Frame(to_grey(image), time.monotonic(), self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class VideoSource(_CaptureSource):
    """A video file through `cv2.VideoCapture` (FFmpeg backend)."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise SourceError(f"There is no video file {path}.")
        if not path.is_file():
            raise SourceError(f"{path} is not a video file.")
        try:
            capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        except cv2.error as exc:
            raise SourceError(f"{path} is not a video this program can read.") from exc
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"{path} is not a video this program can read.")
        try:
            super().__init__(capture, str(path))
        except SourceError as exc:
            raise SourceError(f"{path} is not a video this program can read.") from exc
        self.fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _sequence_pattern(files: list[Path]) -> tuple[str, int] | None:
    """`(printf pattern, first index)` if the files are one numbered sequence like 000000.png…"""
    match = re.fullmatch(r"(\d+)(\.\w+)", files[0].name)
    if not match:
        return None
    width, suffix = len(match.group(1)), match.group(2)
    start = int(match.group(1))
    if start not in (0, 1):
        return None
    expected = [f"{i:0{width}d}{suffix}" for i in range(start, start + len(files))]
    if [f.name for f in files] != expected:
        return None
    return f"%0{width}d{suffix}", start


class ImageFolderSource:
    """The images of a folder in name order (see the module docstring for how they are read)."""

    live = False

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise SourceError(f"There is no image folder {path}.")
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=_natural_key,
        )
        if not files:
            raise SourceError(f"The folder {path} has no images in it.")
        self._files = files
        self._position = 0
        self._index = 0
        self._sequence: _CaptureSource | None = None
        sequence = _sequence_pattern(files)
        self.uses_video_capture = False
        if sequence is not None:
            pattern, _start = sequence  # CAP_IMAGES finds the first number itself
            capture = cv2.VideoCapture(str(path / pattern), cv2.CAP_IMAGES)
            if capture.isOpened():
                try:
                    self._sequence = _CaptureSource(capture, str(path))
                    self.uses_video_capture = True
                except SourceError:
                    self._sequence = None
        if self._sequence is None and not self._peek():
            raise SourceError(f"The folder {path} has no image this program can read.")

    def _peek(self) -> bool:
        return any(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) is not None for p in self._files[:20])

    def read(self, timeout: float = 1.0) -> Frame | None:
        if self._sequence is not None:
            return self._sequence.read(timeout)
        while self._position < len(self._files):
            path = self._files[self._position]
            self._position += 1
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None:
                continue
            frame = Frame(to_grey(image), time.monotonic(), self._index)
            self._index += 1
            return frame
        return None

    def close(self) -> None:
        if self._sequence is not None:
            self._sequence.close()
        self._position = len(self._files)


class LiveSource:
    """A live capture: a thread reads `grab()`-able frames and keeps only the newest one.

    `opener()` returns an opened capture object with `read() -> (ok, image)` and `release()` (a
    `cv2.VideoCapture`, or a test double that stalls). Consecutive read errors set `failed` and end the
    thread; a capture that simply stops delivering leaves `failed` False but `read()` returns None.
    """

    live = True

    def __init__(self, opener: Callable[[], Any], name: str, *, max_errors: int = 5) -> None:
        self.name = name
        self._capture = opener()
        self._cond = threading.Condition()
        self._newest: Frame | None = None
        self._returned = -1
        self._count = 0
        self._stop = threading.Event()
        self._max_errors = max_errors
        self.failed = False
        self.last_frame_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"capture-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        errors = 0
        capture = self._capture
        while not self._stop.is_set():
            try:
                ok, image = capture.read()
            except Exception:  # a broken driver or test double: count it like a failed read
                ok, image = False, None
            if self._stop.is_set():
                break
            if not ok or image is None:
                errors += 1
                if errors >= self._max_errors:
                    with self._cond:
                        self.failed = True
                        self._cond.notify_all()
                    break
                time.sleep(0.05)
                continue
            errors = 0
            frame = Frame(to_grey(image), time.monotonic(), self._count)
            self._count += 1
            with self._cond:
                self._newest = frame
                self.last_frame_at = frame.ts
                self._cond.notify_all()

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The newest frame not returned yet; None if none arrived within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._newest is None or self._newest.index <= self._returned:
                if self.failed or self._stop.is_set():
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            frame = self._newest
            self._returned = frame.index
            return frame

    def close(self) -> None:
        """Stop the thread and release the camera; never blocks for long on a stuck driver."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=1.5)
        capture = self._capture
        if not self._thread.is_alive():
            capture.release()
        else:  # stuck inside the driver: release from a helper thread, do not wait for it
            threading.Thread(target=capture.release, daemon=True).start()


def _open_camera(index: int) -> Any:
    # No open/read timeout parameters here: OpenCV's V4L2 backend does not support
    # CAP_PROP_OPEN_TIMEOUT_MSEC / CAP_PROP_READ_TIMEOUT_MSEC, and OpenCV refuses to open a camera with a
    # backend that leaves a parameter unused. The select() timeout comes from the environment (above).
    capture = cv2.VideoCapture(index, cv2.CAP_V4L2)
    if not capture.isOpened():
        capture.release()
        capture = cv2.VideoCapture(index, cv2.CAP_ANY)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"There is no camera number {index}; check that it is plugged in.")
    # MJPG lets USB 2 cameras deliver 1280×720 at 30 fps; ignored by cameras that do not offer it.
    capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, 1280)
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, 720)
    capture.set(cv2.CAP_PROP_FPS, 30)
    capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return capture


class CameraSource(LiveSource):
    """A webcam by index: V4L2, MJPG, 1280×720 at 30 fps where offered, short timeouts."""

    def __init__(self, index: int) -> None:
        super().__init__(lambda: _open_camera(index), f"camera {index}")


def open_source(spec: str) -> FrameSource:
    """A webcam (see `camera_index`); a folder → an image folder; a file → a video. Raises SourceError."""
    spec = spec.strip()
    index = camera_index(spec)
    if index is not None:
        return CameraSource(index)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageFolderSource(path)
    return VideoSource(path)
