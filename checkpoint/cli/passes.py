"""`checkpoint pass issue / list / show / revoke`: passes from the command line (the office side)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from ..errors import CheckpointError
from ..models import Category
from ..passes import CHECKPOINT_ID, MAX_HOLDER, MAX_OCCUPANTS, MAX_ORG, normalise_pass_id
from ..plates import display_plate, normalise_plate
from ..registry import IssuedPass, PassRequest, Registry
from ..text import clean, has_unsafe
from ..timeutil import fmt_local, parse_when, utcnow, zone
from .context import Context, echo_json, output_files, pass_ctx, say
from .keys import office_keyring


def open_registry(ctx: Context) -> Registry:
    keyring = office_keyring(ctx)
    if not keyring.exists():
        raise CheckpointError(
            "This home has no office keys; run `checkpoint keys init` here first (the office's home)."
        )
    return Registry(ctx.home.registry, keyring)


def parse_checkpoints(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(part.strip() for part in text.replace("，", ",").split(",") if part.strip()))
    for item in items:
        if not CHECKPOINT_ID.match(item):
            raise CheckpointError(
                f"{clean(item, limit=30)!r} is not a checkpoint id; use letters, digits, '.', '_' or '-'."
            )
    return items


def check_text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise CheckpointError(f"The {name} is {len(value)} characters long; at most {limit} fit on a pass.")
    if has_unsafe(value):
        raise CheckpointError(f"The {name} holds control or invisible characters; type it again.")
    return value


def make_request(
    ctx: Context,
    *,
    plate: str,
    category: str,
    holder: str,
    org: str,
    valid_from: str | None,
    valid_until: str | None,
    checkpoints: str,
    occupants: int,
    now: datetime | None = None,
) -> PassRequest:
    """Validate what a person typed into a PassRequest; one sentence naming the field on error."""
    tz = zone(ctx.settings.ui.timezone)
    moment = (now or utcnow()).replace(microsecond=0)
    start = parse_when(valid_from, tz) if valid_from else moment
    end = (
        parse_when(valid_until, tz, end_of_day=True)
        if valid_until
        else start + timedelta(days=ctx.settings.office.valid_days)
    )
    if end <= start:
        raise CheckpointError("valid-until must be after valid-from.")
    try:
        cat = Category(category.strip().lower())
    except ValueError as exc:
        raise CheckpointError(
            f"{clean(category, limit=20)!r} is not a category; use emergency, official or medical."
        ) from exc
    if not 1 <= occupants <= MAX_OCCUPANTS:
        raise CheckpointError(f"Occupants must be between 1 and {MAX_OCCUPANTS}.")
    return PassRequest(
        plate=normalise_plate(plate),
        category=cat,
        holder=check_text("holder", holder, MAX_HOLDER),
        org=check_text("organisation", org, MAX_ORG),
        valid_from=start,
        valid_until=end,
        checkpoints=parse_checkpoints(checkpoints),
        max_occupants=occupants,
    )


def describe(issued: IssuedPass, ctx: Context) -> list[str]:
    tz = zone(ctx.settings.ui.timezone)
    d = issued.data
    lines = [
        f"Pass {d.pass_id}  {display_plate(d.plate)}  {d.category.value}  ({issued.status_word(utcnow())})",
        f"  holder: {clean(d.holder)}   organisation: {clean(d.org)}",
        f"  valid: {fmt_local(d.valid_from, tz)} → {fmt_local(d.valid_until, tz)}   occupants ≤ {d.max_occupants}",
        f"  checkpoints: {', '.join(d.checkpoints) if d.checkpoints else 'all'}   key: {d.key_id}",
    ]
    if issued.revoked_at is not None:
        lines.append(f"  revoked {fmt_local(issued.revoked_at, tz)}: {clean(issued.revoke_reason or '')}")
    return lines


def different_fields(issued: IssuedPass, request: PassRequest) -> list[str]:
    """The fields, besides plate, category and validity, in which `request` asks for something else."""
    d = issued.data
    pairs = (
        ("holder", d.holder, request.holder),
        ("organisation", d.org, request.org),
        ("checkpoints", d.checkpoints, request.checkpoints),
        ("occupants", d.max_occupants, request.max_occupants),
    )
    return [name for name, have, want in pairs if have != want]


def write_outputs(
    issued: IssuedPass, ctx: Context, png: Path | None, svg: Path | None, pdf: Path | None
) -> None:
    from .. import qrimage

    if png is not None:
        qrimage.write_png(issued.payload, png)
    if svg is not None:
        qrimage.write_svg(issued.payload, svg)
    if pdf is not None:
        try:
            from ..cards import write_card
        except ModuleNotFoundError as exc:
            raise CheckpointError("Pass cards (PDF) are not available in this version.") from exc
        write_card(issued, pdf, office=ctx.settings.office.name, tz=ctx.settings.ui.timezone)


class _CategoryChoice(click.Choice):  # type: ignore[type-arg]
    """The English category values, and the Chinese words a batch file may use for them."""

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        from ..batch import category_value

        return super().convert(category_value(str(value)), param, ctx)


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
    request = make_request(
        ctx, plate=plate, category=category, holder=holder, org=org, valid_from=valid_from,
        valid_until=valid_until, checkpoints=checkpoints, occupants=occupants,
    )  # fmt: skip
    registry = open_registry(ctx)
    try:
        same = None if force_new else registry.find_same(request)
        live: list[IssuedPass] = []
        if same is not None:
            issued = same
            write_outputs(issued, ctx, png, svg, pdf)
        else:
            live = [p for p in registry.list(search=request.plate) if p.data.plate == request.plate]
            live = [p for p in live if p.status(utcnow()) in ("valid", "not_yet_valid")]
            data, payload = registry.build(request)
            issued = IssuedPass(data, payload)
            # The files first: a pass whose card or image could not be written is not issued at all.
            write_outputs(issued, ctx, png, svg, pdf)
            registry.store([(data, payload, None)])
    finally:
        registry.close()
    shown = display_plate(request.plate)
    if same is not None:
        differs = different_fields(same, request)
        if differs:
            say(
                f"Note: pass {same.data.pass_id} differs from this request in {', '.join(differs)}; "
                "revoke it and issue again, or use --new for a second pass.",
                err=True,
            )
    elif live:
        say(
            f"Note: {shown} already has live pass(es) "
            f"{', '.join(p.data.pass_id for p in live)}; revoke them if this one replaces them.",
            err=True,
        )
    if as_json:
        echo_json({**issued.to_json(utcnow(), zone(ctx.settings.ui.timezone)), "existing": same is not None})
        return
    if same is not None:
        say(
            f"{shown} already has pass {same.data.pass_id} for the same category and dates; "
            "not issued again (--new issues another)."
        )
    for line in describe(issued, ctx):
        say(line)
    for label, path in (("QR image", png), ("SVG", svg), ("card", pdf)):
        if path is not None:
            say(f"  {label}: {path}")


@pass_group.command("list")
@click.option("--search", default="", help="Part of a plate, holder, organisation or pass id.")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_ctx
def list_passes(ctx: Context, search: str, limit: int | None, as_json: bool) -> None:
    """The passes this office issued, newest first."""
    registry = open_registry(ctx)
    try:
        passes = registry.list(search=search, limit=limit)
    finally:
        registry.close()
    now = utcnow()
    tz = zone(ctx.settings.ui.timezone)
    for issued in passes:
        if as_json:
            echo_json(issued.to_json(now, tz))
        else:
            d = issued.data
            # A pass not valid yet is shown with its start ("not yet valid until …" read as its start).
            when = (
                f"from  {fmt_local(d.valid_from, tz)}"
                if issued.status(now) == "not_yet_valid"
                else f"until {fmt_local(d.valid_until, tz)}"
            )
            say(
                f"{d.pass_id}  {display_plate(d.plate):<11} {d.category.value:<9} {issued.status_word(now):<13} "
                f"{when}  {clean(d.holder, limit=20)}"
            )
    if not passes and not as_json:
        say("No passes match." if search else "No passes issued yet.")


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
    registry = open_registry(ctx)
    try:
        issued = registry.get(normalise_pass_id(pass_id))
    finally:
        registry.close()
    write_outputs(issued, ctx, png, svg, pdf)
    if as_json:
        echo_json(issued.to_json(utcnow(), zone(ctx.settings.ui.timezone)))
        return
    for line in describe(issued, ctx):
        say(line)
    say(f"  payload: {issued.payload}")


@pass_group.command("revoke")
@click.argument("pass_id")
@click.option("--reason", required=True, help="Why (kept in the revocation list).")
@pass_ctx
def revoke(ctx: Context, pass_id: str, reason: str) -> None:
    """Revoke a pass; stations deny it once they import the next revocation list."""
    reason = check_text("reason", reason, 200)
    if not reason:
        raise CheckpointError("Give a reason for the revocation with --reason.")
    registry = open_registry(ctx)
    try:
        issued = registry.revoke(normalise_pass_id(pass_id), reason)
        rlist = registry.publish_revocations(ctx.settings.office.name, ctx.home.revocations)
    finally:
        registry.close()
    say(f"Revoked pass {issued.data.pass_id} ({display_plate(issued.data.plate)}).")
    say(
        f"Stations deny it after importing revocation list number {rlist.seq}: "
        "checkpoint revocations export FILE."
    )


def register(cli: click.Group) -> None:
    cli.add_command(pass_group)
