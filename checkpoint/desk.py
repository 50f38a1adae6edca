"""The office's desk: the one entry point for everything the issuing office does.

Issue a pass (one, or a CSV batch), renew, revoke, publish the revocation list, export the trust file and
the revocation list for the stations, rotate the signing key, and find passes. The office screen
(`checkpoint office`) and the command line (`checkpoint pass …`, `revocations …`, `keys rotate /
export-trust`) both call it and render what it returns; neither decides, counts or writes a file itself
(compare libpretixsync's `TicketCheckProvider`: every front end goes through it).

The desk owns the pass register and the clock. Same inputs give the same results whichever front end
asks: above all, the revocation list takes a new number only when its content changed, so exporting
twice — from the screen or from `revocations export` — gives stations the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from .batch import BatchInvalid, BatchResult, issue_rows, parse_rows, png_name, read_rows
from .catalog import error
from .errors import CheckpointError
from .fsutil import write_error
from .keys import Keyring, OfficeKey, SignedTrust, save_signed_trust, save_trust
from .models import Category
from .pass_request import Checked, RequestInvalid, check_reason, check_request, parse_window
from .passes import normalise_pass_id
from .paths import Home
from .registry import IssuedPass, PassRequest, Registry
from .revocations import RevocationList, save_list
from .settings import Settings
from .timeutil import utcnow, zone

EXPIRING = timedelta(days=3)  # a valid pass ending within this is "expiring" in the office's list
STATUSES = ("valid", "expiring", "expired", "revoked", "not_yet_valid")


class BatchEmpty(CheckpointError):
    """A batch file with a header and no rows."""


@dataclass(frozen=True)
class PassFiles:
    """Where to write a pass's QR (PNG, SVG) and its printable card (PDF); None: not wanted."""

    png: Path | None = None
    svg: Path | None = None
    pdf: Path | None = None

    def __bool__(self) -> bool:
        return any((self.png, self.svg, self.pdf))


@dataclass(frozen=True)
class Issued:
    """A pass issued now, or (`existing`) the live pass with the same plate, category and validity,
    given back instead of a duplicate. `differs`: the fields in which the request asked otherwise
    (existing); `live`: the plate's other live passes (new)."""

    issued: IssuedPass
    existing: bool
    differs: tuple[str, ...] = ()
    live: tuple[IssuedPass, ...] = ()


@dataclass(frozen=True)
class Revoked:
    issued: IssuedPass
    revocations: RevocationList


@dataclass(frozen=True)
class Renewed:
    old: IssuedPass
    new: IssuedPass
    revocations: RevocationList


@dataclass(frozen=True)
class Exported:
    trust: Path
    revocations: Path
    revocation_list: RevocationList


@dataclass(frozen=True)
class Rotated:
    old: OfficeKey
    new: OfficeKey


@dataclass(frozen=True)
class Found:
    """What a search found: the passes to show (at most the limit), how many matched, how many exist."""

    passes: list[IssuedPass]
    matched: int
    total: int


def different_fields(issued: IssuedPass, request: PassRequest) -> tuple[str, ...]:
    """The fields, besides plate, category and validity, in which `request` asks for something else."""
    d = issued.data
    pairs = (
        ("holder", d.holder, request.holder),
        ("org", d.org, request.org),
        ("checkpoints", d.checkpoints, request.checkpoints),
        ("occupants", d.max_occupants, request.max_occupants),
    )
    return tuple(name for name, have, want in pairs if have != want)


def write_pass_files(issued: IssuedPass, files: PassFiles, *, office: str, tz: str) -> None:
    """The QR as PNG / SVG and the card as PDF, where `files` asks. Raises CheckpointError."""
    from . import qrimage
    from .cards import write_card

    if files.png is not None:
        qrimage.write_png(issued.payload, files.png)
    if files.svg is not None:
        qrimage.write_svg(issued.payload, files.svg)
    if files.pdf is not None:
        write_card(issued, files.pdf, office=office, tz=tz)


class Desk:
    """The issuing office's operations on one data home. Sync: the office is one desktop, one person."""

    def __init__(self, home: Home, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.home = home
        self.settings = settings
        self.clock = clock
        self.office = settings.office.name
        self.tz = zone(settings.ui.timezone)
        self.keyring = Keyring(home.office_keys, self.office)
        if not self.keyring.exists():
            raise CheckpointError(
                f"{home.root} has no office keys; run `checkpoint keys init` in the office's home first."
            )
        self.registry = Registry(home.registry, self.keyring)

    def close(self) -> None:
        self.registry.close()

    def __enter__(self) -> Desk:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- finding passes --------------------------------------------------------------------------
    def get(self, pass_id: str) -> IssuedPass:
        """The pass with this id (typed in lower case or with look-alikes, O for 0, is fine)."""
        return self.registry.get(normalise_pass_id(pass_id))

    def list(self, *, search: str = "", limit: int | None = None) -> list[IssuedPass]:
        """Passes newest first whose plate, holder, organisation or id contains `search`."""
        return self.registry.list(search=search.strip(), limit=limit)

    def status(self, issued: IssuedPass) -> str:
        """valid, expiring (valid, ends within 3 days), expired, revoked or not_yet_valid, now."""
        now = self.clock()
        status = issued.status(now)
        if status == "valid" and issued.data.valid_until - now <= EXPIRING:
            return "expiring"
        return status

    def find(
        self,
        *,
        search: str = "",
        category: Category | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> Found:
        """The passes matching a search and the two filters, newest first, at most `limit` of them."""
        matched: list[IssuedPass] = []
        count = 0
        for issued in self.list(search=search):
            if category is not None and issued.data.category is not category:
                continue
            if status is not None and self.status(issued) != status:
                continue
            count += 1
            if limit is None or len(matched) < limit:
                matched.append(issued)
        return Found(matched, count, self.registry.count())

    # -- issuing ---------------------------------------------------------------------------------
    def check(self, values: dict[str, str]) -> Checked:
        """What a person typed, checked field by field (see `pass_request.check_request`)."""
        return check_request(
            values, tz=self.settings.ui.timezone, valid_days=self.settings.office.valid_days, now=self.clock()
        )

    def request(self, values: dict[str, str]) -> PassRequest:
        """The request, or RequestInvalid naming every bad field."""
        checked = self.check(values)
        if checked.request is None:
            raise RequestInvalid(checked.errors)
        return checked.request

    def issue(self, request: PassRequest, *, new: bool = False, files: PassFiles | None = None) -> Issued:
        """Issue a pass for `request`, or give back the live pass with the same plate, category and
        validity (unless `new`). The files are written first: a pass whose card or image cannot be
        written is not issued at all."""
        same = None if new else self.registry.find_same(request)
        if same is not None:
            if files:
                self.write_files(same, files)
            return Issued(same, existing=True, differs=different_fields(same, request))
        now = self.clock()
        live = tuple(
            p
            for p in self.registry.list(search=request.plate)
            if p.data.plate == request.plate and p.status(now) in ("valid", "not_yet_valid")
        )
        data, payload = self.registry.build(request, now=now)
        issued = IssuedPass(data, payload)
        if files:
            self.write_files(issued, files)
        self.registry.store([(data, payload, None)])
        return Issued(issued, existing=False, live=live)

    def write_files(self, issued: IssuedPass, files: PassFiles) -> None:
        write_pass_files(issued, files, office=self.office, tz=self.settings.ui.timezone)

    def save_card(self, issued: IssuedPass, folder: Path | None = None) -> PassFiles:
        """The card (PDF, to print) and the QR (PNG, for a phone) as `<pass id>_<plate>` in `folder`
        (default `<home>/exports`)."""
        png = (folder or self.home.exports) / png_name(issued)
        files = PassFiles(png=png, pdf=png.with_suffix(".pdf"))
        self.write_files(issued, files)
        return files

    def issue_batch(
        self,
        source: Path,
        out: Path,
        *,
        sheet: Path | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> BatchResult:
        """Every row of the CSV file `source`, all or nothing: BatchInvalid names every bad row, and a
        file that cannot be written issues nothing (see `batch.issue_rows`)."""
        now = self.clock()
        rows = read_rows(source)
        if not rows:
            raise BatchEmpty(f"{source} has no rows below its header; nothing was issued.")
        good, errors = parse_rows(
            rows, tz=self.settings.ui.timezone, valid_days=self.settings.office.valid_days, now=now
        )
        if errors:
            raise BatchInvalid(errors, str(source))
        return issue_rows(
            self.registry, good, out, office=self.office, tz=self.settings.ui.timezone, sheet=sheet, now=now,
            progress=progress,
        )  # fmt: skip

    # -- revoking and renewing -------------------------------------------------------------------
    def revoke(self, pass_id: str, reason: str) -> Revoked:
        """Revoke a pass (a reason is required) and publish the revocation list that names it."""
        text, error = check_reason(reason)
        if error is not None:
            raise RequestInvalid({"reason": error})
        assert text is not None
        issued = self.registry.revoke(normalise_pass_id(pass_id), text, now=self.clock())
        return Revoked(issued, self.publish())

    def renewal_window(self, issued: IssuedPass) -> tuple[datetime, datetime]:
        """Default validity of a renewal: from now (or the old start if later) for `office.valid_days`."""
        start = max(self.clock(), issued.data.valid_from).replace(second=0, microsecond=0)
        return start, start + timedelta(days=self.settings.office.valid_days)

    def renew(self, pass_id: str, valid_from: str = "", valid_until: str = "") -> Renewed:
        """A new pass with the old one's fields and a new validity; the old one revoked "renewed as NEW",
        and the revocation list published. A blank start is the default window's; a blank end is
        `office.valid_days` after the start; a bare end date is its last minute."""
        old = self.get(pass_id)
        if old.revoked_at is not None:
            raise CheckpointError(
                f"Pass {old.data.pass_id} is revoked; issue a new pass instead of renewing it."
            )
        default_start, _ = self.renewal_window(old)
        start, end, errors = parse_window(
            valid_from, valid_until, tz=self.settings.ui.timezone,
            valid_days=self.settings.office.valid_days, now=default_start,
        )  # fmt: skip
        if errors or start is None or end is None:
            raise RequestInvalid(errors)
        d = old.data
        request = PassRequest(
            plate=d.plate, category=d.category, holder=d.holder, org=d.org, valid_from=start, valid_until=end,
            checkpoints=d.checkpoints, max_occupants=d.max_occupants,
        )  # fmt: skip
        now = self.clock()
        new = self.registry.issue(request, now=now, replaces=d.pass_id)
        old = self.registry.revoke(d.pass_id, f"renewed as {new.data.pass_id}", now=now)
        return Renewed(old, new, self.publish())

    # -- what the stations get -------------------------------------------------------------------
    def publish(self) -> RevocationList:
        """The signed revocation list, made this home's own list. It takes the next number only when
        its content changed since the last one published; otherwise the last one is given back."""
        return self.registry.publish_revocations(self.office, self.home.revocations, now=self.clock())

    def export_revocations(self, path: Path) -> RevocationList:
        """The revocation list (published as above) written to `path` for the stations."""
        rlist = self.publish()
        save_list(path, rlist)
        return rlist

    def export_trust(self, path: Path) -> SignedTrust:
        """The signed trust file (the office's public keys, signed by every key valid now) written to
        `path` for the stations."""
        signed = self.keyring.signed_trust(now=self.clock())
        save_signed_trust(path, signed)
        return signed

    def fingerprint(self) -> str:
        """The office fingerprint a new station confirms when it first imports the trust file."""
        return self.keyring.fingerprint()

    def export_files(self, folder: Path) -> Exported:
        """`trust.json` and `revocations.json` into `folder` (a USB stick). Only the home's own exports
        folder is created when missing; any other missing folder is refused, as the CLI's exports do
        without `--mkdir`, so that a mistyped or unmounted USB stick never writes onto the laptop's disk."""
        if folder.exists() and not folder.is_dir():
            raise error("cli.file.not_a_folder", folder=folder)
        if not folder.is_dir():
            if folder.absolute() != self.home.exports.absolute():
                raise error("office.export.no_folder", folder=folder)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise write_error(exc, folder) from exc
        trust_path, list_path = folder / "trust.json", folder / "revocations.json"
        self.export_trust(trust_path)
        return Exported(trust_path, list_path, self.export_revocations(list_path))

    def rotate_key(self, grace_days: int | None = None) -> Rotated:
        """A new signing key; the old one stays trusted for `grace_days` (default `office.key_grace_days`).
        This home's own trust file follows its keyring."""
        days = self.settings.office.key_grace_days if grace_days is None else grace_days
        old, new = self.keyring.rotate(timedelta(days=days), now=self.clock())
        save_trust(self.home.trust, self.keyring.trust_list())  # the office's own list (it signs, so plain)
        return Rotated(old, new)
