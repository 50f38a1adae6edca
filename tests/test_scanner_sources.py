"""Frame sources through cv2.VideoCapture, and the scan service's camera states, on generated media."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from scanner.service import CodeEvent, PreviewEvent, ScanEvent, ScanService, StatusEvent
from scanner.sources import (
    Frame,
    ImageFolderSource,
    LiveSource,
    SourceError,
    VideoSource,
    open_source,
)
from scanner.synthetic import write_video
from tests.media import code_folder, code_frames, code_video


def read_all(source: Any) -> list[Frame]:
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    return frames


def test_video_file_gives_every_frame_in_order(tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", ["HELLO", "WORLD"], hold=4, gap=3)
    source = open_source(str(path))
    assert isinstance(source, VideoSource)
    assert source.live is False
    frames = read_all(source)
    assert [f.index for f in frames] == list(range(3 + 2 * (4 + 3)))
    assert all(f.image.ndim == 2 and f.image.dtype == np.uint8 for f in frames)
    assert frames[0].image.shape == (480, 640)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(frames))
    assert source.read() is None  # stays at the end


def test_numbered_image_folder_goes_through_videocapture(tmp_path: Path) -> None:
    folder = code_folder(tmp_path / "frames", ["HELLO"], hold=3, gap=2)
    source = open_source(str(folder))
    assert isinstance(source, ImageFolderSource)
    assert source.uses_video_capture
    frames = read_all(source)
    assert [f.index for f in frames] == list(range(2 + 3 + 2))
    expected = cv2.imread(str(folder / "000003.png"), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(frames[3].image, expected)


def test_other_image_folder_is_read_in_natural_order(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    frames = list(code_frames(["HELLO"], hold=1, gap=1))  # empty, code, empty
    for name, frame in zip(
        ["img10.jpg", "img2.png", "img9.png"], [frames[2], frames[0], frames[1]], strict=True
    ):
        cv2.imwrite(str(folder / name), frame)
    (folder / "notes.txt").write_text("not an image")
    (folder / "img5.png").write_bytes(b"broken")  # skipped
    source = open_source(str(folder))
    assert isinstance(source, ImageFolderSource)
    assert not source.uses_video_capture
    got = read_all(source)
    assert len(got) == 3
    assert np.array_equal(got[0].image, frames[0])  # img2 before img9 before img10
    assert np.array_equal(got[1].image, frames[1])


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.avi", "There is no video file"),
        (lambda p: written(p / "corrupt.avi", bytes(range(256)) * 40), "is not a video"),
        (lambda p: written(p / "empty.avi", b""), "is not a video"),
        (lambda p: (p / "nothing").mkdir() or p / "nothing", "has no images"),
    ],
)
def test_bad_sources_are_one_sentence(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(SourceError) as info:
        open_source(str(path))
    text = info.value.message
    assert message in text
    assert text.endswith(".") and "\n" not in text


def test_truncated_video_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", ["HELLO"], hold=3, gap=2)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(path.read_bytes()[:300])
    with pytest.raises(SourceError):
        read_all(open_source(str(cut)))


def test_absent_camera_is_a_source_error() -> None:
    with pytest.raises(SourceError) as info:
        open_source("47")
    assert "camera" in info.value.message


class FakeCamera:
    """A capture object over frames that delivers `deliver` frames, then stalls (or fails)."""

    def __init__(
        self, frames: list[np.ndarray], deliver: int, *, then: str = "stall", period: float = 0.01
    ) -> None:
        self.frames = frames
        self.deliver = deliver
        self.then = then
        self.period = period
        self.count = 0
        self.released = threading.Event()

    def read(self) -> tuple[bool, Any]:
        if self.count >= self.deliver:
            if self.then == "stall":
                self.released.wait(5)  # a driver stuck in select()
                return False, None
            raise OSError("device disconnected")
        time.sleep(self.period)
        frame = self.frames[self.count % len(self.frames)]
        self.count += 1
        return True, cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)

    def release(self) -> None:
        self.released.set()


def test_live_source_keeps_only_the_newest_frame() -> None:
    frames = list(code_frames(["HELLO"], hold=2, gap=1))
    camera = FakeCamera(frames, deliver=10_000, period=0.005)
    source = LiveSource(lambda: camera, "fake")
    try:
        first = source.read(timeout=2)
        assert first is not None
        time.sleep(0.2)  # a slow consumer: many frames arrive meanwhile
        second = source.read(timeout=2)
        assert second is not None
        assert second.index > first.index + 5  # the stale ones were dropped
        assert second.image.ndim == 2
    finally:
        source.close()
    assert camera.released.is_set()


def run_service(service: ScanService, until: Any, limit: float = 20.0) -> list[ScanEvent]:
    events: list[ScanEvent] = []
    deadline = time.monotonic() + limit

    def should_stop() -> bool:
        return until(events) or time.monotonic() > deadline

    service.run(events.append, should_stop)
    return events


def states(events: list[ScanEvent]) -> list[str]:
    out: list[str] = []
    for event in events:
        if isinstance(event, StatusEvent) and (not out or out[-1] != event.state):
            out.append(event.state)
    return out


class StallingCapture:
    """A real cv2.VideoCapture on a video file that plays like a camera, then stops delivering after
    `deliver` frames: it blocks (a driver stuck in select()) or raises (a device unplugged)."""

    def __init__(self, path: Path, deliver: int, then: str) -> None:
        self.capture = cv2.VideoCapture(str(path))
        self.deliver = deliver
        self.then = then
        self.count = 0
        self.released = threading.Event()

    def read(self) -> tuple[bool, Any]:
        if self.count >= self.deliver:
            if self.then == "stall":
                self.released.wait(5)
                return False, None
            raise OSError("device disconnected")
        ok, image = self.capture.read()
        if not ok:  # loop the file, as a camera never ends
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self.capture.read()
        time.sleep(0.01)
        self.count += 1
        return ok, image

    def release(self) -> None:
        self.released.set()
        self.capture.release()


@pytest.mark.parametrize("then", ["stall", "raise"])
def test_camera_that_stops_delivering_is_lost_then_reopened(then: str, tmp_path: Path) -> None:
    video = code_video(tmp_path / "camera.avi", ["HELLO"], hold=3, gap=2)
    opened: list[StallingCapture] = []

    def opener(spec: str) -> LiveSource:
        camera = StallingCapture(video, deliver=8 if not opened else 10_000, then=then)
        opened.append(camera)
        return LiveSource(lambda: camera, spec)

    service = ScanService("0", opener=opener, lost_after=0.5, backoff=(0.1,), duplicate_seconds=60)

    def until(events: list[ScanEvent]) -> bool:
        return states(events)[-2:] == ["reconnecting", "live"] and len(events) > 10

    events = run_service(service, until)
    assert states(events)[:5] == ["opening", "live", "lost", "reconnecting", "live"]
    assert len(opened) == 2
    assert opened[0].released.is_set()  # the stalled camera was let go
    codes = [e.detection.raw for e in events if isinstance(e, CodeEvent)]
    assert codes == [b"HELLO"]  # one scan, and the duplicate memory survived the reconnect


def test_no_camera_is_retried_with_backoff() -> None:
    calls: list[str] = []

    def opener(spec: str) -> LiveSource:
        calls.append(spec)
        raise SourceError("There is no camera number 0; check that it is plugged in.")

    service = ScanService("0", opener=opener, backoff=(0.05, 0.2))
    events = run_service(service, lambda ev: len(calls) >= 3)
    assert states(events)[:4] == ["opening", "no_camera", "reconnecting", "no_camera"]
    # the backoff grows, then stays at its last step (what the loop waits, not a clock reading)
    assert [service.backoff_delay(n) for n in (1, 2, 3, 9)] == [0.05, 0.2, 0.2, 0.2]


def test_service_on_a_file_emits_codes_previews_and_ends(tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", ["HELLO", "https://example.org/?a=1"], hold=4, gap=3)
    events = run_service(ScanService(str(path), preview=(64, 48)), lambda ev: False)
    assert states(events) == ["opening", "live", "ended"]
    assert [e.detection.raw for e in events if isinstance(e, CodeEvent)] == [
        b"HELLO",
        b"https://example.org/?a=1",
    ]
    previews = [e for e in events if isinstance(e, PreviewEvent)]
    assert previews and previews[0].image.shape == (48, 64)


def test_service_on_a_missing_file_says_why_and_returns(tmp_path: Path) -> None:
    events = run_service(ScanService(str(tmp_path / "gone.avi")), lambda ev: False)
    assert states(events) == ["opening", "no_camera"]
    last = events[-1]
    assert isinstance(last, StatusEvent) and "There is no video file" in last.detail


def test_a_hanging_decoder_does_not_stop_the_service(tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", ["HELLO"], hold=30, gap=2)
    service = ScanService(str(path), decoder="zxing", decode_timeout=0.3)
    worker = service._worker
    hang = threading.Event()
    original = worker.pipeline.decoder.decode

    def stuck(*args: Any, **kwargs: Any) -> Any:
        hang.wait(10)  # native code that never returns
        return original(*args, **kwargs)

    worker.pipeline.decoder.decode = stuck  # type: ignore[method-assign]
    try:
        events = run_service(service, lambda ev: False)
    finally:
        hang.set()
    details = [e.detail for e in events if isinstance(e, StatusEvent)]
    assert any("zxing decoder hung; switched to zbar" in d for d in details)
    assert [e.detection.raw for e in events if isinstance(e, CodeEvent)] == [b"HELLO"]
    assert states(events)[-1] == "ended"


def test_write_video_round_trips_frame_count(tmp_path: Path) -> None:
    frames = list(code_frames(["A"], hold=2, gap=1, width=320, height=240))
    write_video(tmp_path / "x.avi", frames)
    assert len(read_all(open_source(str(tmp_path / "x.avi")))) == len(frames)


class WaitingClock:
    """Time that passes only when the scanning loop waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_a_looping_file_feed_stays_live_and_is_paced(tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", ["LOOP"], hold=3, gap=2)  # 7 frames
    clock = WaitingClock()
    service = ScanService(
        str(path), loop=True, pace_fps=100.0, duplicate_seconds=60, clock=clock, sleep=clock.sleep
    )
    events = run_service(service, lambda ev: service.frames >= 21)
    # paced, not as fast as it decodes: a wait of 1/100 s after every frame (on a clock that moves only
    # when the loop waits, so what is asserted is what the loop asks for, not how busy the machine is)
    assert len(clock.waits) >= 20 and all(w == pytest.approx(0.01) for w in clock.waits), clock.waits
    assert states(events) == ["opening", "live"]  # no reopening flicker between rounds
    assert service.frames >= 21  # three rounds of a 7-frame file
    # The same card coming round again within duplicate_seconds is still the same scan.
    assert [e.detection.raw for e in events if isinstance(e, CodeEvent)] == [b"LOOP"]


def test_a_looping_feed_shorter_than_a_second_reports_its_frame_rate(tmp_path: Path) -> None:
    """A 7-frame file at 50 fps plays in 0.14 s: the frame rate is counted across rounds, not reset
    by each (the station showed "live 0 fps" for the demo's short folders)."""
    path = code_video(tmp_path / "feed.avi", ["LOOP"], hold=3, gap=2)
    service = ScanService(str(path), loop=True, pace_fps=50.0, duplicate_seconds=60)
    events = run_service(service, lambda ev: service.frames >= 120)
    rates = [e.fps for e in events if isinstance(e, StatusEvent) and e.state == "live" and e.fps > 0]
    assert rates, "no frame rate was ever reported"  # before: only the 0 of the first round
    assert max(rates) <= 60, rates  # paced at 50: never faster, whatever the machine


def test_a_device_path_is_a_webcam_and_is_retried_while_missing(tmp_path: Path) -> None:
    """/dev/video9 (or a /dev/v4l/by-id link to it) names webcam 9: unplugged, it is waited for, not
    reported as a missing video file."""
    from scanner.spec import camera_index

    link = tmp_path / "usb-camera"
    link.symlink_to("/dev/video9")
    assert [camera_index(s) for s in ("2", "/dev/video9", str(link), str(tmp_path), "/dev/null")] == [
        2, 9, 9, None, None,
    ]  # fmt: skip
    service = ScanService("/dev/video9", backoff=(0.05,))
    events = run_service(service, lambda seen: states(seen).count("no_camera") >= 2)
    assert states(events)[:4] == ["opening", "no_camera", "reconnecting", "no_camera"]
    details = [e.detail for e in events if isinstance(e, StatusEvent) and e.state == "no_camera"]
    assert details[0] == "There is no camera number 9; check that it is plugged in."
