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
