"""`checkpoint revocations export / import / show`."""

from __future__ import annotations

from pathlib import Path

import click

from ..catalog import error
from ..revocations import import_list
from ..timeutil import fmt_local, humanise_age, iso_local, utcnow, zone
from .context import Context, echo_json, output_files, pass_ctx, say
from .passes import open_desk


@click.group("revocations")
def revocations_group() -> None:
    """The signed list of revoked passes."""


@revocations_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@output_files("file")
@pass_ctx
def export(ctx: Context, file: Path) -> None:
    """Write the signed revocation list to FILE (a new number only when the list changed since the last)."""
    with open_desk(ctx) as desk:
        rlist = desk.export_revocations(file)
    say(ctx.t("cli.revocations.wrote", seq=rlist.seq, n=len(rlist.entries), file=file))


@revocations_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_(ctx: Context, file: Path) -> None:
    """Verify FILE with this home's trust file and make it the current list (refuses an older one)."""
    if not file.exists():
        raise error("cli.revocations.no_file", file=file)
    trust = ctx.trust()
    if not trust.keys:
        raise error("cli.revocations.no_trust")
    old, new = import_list(
        file, ctx.home.revocations, trust, log_db=ctx.home.log_db, station_id=ctx.settings.station.id
    )
    if old.seq == new.seq:
        say(ctx.t("cli.revocations.unchanged", seq=new.seq))
    elif old.seq == 0:  # this home had no list: load_list gives an empty one numbered 0
        say(ctx.t("cli.revocations.first", seq=new.seq, n=len(new.entries)))
    else:
        say(ctx.t("cli.revocations.imported", seq=new.seq, n=len(new.entries), old=old.seq))


@revocations_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(ctx: Context, as_json: bool) -> None:
    """The revocation list this home has, and its age (times in local time; the file keeps UTC)."""
    rlist = ctx.revocations()
    tz = zone(ctx.settings.ui.timezone)
    if as_json:
        # A view for people and scripts, not the signed file (`revocations export` writes that): its
        # times are local with their offset, so it carries no signature (nor the file's format tag).
        echo_json(
            {
                "office": rlist.office,
                "seq": rlist.seq,
                "issued_at": None if rlist.issued_at is None else iso_local(rlist.issued_at, tz),
                "key_id": rlist.key_id,
                "entries": [
                    {"pass_id": e.pass_id, "revoked_at": iso_local(e.revoked_at, tz), "reason": e.reason}
                    for e in rlist.entries
                ],
            }
        )
        return
    if rlist.issued_at is None:
        say(ctx.t("cli.revocations.none"))
        return
    age = humanise_age(utcnow() - rlist.issued_at)
    number, _, unit = age.partition(" ")
    if unit in ("s", "min", "h", "d"):  # "3 h" → "3 小时"
        age = ctx.t(f"cli.age.{unit}", n=number)
    issued = fmt_local(rlist.issued_at, tz)
    say(ctx.t("cli.revocations.show", seq=rlist.seq, issued=issued, age=age, n=len(rlist.entries)))
    for entry in rlist.entries:
        when = fmt_local(entry.revoked_at, tz)
        say(ctx.t("cli.revocations.entry", id=entry.pass_id, when=when, reason=entry.reason))


def register(cli: click.Group) -> None:
    cli.add_command(revocations_group)
