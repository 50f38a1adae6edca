"""Bad settings from CHECKPOINT_… variables: one sentence naming the key and the variable, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint.errors import CheckpointError
from checkpoint.settings import load_settings

from .test_cli_core import checkpoint

ENUM = "input should be 'emergency', 'official' or 'medical'"
LIST = 'a list must be written as JSON, such as ["official"]'
STATION_FILE = '[station]\nid = "north-gate"\n'

# (variables, config.toml or None, the sentence; {config} is the file's path)
CASES = {
    "list-not-json": (
        {"CHECKPOINT_STATION__CLOSED_CATEGORIES": "official"},
        None,
        "Bad setting station.closed_categories = 'official' "
        f"(from the environment variable CHECKPOINT_STATION__CLOSED_CATEGORIES): {LIST}.",
    ),
    "list-unquoted-items": (
        {"CHECKPOINT_STATION__CLOSED_CATEGORIES": "[official]"},
        STATION_FILE,
        "Bad setting station.closed_categories = '[official]' "
        f"(from the environment variable CHECKPOINT_STATION__CLOSED_CATEGORIES): {LIST}.",
    ),
    "whole-section": (
        {"CHECKPOINT_STATION": "x"},
        None,
        "The environment variable CHECKPOINT_STATION cannot set the whole station section to 'x'; "
        "set CHECKPOINT_STATION__<KEY> for each setting.",
    ),
    "bad-list-item": (
        {"CHECKPOINT_STATION__CLOSED_CATEGORIES": '["tractor"]'},
        STATION_FILE,
        "Bad setting station.closed_categories = 'tractor' "
        f"(from the environment variable CHECKPOINT_STATION__CLOSED_CATEGORIES): {ENUM}.",
    ),
    "lower-case-name": (
        {"checkpoint_station__closed_categories": '["tractor"]'},
        STATION_FILE,
        "Bad setting station.closed_categories = 'tractor' "
        f"(from the environment variable checkpoint_station__closed_categories): {ENUM}.",
    ),
    "section-as-json": (
        {"CHECKPOINT_STATION": '{"id": "north gate!"}'},
        STATION_FILE,
        "Bad setting station.id = 'north gate!' (from the environment variable CHECKPOINT_STATION): "
        "must be 1 to 24 letters, digits, '.', '_' or '-', starting with a letter or digit.",
    ),
    "bad-list-item-in-the-file": (
        {"CHECKPOINT_STATION__ID": "south-gate"},
        '[station]\nclosed_categories = ["tractor"]\n',
        f"Bad setting station.closed_categories = 'tractor' in {{config}}: {ENUM}.",
    ),
}


def _arrange(monkeypatch: pytest.MonkeyPatch, home: Path, case: str) -> tuple[Path, str]:
    variables, config, sentence = CASES[case]
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    home.mkdir(exist_ok=True)
    path = home / "config.toml"
    if config is not None:
        path.write_text(config, encoding="utf-8")
    return path, sentence.format(config=path)


@pytest.mark.parametrize("case", CASES)
def test_load_settings_names_the_key_and_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    path, sentence = _arrange(monkeypatch, tmp_path / "home", case)
    with pytest.raises(CheckpointError) as caught:
        load_settings(path)
    assert caught.value.message == sentence
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("case", CASES)
def test_the_cli_stops_with_one_sentence_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    home = tmp_path / "home"
    _, sentence = _arrange(monkeypatch, home, case)
    result = checkpoint(home, "log", "list")
    assert (result.returncode, result.stderr) == (2, f"checkpoint: {sentence}\n")


def _readme_settings() -> dict[str, str]:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    for line in readme.splitlines():
        if line.startswith("| `") and "." in line.split("`")[1]:
            key = line.split("`")[1]
            if key.split(".")[0] in ("station", "office", "ui", "log", "sync"):
                rows[key] = line
    return rows


def test_the_readme_settings_table_names_every_setting_and_every_choice() -> None:
    """`fever_action` also takes `off` (the example config said so, the README did not)."""
    from enum import Enum

    from checkpoint.settings import Settings

    rows = _readme_settings()
    for section, field in Settings.model_fields.items():
        model = field.annotation
        if not hasattr(model, "model_fields"):
            continue  # a top-level value, not a section
        for name, sub in model.model_fields.items():  # type: ignore[union-attr]
            key = f"{section}.{name}"
            assert key in rows, key
            kind = sub.annotation
            if isinstance(kind, type) and issubclass(kind, Enum) and kind.__name__ == "RuleMode":
                for choice in kind:
                    assert f"`{choice.value}`" in rows[key] or f" {choice.value}" in rows[key], (key, choice)


def test_pass_list_json_is_one_object_a_line_as_the_readme_says(office_home, issue) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.conftest import run_cli

    issue(plate="鄂A11111")
    issue(plate="鄂A22222")
    out = run_cli(office_home, "pass", "list", "--json").stdout.splitlines()
    assert len(out) == 2 and all(isinstance(json.loads(line), dict) for line in out)
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "`list --json` prints one JSON object a line" in readme
