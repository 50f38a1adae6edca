"""What every command shares: the data home and the settings, loaded once and only when asked."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..paths import Home, default_home
from ..text import clean

if TYPE_CHECKING:  # imported where used: `import checkpoint.cli` stays light (a spawned helper re-runs it)
    from ..keys import TrustList
    from ..revocations import RevocationList
    from ..settings import Settings


@dataclass
class Context:
    home_dir: Path | None = None
    config_file: Path | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def home(self) -> Home:
        return Home(self.home_dir if self.home_dir is not None else default_home())

    @cached_property
    def settings(self) -> Settings:
        from ..settings import load_settings

        if self.config_file is not None:
            return load_settings(self.config_file, required=True)
        return load_settings(self.home.config)

    def trust(self) -> TrustList:
        from ..keys import load_trust

        return load_trust(self.home.trust)

    def revocations(self, trust: TrustList | None = None) -> RevocationList:
        from ..revocations import load_list

        return load_list(self.home.revocations, trust if trust is not None else self.trust())


pass_ctx = click.make_pass_decorator(Context)


def echo_json(data: object) -> None:
    """One JSON object on one line (UTF-8, Chinese as it is)."""
    click.echo(json.dumps(data, ensure_ascii=False, sort_keys=False))


def say(text: str, *, err: bool = False) -> None:
    """Print a line for people; untrusted parts must already be cleaned, this cleans once more."""
    click.echo(clean(text), err=err)


def progress_line(done: int, total: int, label: str) -> None:
    """A progress line on the terminal, rewritten in place (only when stderr is a terminal)."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
