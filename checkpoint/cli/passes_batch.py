"""`checkpoint pass batch FILE.csv` and `checkpoint pass renew ID`: added to the `pass` group."""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path

import click

from ..errors import CheckpointError
from ..passes import normalise_pass_id
from ..plates import display_plate
from ..timeutil import parse_when, utcnow, zone
from .context import Context, echo_json, pass_ctx, progress_line, say
from .passes import describe, make_request, open_registry


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for a PNG per pass (<pass id>_<plate>.png) and passes.csv.",
)
@click.option(
    "--sheet", type=click.Path(dir_okay=False, path_type=Path), help="Write A4 sheets of four cards."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with what was done.")
@pass_ctx
def batch(ctx: Context, file: Path, out: Path, sheet: Path | None, as_json: bool) -> None:
    """Issue a pass for every row of FILE.csv, all or nothing.

    Columns: plate, category, holder, org, valid_from, valid_until, checkpoints, occupants. Every row is
    checked first; a bad row stops the batch and every bad row is named by its line number. A row that
    matches a live pass (same plate, category and validity) gives that pass back: re-running is safe.
    """
    from .. import batch as batch_mod

    now = utcnow()
    rows = batch_mod.read_rows(file)
    if not rows:
        raise CheckpointError(f"{file} has no rows below its header; nothing was issued.")
    maker = functools.partial(make_request, ctx)
    good, errors = batch_mod.parse_rows(rows, maker, tz=ctx.settings.ui.timezone, now=now)
    if errors:
        invalid = batch_mod.BatchInvalid(errors, str(file))
        if as_json:
            echo_json(
                {
                    "ok": False,
                    "errors": [
                        {"line": e.line, "reason": e.reason, "reasons": list(e.reasons)} for e in errors
                    ],
                }
            )
        else:
            for error in errors:  # each bad field on its own line
                for reason in error.reasons:
                    say(f"{file}: line {error.line}: {reason}", err=True)
        raise invalid
    registry = open_registry(ctx)
    try:
        result = batch_mod.issue_rows(
            registry, good, now=now, progress=lambda d, t: progress_line(d, t, "Signing ")
        )
    finally:
        registry.close()
    batch_mod.write_outputs(
        result, out, office=ctx.settings.office.name, tz=ctx.settings.ui.timezone, sheet=sheet,
        progress=lambda d, t: progress_line(d, t, "Writing "),
    )  # fmt: skip
    if as_json:
        echo_json(
            {
                "ok": True,
                "issued": result.issued,
                "existing": result.existing,
                "out": str(out),
                "sheet": None if sheet is None else str(sheet),
                "passes": [
                    {
                        "line": line,
                        "pass_id": p.data.pass_id,
                        "plate": p.data.plate,
                        "status": "issued" if is_new else "existing",
                        "png": str(out / batch_mod.png_name(p)),
                    }
                    for line, p, is_new in zip(result.lines, result.passes, result.new, strict=True)
                ],
            }
        )
        return
    for line, p, is_new in zip(result.lines, result.passes, result.new, strict=True):
        if not is_new:
            say(
                f"line {line}: {display_plate(p.data.plate)} already has pass {p.data.pass_id}; not issued again."
            )
    say(
        f"Issued {result.issued} new pass(es); {result.existing} already existed. PNGs and passes.csv in {out}."
    )
    if sheet is not None:
        say(f"Cards: {sheet} ({(len(result.passes) + 3) // 4} A4 page(s), four cards each).")


@click.command("renew")
@click.argument("pass_id")
@click.option("--valid-from", help="Start of the new pass (local time); default now.")
@click.option(
    "--valid-until", help="End of the new pass (a bare date means its end); default + office.valid_days."
)
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the new pass's card.")
@click.option(
    "--png", type=click.Path(dir_okay=False, path_type=Path), help="Write the new pass's QR as PNG."
)
@click.option("--json", "as_json", is_flag=True, help="Print the new pass as JSON.")
@pass_ctx
def renew(
    ctx: Context, pass_id: str, valid_from: str | None, valid_until: str | None, pdf: Path | None,
    png: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Issue a new pass with the same fields and a new validity; revoke the old one ("renewed as NEW")."""
    from ..batch import renew as renew_pass
    from ..batch import renewal_window
    from .passes import write_outputs

    old_id = normalise_pass_id(pass_id)
    tz = zone(ctx.settings.ui.timezone)
    now = utcnow()
    registry = open_registry(ctx)
    try:
        current = registry.get(old_id)
        start, end = renewal_window(current, now=now, valid_days=ctx.settings.office.valid_days)
        if valid_from:
            start = parse_when(valid_from, tz)
            end = start + timedelta(days=ctx.settings.office.valid_days)
        if valid_until:
            end = parse_when(valid_until, tz, end_of_day=True)
        old, new = renew_pass(registry, old_id, valid_from=start, valid_until=end, now=now)
        rlist = registry.publish_revocations(ctx.settings.office.name, ctx.home.revocations)
    finally:
        registry.close()
    write_outputs(new, ctx, png, None, pdf)
    if as_json:
        echo_json({**new.to_json(now, tz), "revoked": old.data.pass_id, "revocation_seq": rlist.seq})
        return
    for line in describe(new, ctx):
        say(line)
    say(f"Revoked the old pass {old.data.pass_id} (renewed as {new.data.pass_id}).")
    say(
        f"Stations deny the old pass after importing revocation list number {rlist.seq}: "
        "checkpoint revocations export FILE."
    )


def register(cli: click.Group) -> None:
    group = cli.commands["pass"]
    assert isinstance(group, click.Group)
    group.add_command(batch)
    group.add_command(renew)
