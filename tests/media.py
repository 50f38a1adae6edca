"""Test media: videos and image folders of pass codes, made with `scanner.synthetic` (thin helpers).

    from tests.media import code_video, code_folder
    path = code_video(tmp_path / "feed.avi", [pass_text], width=640, height=480)

Each payload is shown for `hold` frames, with `gap` frames of empty scene before and between them, so a
video of N payloads gives N decisions. Frames are deterministic (seeded).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from scanner.synthetic import compose_frame, render_code, write_image_folder, write_video


def code_frames(
    payloads: Sequence[str | bytes],
    *,
    width: int = 640,
    height: int = 480,
    hold: int = 10,
    gap: int = 5,
    scale: float = 0.6,
    seed: int = 1,
) -> Iterator[np.ndarray]:
    """Frames: `gap` empty frames, then each payload for `hold` frames followed by `gap` empty frames."""
    index = 0
    for _ in range(gap):
        yield compose_frame(None, width, height, seed=seed * 1000 + index)
        index += 1
    for payload in payloads:
        code = render_code(payload, size=400)
        for _ in range(hold):
            yield compose_frame(code, width, height, seed=seed * 1000 + index, scale=scale, center=(0.5, 0.5))
            index += 1
        for _ in range(gap):
            yield compose_frame(None, width, height, seed=seed * 1000 + index)
            index += 1


def code_video(path: Path, payloads: Sequence[str | bytes], fps: float = 30.0, **options: object) -> Path:
    """An MJPG .avi showing each payload in turn (see `code_frames` for the options)."""
    write_video(path, code_frames(payloads, **options), fps=fps)  # type: ignore[arg-type]
    return path


def code_folder(path: Path, payloads: Sequence[str | bytes], **options: object) -> Path:
    """A folder 000000.png, 000001.png, … showing each payload in turn."""
    write_image_folder(path, code_frames(payloads, **options))  # type: ignore[arg-type]
    return path


def single_frame(
    payload: str | bytes | None, *, width: int = 640, height: int = 480, seed: int = 3
) -> np.ndarray:
    """One frame with one code in it (or none)."""
    code = None if payload is None else render_code(payload, size=400)
    return compose_frame(code, width, height, seed=seed, scale=0.6, center=(0.5, 0.5))
