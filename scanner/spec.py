"""What a camera setting names, without loading OpenCV (the station's screen asks it too)."""

from __future__ import annotations

import os
import re


def camera_index(spec: str) -> int | None:
    """The webcam a source names: "0", "1", or a V4L2 device path such as /dev/video2 or a link to one
    (/dev/v4l/by-id/…; it may be unplugged right now). None for a file or folder."""
    spec = spec.strip()
    if spec.isdigit():
        return int(spec)
    match = re.fullmatch(r"/dev/video(\d+)", os.path.realpath(os.path.expanduser(spec))) if spec else None
    return int(match.group(1)) if match is not None else None
