"""The signed revocation list: which passes the office has withdrawn, with a sequence number.

A station refuses a list older than the one it has, and shows the age of the one it has.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .errors import CheckpointError
from .fsutil import atomic_write
from .keys import TrustList, key_id_of, read_json, verify_signature
from .passes import PASS_ID

FORMAT = "checkpoint-revocations/1"
MAX_ENTRIES = 200_000


@dataclass(frozen=True)
class Revocation:
    pass_id: str
    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class RevocationList:
    """A list as a station holds it. `seq` 0 with no entries means none was ever imported."""

    office: str = ""
    seq: int = 0
    issued_at: datetime | None = None
    key_id: str = ""
    entries: tuple[Revocation, ...] = ()
    signature: str = ""
    _ids: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ids", frozenset(e.pass_id for e in self.entries))

    def is_revoked(self, pass_id: str) -> bool:
        return pass_id in self._ids

    def get(self, pass_id: str) -> Revocation | None:
        for entry in self.entries:
            if entry.pass_id == pass_id:
                return entry
        return None

    def body(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "office": self.office,
            "seq": self.seq,
            "issued_at": None if self.issued_at is None else self.issued_at.isoformat(),
            "key_id": self.key_id,
            "entries": [
                {"pass_id": e.pass_id, "revoked_at": e.revoked_at.isoformat(), "reason": e.reason}
                for e in self.entries
            ],
        }

    def to_json(self) -> dict[str, object]:
        return {**self.body(), "signature": self.signature}


def _canonical(body: dict[str, object]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_list(
    office: str, seq: int, issued_at: datetime, entries: list[Revocation], key: Ed25519PrivateKey
) -> RevocationList:
    unsigned = RevocationList(
        office=office,
        seq=seq,
        issued_at=issued_at,
        key_id=key_id_of(key.public_key()),
        entries=tuple(entries),
    )
    signature = base64.b64encode(key.sign(_canonical(unsigned.body()))).decode()
    return RevocationList(
        office=office,
        seq=seq,
        issued_at=issued_at,
        key_id=unsigned.key_id,
        entries=tuple(entries),
        signature=signature,
    )


def parse_list(data: object, source: str) -> RevocationList:
    """Parse a revocation list without checking its signature. Raises CheckpointError."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{source} is not a checkpoint revocation list.")
    try:
        seq = data["seq"]
        if not isinstance(seq, int) or seq < 1:
            raise ValueError("seq")
        issued_at = datetime.fromisoformat(str(data["issued_at"]))
        raw_entries = data["entries"]
        if not isinstance(raw_entries, list) or len(raw_entries) > MAX_ENTRIES:
            raise ValueError("entries")
        entries = []
        for item in raw_entries:
            pass_id = str(item["pass_id"])
            if not PASS_ID.match(pass_id):
                raise ValueError("pass id")
            entries.append(
                Revocation(
                    pass_id, datetime.fromisoformat(str(item["revoked_at"])), str(item["reason"])[:200]
                )
            )
        return RevocationList(
            office=str(data.get("office", ""))[:100],
            seq=seq,
            issued_at=issued_at,
            key_id=str(data["key_id"]),
            entries=tuple(entries),
            signature=str(data["signature"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{source} is damaged: a field of the revocation list is missing or wrong."
        ) from exc


def check_signature(rlist: RevocationList, trust: TrustList, source: str) -> None:
    """Raise CheckpointError unless the list is signed by a key in `trust`."""
    key = trust.get(rlist.key_id)
    if key is None:
        raise CheckpointError(
            f"{source} is signed with key {rlist.key_id[:8]!r}, which this home does not trust; "
            "import the office's trust file first."
        )
    try:
        signature = base64.b64decode(rlist.signature, validate=True)
    except ValueError:
        signature = b""
    if not verify_signature(key.public_key, signature, _canonical(rlist.body())):
        raise CheckpointError(f"{source} has a bad signature: it was altered or not made by the office.")


def load_list(path: Path, trust: TrustList) -> RevocationList:
    """This home's current list (verified), or an empty one when none was imported."""
    if not path.exists():
        return RevocationList()
    rlist = parse_list(read_json(path), str(path))
    check_signature(rlist, trust, str(path))
    return rlist


def save_list(path: Path, rlist: RevocationList) -> None:
    atomic_write(path, json.dumps(rlist.to_json(), ensure_ascii=False, indent=1).encode() + b"\n")


def import_list(source: Path, target: Path, trust: TrustList) -> tuple[RevocationList, RevocationList]:
    """Verify the list at `source` and make it this home's list. Returns (old, new).

    Refuses a list older than (or the same as) the one this home has; nothing changes then.
    """
    new = parse_list(read_json(source), str(source))
    check_signature(new, trust, str(source))
    old = load_list(target, trust)
    if new.seq < old.seq:
        raise CheckpointError(
            f"{source} is revocation list number {new.seq}, older than number {old.seq} this home has; "
            "nothing was changed."
        )
    if new.seq == old.seq:
        if new.signature != old.signature:
            raise CheckpointError(
                f"{source} claims number {new.seq} like the list this home has, but differs from it; "
                "nothing was changed."
            )
        return old, new
    save_list(target, new)
    return old, new
