"""Office receipts, and the anchors a station keeps outside its log file.

For every bundle it merges the office signs a **receipt**: station, sequence number, head hash, time and
the office key that signed it. The station verifies it with its trust list and keeps it in
`<home>/anchors/receipts/`; it also keeps a copy of every seal it makes in `<home>/anchors/seals/`. These
files are the anchors `log verify` checks the log against (`chain.check_anchors`): a log cut short, an
older copy of `log.db`, deleted seal rows or a re-chained history no longer match them. Each file is tiny,
size-capped before it is read, and every field is checked.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import chain
from .catalog import error
from .errors import CheckpointError
from .fsutil import atomic_write
from .intake import read_capped
from .keys import TrustList, key_id_of, verify_signature
from .stations import valid_station_id
from .text import clean
from .timeutil import from_micros, to_micros, utcnow

FORMAT = "checkpoint-receipt/1"
SEAL_FORMAT = "checkpoint-seal/1"
MAX_BYTES = 8_192
MAX_OFFICE = 100
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9A-F]{8}")
_MAX_SEQ = 10**12


def anchors_dir(root: Path) -> Path:
    """Where a station home keeps its anchors: beside `log.db`, never inside it."""
    return root / "anchors"


@dataclass(frozen=True)
class Receipt:
    """The office's signed word that it holds `station_id`'s log up to entry `seq` with hash `head_hash`."""

    station_id: str
    seq: int
    head_hash: str
    issued_at: datetime
    office: str
    key_id: str
    signature: bytes = b""

    def message(self) -> bytes:
        return (
            f"{FORMAT}\n{self.station_id}\n{self.seq}\n{self.head_hash}\n{to_micros(self.issued_at)}\n"
            f"{self.office}\n{self.key_id}"
        ).encode()

    def to_bytes(self) -> bytes:
        data = {
            "format": FORMAT,
            "station_id": self.station_id,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "issued_at": to_micros(self.issued_at),
            "office": self.office,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return json.dumps(data, ensure_ascii=False, indent=1).encode() + b"\n"


def sign_receipt(
    station_id: str,
    seq: int,
    head_hash: str,
    office: str,
    key: Ed25519PrivateKey,
    *,
    now: datetime | None = None,
) -> Receipt:
    moment = from_micros(to_micros(now or utcnow()))  # what the file can say: whole microseconds, UTC
    unsigned = Receipt(
        station_id, seq, head_hash, moment, clean(office, limit=MAX_OFFICE), key_id_of(key.public_key())
    )
    return Receipt(
        unsigned.station_id,
        unsigned.seq,
        unsigned.head_hash,
        unsigned.issued_at,
        unsigned.office,
        unsigned.key_id,
        key.sign(unsigned.message()),
    )


def _int(value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError("number")
    return value


def parse_receipt(data: bytes, source: str) -> Receipt:
    """Parse a receipt, every field checked (not yet its signature). Raises CheckpointError."""
    try:
        item = json.loads(data.decode("utf-8"))
        if not isinstance(item, dict) or item.get("format") != FORMAT:
            raise ValueError("format")
        station_id, head_hash = item["station_id"], item["head_hash"]
        office, key_id = item["office"], item["key_id"]
        if (
            not valid_station_id(station_id)
            or not isinstance(head_hash, str)
            or not _HEX64.fullmatch(head_hash)
        ):
            raise ValueError("station or hash")
        if not isinstance(office, str) or len(office) > MAX_OFFICE or clean(office) != office:
            raise ValueError("office")
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
            raise ValueError("key id")
        seq = _int(item["seq"], 1, _MAX_SEQ)
        issued = _int(item["issued_at"], 0, to_micros(datetime(9000, 1, 1, tzinfo=UTC)))
        signature = base64.b64decode(str(item["signature"]), validate=True)
    except (
        UnicodeDecodeError,
        json.JSONDecodeError,
        RecursionError,
        KeyError,
        TypeError,
        ValueError,
        binascii.Error,
    ) as exc:
        raise error("errors.receipt.not_a_receipt", source=source) from exc
    return Receipt(station_id, seq, head_hash, from_micros(issued), office, key_id, signature)


def check_receipt(receipt: Receipt, trust: TrustList, source: str) -> None:
    """Raise CheckpointError unless an office key this home trusts, valid at the time, signed it."""
    key = trust.get(receipt.key_id)
    if key is None:
        raise error("errors.receipt.untrusted_key", source=source, key=receipt.key_id)
    if not key.covers(receipt.issued_at):
        raise error("errors.receipt.outside_window", source=source, key=receipt.key_id)
    if not verify_signature(key.public_key, receipt.signature, receipt.message()):
        raise error("errors.revocations.bad_signature", source=source)


def keep_receipt(root: Path, receipt: Receipt) -> Path:
    """Keep a verified receipt among this station's anchors (one file per receipt; the same one twice is one)."""
    path = (
        anchors_dir(root)
        / "receipts"
        / f"{receipt.station_id}-{receipt.seq:09d}-{receipt.head_hash[:12]}.receipt"
    )
    if not path.exists():
        atomic_write(path, receipt.to_bytes())
    return path


def keep_seal(
    root: Path, station_id: str, seq: int, head_hash: str, sealed_at: int, key_id: str, signature: bytes
) -> Path:
    """Keep a copy of a seal the station just made, outside `log.db`."""
    path = anchors_dir(root) / "seals" / f"{station_id}-{seq:09d}.seal"
    data = {
        "format": SEAL_FORMAT,
        "station_id": station_id,
        "seq": seq,
        "head_hash": head_hash,
        "sealed_at": sealed_at,
        "key_id": key_id,
        "signature": base64.b64encode(signature).decode(),
    }
    atomic_write(path, json.dumps(data, indent=1).encode() + b"\n")
    return path


def _seal_anchor(path: Path, station_id: str, station_key: Ed25519PublicKey | None) -> chain.Anchor | None:
    source = f"the seal copy {path.name}"
    try:
        item = json.loads(read_capped(path, MAX_BYTES, "seal copy").decode("utf-8"))
        if (
            not isinstance(item, dict)
            or item.get("format") != SEAL_FORMAT
            or item.get("station_id") != station_id
        ):
            raise ValueError("format")
        seq = _int(item["seq"], 1, _MAX_SEQ)
        sealed_at = _int(item["sealed_at"], 0, 2**62)
        head_hash = item["head_hash"]
        if not isinstance(head_hash, str) or not _HEX64.fullmatch(head_hash):
            raise ValueError("hash")
        signature = base64.b64decode(str(item["signature"]), validate=True)
    except (
        CheckpointError,
        UnicodeDecodeError,
        json.JSONDecodeError,
        RecursionError,
        KeyError,
        TypeError,
        ValueError,
        binascii.Error,
    ):
        return chain.Anchor("damaged", 1, "", source, problem=f"{source} in anchors/ is damaged")
    if station_key is None:
        return None  # no key to check it with: this copy proves nothing
    if not verify_signature(
        station_key, signature, chain.seal_message(station_id, seq, head_hash, sealed_at)
    ):
        return chain.Anchor(
            "damaged", seq, head_hash, source, problem=f"{source} in anchors/ has a bad signature"
        )
    return chain.Anchor("seal", seq, head_hash, source)


def load_anchors(
    root: Path, station_id: str, trust: TrustList, station_key: Ed25519PublicKey | None
) -> list[chain.Anchor]:
    """Every receipt and seal copy this home keeps for `station_id`, each checked before it is believed.

    A receipt signed by a key this home no longer knows is set aside (it cannot be checked); a receipt or a
    seal copy whose signature fails is itself reported as tampering.
    """
    anchors: list[chain.Anchor] = []
    folder = anchors_dir(root)
    for path in sorted((folder / "receipts").glob(f"{station_id}-*.receipt")):
        source = f"the office receipt {path.name}"
        try:
            receipt = parse_receipt(read_capped(path, MAX_BYTES, "receipt"), source)
        except CheckpointError:
            anchors.append(chain.Anchor("damaged", 1, "", source, problem=f"{source} in anchors/ is damaged"))
            continue
        if receipt.station_id != station_id or trust.get(receipt.key_id) is None:
            continue
        try:
            check_receipt(receipt, trust, source)
        except CheckpointError as exc:
            anchors.append(
                chain.Anchor(
                    "damaged", receipt.seq, receipt.head_hash, source, problem=exc.message.rstrip(".")
                )
            )
            continue
        anchors.append(chain.Anchor("receipt", receipt.seq, receipt.head_hash, source))
    for path in sorted((folder / "seals").glob(f"{station_id}-*.seal")):
        anchor = _seal_anchor(path, station_id, station_key)
        if anchor is not None:
            anchors.append(anchor)
    return anchors


def receipted_seq(root: Path, station_id: str, trust: TrustList) -> int:
    """The highest entry an office receipt this home keeps covers (0: none)."""
    return max((a.seq for a in load_anchors(root, station_id, trust, None) if a.kind == "receipt"), default=0)
