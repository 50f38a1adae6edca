"""Sync between a station and the office through one folder (a USB stick, a shared folder).

The folder holds:

    DIR/bundles/<station>-<from>-<to>.bundle   what a station sent (signed by the station key)
    DIR/receipts/<station>.receipt             the office's signed receipt for what it holds of that station
    DIR/trust.json                             the office's current trust file
    DIR/revocations.json                       the office's current signed revocation list

`sync_station` takes what the office left (trust file, revocation list, its receipt — each verified as its
own import command verifies it), keeps the receipt among its anchors, then writes everything no receipt
covers yet as one bundle and removes its older bundles. `sync_office` imports every bundle (the
`bundle import` path: enrolment, signatures, chains, seals), leaves one signed receipt per station and the
current trust file and revocation list. Both return one `Step` per thing done, for the CLI to print.

The office's pieces (`OfficeSync.take_bundle_bytes`: bundle bytes in, signed receipt out; its trust file
and revocation list) do not know about folders, so a network service can call them too.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import keys
from .bundle import MAX_BYTES as MAX_BUNDLE_BYTES
from .bundle import ImportResult, export_bundle, import_bundles
from .catalog import Translator, error
from .errors import CheckpointError
from .fsutil import atomic_write
from .intake import read_capped
from .keys import Keyring, TrustList, load_trust
from .paths import Home
from .receipts import MAX_BYTES as RECEIPT_BYTES
from .receipts import (
    Receipt,
    check_receipt,
    keep_receipt,
    parse_receipt,
    receipted_seq,
    sign_receipt,
)
from .registry import Registry
from .revocations import RevocationList, import_list, save_list
from .store import Enrolment, LogStore, hash_at, read_enrolments
from .timeutil import utcnow

if TYPE_CHECKING:
    from .settings import Settings

BUNDLES = "bundles"
RECEIPTS = "receipts"
TRUST = "trust.json"
REVOCATIONS = "revocations.json"
_BUNDLE_NAME = re.compile(r"(?P<station>[A-Za-z0-9][A-Za-z0-9_.-]{0,23})-(?P<lo>\d{9})-(?P<hi>\d{9})\.bundle")


@dataclass(frozen=True)
class Step:
    """One thing a sync did (or refused), as one sentence."""

    text: str
    ok: bool = True
    key: str | None = None  # the catalog's sentence, to say the step in the user's language
    values: dict[str, object] = field(default_factory=dict)

    def words(self, t: Translator) -> str:
        """The step in `t`'s language (a step not made from the catalog: its English text)."""
        return self.text if self.key is None else t(self.key, **self.values)


@dataclass
class SyncReport:
    role: str  # "station" or "office"
    folder: Path
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def add(self, text: str | CheckpointError, ok: bool = True) -> None:
        if isinstance(text, CheckpointError):  # a refusal: its sentence and its catalog key
            self.steps.append(Step(text.message, ok, text.key, text.key_values))
            return
        self.steps.append(Step(text, ok))

    def say(self, key: str, /, **values: object) -> None:
        """A step from the catalog (kept in English in `text`)."""
        self.steps.append(Step(Translator("en")(key, **values), True, key, values))


def _folder(folder: Path) -> Path:
    if not folder.is_dir():
        raise error("errors.sync.not_a_folder", folder=folder)
    return folder


# ---------------------------------------------------------------------------------------------- office


class OfficeStore(Protocol):
    """What the office's side of a sync needs of the store it merges into: the township's SQLite log
    (`SqliteOfficeStore`) or the county's PostgreSQL server (`county.CountyStore`)."""

    async def import_bundle(self, path: Path, *, retention_days: int | None = None) -> list[ImportResult]:
        """Check and merge one bundle file as `bundle import` does (then retry held ones, purge when
        `retention_days`); raises CheckpointError, nothing imported, when it is refused."""
        ...

    async def head(self, station_id: str) -> tuple[int, str]:
        """The newest entry held of `station_id`: (seq, hash), or (0, GENESIS)."""
        ...

    async def enrolment(self, station_id: str) -> Enrolment | None:
        """The enrolment of `station_id` here, read without the writer; None when it is not enrolled."""
        ...


@dataclass(frozen=True)
class SqliteOfficeStore:
    """A township office's store: `log.db` in its home."""

    home: Home
    office_station_id: str

    async def import_bundle(self, path: Path, *, retention_days: int | None = None) -> list[ImportResult]:
        return await import_bundles(
            self.home.log_db,
            [path],
            office_station_id=self.office_station_id,
            root=self.home.root,
            retention_days=retention_days,
        )

    async def head(self, station_id: str) -> tuple[int, str]:
        store = await LogStore.open(self.home.log_db, self.office_station_id)
        async with store:
            return await store.head(station_id)

    async def enrolment(self, station_id: str) -> Enrolment | None:
        found = await asyncio.to_thread(read_enrolments, self.home.log_db)
        return next((e for e in found if e.station_id == station_id), None)


def office_store(home: Home, settings: Settings) -> OfficeStore:
    """This office home's store: the county server when `log.database` names one, else its log.db."""
    from .county import CountyStore, is_county

    if is_county(settings.log.database):
        return CountyStore(settings.log.database, home.root)
    return SqliteOfficeStore(home, settings.station.id)


async def enrolled_stations(home: Home, settings: Settings) -> list[Enrolment]:
    """The stations enrolled at this office home, from whichever store it merges into (the office screen's
    list; `checkpoint stations list` asks the same stores)."""
    from .county import CountyStore, is_county

    if is_county(settings.log.database):
        return list((await CountyStore(settings.log.database, home.root).enrolments()).values())
    return await asyncio.to_thread(read_enrolments, home.log_db)


@dataclass
class OfficeSync:
    """The office's side of a sync, whatever carries it (a folder, or `checkpoint serve`), over whichever
    store the office merges into (`store`: log.db unless given)."""

    home: Home
    office_station_id: str
    keyring: Keyring
    office_name: str
    retention_days: int | None = None
    store: OfficeStore | None = None

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = SqliteOfficeStore(self.home, self.office_station_id)

    @property
    def office_store(self) -> OfficeStore:
        assert self.store is not None
        return self.store

    async def take_bundle(self, path: Path) -> tuple[list[ImportResult], Receipt | None]:
        """Import one bundle file (as `bundle import` does) and sign a receipt for what the office now
        holds of its station. Raises CheckpointError (nothing imported) when it is refused."""
        results = await self.office_store.import_bundle(path, retention_days=self.retention_days)
        return results, await self.receipt_for(results[0].station_id)

    async def take_bundle_bytes(self, data: bytes) -> tuple[list[ImportResult], Receipt | None]:
        """`take_bundle` for bytes that arrived another way; they are kept in `bundles/incoming/`."""
        if len(data) > MAX_BUNDLE_BYTES:
            raise CheckpointError("The bundle is too large; nothing was imported.")
        path = self.home.root / "bundles" / "incoming" / f"{hashlib.sha256(data).hexdigest()[:24]}.bundle"
        atomic_write(path, data)
        return await self.take_bundle(path)

    async def receipt_for(self, station_id: str, *, now: datetime | None = None) -> Receipt | None:
        """The signed receipt for what this office holds of `station_id` (None when it holds nothing)."""
        seq, head_hash = await self.office_store.head(station_id)
        if seq == 0:
            return None
        key = self.keyring.active()
        return sign_receipt(
            station_id, seq, head_hash, self.office_name, self.keyring.private_key(key.key_id), now=now
        )

    def write_trust_file(self, path: Path, now: datetime | None = None) -> TrustList:
        """The office's current trust file, signed, for stations. A file already at `path` that lists the
        same keys is kept as it is, so that its bytes (and hash) change only when the keys do: a station that
        has it downloads and re-takes nothing."""
        current = self.keyring.trust_list()
        kept = keys.load_signed_trust(path) if path.is_file() else None
        if kept is not None and kept.trust.to_json() == current.to_json():
            return kept.trust
        signed = self.keyring.signed_trust(now=now)
        keys.save_signed_trust(path, signed)
        return signed.trust

    def revocation_list(self) -> RevocationList:
        """The current signed revocation list (the same number as long as nothing changed)."""
        registry = Registry(self.home.registry, self.keyring)
        try:
            return registry.publish_revocations(self.office_name, self.home.revocations)
        finally:
            registry.close()


async def sync_office(office: OfficeSync, folder: Path) -> SyncReport:
    """Import every bundle in `folder`; leave a receipt per station, the trust file and the revocation list."""
    report = SyncReport("office", _folder(folder))
    bundles = sorted((folder / BUNDLES).glob("*.bundle")) if (folder / BUNDLES).is_dir() else []
    receipts: dict[str, Receipt] = {}
    if not bundles:
        report.say("cli.sync.no_bundles", folder=folder / BUNDLES)
    for path in bundles:
        try:
            results, receipt = await office.take_bundle(path)
        except CheckpointError as exc:
            report.add(exc, ok=False)
            continue
        for result in results:
            key, values = result.said()
            report.say(key, **values)
        if receipt is not None:
            receipts[receipt.station_id] = receipt
    for station_id, receipt in sorted(receipts.items()):
        target = folder / RECEIPTS / f"{station_id}.receipt"
        atomic_write(target, receipt.to_bytes())
        where = target.relative_to(folder)
        report.say(
            "cli.sync.left_receipt", station=station_id, seq=receipt.seq, path=where, key=receipt.key_id
        )
    trust = office.write_trust_file(folder / TRUST)
    report.say("cli.sync.left_trust", n=len(trust.keys), path=TRUST)
    rlist = office.revocation_list()
    save_list(folder / REVOCATIONS, rlist)
    report.say("cli.sync.left_revocations", seq=rlist.seq, n=len(rlist.entries), path=REVOCATIONS)
    return report


# --------------------------------------------------------------------------------------------- station


@dataclass
class StationSync:
    """The station's side of a sync."""

    home: Home
    station_id: str
    station_name: str
    key: Ed25519PrivateKey


def take_trust_file(home: Home, source: Path) -> str:
    """Take a later trust file from the office: it must be signed by a key this station already trusts (the
    first one needs the office fingerprint confirmed by a person: `checkpoint keys import-trust FILE
    --fingerprint FP`). The rule is `keys import-trust`'s. Raises CheckpointError when refused."""
    key, values = _take_trust_file(home, source)
    return Translator("en")(key, **values)


def _take_trust_file(home: Home, source: Path) -> tuple[str, dict[str, object]]:
    """`take_trust_file`'s sentence as a catalog key and its values."""
    update = keys.take_trust_file(home.trust, source)
    if update is None:
        return "cli.sync.trust_unchanged", {"path": TRUST}
    n = len(update.signed.trust.keys)
    if update.added:
        return "cli.sync.took_trust_added", {"path": TRUST, "n": n, "ids": ", ".join(update.added)}
    return "cli.sync.took_trust", {"path": TRUST, "n": n}


def take_receipt(station: StationSync, source: Path, trust: TrustList) -> tuple[str, dict[str, object]]:
    """Verify the office's receipt for this station and keep it among the anchors."""
    receipt = parse_receipt(read_capped(source, RECEIPT_BYTES, "receipt"), source.name)
    if receipt.station_id != station.station_id:
        raise error("errors.receipt.other_station", name=source.name, station=receipt.station_id)
    check_receipt(receipt, trust, source.name)
    kept = keep_receipt(station.home.root, receipt)
    if hash_at(station.home.log_db, station.station_id, receipt.seq) != receipt.head_hash:
        raise error("errors.receipt.rolled_back", seq=receipt.seq, name=kept.name)
    return "cli.sync.kept_receipt", {"seq": receipt.seq, "name": kept.name, "key": receipt.key_id}


async def sync_station(station: StationSync, folder: Path, *, now: datetime | None = None) -> SyncReport:
    """Take what the office left in `folder`; then leave everything no receipt covers yet as one bundle."""
    report = SyncReport("station", _folder(folder))
    home = station.home
    if (folder / TRUST).is_file():
        try:
            key, values = _take_trust_file(home, folder / TRUST)
            report.say(key, **values)
        except CheckpointError as exc:
            report.add(exc, ok=False)
    trust = load_trust(home.trust)
    if (folder / REVOCATIONS).is_file():
        try:
            old, new = import_list(
                folder / REVOCATIONS,
                home.revocations,
                trust,
                log_db=home.log_db,
                station_id=station.station_id,
            )
            if old.seq == new.seq:
                report.say("cli.sync.revocations_unchanged", path=REVOCATIONS, seq=new.seq)
            elif old.seq == 0:  # this station had no list yet
                report.say("cli.sync.took_first_revocations", seq=new.seq, n=len(new.entries), old=old.seq)
            else:
                report.say("cli.sync.took_revocations", seq=new.seq, n=len(new.entries), old=old.seq)
        except CheckpointError as exc:
            report.add(exc, ok=False)
    own_receipt = folder / RECEIPTS / f"{station.station_id}.receipt"
    if own_receipt.is_file():
        try:
            key, values = take_receipt(station, own_receipt, trust)
            report.say(key, **values)
        except CheckpointError as exc:
            report.add(exc, ok=False)
    covered = receipted_seq(home.root, station.station_id, trust)
    key, values = _send(station, folder, covered, await _export(station, folder, covered, now))
    report.say(key, **values)
    return report


async def _export(station: StationSync, folder: Path, covered: int, now: datetime | None) -> Path | None:
    if not station.home.log_db.exists():
        return None
    out = folder / BUNDLES / f".{station.station_id}-new.bundle"
    (folder / BUNDLES).mkdir(parents=True, exist_ok=True)
    result = await export_bundle(
        station.home.log_db,
        station.station_id,
        station.key,
        out,
        state_root=station.home.root,
        from_seq=covered + 1,
        station_name=station.station_name,
        now=now or utcnow(),
    )
    if result is None:
        return None
    final = folder / BUNDLES / f"{station.station_id}-{result.from_seq:09d}-{result.to_seq:09d}.bundle"
    out.replace(final)
    return final


def _send(
    station: StationSync, folder: Path, covered: int, written: Path | None
) -> tuple[str, dict[str, object]]:
    """Remove this station's older bundles (receipted, or inside the one just written); say what was sent."""
    removed = 0
    for path in sorted((folder / BUNDLES).glob(f"{station.station_id}-*.bundle")):
        match = _BUNDLE_NAME.fullmatch(path.name)
        if path == written or match is None or match["station"] != station.station_id:
            continue
        if int(match["hi"]) <= covered or written is not None:
            path.unlink()
            removed += 1
    tail = "_removed" if removed else ""
    if written is None and covered == 0:
        return f"cli.sync.nothing_yet{tail}", {"removed": removed}
    if written is None:
        return f"cli.sync.nothing_new{tail}", {"covered": covered, "removed": removed}
    match = _BUNDLE_NAME.fullmatch(written.name)
    assert match is not None
    sent = f"{BUNDLES}/{written.name}"
    return f"cli.sync.wrote{tail}", {
        "path": sent,
        "first": int(match["lo"]),
        "last": int(match["hi"]),
        "removed": removed,
    }
