"""The scan benchmark corpus: pass codes in camera-like frames, degraded the ways a checkpoint degrades them.

Deterministic and seeded: `generate(passes, frames_per_category=…, seed=…)` gives the same frames every
time for the same arguments. It knows nothing of the pass format: the caller hands in the QR texts
(`checkpoint bench scan` issues real passes with the core and passes their texts in).

Each frame is a `Sample`: the grey picture, its category and size, the payload that must be read
(`target`, None for a frame with no code) and every payload present in the frame (`present`): reading a
payload that is not present is a *wrong payload*.

`write_corpus(folder, samples)` stores the frames as PNG plus `manifest.json`; `read_corpus(folder)` reads
them back (so a corpus can be generated once and benchmarked repeatedly, or inspected by eye).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .synthetic import compose_frame, paste, qr_modules, render_code

__all__ = ["CATEGORIES", "SIZES", "Sample", "generate", "read_corpus", "write_corpus"]

SIZES: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720))
OTHER_CODE = "https://weixin.qq.com/r/township-health-notice"


@dataclass
class Sample:
    name: str
    category: str
    width: int
    height: int
    image: np.ndarray
    target: bytes | None
    present: tuple[bytes, ...]


@dataclass
class _Scene:
    """What one category draws: the code, its size and place, and a function that degrades the frame."""

    rng: np.random.Generator
    payload: str
    width: int
    height: int
    seed: int


def _bytes(payload: str | bytes) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else payload


def _modules(payload: str) -> int:
    return int(qr_modules(payload).shape[0])


def _scale_for(payload: str, height: int, module_px: float) -> float:
    """compose_frame's `scale` that makes each module about `module_px` pixels."""
    return _modules(payload) * module_px * 1.24 / height


def _frame(s: _Scene, *, module_px: float | None = None, **options: object) -> np.ndarray:
    if module_px is None:
        module_px = float(s.rng.uniform(4.0, 6.5)) * s.height / 720
    scale = min(0.9, _scale_for(s.payload, s.height, module_px))
    code = render_code(s.payload, size=600)
    return compose_frame(code, s.width, s.height, seed=s.seed, scale=scale, **options)  # type: ignore[arg-type]


def _nominal(s: _Scene) -> np.ndarray:
    return _frame(s)


def _rotation(s: _Scene) -> np.ndarray:
    angle = float(s.rng.uniform(10, 80)) + 90 * int(s.rng.integers(0, 4))
    return _frame(s, angle=angle)


def _perspective(s: _Scene) -> np.ndarray:
    rng = s.rng
    frame = compose_frame(None, s.width, s.height, seed=s.seed)
    code = render_code(s.payload, size=600)
    pad = round(code.shape[0] * 0.12)
    card = cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=245)
    side = _scale_for(s.payload, s.height, float(rng.uniform(4.5, 6.5)) * s.height / 720) * s.height
    cx, cy = s.width / 2, s.height / 2
    half = side / 2
    dst = np.array(
        [[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half], [cx - half, cy + half]],
        dtype=np.float32,
    )
    # Tilt: one side shorter than the other (the card is turned away), plus corner jitter.
    shrink = float(rng.uniform(0.18, 0.3)) * side
    which = int(rng.integers(0, 4))
    a, b = which, (which + 1) % 4
    centre = np.array([cx, cy], dtype=np.float32)
    for corner in (a, b):
        dst[corner] += (centre - dst[corner]) * (shrink / side)
    dst += rng.uniform(-0.04, 0.04, size=dst.shape).astype(np.float32) * side
    n = card.shape[0]
    src = np.array([[0, 0], [n, 0], [n, n], [0, n]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return paste(frame, card, matrix)


def _blur(s: _Scene) -> np.ndarray:
    module_px = float(s.rng.uniform(4.5, 6.5)) * s.height / 720
    frame = _frame(s, module_px=module_px)
    sigma = module_px * float(s.rng.uniform(0.35, 0.55))
    return np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.uint8)


def _motion_blur(s: _Scene) -> np.ndarray:
    module_px = float(s.rng.uniform(4.5, 6.5)) * s.height / 720
    frame = _frame(s, module_px=module_px)
    length = max(3, round(module_px * float(s.rng.uniform(0.9, 1.4))))
    kernel = np.zeros((length, length), dtype=np.float32)
    kernel[length // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(
        ((length - 1) / 2, (length - 1) / 2), float(s.rng.uniform(0, 180)), 1.0
    )
    turned = np.asarray(cv2.warpAffine(kernel, rotation, (length, length)), dtype=np.float32)
    turned /= max(float(turned.sum()), 1e-6)
    kernel = turned
    return np.asarray(cv2.filter2D(frame, -1, kernel), dtype=np.uint8)


def _noise(s: _Scene) -> np.ndarray:
    frame = _frame(s).astype(np.float32)
    frame += s.rng.normal(0, float(s.rng.uniform(22, 35)), size=frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _low_contrast(s: _Scene) -> np.ndarray:
    frame = _frame(s).astype(np.float32)
    mean = float(frame.mean())
    frame = mean + (frame - mean) * float(s.rng.uniform(0.12, 0.2))
    frame += s.rng.normal(0, 1.5, size=frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _low_light(s: _Scene) -> np.ndarray:
    frame = _frame(s).astype(np.float32)
    frame = frame * float(s.rng.uniform(0.08, 0.14)) + 2
    frame += s.rng.normal(0, float(s.rng.uniform(1.5, 3.0)), size=frame.shape).astype(np.float32)
    return np.clip(np.round(frame), 0, 255).astype(np.uint8)


def _glare(s: _Scene) -> np.ndarray:
    frame = _frame(s, center=(0.5, 0.5)).astype(np.float32)
    side = _scale_for(s.payload, s.height, 5.0 * s.height / 720) * s.height
    ys, xs = np.mgrid[0 : s.height, 0 : s.width].astype(np.float32)
    cx = s.width / 2 + float(s.rng.uniform(-0.3, 0.3)) * side
    cy = s.height / 2 + float(s.rng.uniform(-0.3, 0.3)) * side
    radius = side * float(s.rng.uniform(0.12, 0.2))
    spot = np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2)))
    frame = frame + spot * float(s.rng.uniform(160, 230))
    result: np.ndarray = np.clip(frame, 0, 255).astype(np.uint8)
    return result


def _far(s: _Scene) -> np.ndarray:
    return _frame(s, module_px=float(s.rng.uniform(2.2, 2.8)))


def _phone_screen(s: _Scene) -> np.ndarray:
    rng = s.rng
    dark_mode = bool(rng.integers(0, 2))
    code = render_code(s.payload, size=600, invert=dark_mode)
    # The screen: the code on a lit panel with a visible pixel grid (dark lines between pixel rows/cols).
    pitch = 3
    panel = cv2.copyMakeBorder(code, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=30 if dark_mode else 235)
    grid = np.ones_like(panel, dtype=np.float32)
    grid[::pitch, :] *= 0.55
    grid[:, ::pitch] *= 0.55
    lit = panel.astype(np.float32) * grid * float(rng.uniform(0.75, 0.95)) + 15
    screen = np.clip(lit, 0, 255).astype(np.uint8)
    body = cv2.copyMakeBorder(screen, 60, 140, 30, 30, cv2.BORDER_CONSTANT, value=12)  # the phone itself
    module_px = float(rng.uniform(4.5, 6.0)) * s.height / 720
    scale = module_px * body.shape[0] / (code.shape[0] / _modules(s.payload))
    frame = compose_frame(None, s.width, s.height, seed=s.seed)
    matrix = np.asarray(
        cv2.getRotationMatrix2D((body.shape[1] / 2, body.shape[0] / 2), float(rng.uniform(-12, 12)), 1.0),
        dtype=np.float64,
    )
    size = scale / body.shape[0]
    matrix[:, :2] *= size
    matrix[:, 2] *= size
    matrix[0, 2] += s.width / 2 - body.shape[1] * size / 2
    matrix[1, 2] += s.height / 2 - body.shape[0] * size / 2
    # Nearest-neighbour resampling of the grid makes moiré, as a camera does.
    warped = cv2.warpAffine(body, matrix, (s.width, s.height), flags=cv2.INTER_NEAREST)
    mask = cv2.warpAffine(
        np.full(body.shape, 255, np.uint8), matrix, (s.width, s.height), flags=cv2.INTER_NEAREST
    )
    out = np.where(mask > 0, warped, frame)
    out = cv2.GaussianBlur(out, (0, 0), 0.7)
    return np.asarray(out, dtype=np.uint8)


def _curved(s: _Scene) -> np.ndarray:
    rng = s.rng
    code = render_code(s.payload, size=600)
    pad = round(code.shape[0] * 0.12)
    card = cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=245)
    n = card.shape[0]
    # Bent around a vertical cylinder: x compresses towards the edges, y bulges in the middle.
    bend = float(rng.uniform(0.6, 0.9))  # half of the arc, radians
    out_w = n
    xs = np.linspace(-1, 1, out_w, dtype=np.float32)
    src_x = (np.arcsin(np.clip(xs * np.sin(bend), -1, 1)) / bend + 1) * (n - 1) / 2
    bulge = float(rng.uniform(0.03, 0.06)) * n
    map_x = np.tile(src_x, (n, 1)).astype(np.float32)
    ys = np.arange(n, dtype=np.float32)[:, None]
    centre_y = (n - 1) / 2
    depth = np.cos(xs * bend)[None, :]
    map_y = (centre_y + (ys - centre_y) * (1 + bulge / n * (depth - np.cos(bend)) * 4)).astype(np.float32)
    curved = cv2.remap(card, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    shade = (0.75 + 0.25 * depth).astype(np.float32)
    curved = np.clip(curved.astype(np.float32) * shade, 0, 255).astype(np.uint8)
    frame = compose_frame(None, s.width, s.height, seed=s.seed)
    side = _scale_for(s.payload, s.height, float(rng.uniform(4.5, 6.5)) * s.height / 720) * s.height
    matrix = cv2.getRotationMatrix2D((n / 2, n / 2), float(rng.uniform(-10, 10)), side / n)
    matrix[0, 2] += s.width / 2 - n / 2
    matrix[1, 2] += s.height / 2 - n / 2
    return paste(frame, curved, matrix)


def _damaged(s: _Scene) -> np.ndarray:
    rng = s.rng
    modules = qr_modules(s.payload)
    n = modules.shape[0]
    box = max(1, 600 // n)
    image = np.where(modules, 0, 255).astype(np.uint8)
    # Scratch and stain the data area (not the finder patterns): about 3–5 % of it.
    inner = n - 8
    damaged = 0
    budget = int(inner * inner * float(rng.uniform(0.03, 0.05)))
    while damaged < budget:
        h, w = int(rng.integers(1, 4)), int(rng.integers(2, 9))
        y, x = int(rng.integers(4, n - 4 - h)), int(rng.integers(4, n - 4 - w))
        if (y < 13 and x < 13) or (y < 13 and x + w > n - 13) or (y + h > n - 13 and x < 13):
            continue
        image[y : y + h, x : x + w] = 0 if rng.integers(0, 2) else 255
        damaged += h * w
    code = np.kron(image, np.ones((box, box), dtype=np.uint8))
    module_px = float(rng.uniform(4.5, 6.5)) * s.height / 720
    scale = min(0.9, n * module_px * 1.24 / s.height)
    return compose_frame(code, s.width, s.height, seed=s.seed, scale=scale)


def _two_codes(s: _Scene) -> np.ndarray:
    rng = s.rng
    frame = compose_frame(None, s.width, s.height, seed=s.seed, noise=0)
    for payload, cx in ((s.payload, 0.27), (OTHER_CODE, 0.73)):
        code = render_code(payload, size=600)
        n = _modules(payload)
        side = min(0.42 * s.width, n * float(rng.uniform(4.0, 5.5)) * s.height / 720 * 1.24)
        pad = round(code.shape[0] * 0.12)
        card = cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=245)
        m = card.shape[0]
        matrix = cv2.getRotationMatrix2D((m / 2, m / 2), float(rng.uniform(-8, 8)), side / m)
        matrix[0, 2] += cx * s.width - m / 2
        matrix[1, 2] += s.height / 2 + float(rng.uniform(-0.1, 0.1)) * s.height - m / 2
        frame = paste(frame, card, matrix)
    frame = frame.astype(np.float32) + rng.normal(0, 2.0, size=frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _no_code(s: _Scene) -> np.ndarray:
    frame = compose_frame(None, s.width, s.height, seed=s.seed)
    # Clutter that looks a little like codes: text-like blocks on a white sign.
    rng = s.rng
    x0, y0 = int(s.width * 0.3), int(s.height * 0.3)
    w, h = int(s.width * 0.4), int(s.height * 0.35)
    frame[y0 : y0 + h, x0 : x0 + w] = 230
    for _ in range(60):
        bw, bh = int(rng.integers(4, 18)), int(rng.integers(4, 10))
        bx, by = x0 + int(rng.integers(0, w - bw)), y0 + int(rng.integers(0, h - bh))
        frame[by : by + bh, bx : bx + bw] = 20
    return frame


_CATEGORIES: dict[str, Callable[[_Scene], np.ndarray]] = {
    "nominal": _nominal,
    "rotation": _rotation,
    "perspective": _perspective,
    "blur": _blur,
    "motion_blur": _motion_blur,
    "noise": _noise,
    "low_contrast": _low_contrast,
    "low_light": _low_light,
    "glare": _glare,
    "far": _far,
    "phone_screen": _phone_screen,
    "curved": _curved,
    "damaged": _damaged,
    "two_codes": _two_codes,
    "no_code": _no_code,
}
CATEGORIES: tuple[str, ...] = tuple(_CATEGORIES)


def generate(
    passes: Sequence[str],
    *,
    frames_per_category: int = 4,
    seed: int = 2026,
    sizes: Sequence[tuple[int, int]] = SIZES,
    categories: Sequence[str] = CATEGORIES,
) -> Iterator[Sample]:
    """Samples for every category × size, `frames_per_category` each, cycling through `passes`."""
    if not passes:
        raise ValueError("the corpus needs at least one pass text")
    for c_index, category in enumerate(categories):
        draw = _CATEGORIES[category]
        for width, height in sizes:
            for i in range(frames_per_category):
                frame_seed = seed * 100_003 + c_index * 10_007 + width * 13 + i
                payload = passes[(c_index + i) % len(passes)]
                scene = _Scene(np.random.default_rng(frame_seed), payload, width, height, frame_seed)
                image = np.ascontiguousarray(draw(scene))
                target: bytes | None
                present: tuple[bytes, ...]
                if category == "no_code":
                    target, present = None, ()
                elif category == "two_codes":
                    target, present = _bytes(payload), (_bytes(payload), _bytes(OTHER_CODE))
                else:
                    target, present = _bytes(payload), (_bytes(payload),)
                name = f"{category}-{width}x{height}-{i:03d}"
                yield Sample(name, category, width, height, image, target, present)


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def write_corpus(folder: Path, samples: Iterator[Sample] | Sequence[Sample]) -> int:
    """PNG files plus manifest.json in `folder`; returns how many frames were written."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = []
    for sample in samples:
        file = f"{sample.name}.png"
        cv2.imwrite(str(folder / file), sample.image)
        manifest.append(
            {
                "file": file,
                "category": sample.category,
                "width": sample.width,
                "height": sample.height,
                "target": _b64(sample.target),
                "present": [_b64(p) for p in sample.present],
            }
        )
    (folder / "manifest.json").write_text(json.dumps({"frames": manifest}, indent=1), encoding="utf-8")
    return len(manifest)


def read_corpus(folder: Path) -> Iterator[Sample]:
    """The samples of a corpus folder written by `write_corpus`. Raises ValueError if it is not one."""
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        frames = manifest["frames"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{folder} is not a corpus folder (no readable manifest.json).") from exc
    for item in frames:
        image = cv2.imread(str(folder / item["file"]), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"The corpus image {folder / item['file']} cannot be read.")
        target = None if item["target"] is None else base64.b64decode(item["target"])
        present = tuple(base64.b64decode(p) for p in item["present"])
        name = Path(item["file"]).stem
        yield Sample(name, item["category"], item["width"], item["height"], image, target, present)
