"""The `checkpoint` command: the composition root.

A thin click group. Each command group lives in its own module here and imports heavy things (Textual,
OpenCV, qrcode, fpdf2) inside the command that needs them, so that `import checkpoint` stays light.
Every error reaches the user as one sentence on stderr, never as a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ..catalog import Translator
from ..errors import CheckpointError
from ..language import detect_language
from .context import Context, error_sentence, pass_ctx, usage_sentence

__all__ = ["Context", "cli", "main", "pass_ctx"]


class UserError(click.ClickException):
    """A CheckpointError on its way out: one sentence on stderr, its own exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: object = None) -> None:
        click.echo(f"checkpoint: {self.message}", err=True)


def _one_sentence(exc: click.UsageError) -> UserError:
    return UserError(usage_sentence(exc), 2)


class CheckpointGroup(click.Group):
    """The top-level group: loads commands on first use, and turns CheckpointError and click's usage
    errors (three lines) into UserError: one sentence in the user's language, exit 2."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # a bad global option: `--config /etc`
            raise _one_sentence(exc) from exc

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in COMMANDS:
            _load(name)
        return [n for n in COMMANDS if n in self.commands] + sorted(set(self.commands) - set(COMMANDS))

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CheckpointError as exc:
            raise UserError(error_sentence(exc, ctx), exc.exit_code) from exc
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_sentence(exc) from exc


@click.group(
    cls=CheckpointGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="CHECKPOINT_HOME",
    help="Data home (default: the platform's user data folder). Env: CHECKPOINT_HOME.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Settings file (default: config.toml in the data home).",
)
@click.version_option(package_name="checkpoint")
@click.pass_context
def cli(click_ctx: click.Context, home: Path | None, config_file: Path | None) -> None:
    """checkpoint — signed QR passes, a station that checks them, a log nobody can edit unseen."""
    click_ctx.obj = Context(home_dir=home, config_file=config_file)
    if click_ctx.resilient_parsing:
        return
    click_ctx.obj.settings  # a bad setting stops every command with one sentence  # noqa: B018
    if click_ctx.invoked_subcommand is None:
        from .station import station

        click_ctx.invoke(station)


# Commands load lazily: `checkpoint verify` imports neither the TUI nor the benchmarks, and one
# command's import error cannot break another. Each name maps to the modules (in this package) whose
# `register(cli)` adds it; later modules extend the group the first one made.
COMMANDS: dict[str, tuple[str, ...]] = {
    "station": ("station",),
    "office": ("office",),
    "audit": ("audit",),
    "demo": ("demo",),
    "keys": ("keys",),
    "pass": ("passes", "passes_batch"),
    "revocations": ("revocations",),
    "verify": ("verify",),
    "scan": ("scan",),
    "log": ("log", "log_export"),
    "report": ("report",),
    "bundle": ("bundle",),
    "stations": ("stations",),
    "serve": ("serve",),
    "sync": ("sync",),
    "county": ("county",),
    "bench": ("bench",),
}


def _load(name: str) -> None:
    import importlib

    for module_name in COMMANDS.get(name, ()):
        qualified = f"{__name__}.{module_name}"
        if qualified in _loaded:
            continue
        _loaded.add(qualified)
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
            continue
        module.register(cli)


_loaded: set[str] = set()


GLOBAL_OPTIONS = ("--home", "--config")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Accept `checkpoint office --home DIR` as well as `checkpoint --home DIR office`.

    People put options after the command; the global ones are moved in front of it.
    """
    front: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS and rest:
            if "=" in arg:
                front.append(arg)
            elif index + 1 < len(argv):
                front.extend(argv[index : index + 2])
                index += 1
            else:
                rest.append(arg)
        else:
            rest.append(arg)
        index += 1
    return front + rest


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; turn every error into one sentence and an exit code."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    t = Translator(detect_language("auto"))  # before the settings are read: the locale's language
    try:
        cli.main(args=args, prog_name="checkpoint", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(t("cli.aborted"), err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(2)
    except click.UsageError as exc:  # raised outside the group's own handling
        _one_sentence(exc).show()
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except CheckpointError as exc:
        click.echo(f"checkpoint: {error_sentence(exc)}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(t("cli.interrupted"), err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if os.environ.get("CHECKPOINT_DEBUG"):
            raise
        click.echo("checkpoint: " + t("cli.unexpected", error=f"{type(exc).__name__}: {exc}"), err=True)
        sys.exit(3)
    else:
        sys.exit(0)
