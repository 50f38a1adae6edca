"""The pass format: a signed binary payload, Base45-encoded behind a versioned prefix.

    text    = "CP1:" + base45(body + signature)
    body    = key id 4B | pass id 5B | category (2 bits) + max occupants (6 bits) u8
              | issued_at u24 | valid_from u24 | valid_until u24   (minutes since 2020-01-01 UTC)
              | plate str | holder str | org str | n u8 | n × checkpoint str
    str     = length u8 + GB18030 bytes
    signature = Ed25519 over b"CP1:" + body  (64 bytes)

docs/pass-format.md walks through an example byte by byte. The decoder trusts nothing: hard length caps
first, the signature before any field, then every field validated.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from dataclasses import dataclass
from datetime import datetime

import base45
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from .errors import CheckpointError
from .keys import TrustList, key_id_of, verify_signature
from .models import Category, PassData, Reason
from .plates import normalise_plate
from .text import has_unsafe
from .timeutil import from_epoch, to_epoch

PREFIX = "CP1:"
SIGNATURE_SIZE = 64
HEADER = struct.Struct(">4s5sB3s3s3s")  # key id, pass id, category+occupants, 3 times
MAX_TEXT = 1200  # characters of QR text a station will look at
MAX_BODY = 700  # bytes of body

# Field limits (characters). Every field is checked on issue and again on decode.
MAX_PLATE = 12
MAX_HOLDER = 40
MAX_ORG = 60
MAX_CHECKPOINTS = 8
MAX_CHECKPOINT_ID = 24
MAX_OCCUPANTS = 60
# `\Z`, not `$` (which also matches before a final newline): even a caller using `.match` gets the whole text.
CHECKPOINT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,23}\Z")
_VERSIONED = re.compile(r"CP[0-9]+:")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PASS_ID = re.compile(r"[0-9A-HJKMNP-TV-Z]{8}\Z")
EPOCH = 1577836800  # 2020-01-01T00:00Z: times are whole minutes since then, 3 bytes (to 2051)
_MINUTES_MAX = 2**24 - 1


class PassFormatError(ValueError):
    """A payload in our format that does not decode; the message says which part."""


def new_pass_id() -> str:
    """8 Crockford Base32 characters from 40 random bits, e.g. `7K3M9QXA`."""
    return _pass_id_from_bytes(os.urandom(5))


def _pass_id_from_bytes(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(35, -1, -5))


def _pass_id_to_bytes(pass_id: str) -> bytes:
    number = 0
    for ch in pass_id:
        number = (number << 5) | _CROCKFORD.index(ch)
    return number.to_bytes(5, "big")


def normalise_pass_id(text: str) -> str:
    """Accept a pass id typed in lower case or with the usual look-alikes (O→0, I/L→1)."""
    value = text.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if not PASS_ID.fullmatch(value):
        raise CheckpointError(f"{text.strip()[:20]!r} is not a pass id; a pass id is 8 letters and digits.")
    return value


def validate_fields(data: PassData) -> None:
    """Raise PassFormatError unless every field is within the format's limits."""
    if not PASS_ID.fullmatch(data.pass_id):
        raise PassFormatError("pass id")
    for name, value, limit in (
        ("plate", data.plate, MAX_PLATE),
        ("holder", data.holder, MAX_HOLDER),
        ("org", data.org, MAX_ORG),
    ):
        if len(value) > limit:
            raise PassFormatError(f"{name} longer than {limit} characters")
        if has_unsafe(value):
            raise PassFormatError(f"{name} holds control characters")
    try:
        if normalise_plate(data.plate) != data.plate:
            raise PassFormatError("plate is not in normal form")
    except CheckpointError as exc:
        raise PassFormatError("plate") from exc
    if len(data.checkpoints) > MAX_CHECKPOINTS:
        raise PassFormatError(f"more than {MAX_CHECKPOINTS} checkpoints")
    for checkpoint in data.checkpoints:
        if not CHECKPOINT_ID.fullmatch(checkpoint):
            raise PassFormatError("checkpoint id")
    if not 1 <= data.max_occupants <= MAX_OCCUPANTS:
        raise PassFormatError("occupants")
    for name, stamp in (
        ("issued_at", data.issued_at),
        ("valid_from", data.valid_from),
        ("valid_until", data.valid_until),
    ):
        if stamp.second or stamp.microsecond:
            raise PassFormatError(f"{name} is not a whole minute (passes carry times to the minute)")
        if not 0 <= to_epoch(stamp) - EPOCH <= _MINUTES_MAX * 60:
            raise PassFormatError(f"{name} is outside 2020–2051")
    if data.valid_until <= data.valid_from:
        raise PassFormatError("valid-until is not after valid-from")


def _minutes(moment: datetime) -> bytes:
    return ((to_epoch(moment) - EPOCH) // 60).to_bytes(3, "big")


def _from_minutes(raw: bytes) -> datetime:
    return from_epoch(EPOCH + int.from_bytes(raw, "big") * 60)


def _pack_str(value: str) -> bytes:
    raw = value.encode("gb18030")
    if len(raw) > 255:
        raise PassFormatError("text field too long")
    return bytes([len(raw)]) + raw


def encode_body(data: PassData) -> bytes:
    validate_fields(data)
    header = HEADER.pack(
        bytes.fromhex(data.key_id),
        _pass_id_to_bytes(data.pass_id),
        data.category.code << 6 | data.max_occupants,
        _minutes(data.issued_at),
        _minutes(data.valid_from),
        _minutes(data.valid_until),
    )
    parts = [header, _pack_str(data.plate), _pack_str(data.holder), _pack_str(data.org)]
    parts.append(bytes([len(data.checkpoints)]))
    parts.extend(_pack_str(c) for c in data.checkpoints)
    return b"".join(parts)


def sign_pass(data: PassData, key: Ed25519PrivateKey) -> str:
    """The QR text of a pass: prefix + Base45(body + Ed25519 signature)."""
    if key_id_of(key.public_key()) != data.key_id:
        raise ValueError("the pass names another key than the one signing it")
    body = encode_body(data)
    signature = key.sign(PREFIX.encode() + body)
    encoded: bytes = base45.b45encode(body + signature)
    return PREFIX + encoded.decode("ascii")


@dataclass(frozen=True)
class Envelope:
    """A payload split into its parts, nothing verified yet except its shape."""

    key_id: str
    body: bytes
    signature: bytes


@dataclass(frozen=True)
class Reading:
    """What the text of one code says, before any station rule: a verified pass, or why not."""

    reason: (
        Reason  # OK when `pass_data` is a verified pass (a retired key's expired pass comes with its data)
    )
    pass_data: PassData | None
    detail: str
    key_id: str | None = None


def is_ours(text: str) -> bool:
    """True when the text claims to be a checkpoint pass (any version)."""
    return bool(_VERSIONED.match(text[:12]))


def open_envelope(text: str) -> Envelope:
    """Split the text into key id, body and signature. Raises PassFormatError."""
    if len(text) > MAX_TEXT:
        raise PassFormatError(f"longer than {MAX_TEXT} characters")
    if not text.startswith(PREFIX):
        raise PassFormatError("unsupported format version")
    encoded = text[len(PREFIX) :]
    try:
        raw = base45.b45decode(encoded)
    except (ValueError, KeyError, UnicodeError, IndexError) as exc:
        raise PassFormatError("not valid Base45") from exc
    if len(raw) < HEADER.size + 4 + SIGNATURE_SIZE or len(raw) > MAX_BODY + SIGNATURE_SIZE:
        raise PassFormatError("wrong length")
    size = _framed_size(raw)
    if size + SIGNATURE_SIZE != len(raw):
        raise PassFormatError("truncated or padded")
    body, signature = raw[:size], raw[size:]
    return Envelope(key_id=body[:4].hex().upper(), body=body, signature=signature)


def _framed_size(raw: bytes) -> int:
    """The body's length as its own length bytes say (reads lengths only, no field values)."""
    offset = HEADER.size
    try:
        for _ in range(3):
            offset += 1 + raw[offset]
        count = raw[offset]
        offset += 1
        for _ in range(count):
            offset += 1 + raw[offset]
    except IndexError as exc:
        raise PassFormatError("truncated") from exc
    return offset


def parse_body(body: bytes) -> PassData:
    """Decode a body whose signature has been verified. Raises PassFormatError."""
    try:
        key_raw, id_raw, packed, issued, start, end = HEADER.unpack_from(body)
        category_code, occupants = packed >> 6, packed & 63
        offset = HEADER.size
        texts = []
        for _ in range(3):
            length = body[offset]
            if offset + 1 + length > len(body):
                raise PassFormatError("truncated text field")  # pragma: no cover - framing checked first
            texts.append(body[offset + 1 : offset + 1 + length].decode("gb18030", errors="strict"))
            offset += 1 + length
        count = body[offset]
        offset += 1
        checkpoints = []
        for _ in range(count):
            length = body[offset]
            if offset + 1 + length > len(body):
                raise PassFormatError("truncated checkpoint")
            checkpoints.append(body[offset + 1 : offset + 1 + length].decode("ascii", errors="strict"))
            offset += 1 + length
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise PassFormatError("truncated or garbled body") from exc
    if offset != len(body):
        raise PassFormatError("trailing bytes after the last field")
    try:
        category = Category.from_code(category_code)
        data = PassData(
            pass_id=_pass_id_from_bytes(id_raw),
            key_id=key_raw.hex().upper(),
            category=category,
            plate=texts[0],
            holder=texts[1],
            org=texts[2],
            valid_from=_from_minutes(start),
            valid_until=_from_minutes(end),
            checkpoints=tuple(checkpoints),
            max_occupants=occupants,
            issued_at=_from_minutes(issued),
        )
    except (ValueError, ValidationError) as exc:
        raise PassFormatError("a field is out of range") from exc
    validate_fields(data)
    return data


def read_pass(text: str, trust: TrustList, at: datetime) -> Reading:
    """Decode and verify the text of one code against `trust` at time `at`.

    Returns a Reading with reason OK and the pass, or one of not_a_pass, malformed, unknown_key,
    bad_signature. Never raises on any input.
    """
    if not is_ours(text):
        return Reading(Reason.NOT_A_PASS, None, "not in the checkpoint pass format")
    try:
        envelope = open_envelope(text)
    except PassFormatError as exc:
        return Reading(Reason.MALFORMED, None, str(exc))
    key = trust.trusted(envelope.key_id, at)
    if key is None:
        retired = trust.get(envelope.key_id)
        if retired is not None:
            explained = _by_its_own_dates(envelope, retired.public_key, at)
            if explained is not None:
                return explained
        detail = "key is no longer (or not yet) trusted" if retired else "key is not in the trust file"
        return Reading(Reason.UNKNOWN_KEY, None, detail, envelope.key_id)
    if not verify_signature(key.public_key, envelope.signature, PREFIX.encode() + envelope.body):
        return Reading(Reason.BAD_SIGNATURE, None, "signature does not verify", envelope.key_id)
    try:
        data = parse_body(envelope.body)
    except PassFormatError as exc:
        return Reading(Reason.MALFORMED, None, str(exc), envelope.key_id)
    return Reading(Reason.OK, data, "signature verified", envelope.key_id)


def _by_its_own_dates(envelope: Envelope, public_key: Ed25519PublicKey, at: datetime) -> Reading | None:
    """A pass signed by a key of the trust file outside that key's window: when the signature verifies
    and the pass itself has run out (or not begun) at `at`, that is the truer reason for the refusal —
    a guard told "unknown key" would think of a forgery. Never makes a pass acceptable."""
    if not verify_signature(public_key, envelope.signature, PREFIX.encode() + envelope.body):
        return None
    try:
        data = parse_body(envelope.body)
    except PassFormatError:
        return None
    if at > data.valid_until:
        return Reading(Reason.EXPIRED, data, "after valid-until (its key is retired too)", envelope.key_id)
    if at < data.valid_from:
        return Reading(
            Reason.NOT_YET_VALID, data, "before valid-from (its key is not yet trusted)", envelope.key_id
        )
    return None


def raw_hash(raw: bytes) -> str:
    """The hash of a scanned code's raw bytes, as the log keeps it."""
    return hashlib.sha256(raw).hexdigest()
