"""Settings: `config.toml` in the data home (or `--config FILE`), then `CHECKPOINT_…` variables.

Environment variables win over the file: `CHECKPOINT_STATION__ID=north-gate`,
`CHECKPOINT_UI__LANGUAGE=zh`. A bad value is one sentence that names the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .errors import CheckpointError
from .models import Category
from .passes import CHECKPOINT_ID
from .policy import RuleMode, StationRules


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class StationSettings(_Section):
    id: str = "station-1"
    """This station's id. Passes list the ids of the checkpoints they are good for."""
    name: str = "Checkpoint"
    """The station's name as people say it, shown in the title and the reports."""
    camera: str = "0"
    """The camera: a webcam index (0), a video file or a folder of images."""
    decoder: Literal["auto", "zbar", "zxing"] = "auto"
    """QR decoder: zbar (pyzbar), zxing (zxing-cpp) or auto (the one that wins our benchmark)."""
    fever_threshold: float = Field(37.3, ge=35.0, le=40.0)
    """Body temperature in °C at or above which a reading is a fever."""
    fever_action: RuleMode = RuleMode.DENY
    """What a fever does: deny the vehicle, or only warn (e.g. at a hospital gate)."""
    anti_passback: RuleMode = RuleMode.DENY
    """Entering twice without leaving: deny, warn, or off."""
    closed_categories: list[Category] = []
    """Categories that may not pass here now, e.g. ["official"]."""
    duplicate_seconds: float = Field(5.0, ge=0.5, le=120)
    """A second scan of the same code within this many seconds is the same vehicle."""
    bell: bool = True
    """Ring the terminal bell on DENY."""
    viewfinder: bool = True
    """Show the small camera preview."""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not CHECKPOINT_ID.match(value):
            raise ValueError(
                "must be 1 to 24 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    def rules(self) -> StationRules:
        return StationRules(
            checkpoint_id=self.id,
            closed_categories=frozenset(self.closed_categories),
            anti_passback=self.anti_passback,
            fever_threshold=round(self.fever_threshold * 10),
            fever_action=self.fever_action,
        )


class OfficeSettings(_Section):
    name: str = "Township office"
    """The issuing office's name, printed on pass cards and reports."""
    valid_days: int = Field(14, ge=1, le=366)
    """How long a new pass is valid when no valid-until is given."""
    key_grace_days: int = Field(30, ge=0, le=3650)
    """After `keys rotate`, how long passes signed with the old key are still accepted."""


class UISettings(_Section):
    language: Literal["auto", "en", "zh"] = "auto"
    """Language of screens and reports: en, zh (Simplified Chinese), or auto (from LANG)."""
    timezone: str = "Asia/Shanghai"
    """Local time zone for display; everything is stored in UTC."""

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("is not a time zone name such as Asia/Shanghai") from exc
        return value


class LogSettings(_Section):
    retention_days: int = Field(28, ge=1, le=3650)
    """Names and temperatures older than this many days are purged; the counts stay."""
    shift_start: str = "08:00"
    """When shifts hand over, local time (HH:MM)."""

    @field_validator("shift_start")
    @classmethod
    def _check_time(cls, value: str) -> str:
        if not re.match(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", value):
            raise ValueError("must be a time of day written HH:MM, such as 08:00")
        return value


class Settings(BaseSettings):
    """All settings. Every section is optional in the file."""

    model_config = SettingsConfigDict(
        env_prefix="CHECKPOINT_", env_nested_delimiter="__", extra="forbid", use_attribute_docstrings=True
    )

    station: StationSettings = StationSettings()
    office: OfficeSettings = OfficeSettings()
    ui: UISettings = UISettings()
    log: LogSettings = LogSettings()
    demo: bool = False
    """This home is the demo: screens say DEMO."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise CheckpointError(f"Cannot read the settings file {path}: {exc.strerror}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CheckpointError(f"The settings file {path} is not valid TOML: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"The settings file {path} is not UTF-8 text.") from exc


def load_settings(path: Path | None, *, required: bool = False) -> Settings:
    """Settings from `path` (if it exists) and the environment. Raises CheckpointError."""
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        data = read_toml(path)
    elif path is not None and required:
        raise CheckpointError(f"The settings file {path} does not exist.")
    in_file = f" in {path}" if path is not None and path.exists() else ""
    try:
        return Settings(**data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        variable = "CHECKPOINT_" + "__".join(str(part) for part in error["loc"]).upper()
        where = f" (from the environment variable {variable})" if variable in os.environ else in_file
        if error["type"] == "extra_forbidden":
            raise CheckpointError(f"Unknown setting {key}{where}; check its spelling.") from exc
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        raise CheckpointError(f"Bad setting {key}{shown}{where}: {message}.") from exc
