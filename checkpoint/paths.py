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

    def ensure(self) -> Home:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def is_office(self) -> bool:
        return (self.office_keys / "keyring.json").exists()

    def is_configured(self) -> bool:
        """True when this home can verify passes: it has a trust file."""
        return self.trust.exists()
