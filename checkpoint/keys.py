"""Ed25519 keys: the office's signing keys, the trust file a station verifies with, a station's seal key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .catalog import error
from .errors import CheckpointError
from .fsutil import atomic_write
from .intake import REVOCATIONS_CAP, TRUST_CAP, load_json, parse_time, read_capped
from .text import clean
from .timeutil import utcnow

TRUST_FORMAT = "checkpoint-trust/1"
KEYRING_FORMAT = "checkpoint-keyring/1"


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The short key id: the first 4 bytes of SHA-256 of the raw public key, as 8 hex digits."""
    return hashlib.sha256(raw_public(public_key)).digest()[:4].hex().upper()


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    """Write a private key readable by its owner only (mode 0600), atomically."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    atomic_write(path, pem, mode=0o600)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"Cannot read the key file {path}: {exc.strerror}.") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"The key file {path} is damaged or not an Ed25519 key.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"The key file {path} is not an Ed25519 key.")
    return key


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_iso(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    return parse_time(value, where)


@dataclass(frozen=True)
class TrustedKey:
    """A public key a station trusts, for passes checked between `valid_from` and `valid_until`."""

    key_id: str
    public_key: Ed25519PublicKey
    valid_from: datetime
    valid_until: datetime | None
    office: str

    def covers(self, moment: datetime) -> bool:
        if moment < self.valid_from:
            return False
        return self.valid_until is None or moment <= self.valid_until

    def to_json(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "public_key": base64.b64encode(raw_public(self.public_key)).decode(),
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
            "office": self.office,
        }


@dataclass(frozen=True)
class TrustList:
    """The office keys a home trusts. Empty when nothing has been imported."""

    keys: tuple[TrustedKey, ...] = ()

    def get(self, key_id: str) -> TrustedKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None

    def trusted(self, key_id: str, at: datetime) -> TrustedKey | None:
        """The key with this id if it is trusted at `at`; None if unknown or outside its window."""
        key = self.get(key_id)
        if key is None or not key.covers(at):
            return None
        return key

    def to_json(self) -> dict[str, object]:
        return {"format": TRUST_FORMAT, "keys": [key.to_json() for key in self.keys]}

    @classmethod
    def from_json(cls, data: object, source: str) -> TrustList:
        """The keys of a trust list (a home's own file, or the body of a signed one); no signature is checked."""
        if isinstance(data, dict) and data.get("format") == SIGNED_TRUST_FORMAT:
            return SignedTrust.from_json(data, source).trust
        if not isinstance(data, dict) or data.get("format") != TRUST_FORMAT:
            raise CheckpointError(f"{source} is not a checkpoint trust file.")
        keys_data = data.get("keys")
        if not isinstance(keys_data, list) or len(keys_data) > 100:
            raise CheckpointError(f"{source} has no valid list of keys.")
        keys = []
        for index, item in enumerate(keys_data, 1):
            where = f"key {index} in {source}"
            if not isinstance(item, dict):
                raise CheckpointError(f"{where} is not an object.")
            try:
                raw = base64.b64decode(str(item["public_key"])[:64], validate=True)
                public = public_from_raw(raw)
            except (KeyError, ValueError) as exc:
                raise CheckpointError(f"{where} has no valid Ed25519 public key.") from exc
            key_id = key_id_of(public)
            if item.get("key_id") != key_id:
                raise CheckpointError(f"{where} names a key id that is not its key's.")
            valid_from = _parse_iso(item.get("valid_from"), f"valid_from of {where}")
            if valid_from is None:
                raise CheckpointError(f"{where} has no valid_from.")
            keys.append(
                TrustedKey(
                    key_id=key_id,
                    public_key=public,
                    valid_from=valid_from,
                    valid_until=_parse_iso(item.get("valid_until"), f"valid_until of {where}"),
                    office=clean(str(item.get("office", "")), limit=100),
                )
            )
        return cls(tuple(keys))


def load_trust(path: Path) -> TrustList:
    """The trust list stored at `path`; an empty list when the file does not exist.

    A station keeps the signed file it imported; an office home keeps its own keys unsigned (it made them).
    """
    if not path.exists():
        return TrustList()
    return TrustList.from_json(read_json(path, TRUST_CAP, "trust file"), str(path))


def load_signed_trust(path: Path) -> SignedTrust | None:
    """The signed trust file this home imported, or None (none yet, or an office home's own keys)."""
    if not path.exists():
        return None
    data = read_json(path, TRUST_CAP, "trust file")
    if isinstance(data, dict) and data.get("format") == SIGNED_TRUST_FORMAT:
        return SignedTrust.from_json(data, str(path))
    return None


def save_trust(path: Path, trust: TrustList) -> None:
    """An office home's own trust list (unsigned: its keys are its own). Stations import signed files."""
    atomic_write(path, json.dumps(trust.to_json(), indent=2).encode() + b"\n")


def read_json(path: Path, cap: int = REVOCATIONS_CAP, what: str = "file") -> object:
    """An incoming or stored JSON file, size-capped before reading (checkpoint.intake); the default cap is
    the largest of the small files (a revocation list)."""
    return load_json(read_capped(path, cap, what), str(path))


# --- The signed trust file -------------------------------------------------------------------------------
#
# What the office hands to stations: the trust list as a JSON text (`body`), signed by every office key
# that is valid when the file is written (after a rotation, the old key signs the list that adds the new
# one). A station takes its first one only with the office fingerprint confirmed by a person; every later
# one must carry a good signature by a key the station already trusts, valid now.

SIGNED_TRUST_FORMAT = "checkpoint-trust-signed/1"
_TRUST_DOMAIN = SIGNED_TRUST_FORMAT.encode() + b"\n"
_MAX_SIGNATURES = 16


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """A key's fingerprint for people to compare: 128 bits of SHA-256 as 8 groups of 4 hex digits."""
    digest = hashlib.sha256(b"checkpoint-fingerprint/1\n" + raw_public(public_key)).hexdigest()[:32].upper()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def normalise_fingerprint(text: str) -> str:
    """`1a2b-3c4d …` or `1A2B3C4D…` → `1A2B 3C4D …` (what `fingerprint()` prints)."""
    compact = "".join(ch for ch in text.upper() if ch not in " -:\t")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@dataclass(frozen=True)
class SignedTrust:
    """A signed trust file as read: its list, when it was issued, its body text and its signatures."""

    trust: TrustList
    issued_at: datetime
    office: str
    body: str
    signatures: tuple[tuple[str, bytes], ...]

    def signed_by(self, keys: tuple[TrustedKey, ...], at: datetime) -> list[TrustedKey]:
        """The keys among `keys` that signed this file and are valid at `at`."""
        message = _TRUST_DOMAIN + self.body.encode()
        found = []
        for key in keys:
            if not key.covers(at):
                continue
            for key_id, signature in self.signatures:
                if key_id == key.key_id and verify_signature(key.public_key, signature, message):
                    found.append(key)
                    break
        return found

    def to_json(self) -> dict[str, object]:
        return {
            "format": SIGNED_TRUST_FORMAT,
            "body": self.body,
            "signatures": [
                {"key_id": key_id, "signature": base64.b64encode(sig).decode()}
                for key_id, sig in self.signatures
            ],
        }

    @classmethod
    def from_json(cls, data: object, source: str) -> SignedTrust:
        if not isinstance(data, dict) or data.get("format") != SIGNED_TRUST_FORMAT:
            raise error("errors.trust.not_signed", source=source)
        body = data.get("body")
        raw_signatures = data.get("signatures")
        if not isinstance(body, str) or not isinstance(raw_signatures, list):
            raise CheckpointError(f"{source} is a damaged trust file: its body or signatures are missing.")
        if not 1 <= len(raw_signatures) <= _MAX_SIGNATURES:
            raise CheckpointError(
                f"{source} carries {len(raw_signatures)} signatures; a trust file has 1 to 16."
            )
        signatures = []
        for item in raw_signatures:
            if not isinstance(item, dict) or not isinstance(item.get("key_id"), str):
                raise CheckpointError(f"{source} is a damaged trust file: a signature is not readable.")
            try:
                signature = base64.b64decode(str(item.get("signature"))[:100], validate=True)
            except ValueError as exc:
                raise CheckpointError(
                    f"{source} is a damaged trust file: a signature is not base64."
                ) from exc
            signatures.append((str(item["key_id"])[:8], signature))
        inner = load_json(body, f"the body of {source}")
        if not isinstance(inner, dict):
            raise CheckpointError(f"{source} is a damaged trust file: its body is not a trust list.")
        issued_at = parse_time(inner.get("issued_at"), f"the issue time of {source}")
        return cls(
            trust=TrustList.from_json(inner, source),
            issued_at=issued_at,
            office=clean(str(inner.get("office", "")), limit=100),
            body=body,
            signatures=tuple(signatures),
        )


def sign_trust(trust: TrustList, office: str, signers: list[Ed25519PrivateKey], now: datetime) -> SignedTrust:
    """The signed trust file for `trust`, signed by each key in `signers`."""
    body = json.dumps(
        {**trust.to_json(), "office": office, "issued_at": now.isoformat()},
        sort_keys=True,
        ensure_ascii=False,
    )
    message = _TRUST_DOMAIN + body.encode()
    signatures = tuple((key_id_of(key.public_key()), key.sign(message)) for key in signers)
    return SignedTrust(trust=trust, issued_at=now, office=office, body=body, signatures=signatures)


def read_trust_file(path: Path) -> SignedTrust:
    """A signed trust file from outside (size-capped, every field checked); its signatures are not yet checked."""
    return SignedTrust.from_json(read_json(path, TRUST_CAP, "trust file"), str(path))


def save_signed_trust(path: Path, signed: SignedTrust) -> None:
    atomic_write(path, json.dumps(signed.to_json(), indent=2, ensure_ascii=False).encode() + b"\n")


@dataclass(frozen=True)
class TrustUpdate:
    """What `accept_trust` decided: the file to keep, and what changed."""

    signed: SignedTrust
    signers: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


def accept_trust(
    new: SignedTrust,
    current: TrustList,
    current_signed: SignedTrust | None,
    *,
    confirmed_fingerprint: str | None,
    replace: bool,
    source: str,
    now: datetime,
) -> TrustUpdate:
    """Decide whether a home may take the trust file `new`; raises CheckpointError (nothing changed) if not.

    With `confirmed_fingerprint` (a person compared it with `checkpoint keys fingerprint` at the office), the
    file must be signed by a key it lists with that fingerprint. Without it, the file must be signed by a
    key this home already trusts, valid now. A file older than the one this home has, or one that would stop
    trusting a key (unless `replace`), is refused.
    """
    if not new.trust.keys:
        raise error("errors.trust.no_keys", source=source)
    if confirmed_fingerprint is not None:
        wanted = normalise_fingerprint(confirmed_fingerprint)
        listed = tuple(k for k in new.trust.keys if fingerprint(k.public_key) == wanted)
        signers = new.signed_by(listed, now)
        if not signers:
            raise error("errors.trust.wrong_fingerprint", source=source, fingerprint=wanted)
    else:
        if not current.keys:
            raise error("errors.trust.confirm_first", file=source)
        signers = new.signed_by(current.keys, now)
        if not signers:
            raise error("errors.trust.not_vouched", source=source)
    if current_signed is not None and new.issued_at < current_signed.issued_at:
        raise error("errors.trust.older", source=source, issued=new.issued_at.isoformat(timespec="minutes"))
    old_ids = {k.key_id for k in current.keys}
    new_ids = {k.key_id for k in new.trust.keys}
    removed = tuple(sorted(old_ids - new_ids))
    if removed and not replace:
        raise error("errors.trust.drops_keys", source=source, ids=", ".join(removed))
    return TrustUpdate(
        signed=new,
        signers=tuple(k.key_id for k in signers),
        added=tuple(sorted(new_ids - old_ids)),
        removed=removed,
    )


@dataclass
class OfficeKey:
    key_id: str
    created: datetime
    valid_from: datetime
    valid_until: datetime | None
    active: bool


class Keyring:
    """The office's signing keys, in `<home>/office/keys`: one PEM file per key and a `keyring.json`.

    Exactly one key is active (signs new passes). A rotated key stays trusted until its window ends.
    """

    def __init__(self, folder: Path, office_name: str) -> None:
        self.folder = folder
        self.office_name = office_name
        self.index = folder / "keyring.json"

    def exists(self) -> bool:
        return self.index.exists()

    def keys(self) -> list[OfficeKey]:
        if not self.index.exists():
            return []
        data = read_json(self.index)
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT:
            raise CheckpointError(f"{self.index} is not a checkpoint keyring.")
        result = []
        for item in data.get("keys", []):
            result.append(
                OfficeKey(
                    key_id=item["key_id"],
                    created=datetime.fromisoformat(item["created"]),
                    valid_from=datetime.fromisoformat(item["valid_from"]),
                    valid_until=None
                    if item["valid_until"] is None
                    else datetime.fromisoformat(item["valid_until"]),
                    active=bool(item["active"]),
                )
            )
        return result

    def _save(self, keys: list[OfficeKey]) -> None:
        data = {
            "format": KEYRING_FORMAT,
            "keys": [
                {
                    "key_id": k.key_id,
                    "created": k.created.isoformat(),
                    "valid_from": k.valid_from.isoformat(),
                    "valid_until": _iso(k.valid_until),
                    "active": k.active,
                }
                for k in keys
            ],
        }
        atomic_write(self.index, json.dumps(data, indent=2).encode() + b"\n")

    def _key_path(self, key_id: str) -> Path:
        return self.folder / f"{key_id}.key"

    def _new_key(self, now: datetime) -> OfficeKey:
        private = Ed25519PrivateKey.generate()
        key_id = key_id_of(private.public_key())
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        write_private_key(self._key_path(key_id), private)
        return OfficeKey(key_id=key_id, created=now, valid_from=now, valid_until=None, active=True)

    def init(self, now: datetime | None = None) -> OfficeKey:
        if self.exists():
            raise error("errors.keys.exist", folder=self.folder)
        key = self._new_key(now or utcnow())
        self._save([key])
        return key

    def rotate(self, grace: timedelta, now: datetime | None = None) -> tuple[OfficeKey, OfficeKey]:
        """Make a new active key; the old one stops signing and stays trusted for `grace`."""
        moment = now or utcnow()
        keys = self.keys()
        if not keys:
            raise error("errors.keys.none")
        active = [key for key in keys if key.active]
        if not active:
            raise error("errors.keys.none_active")
        old = active[0]
        old.active = False
        old.valid_until = moment + grace
        new = self._new_key(moment)
        self._save([*keys, new])
        return old, new

    def active(self) -> OfficeKey:
        for key in self.keys():
            if key.active:
                return key
        raise error("errors.keys.no_signing_key")

    def private_key(self, key_id: str) -> Ed25519PrivateKey:
        return read_private_key(self._key_path(key_id))

    def trust_list(self) -> TrustList:
        entries = []
        for key in self.keys():
            public = self.private_key(key.key_id).public_key()
            entries.append(
                TrustedKey(
                    key_id=key.key_id,
                    public_key=public,
                    valid_from=key.valid_from,
                    valid_until=key.valid_until,
                    office=self.office_name,
                )
            )
        return TrustList(tuple(entries))

    def signed_trust(self, now: datetime | None = None) -> SignedTrust:
        """The trust file for stations, signed by every key of this keyring that is valid now."""
        moment = now or utcnow()
        trust = self.trust_list()
        signers = [self.private_key(k.key_id) for k in trust.keys if k.covers(moment)]
        if not signers:
            raise error("errors.keys.none_valid")
        return sign_trust(trust, self.office_name, signers, moment)

    def fingerprint(self) -> str:
        """The office fingerprint a person confirms at a fresh station: the active key's."""
        return fingerprint(self.private_key(self.active().key_id).public_key())


def load_or_create_station_key(path: Path) -> Ed25519PrivateKey:
    """The station's own key, for sealing its log. Created (mode 0600) on first use."""
    if path.exists():
        return read_private_key(path)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_key(path, key)
    return key


def take_trust_file(
    target: Path,
    source: Path,
    *,
    confirmed_fingerprint: str | None = None,
    replace: bool = False,
    ask: Callable[[SignedTrust], str] | None = None,
    now: datetime | None = None,
) -> TrustUpdate | None:
    """Take the signed trust file `source` into the home trust file `target` (`keys import-trust`, and
    `sync DIR` at a station). Returns None when `target` already holds this very file.

    A home that trusts no office key yet needs the office fingerprint confirmed by a person:
    `confirmed_fingerprint`, or `ask` (shows the file's fingerprint and returns it once confirmed; raises
    otherwise). Every other rule is `accept_trust`'s. Raises CheckpointError (nothing changed) when refused.
    """
    signed = read_trust_file(source)
    current = load_trust(target)
    current_signed = load_signed_trust(target)
    if current_signed is not None and current_signed.body == signed.body:
        return None
    if confirmed_fingerprint is None and not current.keys:
        if ask is None:
            raise error("errors.trust.not_taken", source=source)
        confirmed_fingerprint = ask(signed)
    update = accept_trust(
        signed,
        current,
        current_signed,
        confirmed_fingerprint=confirmed_fingerprint,
        replace=replace,
        source=str(source),
        now=now or utcnow(),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    save_signed_trust(target, update.signed)
    return update
