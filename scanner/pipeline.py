"""The decode pipeline: cheap looks first, the expensive full-resolution look last; duplicates dropped.

For each frame, stop at the first step that finds a code:

1. **Where the last code was** (if one was seen in the last second): a crop around it, at full
   resolution — a held-up pass stays in about the same place from frame to frame.
2. **The whole frame, downscaled** so its long side is at most `work_size` pixels (640): a quarter of the
   pixels of a 1280×720 frame, and downscaling with area averaging also evens out noise, moiré and blur.
   A frame no larger than that (640×480) gets a cheap look at full size instead.
3. **The whole frame at full resolution**, with the decoder's thorough options (zxing-cpp: its own
   image pyramid and inverted codes; ZBar: inverted), only when step 2 found nothing: for codes too small
   to survive the downscale (a pass held far away). So the pipeline reads at least what a plain
   full-frame call reads, and pays for it only on frames where the cheap look failed.
4. **Recovery**, on the downscaled picture, only if all else failed: sharpened (unsharp mask, for blur
   and defocus), then binarised another way (zxing-cpp: global histogram; ZBar: Otsu) for phone screens
   whose pixel grid and moiré fool the local threshold.

Duplicate suppression: a payload seen within `duplicate_seconds` (of frame time) of its last sighting
is the same scan and is not reported again; holding a pass in view keeps it suppressed.

A decoder that raises (a corrupt picture upsetting native code that reports an error) costs that look,
not the pipeline: the exception is counted in `errors` and the step gives nothing. Hangs and crashes of
native code are bounded by `ScanService` (see there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .decoders import Decoded, Decoder, make_decoder
from .sources import Frame

__all__ = ["Detection", "Pipeline"]


@dataclass
class Detection:
    raw: bytes
    text: str
    frame_index: int
    frame_ts: float
    decoded_ts: float
    polygon: tuple[tuple[float, float], ...] = field(default=(), compare=False)


class Pipeline:
    def __init__(
        self,
        decoder: str = "auto",
        duplicate_seconds: float = 5.0,
        *,
        work_size: int = 640,
        region_seconds: float = 1.0,
    ) -> None:
        self.decoder: Decoder = make_decoder(decoder)
        self.duplicate_seconds = duplicate_seconds
        self.work_size = work_size
        self.region_seconds = region_seconds
        self.errors = 0
        self.last_step = ""
        self._seen: dict[bytes, float] = {}
        self._region: tuple[int, int, int, int] | None = None
        self._region_ts = -1e18
        self._since_full = 0

    def reset(self) -> None:
        """Forget the duplicates and the last code's region (a new vehicle, a new benchmark frame)."""
        self._seen.clear()
        self._region = None
        self._since_full = 0

    # -- finding codes -------------------------------------------------------------------------------
    def _decode(
        self, grey: np.ndarray, *, invert: bool, thorough: bool = False, alternate: bool = False
    ) -> list[Decoded]:
        try:
            return self.decoder.decode(grey, invert=invert, thorough=thorough, alternate=alternate)
        except Exception:
            self.errors += 1
            return []

    def find(self, grey: np.ndarray, ts: float | None = None) -> list[Decoded]:
        """Every code in a grey image (polygons in its full-resolution coordinates), steps 1–3."""
        now = time.monotonic() if ts is None else ts
        height, width = grey.shape[:2]
        self._since_full += 1
        # Every 5th frame looks at the whole frame even while a code is tracked: a second pass in view.
        if self._region is not None and now - self._region_ts <= self.region_seconds and self._since_full < 5:
            x0, y0, x1, y1 = self._region
            found = self._decode(np.ascontiguousarray(grey[y0:y1, x0:x1]), invert=True)
            if found:
                self.last_step = "region"
                return self._remember([_shift(d, x0, y0, 1.0) for d in found], width, height, now)
        self._since_full = 0
        factor = min(1.0, self.work_size / max(height, width))
        work = grey
        if factor < 1.0:
            work = cv2.resize(
                grey, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA
            )
            found = self._decode(work, invert=True)
            if found:
                self.last_step = "downscaled"
                return self._remember([_shift(d, 0, 0, 1.0 / factor) for d in found], width, height, now)
        if factor >= 1.0:  # a small frame: a cheap look at it first
            found = self._decode(grey, invert=True)
            if found:
                self.last_step = "full"
                return self._remember(found, width, height, now)
        found = self._decode(grey, invert=True, thorough=True)
        if found:
            self.last_step = "full"
            return self._remember(found, width, height, now)
        # Recovery, on the small picture: sharpened (blur, defocus), then binarised the other way (a
        # phone screen's pixel grid and moiré fool the local threshold).
        scale = 1.0 / factor
        sharpened = cv2.addWeighted(work, 2.0, cv2.GaussianBlur(work, (0, 0), 2.0), -1.0, 0)
        found = self._decode(np.ascontiguousarray(sharpened), invert=True)
        if not found:
            found = self._decode(work, invert=True, alternate=True)
        self.last_step = "recovery" if found else "none"
        return self._remember([_shift(d, 0, 0, scale) for d in found], width, height, now)

    def _remember(self, found: list[Decoded], width: int, height: int, now: float) -> list[Decoded]:
        if found and found[0].polygon:
            xs = [p[0] for d in found for p in d.polygon]
            ys = [p[1] for d in found for p in d.polygon]
            w, h = max(xs) - min(xs), max(ys) - min(ys)
            margin = 0.35 * max(w, h) + 16
            x0, y0 = max(0, int(min(xs) - margin)), max(0, int(min(ys) - margin))
            x1, y1 = min(width, int(max(xs) + margin)), min(height, int(max(ys) + margin))
            if x1 - x0 >= 32 and y1 - y0 >= 32:
                self._region = (x0, y0, x1, y1)
                self._region_ts = now
        return found

    # -- the contract ----------------------------------------------------------------------------------
    def process(self, frame: Frame) -> list[Detection]:
        """The new (not duplicate) codes in `frame`."""
        found = self.find(frame.image, frame.ts)
        decoded_ts = time.monotonic()
        detections: list[Detection] = []
        for item in found:
            last = self._seen.get(item.raw)
            self._seen[item.raw] = frame.ts
            if last is not None and frame.ts - last < self.duplicate_seconds:
                continue
            detections.append(
                Detection(item.raw, item.text, frame.index, frame.ts, decoded_ts, polygon=item.polygon)
            )
        if len(self._seen) > 256:  # forget old sightings
            horizon = frame.ts - self.duplicate_seconds
            self._seen = {raw: ts for raw, ts in self._seen.items() if ts >= horizon}
        return detections


def _shift(decoded: Decoded, dx: float, dy: float, scale: float) -> Decoded:
    polygon = tuple((x * scale + dx, y * scale + dy) for x, y in decoded.polygon)
    return Decoded(decoded.raw, decoded.text, polygon)
