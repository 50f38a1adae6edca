"""`checkpoint keys init / rotate / export-trust / import-trust / fingerprint / list`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..catalog import error
from ..keys import (
    Keyring,
    SignedTrust,
    TrustList,
    fingerprint,
    load_trust,
    save_trust,
    take_trust_file,
)
from ..timeutil import fmt_local, iso_local, zone
from .context import Context, echo_json, output_files, pass_ctx, say


def office_keyring(ctx: Context) -> Keyring:
    return Keyring(ctx.home.office_keys, ctx.settings.office.name)


def refresh_own_trust(ctx: Context, keyring: Keyring) -> TrustList:
    """An office home trusts its own keys: its trust file is kept equal to its keyring."""
    trust = keyring.trust_list()
    save_trust(ctx.home.trust, trust)
    return trust


@click.group("keys")
def keys_group() -> None:
    """Office signing keys and the trust file stations verify with."""


@keys_group.command("init")
@pass_ctx
def init(ctx: Context) -> None:
    """Create the office's Ed25519 signing key in this home."""
    keyring = office_keyring(ctx)
    ctx.home.ensure()
    key = keyring.init()
    refresh_own_trust(ctx, keyring)
    say(ctx.t("cli.keys.created", key=key.key_id, folder=keyring.folder))
    say(ctx.t("cli.keys.give_trust"))


@keys_group.command("rotate")
@click.option("--grace-days", type=click.IntRange(0, 3650), help="How long the old key stays trusted.")
@pass_ctx
def rotate(ctx: Context, grace_days: int | None) -> None:
    """Make a new signing key; passes signed with the old one stay valid for the grace period."""
    from .passes import open_desk

    with open_desk(ctx) as desk:
        rotated = desk.rotate_key(grace_days)
    old, new = rotated.old, rotated.new
    tz = zone(ctx.settings.ui.timezone)
    until = fmt_local(old.valid_until, tz) if old.valid_until else "-"
    say(ctx.t("cli.keys.rotated", new=new.key_id, old=old.key_id, until=until))
    say(ctx.t("cli.keys.export_again"))


@keys_group.command("export-trust")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@output_files("file")
@pass_ctx
def export_trust(ctx: Context, file: Path) -> None:
    """Write the signed trust file (public keys only) for stations to import."""
    from .passes import open_desk

    with open_desk(ctx) as desk:
        signed = desk.export_trust(file)
        fingerprint = desk.fingerprint()
    signers = ", ".join(k for k, _ in signed.signatures)
    say(ctx.t("cli.keys.wrote_trust", n=len(signed.trust.keys), signers=signers, file=file))
    say(ctx.t("cli.keys.confirm_fingerprint", fingerprint=fingerprint))


@keys_group.command("fingerprint")
@pass_ctx
def fingerprint_(ctx: Context) -> None:
    """Print the office fingerprint that a new station confirms when it first imports the trust file."""
    keyring = office_keyring(ctx)
    if not keyring.exists():
        raise error("cli.keys.no_office_keys")
    active = keyring.active()
    say(ctx.t("cli.keys.fingerprint", key=active.key_id, fingerprint=keyring.fingerprint()))


@keys_group.command("import-trust")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--fingerprint",
    "confirmed",
    default=None,
    help="The office fingerprint, as `checkpoint keys fingerprint` prints it at the office (first import).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Accept a file that drops keys this home trusts (another office, or a deliberate clean-up).",
)
@pass_ctx
def import_trust(ctx: Context, file: Path, confirmed: str | None, replace: bool) -> None:
    """Make this home trust the office keys in the signed trust file FILE.

    The first time, the office fingerprint must be confirmed: give --fingerprint, or answer at the terminal.
    Every later file must be signed by a key this home already trusts. A file that would drop a key this
    home trusts (an older file, or another office's) is refused unless --replace is given.
    """
    ctx.home.ensure()
    update = take_trust_file(
        ctx.home.trust,
        file,
        confirmed_fingerprint=confirmed,
        replace=replace,
        ask=lambda signed: _ask_fingerprint(ctx, signed, file),
    )
    t = ctx.t
    if update is None:
        say(t("cli.keys.trust_unchanged"))
        return
    added = t("cli.keys.added", ids=", ".join(update.added)) if update.added else ""
    removed = t("cli.keys.removed", ids=", ".join(update.removed)) if update.removed else ""
    n = len(update.signed.trust.keys)
    say(t("cli.keys.trusts_now", n=n, signers=", ".join(update.signers), added=added, removed=removed))


def _ask_fingerprint(ctx: Context, signed: SignedTrust, file: Path) -> str:
    """At a terminal: show the fingerprint of the file's signing key and ask a person to confirm it."""
    signer_ids = {key_id for key_id, _ in signed.signatures}
    listed = [k for k in signed.trust.keys if k.key_id in signer_ids]
    if not listed or not sys.stdin.isatty():
        raise error("errors.trust.confirm_first", file=file)
    shown = fingerprint(listed[0].public_key)
    say(ctx.t("cli.keys.signed_by", file=file, key=listed[0].key_id, fingerprint=shown))
    if not click.confirm(ctx.t("cli.keys.ask_fingerprint")):
        raise error("cli.keys.not_confirmed")
    return shown


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_keys(ctx: Context, as_json: bool) -> None:
    """The office keys this home trusts (times in local time; the trust file itself keeps UTC)."""
    trust = load_trust(ctx.home.trust)
    tz = zone(ctx.settings.ui.timezone)
    if as_json:
        # The trust list's shape, with its times in local time and their offset: a view for people and
        # scripts (a station imports only the signed file `keys export-trust` writes).
        view = trust.to_json()
        view["keys"] = [
            {
                **key.to_json(),
                "valid_from": iso_local(key.valid_from, tz),
                "valid_until": None if key.valid_until is None else iso_local(key.valid_until, tz),
            }
            for key in trust.keys
        ]
        echo_json(view)
        return
    if not trust.keys:
        say(ctx.t("cli.keys.none"))
    for key in trust.keys:
        until = fmt_local(key.valid_until, tz) if key.valid_until else ctx.t("cli.keys.open")
        say(
            ctx.t(
                "cli.keys.row",
                key=key.key_id,
                start=fmt_local(key.valid_from, tz),
                until=until,
                office=key.office,
            )
        )


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
