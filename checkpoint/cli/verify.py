"""`checkpoint verify`: verify one pass offline. Exit 0 allow, 1 deny, 2 usage or setup error."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..catalog import error, reason_word
from ..errors import CheckpointError
from ..models import Direction
from ..plates import display_plate
from ..policy import Decision, Facts, LogState, decide
from ..text import clean
from ..timeutil import parse_when, utcnow, zone
from .context import Context, echo_json, pass_ctx, say


@click.command("verify")
@click.option("--payload", help="The pass text (as the QR code holds it).")
@click.option("--image", type=click.Path(dir_okay=False, path_type=Path), help="An image with the QR code.")
@click.option("--at", "at", help="Check as of this time (ISO, local time) instead of now.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as one JSON object.")
@pass_ctx
def verify(ctx: Context, payload: str | None, image: Path | None, at: str | None, as_json: bool) -> None:
    """Verify one pass offline against this home's trust file and revocation list."""
    try:
        decision = _decide(ctx, payload, image, at)
    except CheckpointError as exc:
        if as_json:  # a script reading stdout still gets one object (and stderr the sentence, exit 2)
            echo_json({"decision": None, "reason": None, "pass": None, "error": exc.message})
        raise
    if as_json:
        echo_json(decision.to_json(zone(ctx.settings.ui.timezone)))
    else:
        verdict = "ALLOW" if decision.allowed else "DENY"
        explained = reason_word(decision.reason, ctx.lang)
        extra = "" if decision.detail.lower() in explained.lower() else f" ({decision.detail})"
        say(f"{verdict}  {decision.reason.value}: {explained}{extra}")
        if decision.pass_data is not None:
            d = decision.pass_data
            say(
                f"  {d.pass_id}  {display_plate(d.plate)}  {d.category.value}  {clean(d.holder)}  {clean(d.org)}"
            )
    sys.exit(0 if decision.allowed else 1)


def _decide(ctx: Context, payload: str | None, image: Path | None, at: str | None) -> Decision:
    if (payload is None) == (image is None):
        raise error("cli.verify.one_source")
    if image is not None:
        from ..qrimage import decode_image

        codes = decode_image(image)
        if not codes:
            raise error("cli.verify.no_code", image=image)
        payload = codes[0].decode("utf-8", errors="replace")
    assert payload is not None
    trust = ctx.trust()
    if not trust.keys:
        raise error("cli.verify.no_trust", home=ctx.home.root)
    now = parse_when(at, zone(ctx.settings.ui.timezone)) if at else utcnow()
    revocations = ctx.revocations(trust)
    if revocations.issued_at is None and not ctx.home.is_office():
        say(ctx.t("cli.verify.no_revocations"), err=True)
    return decide(
        payload.strip(),
        trust,
        revocations,
        ctx.settings.station.rules(),
        LogState(),
        Facts(direction=Direction.IN),
        now,
    )


def register(cli: click.Group) -> None:
    cli.add_command(verify)
