"""`checkpoint revocations export / import / show`."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CheckpointError
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
    say(f"Wrote revocation list number {rlist.seq} with {len(rlist.entries)} pass(es) to {file}.")


@revocations_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def import_(ctx: Context, file: Path) -> None:
    """Verify FILE with this home's trust file and make it the current list (refuses an older one)."""
    if not file.exists():
        raise CheckpointError(f"There is no revocation list {file}.")
    trust = ctx.trust()
    if not trust.keys:
        raise CheckpointError("This home trusts no office key; import the trust file first.")
    old, new = import_list(
        file, ctx.home.revocations, trust, log_db=ctx.home.log_db, station_id=ctx.settings.station.id
    )
    if old.seq == new.seq:
        say(f"This home already has revocation list number {new.seq}; nothing changed.")
    elif old.seq == 0:  # this home had no list: load_list gives an empty one numbered 0
        say(
            f"Imported revocation list number {new.seq} ({len(new.entries)} revoked pass(es)); "
            "it is the first revocation list this home has."
        )
    else:
        say(
            f"Imported revocation list number {new.seq} ({len(new.entries)} revoked pass(es)); it was number {old.seq}."
        )


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
        say("This home has no revocation list yet.")
        return
    say(
        f"Revocation list number {rlist.seq}, issued {fmt_local(rlist.issued_at, tz)} "
        f"({humanise_age(utcnow() - rlist.issued_at)} ago), {len(rlist.entries)} revoked pass(es)."
    )
    for entry in rlist.entries:
        say(f"  {entry.pass_id}  revoked {fmt_local(entry.revoked_at, tz)}  {entry.reason}")


def register(cli: click.Group) -> None:
    cli.add_command(revocations_group)
