"""Where everything lives. One data home holds a station, an office, or (in the demo) both sides."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_HOME = "CHECKPOINT_HOME"


def default_home() -> Path:
    """`$CHECKPOINT_HOME`, else the platform's user data folder (~/.local/share/checkpoint on Linux)."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return platformdirs.user_data_path("checkpoint", appauthor=False)


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def trust(self) -> Path:
        """The office public keys this home verifies passes with."""
        return self.root / "trust.json"

    @property
    def revocations(self) -> Path:
        """The newest signed revocation list this home has."""
        return self.root / "revocations.json"

    @property
    def station_key(self) -> Path:
        """The station's own key, for sealing its log (never the office's key)."""
        return self.root / "station.key"

    @property
    def log_db(self) -> Path:
        return self.root / "log.db"

    @property
    def office(self) -> Path:
        return self.root / "office"

    @property
    def office_keys(self) -> Path:
        return self.office / "keys"

    @property
    def registry(self) -> Path:
        """The office's database of issued passes."""
        return self.office / "passes.db"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def station_lock(self) -> Path:
        """Held (flock) by the station process running on this home; it names that process."""
        return self.root / "station.lock"

    def ensure(self) -> Home:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def is_office(self) -> bool:
        return (self.office_keys / "keyring.json").exists()

    def is_configured(self) -> bool:
        """True when this home can verify passes: it has a trust file."""
        return self.trust.exists()


class HomeLock:
    """One station process per home: an exclusive `flock` on `station.lock`, which holds the holder's pid.

    The lock goes when the process ends, however it ends (the kernel drops it); a stale file left behind
    locks nothing. Use as a context manager around the station's run.
    """

    def __init__(self, home: Home) -> None:
        self.path = home.station_lock
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        from .catalog import error

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise error("errors.station.running", home=self.path.parent, process=holder[:12]) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HomeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
