"""Files written so that a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import CheckpointError


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise CheckpointError(describe_os_error(exc, path)) from exc


def describe_os_error(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"The disk is full: cannot write {path}; free some space and try again."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Permission denied writing {path}; check the folder's owner and mode."
    if exc.errno == errno.EROFS:
        return f"{path} is on a read-only file system."
    return f"Cannot write {path}: {exc.strerror or exc}."


def sqlite_trouble(exc: Exception) -> str | None:
    """What an SQLite error means for a person: "damaged" (a bad disk, a copy cut short), "full" (the disk
    or the file may not grow), "busy" (another program holds the file), or None for anything else.
    SQLite says so only in its message; this is the one place that reads it."""
    text = str(exc)
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return "damaged"
    if "full" in text:
        return "full"
    if "locked" in text or "busy" in text:
        return "busy"
    return None
