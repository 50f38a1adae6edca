"""Every settings file shipped in config/ loads, and defaults.toml says exactly what the code defaults are."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint.settings import Settings, load_settings, read_toml

CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.mark.parametrize("path", sorted(CONFIG.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_settings_files_load(path: Path) -> None:
    settings = load_settings(path, required=True)
    assert isinstance(settings, Settings)


def test_defaults_file_matches_the_code() -> None:
    data = read_toml(CONFIG / "defaults.toml")
    assert Settings(**data).model_dump() == Settings().model_dump()
    for section, model in Settings.model_fields.items():
        if section == "demo":
            continue
        assert set(data[section]) == set(model.annotation.model_fields)  # type: ignore[union-attr]


def test_an_old_config_with_log_shift_start_still_loads(tmp_path: Path) -> None:
    """`log.shift_start` was never read and is no longer a setting; a config that has it is not refused."""
    path = tmp_path / "config.toml"
    path.write_text('[log]\nretention_days = 7\nshift_start = "06:30"\n', encoding="utf-8")
    settings = load_settings(path, required=True)
    assert settings.log.retention_days == 7
    assert "shift_start" not in settings.log.model_dump()


def test_an_unknown_log_key_is_still_refused(tmp_path: Path) -> None:
    from checkpoint.errors import CheckpointError

    path = tmp_path / "config.toml"
    path.write_text("[log]\nretention_dayz = 7\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="retention_dayz"):
        load_settings(path, required=True)
