"""`checkpoint keys init / rotate / export-trust / import-trust / show`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from ..errors import CheckpointError
from ..keys import Keyring, TrustList, load_trust, read_json, save_trust
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
    say(f"Created office signing key {key.key_id} in {keyring.folder} (private, mode 0600).")
    say("Give stations the trust file: checkpoint keys export-trust trust.json")


@keys_group.command("rotate")
@click.option("--grace-days", type=click.IntRange(0, 3650), help="How long the old key stays trusted.")
@pass_ctx
def rotate(ctx: Context, grace_days: int | None) -> None:
    """Make a new signing key; passes signed with the old one stay valid for the grace period."""
    keyring = office_keyring(ctx)
    days = grace_days if grace_days is not None else ctx.settings.office.key_grace_days
    old, new = keyring.rotate(timedelta(days=days))
    refresh_own_trust(ctx, keyring)
    tz = zone(ctx.settings.ui.timezone)
    until = fmt_local(old.valid_until, tz) if old.valid_until else "-"
    say(f"New signing key {new.key_id}; old key {old.key_id} stays trusted until {until}.")
    say("Export the trust file again and give it to every station before the old key's window ends.")


@keys_group.command("export-trust")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@output_files("file")
@pass_ctx
def export_trust(ctx: Context, file: Path) -> None:
    """Write the trust file (public keys only) for stations to import."""
    keyring = office_keyring(ctx)
    if not keyring.exists():
        raise CheckpointError("This home has no office keys; run `checkpoint keys init` first.")
    trust = keyring.trust_list()
    save_trust(file, trust)
    say(f"Wrote the trust file with {len(trust.keys)} key(s) to {file}.")


@keys_group.command("import-trust")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Accept a file that drops keys this home trusts (another office, or a deliberate clean-up).",
)
@pass_ctx
def import_trust(ctx: Context, file: Path, replace: bool) -> None:
    """Make this home trust the office keys in FILE.

    A newer trust file from the same office only adds keys or changes their windows. A file that would
    drop a key this home trusts (an older file, or another office's) is refused unless --replace is given.
    """
    if not file.exists():
        raise CheckpointError(f"There is no trust file {file}.")
    trust = TrustList.from_json(read_json(file), str(file))
    if not trust.keys:
        raise CheckpointError(f"{file} lists no keys; nothing was changed.")
    old = load_trust(ctx.home.trust)
    added = {k.key_id for k in trust.keys} - {k.key_id for k in old.keys}
    removed = {k.key_id for k in old.keys} - {k.key_id for k in trust.keys}
    if removed and not replace:
        raise CheckpointError(
            f"{file} would stop trusting key(s) {', '.join(sorted(removed))}: it is older than the trust file "
            "this home has, or from another office; nothing was changed (use --replace if that is intended)."
        )
    ctx.home.ensure()
    save_trust(ctx.home.trust, trust)
    say(
        f"This home now trusts {len(trust.keys)} office key(s)"
        + (f"; added {', '.join(sorted(added))}" if added else "")
        + (f"; removed {', '.join(sorted(removed))}" if removed else "")
        + "."
    )


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_keys(ctx: Context, as_json: bool) -> None:
    """The office keys this home trusts (times in local time; the trust file itself keeps UTC)."""
    trust = load_trust(ctx.home.trust)
    tz = zone(ctx.settings.ui.timezone)
    if as_json:
        # The trust file's own shape, with its times in local time and their offset: the same instants,
        # so this is still a trust file a station could import.
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
        say("This home trusts no office key yet.")
    for key in trust.keys:
        until = fmt_local(key.valid_until, tz) if key.valid_until else "open"
        say(f"{key.key_id}  from {fmt_local(key.valid_from, tz)}  until {until}  {key.office}")


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
