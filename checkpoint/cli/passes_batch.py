"""`checkpoint pass batch FILE.csv` and `checkpoint pass renew ID`: added to the `pass` group."""

from __future__ import annotations

from pathlib import Path

import click

from ..desk import PassFiles
from ..plates import display_plate
from ..timeutil import utcnow, zone
from .context import Context, echo_json, pass_ctx, progress_line, say
from .passes import describe, open_desk, requests_worded, translator


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
    The files are written before the passes are recorded: when they cannot be written (a full disk),
    nothing is issued.
    """
    from .. import batch as batch_mod
    from ..batch import BatchInvalid

    t = translator(ctx)

    def progress(phase: str, done: int, total: int) -> None:
        progress_line(done, total, "Signing " if phase == "sign" else "Writing ")

    with open_desk(ctx) as desk:
        try:
            result = desk.issue_batch(file, out, sheet=sheet, progress=progress)
        except BatchInvalid as invalid:
            if as_json:
                echo_json({"ok": False, "errors": [e.to_json(t) for e in invalid.errors]})
            else:
                for error in invalid.errors:  # each bad field on its own line
                    for reason in error.reasons(t):
                        say(ctx.t("cli.batch.bad_line", file=file, line=error.line, reason=reason), err=True)
            raise
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
            say(ctx.t("cli.batch.existing", line=line, plate=display_plate(p.data.plate), id=p.data.pass_id))
    say(ctx.t("cli.batch.issued", issued=result.issued, existing=result.existing, out=out))
    if sheet is not None:
        say(ctx.t("cli.batch.cards", sheet=sheet, pages=(len(result.passes) + 3) // 4))


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
    tz = zone(ctx.settings.ui.timezone)
    with open_desk(ctx) as desk, requests_worded(ctx):
        done = desk.renew(pass_id, valid_from or "", valid_until or "")
        desk.write_files(done.new, PassFiles(png=png, pdf=pdf))
    old, new, rlist = done.old, done.new, done.revocations
    now = utcnow()
    if as_json:
        echo_json({**new.to_json(now, tz), "revoked": old.data.pass_id, "revocation_seq": rlist.seq})
        return
    for line in describe(new, ctx):
        say(line)
    say(ctx.t("cli.renew.revoked", old=old.data.pass_id, new=new.data.pass_id))
    say(ctx.t("cli.renew.next", seq=rlist.seq))


def register(cli: click.Group) -> None:
    group = cli.commands["pass"]
    assert isinstance(group, click.Group)
    group.add_command(batch)
    group.add_command(renew)
