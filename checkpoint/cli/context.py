"""What every command shares: the data home and the settings, loaded once and only when asked."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..catalog import Translator, say_error
from ..errors import CheckpointError
from ..fsutil import output_path
from ..language import detect_language
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

    @cached_property
    def lang(self) -> str:
        """`en` or `zh`: the `ui.language` setting, else the locale (`LANG`); the locale when the settings
        themselves are what is wrong."""
        try:
            setting = self.settings.ui.language
        except CheckpointError:
            setting = "auto"
        return detect_language(setting)

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    def trust(self) -> TrustList:
        from ..keys import load_trust

        return load_trust(self.home.trust)

    def revocations(self, trust: TrustList | None = None) -> RevocationList:
        from ..revocations import load_list

        return load_list(self.home.revocations, trust if trust is not None else self.trust())


pass_ctx = click.make_pass_decorator(Context)

F = TypeVar("F", bound=Callable[..., Any])


def output_files(*names: str) -> Callable[[F], F]:
    """Add `--mkdir` to a command and check each output file it names (the parameters `names`) with
    `fsutil.output_path` before the command runs: a missing folder is refused unless `--mkdir`.
    Put it above `@pass_ctx`."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def checked(*args: Any, mkdir: bool = False, **kwargs: Any) -> Any:
            for name in names:
                if kwargs.get(name) is not None:
                    kwargs[name] = output_path(Path(kwargs[name]), mkdir)
            return command(*args, **kwargs)

        option = click.option(
            "--mkdir",
            is_flag=True,
            help="Create the output file's folder if it is missing (without it a missing folder is refused).",
        )
        return cast(F, option(checked))

    return decorate


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


def language_of(click_ctx: click.Context | None) -> str:
    """The language to speak in `click_ctx` (its root's `Context`), else the locale's."""
    root = click_ctx.find_root() if click_ctx is not None else None
    if root is not None and isinstance(root.obj, Context):
        return root.obj.lang
    return detect_language("auto")


def error_sentence(exc: CheckpointError, click_ctx: click.Context | None = None) -> str:
    """A CheckpointError in the user's language."""
    return say_error(exc, language_of(click_ctx))


def _command_path(click_ctx: click.Context | None) -> str:
    if click_ctx is None:
        return "checkpoint"
    words = click_ctx.command_path.split()
    return " ".join(["checkpoint", *words[1:]])


def usage_sentence(exc: click.UsageError) -> str:
    """Click's usage error (three lines: usage, hint, error) as one sentence that says what to do."""
    where = exc.ctx if exc.ctx is not None else _failing_context(exc)
    t = Translator(language_of(where))
    command = _command_path(where)
    help_ = t("cli.see_help", command=command)
    if isinstance(exc, click.MissingParameter):  # (a kind of BadParameter)
        return t("cli.usage.missing", param=_param_name(exc.param, exc.param_hint), help=help_)
    if isinstance(exc, click.BadParameter):
        return _bad_parameter(exc, t, help_)
    if isinstance(exc, click.BadOptionUsage) and "requires" in exc.message:
        return t("cli.usage.needs_value", option=exc.option_name, help=help_)
    if isinstance(exc, click.NoSuchOption):
        names = sorted(exc.possibilities or ())
        maybe = t("cli.usage.maybe", names=", ".join(names)) if names else ""
        return t("cli.usage.no_option", command=command, option=exc.option_name, maybe=maybe, help=help_)
    if exc.message.startswith("No such command"):
        name = exc.message.split("'")[1] if "'" in exc.message else exc.message
        return t("cli.usage.no_command", command=command, name=name, help=help_)
    return t("cli.usage.other", detail=exc.message.rstrip("."), help=help_)


def _failing_context(exc: BaseException) -> click.Context | None:
    """The context of the command whose arguments failed to parse: click's parser raises some usage
    errors without one, from inside that command's `parse_args(ctx, …)` (the innermost frame with one)."""
    found: click.Context | None = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("ctx")
        if isinstance(candidate, click.Context):
            found = candidate
        tb = tb.tb_next
    return found


def _param_name(param: click.Parameter | None, hint: object = None) -> str:
    if param is not None:
        if isinstance(param, click.Option):
            return max(param.opts, key=len)
        return (param.human_readable_name or "").upper()
    return str(hint or "?").strip("'")


def _bad_parameter(exc: click.BadParameter, t: Translator, help_: str) -> str:
    param = _param_name(exc.param, exc.param_hint)
    kind = exc.param.type if exc.param is not None else None
    value = _given(exc)
    if isinstance(kind, click.Choice) and value is not None:
        choices = ", ".join(str(c) for c in kind.choices)
        return t("cli.usage.bad_choice", param=param, value=value, choices=choices, help=help_)
    if isinstance(kind, click.Path) and value is not None:
        path = Path(value)
        where = f"{param}: " if isinstance(exc.param, click.Option) else ""  # an argument is plain
        if not path.exists():
            return where + t("cli.path.missing", path=path)
        if path.is_dir() and not kind.dir_okay:
            return where + t("cli.path.is_dir", path=path, example=_example_name(param))
        if not path.is_dir() and not kind.file_okay:
            return where + t("cli.path.is_file", path=path)
        return where + t("cli.path.unreadable", path=path)
    return t("cli.usage.bad_value", param=param, detail=exc.message.rstrip("."), help=help_)


def _given(exc: click.BadParameter) -> str | None:
    """The value the user gave, as click's own message quotes it first (None if it quotes none)."""
    message = exc.message
    for quote in ("'", '"'):
        if message.count(quote) >= 2:
            return message.split(quote)[1]
    return None


def _example_name(param: str) -> str:
    return {"--config": "config.toml", "--out": "export.csv"}.get(param, "file")
