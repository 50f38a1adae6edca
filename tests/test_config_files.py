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
