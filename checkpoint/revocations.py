"""The signed revocation list: which passes the office has withdrawn, with a sequence number.

A station refuses a list older than the one it has, and shows the age of the one it has.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .catalog import error
from .errors import CheckpointError
from .fsutil import atomic_write
from .intake import REVOCATIONS_CAP, parse_time
from .keys import TrustList, key_id_of, read_json, verify_signature
from .passes import PASS_ID
from .text import clean
from .timeutil import utcnow

FORMAT = "checkpoint-revocations/1"
MAX_ENTRIES = 200_000
MAX_SEQ = 1_000_000_000  # a list a minute for 1,900 years; 2**62 is not a number the office writes


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
        raise error("errors.revocations.not_a_list", source=source)
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SEQ:
        raise CheckpointError(
            f"{source} has no believable list number (1 to {MAX_SEQ:,}); it was not made by the office."
        )
    issued_at = parse_time(data.get("issued_at"), f"the issue time of {source}")
    try:
        raw_entries = data["entries"]
        if not isinstance(raw_entries, list) or len(raw_entries) > MAX_ENTRIES:
            raise ValueError("entries")
        entries = []
        for item in raw_entries:
            pass_id = item["pass_id"]
            if not isinstance(pass_id, str) or not PASS_ID.fullmatch(pass_id):
                raise ValueError("pass id")
            reason = item["reason"]
            if not isinstance(reason, str):
                raise ValueError("reason")
            entries.append(
                Revocation(
                    pass_id,
                    parse_time(item["revoked_at"], f"a revocation time in {source}"),
                    clean(reason, limit=200),
                )
            )
        key_id, signature = data["key_id"], data["signature"]
        if not isinstance(key_id, str) or not isinstance(signature, str) or len(signature) > 200:
            raise ValueError("signature")
        return RevocationList(
            office=clean(str(data.get("office", "")), limit=100),
            seq=seq,
            issued_at=issued_at,
            key_id=key_id[:8],
            entries=tuple(entries),
            signature=signature,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{source} is damaged: a field of the revocation list is missing or wrong."
        ) from exc


def read_list_file(path: Path) -> RevocationList:
    """A revocation list file, size-capped before it is read; its signature is not yet checked."""
    return parse_list(read_json(path, REVOCATIONS_CAP, "revocation list"), str(path))


def list_hash(rlist: RevocationList) -> str:
    """What the log records of an accepted list: the hash of its signed body."""
    return hashlib.sha256(_canonical(rlist.body())).hexdigest()


def check_signature(rlist: RevocationList, trust: TrustList, source: str) -> None:
    """Raise CheckpointError unless the list is signed by a key in `trust` that was valid when it was issued."""
    key = trust.get(rlist.key_id)
    if key is None:
        raise error("errors.revocations.untrusted_key", source=source, key=rlist.key_id[:8])
    assert rlist.issued_at is not None  # parse_list requires it
    if not key.covers(rlist.issued_at):
        raise CheckpointError(
            f"{source} is signed with key {key.key_id}, which was not valid when the list says it was issued "
            f"({rlist.issued_at.isoformat(timespec='minutes')}); nothing was changed."
        )
    try:
        signature = base64.b64decode(rlist.signature, validate=True)
    except ValueError:
        signature = b""
    if not verify_signature(key.public_key, signature, _canonical(rlist.body())):
        raise error("errors.revocations.bad_signature", source=source)


def load_list(path: Path, trust: TrustList) -> RevocationList:
    """This home's current list (verified), or an empty one when none was imported."""
    if not path.exists():
        return RevocationList()
    rlist = read_list_file(path)
    check_signature(rlist, trust, str(path))
    return rlist


def save_list(path: Path, rlist: RevocationList) -> None:
    atomic_write(path, json.dumps(rlist.to_json(), ensure_ascii=False, indent=1).encode() + b"\n")


def import_list(
    source: Path,
    target: Path,
    trust: TrustList,
    *,
    log_db: Path | None = None,
    station_id: str = "",
    now: datetime | None = None,
) -> tuple[RevocationList, RevocationList]:
    """Verify the list at `source` and make it this home's list. Returns (old, new).

    Refuses a list older than (or the same number as, but different from) the one this home has; nothing
    changes then. With `log_db`, the newest list accepted is also recorded in the log's chained records
    (docs/log.md, "Records"), and checked against them: deleting `revocations.json` does not let an older
    list in again.
    """
    from .store import append_record, latest_record  # the store imports the policy, which imports this

    new = read_list_file(source)
    check_signature(new, trust, str(source))
    old = load_list(target, trust)
    anchored = None if log_db is None else latest_record(log_db, "revocations")
    held_seq, held_hash = old.seq, list_hash(old) if old.seq else ""
    if anchored is not None and int(anchored.get("seq", 0)) > held_seq:
        held_seq, held_hash = int(anchored["seq"]), str(anchored.get("hash", ""))
    if new.seq < held_seq:
        raise error("errors.revocations.older", source=source, seq=new.seq, held=held_seq)
    if new.seq == held_seq:
        if list_hash(new) != held_hash:
            raise error("errors.revocations.same_number", source=source, seq=new.seq)
        if old.seq != new.seq:  # the file was lost; the same list comes back
            save_list(target, new)
        return old, new
    if log_db is not None:
        append_record(
            log_db,
            station_id,
            "revocations",
            {
                "seq": new.seq,
                "hash": list_hash(new),
                "issued_at": new.issued_at.isoformat() if new.issued_at else "",
            },
            now or utcnow(),
        )
    save_list(target, new)
    return old, new
