"""Ed25519 keys: the office's signing keys, the trust file a station verifies with, a station's seal key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import CheckpointError
from .fsutil import atomic_write
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
    if not isinstance(value, str):
        raise CheckpointError(f"{where} is not a date-time.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CheckpointError(f"{where} is not a date-time.") from exc
    if moment.tzinfo is None:
        raise CheckpointError(f"{where} has no time zone.")
    return moment


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
                raw = base64.b64decode(str(item["public_key"]), validate=True)
                public = public_from_raw(raw)
            except (KeyError, ValueError) as exc:
                raise CheckpointError(f"{where} has no valid Ed25519 public key.") from exc
            key_id = key_id_of(public)
            if item.get("key_id") != key_id:
                raise CheckpointError(f"{where} names key id {item.get('key_id')!r}, which is not its key.")
            valid_from = _parse_iso(item.get("valid_from"), f"valid_from of {where}")
            if valid_from is None:
                raise CheckpointError(f"{where} has no valid_from.")
            keys.append(
                TrustedKey(
                    key_id=key_id,
                    public_key=public,
                    valid_from=valid_from,
                    valid_until=_parse_iso(item.get("valid_until"), f"valid_until of {where}"),
                    office=str(item.get("office", "")),
                )
            )
        return cls(tuple(keys))


def load_trust(path: Path) -> TrustList:
    """The trust list stored at `path`; an empty list when the file does not exist."""
    if not path.exists():
        return TrustList()
    return TrustList.from_json(read_json(path), str(path))


def save_trust(path: Path, trust: TrustList) -> None:
    atomic_write(path, json.dumps(trust.to_json(), indent=2).encode() + b"\n")


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path}: {exc.strerror}.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged: it is not valid JSON.") from exc


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
            raise CheckpointError(
                f"This home already has office keys in {self.folder}; use `checkpoint keys rotate` for a new one."
            )
        key = self._new_key(now or utcnow())
        self._save([key])
        return key

    def rotate(self, grace: timedelta, now: datetime | None = None) -> tuple[OfficeKey, OfficeKey]:
        """Make a new active key; the old one stops signing and stays trusted for `grace`."""
        moment = now or utcnow()
        keys = self.keys()
        if not keys:
            raise CheckpointError("This home has no office keys yet; run `checkpoint keys init` first.")
        active = [key for key in keys if key.active]
        if not active:
            raise CheckpointError("This home has no active office key; run `checkpoint keys init` first.")
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
        raise CheckpointError("This home has no office signing key; run `checkpoint keys init` first.")

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


def load_or_create_station_key(path: Path) -> Ed25519PrivateKey:
    """The station's own key, for sealing its log. Created (mode 0600) on first use."""
    if path.exists():
        return read_private_key(path)
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_key(path, key)
    return key
