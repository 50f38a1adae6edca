"""QR decoders behind one small interface: `decode(grey) -> list[Decoded]`.

* `ZbarDecoder` — ZBar through pyzbar's ctypes wrapper, called the way pyzbar calls it but with our own
  configuration: grey input only (pyzbar would silently take the blue channel of a colour frame), QR only,
  and `ZBAR_CFG_BINARY` so that ZBar hands back the payload bytes as they are instead of guessing a
  character set and converting to UTF-8 (binary payloads come back byte-exact). ZBar has no inverted
  mode, so when nothing is found in an image the inverted image is tried (if `invert`).
* `ZxingDecoder` — zxing-cpp's `read_barcodes`, QR only, bytes taken from `.bytes` (byte-exact).

Both take a 2-D `uint8` image and return each code's bytes, a text form (UTF-8, undecodable bytes
replaced: for display only) and its corner points in that image's pixel coordinates.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

__all__ = ["AUTO_DECODER", "DECODERS", "Decoded", "Decoder", "ZbarDecoder", "ZxingDecoder", "make_decoder"]

DECODERS = ("zbar", "zxing")
# `auto` is the winner of `checkpoint bench scan` on our corpus (success first, then speed): see
# docs/benchmarks.md, section Scan.
AUTO_DECODER = "zxing"

ZBAR_CFG_BINARY = 4  # zbar.h (0.23+): "don't convert binary data to text"


@dataclass(frozen=True)
class Decoded:
    raw: bytes
    text: str
    polygon: tuple[tuple[float, float], ...]


class Decoder(Protocol):
    name: str

    def decode(
        self, grey: np.ndarray, *, invert: bool = True, thorough: bool = False, alternate: bool = False
    ) -> list[Decoded]:
        """Codes in `grey`; `invert` also tries light-on-dark codes, `thorough` spends more time,
        `alternate` binarises the picture another way (global instead of local threshold)."""
        ...


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("decoders take a 2-D uint8 grey image")
    return image if image.flags.c_contiguous else np.ascontiguousarray(image)


class ZbarDecoder:
    name = "zbar"

    def __init__(self) -> None:
        from pyzbar import wrapper

        self._w = wrapper
        self._fourcc_grey = int.from_bytes(b"Y800", "little")  # 8-bit grey (what pyzbar passes)
        self._scanner: Any = wrapper.zbar_image_scanner_create()
        w = wrapper
        w.zbar_image_scanner_set_config(self._scanner, w.ZBarSymbol.NONE, w.ZBarConfig.CFG_ENABLE, 0)
        w.zbar_image_scanner_set_config(self._scanner, w.ZBarSymbol.QRCODE, w.ZBarConfig.CFG_ENABLE, 1)
        w.zbar_image_scanner_set_config(self._scanner, w.ZBarSymbol.QRCODE, ZBAR_CFG_BINARY, 1)
        w.zbar_image_scanner_set_config(self._scanner, w.ZBarSymbol.QRCODE, w.ZBarConfig.CFG_POSITION, 1)

    def __del__(self) -> None:
        scanner, self._scanner = getattr(self, "_scanner", None), None
        if scanner:
            self._w.zbar_image_scanner_destroy(scanner)

    def _scan(self, grey: np.ndarray) -> list[Decoded]:
        w = self._w
        height, width = grey.shape
        image = w.zbar_image_create()
        try:
            w.zbar_image_set_format(image, self._fourcc_grey)
            w.zbar_image_set_size(image, width, height)
            data = grey.ctypes.data_as(ctypes.c_void_p)
            w.zbar_image_set_data(image, data, grey.size, None)
            found = w.zbar_scan_image(self._scanner, image)
            if found < 0:
                return []
            results: list[Decoded] = []
            symbol = w.zbar_image_first_symbol(image)
            while symbol:
                length = w.zbar_symbol_get_data_length(symbol)
                raw = ctypes.string_at(w.zbar_symbol_get_data(symbol), length)
                points = tuple(
                    (float(w.zbar_symbol_get_loc_x(symbol, i)), float(w.zbar_symbol_get_loc_y(symbol, i)))
                    for i in range(w.zbar_symbol_get_loc_size(symbol))
                )
                results.append(Decoded(raw, _text(raw), points))
                symbol = w.zbar_symbol_next(symbol)
            return results
        finally:
            w.zbar_image_destroy(image)

    def decode(
        self, grey: np.ndarray, *, invert: bool = True, thorough: bool = False, alternate: bool = False
    ) -> list[Decoded]:
        grey = _grey(grey)
        if alternate:  # ZBar thresholds locally; hand it a globally thresholded (Otsu) picture instead
            import cv2

            grey = np.ascontiguousarray(cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1])
        results = self._scan(grey)
        if not results and invert:
            results = self._scan(np.ascontiguousarray(255 - grey))
        return results


class ZxingDecoder:
    name = "zxing"

    def __init__(self, *, try_downscale: bool = False) -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._format: Any = zxingcpp.BarcodeFormat.QRCode  # an enum member: nothing left alive at exit
        self._try_downscale = try_downscale

    def decode(
        self, grey: np.ndarray, *, invert: bool = True, thorough: bool = False, alternate: bool = False
    ) -> list[Decoded]:
        grey = _grey(grey)
        binarizer = self._zx.Binarizer.GlobalHistogram if alternate else self._zx.Binarizer.LocalAverage
        found = self._zx.read_barcodes(
            grey,
            formats=self._format,
            binarizer=binarizer,
            try_rotate=thorough,
            try_downscale=self._try_downscale or thorough,
            try_invert=invert,
        )
        results: list[Decoded] = []
        for code in found:
            raw = bytes(code.bytes)
            pos = code.position
            points = tuple(
                (float(p.x), float(p.y))
                for p in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            )
            results.append(Decoded(raw, _text(raw), points))
        return results


def make_decoder(name: str) -> Decoder:
    """`zbar`, `zxing` or `auto` (the benchmark winner). Raises ValueError for another name."""
    name = name.strip().lower()
    if name == "auto":
        name = AUTO_DECODER
    if name == "zbar":
        return ZbarDecoder()
    if name == "zxing":
        return ZxingDecoder()
    raise ValueError(f"Unknown decoder {name!r}; use zbar, zxing or auto.")
