"""Settings: `config.toml` in the data home (or `--config FILE`), then `CHECKPOINT_…` variables.

Environment variables win over the file: `CHECKPOINT_STATION__ID=north-gate`,
`CHECKPOINT_UI__LANGUAGE=zh`; a list is JSON: `CHECKPOINT_STATION__CLOSED_CATEGORIES='["official"]'`.
A bad value is one sentence that names the key and where it came from.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from .catalog import error
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
    closed_categories: list[Category] = Field([], examples=[["official"]])
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
        if not CHECKPOINT_ID.fullmatch(value):
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
    database: str = ""
    """Where an office keeps its merged log: empty for log.db in the data home, or a county's
    PostgreSQL server as a URL, postgresql://user:password@host:5432/dbname (docs/county.md)."""

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        from urllib.parse import urlsplit

        try:
            url = urlsplit(value)
            url.port  # noqa: B018  (a port that is not a number raises)
        except ValueError:
            url = None
        if value and (url is None or url.scheme not in ("postgresql", "postgres") or not url.path.strip("/")):
            raise ValueError(
                "must be empty (log.db in the data home) or a PostgreSQL URL naming a database, "
                "such as postgresql://importer@localhost:5432/county"
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _ignore_retired(cls, data: Any) -> Any:
        """`log.shift_start` was never read (a shift starts when its team signs in): a config that still
        has it loads as before, the key ignored."""
        if isinstance(data, dict) and "shift_start" in data:
            return {key: value for key, value in data.items() if key != "shift_start"}
        return data


class SyncSettings(_Section):
    url: str = ""
    """The office's sync service (`checkpoint serve`), e.g. https://office.example:8443; empty: no network sync."""
    interval_seconds: int = Field(60, ge=5, le=86400)
    """How often the station pushes its new entries and pulls the trust file and revocation list."""
    tls_fingerprint: str = ""
    """SHA-256 of the office's TLS certificate (as `checkpoint serve` prints it); pinned instead of a CA."""
    timeout_seconds: float = Field(20.0, ge=1.0, le=600.0)
    """How long one request to the office may take before it counts as unreachable."""
    plain_http: bool = False
    """Allow an http:// sync.url other than this machine (inside a VPN): the log then crosses unencrypted."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?", value):
            raise ValueError("must be the office's address such as https://192.168.1.10:8443 (no path)")
        return value.rstrip("/")

    @field_validator("tls_fingerprint")
    @classmethod
    def _check_fingerprint(cls, value: str) -> str:
        digits = value.replace(":", "").replace(" ", "").lower()
        if digits and not re.fullmatch(r"[0-9a-f]{64}", digits):
            raise ValueError(
                "must be the 64 hex digits of the certificate's SHA-256 that `checkpoint serve` prints"
            )
        return digits


class Settings(BaseSettings):
    """All settings. Every section is optional in the file."""

    model_config = SettingsConfigDict(
        env_prefix="CHECKPOINT_", env_nested_delimiter="__", extra="forbid", use_attribute_docstrings=True
    )

    station: StationSettings = StationSettings()
    office: OfficeSettings = OfficeSettings()
    ui: UISettings = UISettings()
    log: LogSettings = LogSettings()
    sync: SyncSettings = SyncSettings()
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
        raise error("cli.settings.unreadable", path=path, reason=exc.strerror) from exc
    except tomllib.TOMLDecodeError as exc:
        raise error("cli.settings.not_toml", path=path, detail=exc) from exc
    except UnicodeDecodeError as exc:
        raise error("cli.settings.not_utf8", path=path) from exc


def load_settings(path: Path | None, *, required: bool = False) -> Settings:
    """Settings from `path` (if it exists) and the environment. Raises CheckpointError."""
    data: dict[str, Any] = {}
    if path is not None and path.exists():
        data = read_toml(path)
    elif path is not None and required:
        raise error("cli.settings.missing", path=path)
    in_file = f" in {path}" if path is not None and path.exists() else ""
    try:
        return Settings(**data)
    except SettingsError as exc:  # an environment variable that must be JSON is not
        raise CheckpointError(_not_json(exc)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        if (
            in_file
            and first["type"] == "model_type"
            and len(first["loc"]) == 1
            and not _in_environment(first["loc"])
        ):
            # `station = "x"`: the whole section is one value (pydantic would name its class)
            raise error("cli.settings.not_a_section", section=first["loc"][0], path=path) from exc
        raise CheckpointError(_bad_value(first, in_file)) from exc


_PREFIX = "CHECKPOINT_"
_DELIMITER = "__"


def _bad_value(error: ErrorDetails, in_file: str) -> str:
    """One sentence for a value that does not validate, naming the key and where the value came from."""
    loc = tuple(error["loc"])
    keys = [str(part) for part in itertools.takewhile(lambda part: isinstance(part, str), loc)]
    key = ".".join(keys)  # without list indexes: the value shows which item is wrong
    from_environment = _in_environment(loc)
    variable = _variable_for(keys) if from_environment else None
    if variable is not None:
        where = f" (from the environment variable {variable})"
    else:
        where = " (from the environment)" if from_environment else in_file
    if variable is not None and len(keys) == 1 and error["type"] == "model_type":
        return _whole_section(variable, key)
    if error["type"] == "extra_forbidden":
        return f"Unknown setting {key}{where}; check its spelling."
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    if from_environment and error["type"] == "list_type":
        message = _write_as_json(_field(keys))
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
    return f"Bad setting {key}{shown}{where}: {message}."


def _not_json(exc: SettingsError) -> str:
    """One sentence for the CHECKPOINT_… variable that pydantic-settings could not parse as JSON."""
    match = re.search(r'field "([^"]+)"', str(exc))
    section = match.group(1) if match else ""
    top = _variable_name([section])
    for upper, name in sorted(_variables().items()):
        if upper != top and not upper.startswith(top + _DELIMITER):
            continue
        keys = [section, *(part.lower() for part in upper[len(top) :].split(_DELIMITER) if part)]
        field = _field(keys)
        value = os.environ[name]
        if field is None or not _is_complex(field.annotation) or (value == "" and len(keys) > 1):
            continue  # pydantic-settings does not parse this one as JSON
        try:
            json.loads(value)
        except ValueError:
            if len(keys) == 1:
                return _whole_section(name, section)
            return (
                f"Bad setting {'.'.join(keys)} = {value!r} (from the environment variable {name}): "
                f"{_write_as_json(field)}."
            )
    return f"The environment variables {top}{_DELIMITER}… cannot be read ({exc}); check their values."


def _whole_section(variable: str, section: str) -> str:
    return (
        f"The environment variable {variable} cannot set the whole {section} section to "
        f"{os.environ[variable]!r}; set {_variable_name([section])}{_DELIMITER}<KEY> for each setting."
    )


def _write_as_json(field: FieldInfo | None) -> str:
    """How to write a list (or another structured value) in an environment variable."""
    annotation = field.annotation if field is not None else None
    what = "a list" if get_origin(annotation) in (list, set, frozenset, tuple) else "the value"
    examples = field.examples if field is not None else None
    such_as = f", such as {json.dumps(examples[0], ensure_ascii=False)}" if examples else ""
    return f"{what} must be written as JSON{such_as}"


def _variable_name(keys: Sequence[str]) -> str:
    return _PREFIX + _DELIMITER.join(keys).upper()


def _variables() -> dict[str, str]:
    """The CHECKPOINT_… variables by upper-case name: pydantic-settings reads names case-insensitively."""
    return {name.upper(): name for name in os.environ if name.upper().startswith(_PREFIX)}


def _variable_for(keys: Sequence[str]) -> str | None:
    """The variable that set the setting `keys`: its own, its section's (JSON), or one below it."""
    variables = _variables()
    for end in range(len(keys), 0, -1):
        if (name := variables.get(_variable_name(keys[:end]))) is not None:
            return name
    below = _variable_name(keys) + _DELIMITER
    return min((name for upper, name in variables.items() if upper.startswith(below)), default=None)


def _in_environment(loc: tuple[int | str, ...]) -> bool:
    """Whether the value at `loc` came from the environment (which wins over the file) rather than the file."""
    try:
        node: Any = EnvSettingsSource(Settings)()
    except SettingsError:
        return False
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_dict or in_list):
            return False
        node = node[part]
    return True


def _field(keys: Sequence[str]) -> FieldInfo | None:
    """The field for a setting such as ("station", "closed_categories"), or None if there is none."""
    model: Any = Settings
    field: FieldInfo | None = None
    for key in keys:
        if not _is_section(model) or key not in model.model_fields:
            return None
        field = model.model_fields[key]
        model = field.annotation
    return field


def _is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_complex(annotation: Any) -> bool:
    """Whether pydantic-settings expects JSON for this field in an environment variable."""
    return _is_section(annotation) or get_origin(annotation) in (list, set, frozenset, tuple, dict)
