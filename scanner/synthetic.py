"""Synthetic camera pictures of QR codes: the demo feed, the test media and the benchmark corpus use them.

Everything here is deterministic: the same arguments (and seed) give the same pixels, so tests and
benchmarks are reproducible. Images are grey `uint8` arrays (height × width), as a camera frame is after
`cv2.cvtColor(..., COLOR_BGR2GRAY)`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from statistics import NormalDist

import cv2
import numpy as np
import qrcode
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

__all__ = [
    "QUIET_ZONE",
    "SourceWriteError",
    "compose_frame",
    "qr_modules",
    "render_code",
    "write_image_folder",
    "write_video",
]

QUIET_ZONE = 4
_ALNUM = re.compile(r"[0-9A-Z $%*+\-./:]*")


class SourceWriteError(Exception):
    """A video or image folder could not be written (message: one sentence)."""


def qr_modules(payload: str | bytes, *, error_correction: str = "Q", border: int = QUIET_ZONE) -> np.ndarray:
    """The QR modules of `payload` as a bool array (True = dark), quiet zone included.

    A str made only of QR alphanumeric characters (a pass: Base45) is encoded in alphanumeric mode, any
    other str as UTF-8 bytes, and bytes as they are (byte mode, so binary payloads survive).
    """
    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(error_correction=levels[error_correction], border=border, box_size=1)
    if isinstance(payload, str) and _ALNUM.fullmatch(payload):
        code.add_data(QRData(payload.encode("ascii"), mode=MODE_ALPHA_NUM))
    else:
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        code.add_data(QRData(data, mode=MODE_8BIT_BYTE))
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def render_code(
    text: str | bytes,
    *,
    size: int = 400,
    error_correction: str = "Q",
    border: int = QUIET_ZONE,
    invert: bool = False,
) -> np.ndarray:
    """A QR code (EC level Q, 4-module quiet zone) as a grey image about `size` pixels square.

    Modules are whole pixels (the size is rounded down to a multiple of the module count, at least one
    pixel per module) so the code is sharp; `invert` gives light modules on dark (a phone in dark mode).
    """
    modules = qr_modules(text, error_correction=error_correction, border=border)
    box = max(1, size // modules.shape[0])
    image = np.where(modules, np.uint8(0), np.uint8(255)).astype(np.uint8)
    image = np.kron(image, np.ones((box, box), dtype=np.uint8))
    if invert:
        image = 255 - image
    return np.ascontiguousarray(image)


# Standard normal values at the centres of 256 equal-probability bins: a byte of randomness → a Gaussian
# sample (quantised), several times cheaper than numpy's normal() for a whole frame.
_GAUSS = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)], dtype=np.float32)


def gaussian_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Deterministic (seeded) zero-mean Gaussian noise of standard deviation `sigma`, float32."""
    count = int(np.prod(shape))
    picks = np.frombuffer(rng.bytes(count), dtype=np.uint8).reshape(shape)
    noise: np.ndarray = _GAUSS[picks] * np.float32(sigma)
    return noise


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A dull camera-like scene: a soft gradient and a few blurred shapes (noise is added by the caller).

    Drawn at a quarter of the size and scaled up (it is blurred anyway): a 1280×720 scene costs a few ms.
    """
    small_w, small_h = max(8, width // 4), max(8, height // 4)
    ys, xs = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    base = float(rng.uniform(70, 150))
    gx, gy = rng.uniform(-40, 40, size=2)
    scene = base + gx * xs / small_w + gy * ys / small_h
    for _ in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, small_w), rng.uniform(0, small_h)
        rx, ry = rng.uniform(small_w * 0.05, small_w * 0.3), rng.uniform(small_h * 0.05, small_h * 0.3)
        mask = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0
        scene[mask] += float(rng.uniform(-50, 50))
    scene = np.asarray(cv2.GaussianBlur(scene, (0, 0), 0.75), dtype=np.float32)
    full = np.asarray(cv2.resize(scene, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32)
    result: np.ndarray = np.clip(full, 0, 255).astype(np.uint8)
    return result


def compose_frame(
    code: np.ndarray | None,
    width: int,
    height: int,
    *,
    seed: int,
    scale: float = 0.5,
    center: tuple[float, float] | None = None,
    angle: float = 0.0,
    card_margin: float = 0.12,
    noise: float = 3.0,
) -> np.ndarray:
    """A camera-like grey frame of `width` × `height` with `code` printed on a white card in it.

    `scale` is the card's side as a fraction of the frame's height, `center` its centre as fractions of
    the frame (default: near the middle, jittered by the seed), `angle` an in-plane rotation in degrees.
    `code=None` gives the scene alone (a frame with no code in view).
    """
    rng = np.random.default_rng(seed)
    frame = _background(width, height, rng)
    if code is not None:
        pad = round(code.shape[0] * card_margin)
        card = cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=245)
        side = max(8, round(height * scale))
        interpolation = cv2.INTER_AREA if side < card.shape[0] else cv2.INTER_LINEAR
        card = cv2.resize(card, (side, side), interpolation=interpolation)
        if center is None:
            center = (0.5 + float(rng.uniform(-0.08, 0.08)), 0.5 + float(rng.uniform(-0.08, 0.08)))
        cx, cy = center[0] * width, center[1] * height
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
        matrix[0, 2] += cx - side / 2
        matrix[1, 2] += cy - side / 2
        frame = paste(frame, card, matrix)
    if noise > 0:
        jitter = gaussian_noise(rng, frame.shape, noise)
        frame = np.clip(frame.astype(np.float32) + jitter, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(frame)


def paste(frame: np.ndarray, patch: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp `patch` into `frame` with an affine (2×3) or perspective (3×3) matrix, smooth edges.

    Only the bounding box of the warped patch is computed (a small card in a big frame costs little).
    """
    height, width = frame.shape[:2]
    ph, pw = patch.shape[:2]
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32).reshape(-1, 1, 2)
    if matrix.shape == (3, 3):
        placed = cv2.perspectiveTransform(corners, matrix.astype(np.float64))
    else:
        placed = cv2.transform(corners, matrix.astype(np.float64))
    x0 = max(0, int(np.floor(placed[..., 0].min())) - 2)
    y0 = max(0, int(np.floor(placed[..., 1].min())) - 2)
    x1 = min(width, int(np.ceil(placed[..., 0].max())) + 2)
    y1 = min(height, int(np.ceil(placed[..., 1].max())) + 2)
    if x1 <= x0 or y1 <= y0:
        return frame.copy()
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    full = (
        matrix.astype(np.float64)
        if matrix.shape == (3, 3)
        else np.vstack([matrix.astype(np.float64), [0, 0, 1]])
    )
    local = shift @ full
    size = (x1 - x0, y1 - y0)
    ones = np.full(patch.shape[:2], 255, dtype=np.uint8)
    if matrix.shape == (3, 3):
        warped = cv2.warpPerspective(patch, local, size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(ones, local, size, flags=cv2.INTER_LINEAR)
    else:
        warped = cv2.warpAffine(patch, local[:2], size, flags=cv2.INTER_LINEAR)
        mask = cv2.warpAffine(ones, local[:2], size, flags=cv2.INTER_LINEAR)
    alpha = mask.astype(np.float32) / 255.0
    region = frame[y0:y1, x0:x1].astype(np.float32)
    blended = region * (1.0 - alpha) + np.asarray(warped, dtype=np.float32) * alpha
    out = frame.copy()
    out[y0:y1, x0:x1] = np.clip(blended, 0, 255).astype(np.uint8)
    return out


def _bgr(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 30.0) -> None:
    """Write frames to a video that this OpenCV reads back: Motion-JPEG (high quality) in an .avi.

    The file name should end in `.avi`. Raises SourceWriteError if nothing could be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: cv2.VideoWriter | None = None
    count = 0
    try:
        for frame in frames:
            image = _bgr(frame)
            if writer is None:
                height, width = image.shape[:2]
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
                if not writer.isOpened():
                    raise SourceWriteError(f"Cannot write the video file {path}.")
                writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
            writer.write(image)
            count += 1
    finally:
        if writer is not None:
            writer.release()
    if count == 0:
        raise SourceWriteError(f"No frames to write to {path}.")


def write_image_folder(path: Path, frames: Iterable[np.ndarray]) -> None:
    """Write frames as `000000.png`, `000001.png`, … in the folder `path` (created if needed)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        target = path / f"{index:06d}.png"
        if not cv2.imwrite(str(target), frame):
            raise SourceWriteError(f"Cannot write the image {target}.")
