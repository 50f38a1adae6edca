"""`checkpoint pass issue / list / show / revoke`: passes from the command line (the office side)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..desk import Desk, PassFiles
from ..errors import CheckpointError
from ..models import Category
from ..pass_request import FieldError, RequestInvalid, Translate
from ..plates import display_plate
from ..registry import IssuedPass
from ..text import clean
from ..timeutil import fmt_local, utcnow, zone
from .context import Context, echo_json, output_files, pass_ctx, say


def open_desk(ctx: Context) -> Desk:
    """The office desk of this home (one sentence when it has no office keys)."""
    return Desk(ctx.home, ctx.settings)


def translator(ctx: Context) -> Translate:
    """The translation catalog in this home's language, for the validator's field errors."""
    from ..catalog import Translator
    from ..language import detect_language

    return Translator(detect_language(ctx.settings.ui.language))


def worded(ctx: Context, errors: dict[str, FieldError]) -> CheckpointError:
    """The first bad field of a request as the one sentence a command stops with."""
    t = translator(ctx)
    first = next(iter(errors.values()))
    return CheckpointError(first.message(t))


@contextmanager
def requests_worded(ctx: Context) -> Iterator[None]:
    """A request the validator refused (RequestInvalid) stops the command with its first bad field."""
    try:
        yield
    except RequestInvalid as exc:
        raise worded(ctx, exc.errors) from exc


def describe(issued: IssuedPass, ctx: Context) -> list[str]:
    tz = zone(ctx.settings.ui.timezone)
    d = issued.data
    t = ctx.t
    status = t(f"cli.pass.status.{issued.status(utcnow())}")
    category = t(f"cli.pass.category.{d.category.value}")
    lines = [
        t("cli.pass.head", id=d.pass_id, plate=display_plate(d.plate), category=category, status=status),
        t("cli.pass.holder", holder=clean(d.holder), org=clean(d.org)),
        t(
            "cli.pass.valid",
            start=fmt_local(d.valid_from, tz),
            until=fmt_local(d.valid_until, tz),
            occupants=d.max_occupants,
        ),
        t(
            "cli.pass.checkpoints",
            checkpoints=", ".join(d.checkpoints) if d.checkpoints else t("cli.pass.all"),
            key=d.key_id,
        ),
    ]
    if issued.revoked_at is not None:
        when = fmt_local(issued.revoked_at, tz)
        lines.append(t("cli.pass.revoked_line", when=when, reason=clean(issued.revoke_reason or "")))
    return lines


class _CategoryChoice(click.Choice):  # type: ignore[type-arg]
    """The English category values, and the Chinese words a batch file may use for them."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        from ..batch import category_value

        return super().convert(category_value(str(value)), param, ctx)


FIELD_WORDS = {
    "holder": "holder",
    "org": "organisation",
    "checkpoints": "checkpoints",
    "occupants": "occupants",
}


@click.group("pass")
def pass_group() -> None:
    """Issue, list, show and revoke passes (office)."""


@pass_group.command("issue")
@click.option("--plate", required=True, help="Plate number, e.g. 鄂A·12345.")
@click.option(
    "--category",
    required=True,
    type=_CategoryChoice([c.value for c in Category]),
    help="Kind of vehicle: emergency, official or medical (or 应急车辆, 公务人员, 医护人员, as in a batch file).",
)
@click.option("--holder", default="", help="The holder's name.")
@click.option("--org", default="", help="The holder's organisation.")
@click.option("--valid-from", help="Start (local time, e.g. 2026-02-03 or 2026-02-03T08:00); default now.")
@click.option("--valid-until", help="End (a bare date means its end); default now + office.valid_days.")
@click.option("--checkpoints", default="", help="Comma-separated checkpoint ids; empty means all.")
@click.option("--occupants", type=int, default=5, show_default=True, help="Most occupants allowed.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR as SVG.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write a printable pass card.")
@click.option(
    "--new",
    "force_new",
    is_flag=True,
    help="Issue another pass even if the vehicle has a live one with the same category and dates.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the pass as JSON.")
@output_files("png", "svg", "pdf")
@pass_ctx
def issue(
    ctx: Context, plate: str, category: str, holder: str, org: str, valid_from: str | None,
    valid_until: str | None, checkpoints: str, occupants: int, png: Path | None, svg: Path | None,
    pdf: Path | None, force_new: bool, as_json: bool,
) -> None:  # fmt: skip
    """Issue one signed pass and record it in the office register.

    If the vehicle already has a pass (not revoked) with the same plate, category and validity, it is
    given back (and its files written) instead of a duplicate, as `pass batch` and the office screen
    do; --new issues another one anyway.
    """
    desk = open_desk(ctx)
    try:
        with requests_worded(ctx):
            request = desk.request(
                {
                    "plate": plate, "category": category, "holder": holder, "org": org,
                    "valid_from": valid_from or "", "valid_until": valid_until or "", "checkpoints": checkpoints,
                    "occupants": str(occupants),
                }
            )  # fmt: skip
        done = desk.issue(request, new=force_new, files=PassFiles(png=png, svg=svg, pdf=pdf))
    finally:
        desk.close()
    issued = done.issued
    shown = display_plate(request.plate)
    t = ctx.t
    if done.differs:
        fields = ", ".join(t(f"cli.pass.field.{FIELD_WORDS[name]}") for name in done.differs)
        say(t("cli.pass.differs", id=issued.data.pass_id, fields=fields), err=True)
    elif done.live:
        ids = ", ".join(p.data.pass_id for p in done.live)
        say(t("cli.pass.live", plate=shown, ids=ids), err=True)
    if as_json:
        echo_json({**issued.to_json(utcnow(), zone(ctx.settings.ui.timezone)), "existing": done.existing})
        return
    if done.existing:
        say(t("cli.pass.existing", plate=shown, id=issued.data.pass_id))
    for line in describe(issued, ctx):
        say(line)
    for label, path in (("qr", png), ("svg", svg), ("card", pdf)):
        if path is not None:
            say(t(f"cli.pass.file.{label}", path=path))


@pass_group.command("list")
@click.option("--search", default="", help="Part of a plate, holder, organisation or pass id.")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_passes(ctx: Context, search: str, limit: int | None, as_json: bool) -> None:
    """The passes this office issued, newest first."""
    with open_desk(ctx) as desk:
        passes = desk.list(search=search, limit=limit)
    now = utcnow()
    tz = zone(ctx.settings.ui.timezone)
    for issued in passes:
        if as_json:
            echo_json(issued.to_json(now, tz))
        else:
            d = issued.data
            # A pass not valid yet is shown with its start ("not yet valid until …" read as its start).
            when = (
                ctx.t("cli.pass.list_from", when=fmt_local(d.valid_from, tz))
                if issued.status(now) == "not_yet_valid"
                else ctx.t("cli.pass.list_until", when=fmt_local(d.valid_until, tz))
            )
            category = ctx.t(f"cli.pass.category.{d.category.value}")
            status = ctx.t(f"cli.pass.status.{issued.status(now)}")
            say(
                f"{d.pass_id}  {display_plate(d.plate):<11} {category:<9} {status:<13} "
                f"{when}  {clean(d.holder, limit=20)}"
            )
    if not passes and not as_json:
        say(ctx.t("cli.pass.none_match" if search else "cli.pass.none_yet"))


@pass_group.command("show")
@click.argument("pass_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR again as PNG.")
@click.option("--svg", type=click.Path(dir_okay=False, path_type=Path), help="Write the QR again as SVG.")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the card again.")
@output_files("png", "svg", "pdf")
@pass_ctx
def show(
    ctx: Context, pass_id: str, as_json: bool, png: Path | None, svg: Path | None, pdf: Path | None
) -> None:
    """One pass in full (and its QR or card again)."""
    with open_desk(ctx) as desk:
        issued = desk.get(pass_id)
        desk.write_files(issued, PassFiles(png=png, svg=svg, pdf=pdf))
    if as_json:
        echo_json(issued.to_json(utcnow(), zone(ctx.settings.ui.timezone)))
        return
    for line in describe(issued, ctx):
        say(line)
    say(ctx.t("cli.pass.payload", payload=issued.payload))


@pass_group.command("revoke")
@click.argument("pass_id")
@click.option("--reason", required=True, help="Why (kept in the revocation list).")
@pass_ctx
def revoke(ctx: Context, pass_id: str, reason: str) -> None:
    """Revoke a pass; stations deny it once they import the next revocation list."""
    with open_desk(ctx) as desk, requests_worded(ctx):
        done = desk.revoke(pass_id, reason)
    issued = done.issued
    say(ctx.t("cli.pass.revoked", id=issued.data.pass_id, plate=display_plate(issued.data.plate)))
    say(ctx.t("cli.pass.revoked_next", seq=done.revocations.seq))


def register(cli: click.Group) -> None:
    cli.add_command(pass_group)
