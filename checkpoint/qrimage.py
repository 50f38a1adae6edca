"""QR images of passes: PNG and SVG, error correction Q, a 4-module quiet zone, alphanumeric mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .fsutil import write_error

QUIET_ZONE = 4


def make_qr(text: str) -> Any:
    """A fitted qrcode.QRCode for the pass text (alphanumeric mode, level Q)."""
    import qrcode
    from qrcode.util import MODE_ALPHA_NUM, QRData

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=QUIET_ZONE, box_size=8)
    code.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
    code.make(fit=True)
    return code


def qr_version(text: str) -> int:
    return int(make_qr(text).version)


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules, quiet zone included (True = dark)."""
    return [list(row) for row in make_qr(text).get_matrix()]


def write_png(text: str, path: Path, *, box_size: int = 8) -> None:
    code = make_qr(text)
    code.box_size = box_size
    image = code.make_image()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(path))
    except OSError as exc:
        raise write_error(exc, path) from exc


def write_svg(text: str, path: Path) -> None:
    import qrcode.image.svg

    code = make_qr(text)
    image = code.make_image(image_factory=qrcode.image.svg.SvgPathImage)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(path))
    except OSError as exc:
        raise write_error(exc, path) from exc


def decode_image(path: Path) -> list[bytes]:
    """Every QR payload pyzbar finds in an image file (grey, QR only, inverted tried too)."""
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover
        raise CheckpointError("Pillow is not installed; run `make run` to set up.") from exc
    try:
        from pyzbar import pyzbar
    except ImportError as exc:
        raise CheckpointError(
            "The ZBar library is missing; install it with `sudo apt-get install libzbar0`."
        ) from exc
    try:
        with Image.open(path) as image:
            grey = image.convert("L")
    except FileNotFoundError as exc:
        raise CheckpointError(f"There is no image file {path}.") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CheckpointError(f"{path} is not an image this program can read.") from exc
    symbols = [pyzbar.ZBarSymbol.QRCODE]
    found = [r.data for r in pyzbar.decode(grey, symbols=symbols)]
    if not found:
        found = [r.data for r in pyzbar.decode(ImageOps.invert(grey), symbols=symbols)]
    return found
