"""Shared fixtures: an isolated office home, a station home that trusts it, passes issued for real."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from checkpoint.cli import cli
from checkpoint.keys import Keyring, TrustList, save_trust
from checkpoint.models import Category
from checkpoint.paths import Home
from checkpoint.registry import IssuedPass, PassRequest, Registry
from tests.pg import county_url, pg_server  # noqa: F401  (PostgreSQL fixtures for the county store's tests)

NOW = datetime(2026, 2, 3, 4, 0, tzinfo=UTC)  # noon in Wuhan


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own home, settings or language."""
    for name in list(os.environ):
        if name.startswith("CHECKPOINT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHECKPOINT_HOME", str(tmp_path / "default-home"))
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True)
def _recorded_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app's notifications, for `tests.tui_helpers.notices(app)`."""
    from tests.tui_helpers import record_notifications

    record_notifications(monkeypatch)


@pytest.fixture
def office_home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "office").ensure()
    keyring = Keyring(home.office_keys, "Test township office")
    keyring.init(now=NOW - timedelta(days=30))
    save_trust(home.trust, keyring.trust_list())
    return home


@pytest.fixture
def registry(office_home: Home) -> Iterator[Registry]:
    reg = Registry(office_home.registry, Keyring(office_home.office_keys, "Test township office"))
    yield reg
    reg.close()


@pytest.fixture
def trust(office_home: Home) -> TrustList:
    return Keyring(office_home.office_keys, "Test township office").trust_list()


def request(**overrides: object) -> PassRequest:
    fields: dict[str, object] = {
        "plate": "鄂A12345",
        "category": Category.MEDICAL,
        "holder": "张三",
        "org": "县人民医院",
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=13),
        "checkpoints": (),
        "max_occupants": 4,
    }
    fields.update(overrides)
    return PassRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def issue(registry: Registry):  # type: ignore[no-untyped-def]
    """issue(**fields) → IssuedPass, signed for real by the office key."""

    def _issue(**overrides: object) -> IssuedPass:
        return registry.issue(request(**overrides), now=NOW - timedelta(days=1))

    return _issue


@pytest.fixture
def station_home(tmp_path: Path, office_home: Home) -> Home:
    home = Home(tmp_path / "station").ensure()
    home.trust.write_bytes(office_home.trust.read_bytes())
    home.config.write_text('[station]\nid = "north-gate"\nname = "North gate"\n', encoding="utf-8")
    return home


def run_cli(home: Home, *args: str) -> Result:
    """Run the real CLI in-process against `home`."""
    return CliRunner().invoke(cli, ["--home", str(home.root), *args], catch_exceptions=False)
