"""Files written so that a crash or a full disk never leaves half a file behind."""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
from pathlib import Path

from .catalog import error
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
        raise write_error(exc, path) from exc


def write_error(exc: OSError, path: Path) -> CheckpointError:
    """The one sentence for a file that could not be written (in the user's language on the CLI)."""
    if exc.errno == errno.ENOSPC:
        return error("cli.file.full", path=path)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return error("cli.file.denied", path=path)
    if exc.errno == errno.EROFS:
        return error("cli.file.read_only", path=path)
    return error("cli.file.cannot_write", path=path, reason=exc.strerror or exc)


def describe_os_error(exc: OSError, path: Path) -> str:
    """`write_error`'s sentence in English (for callers that build their own message)."""
    return write_error(exc, path).message


def is_database_error(exc: BaseException) -> bool:
    """Whether `exc` is SQLite's own error about a database file (for front ends that import no SQLite)."""
    return isinstance(exc, sqlite3.DatabaseError)


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


def output_path(path: Path, mkdir: bool = False) -> Path:
    """The file an export is about to write, once its folder is known to be there.

    A missing folder is refused (one sentence, exit 2), so that a mistyped USB path (`/media/usbb/…`)
    never writes the trust file or the log onto the laptop's own disk; `mkdir` (the `--mkdir` option)
    creates it. Every command that writes a file the user named goes through here.
    """
    folder = path.parent
    if folder.is_dir():
        return path
    if folder.exists() or any(p.exists() and not p.is_dir() for p in folder.parents):
        raise error("cli.file.not_a_folder", folder=folder)
    if not mkdir:
        raise error("cli.file.no_folder", folder=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, folder) from exc
    return path
