"""Station enrolment: the office accepts a station's bundles only once a person has confirmed its key.

At the station, `write_request` makes an enrolment request (station id, name, public key, time), signed by
the station key, and `fingerprint` gives the key's fingerprint in short groups for a person to read out
(`3F2A 9C1B …`). At the office, `read_request` checks the file (size first, then every field, then the
signature) and `enrol` records the key in the office store once the fingerprint a person confirmed
matches. A bundle is then checked against the enrolled key, never against the key inside the bundle
(`check_enrolled`). `retire` ends a lost or stolen station's enrolment: what was imported stays, bundles
written after that moment are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .catalog import error
from .errors import CheckpointError
from .fsutil import atomic_write
from .keys import fingerprint, public_from_raw, raw_public, verify_signature
from .text import clean
from .timeutil import iso_local, utcnow

if TYPE_CHECKING:
    from .bundle import Bundle
    from .store import Enrolment

FORMAT = "checkpoint-enrolment/1"
MAX_REQUEST_BYTES = 16_384
MAX_NAME = 80
MAX_REASON = 200
# The same shape as a station id in settings and in passes, matched whole (no trailing newline).
STATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,23}")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(\+00:00|Z)")
ENROL_HINT = "checkpoint stations enrol REQUEST-FILE"


def station_fingerprint(key_file: Path) -> str | None:
    """The fingerprint of the station key in `key_file`; None when the station has no key yet."""
    from .keys import read_private_key

    if not key_file.exists():
        return None
    return fingerprint(read_private_key(key_file).public_key())


def same_fingerprint(typed: str, public_key: Ed25519PublicKey) -> bool:
    """Whether what a person typed (any case, spaces, colons or dashes) is this key's fingerprint."""
    given = re.sub(r"[\s:-]", "", typed).upper()
    return given == fingerprint(public_key).replace(" ", "")


def valid_station_id(value: object) -> bool:
    return isinstance(value, str) and STATION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class EnrolmentRequest:
    station_id: str
    name: str
    public_key: Ed25519PublicKey
    created: datetime

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def _message(body: bytes) -> bytes:
    return FORMAT.encode() + b"\n" + body


def write_request(
    path: Path, station_id: str, name: str, key: Ed25519PrivateKey, *, now: datetime | None = None
) -> EnrolmentRequest:
    """Write this station's enrolment request, signed by its key, to `path`."""
    if not valid_station_id(station_id):
        raise CheckpointError(f"The station id {station_id!r} is not valid; fix station.id in the settings.")
    request = EnrolmentRequest(station_id, clean(name, limit=MAX_NAME), key.public_key(), now or utcnow())
    body = json.dumps(
        {
            "station_id": request.station_id,
            "name": request.name,
            "public_key": base64.b64encode(raw_public(request.public_key)).decode(),
            "created": request.created.isoformat(),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    wrapper = {
        "format": FORMAT,
        "body": body.decode(),
        "signature": base64.b64encode(key.sign(_message(body))).decode(),
    }
    atomic_write(path, json.dumps(wrapper, ensure_ascii=False, indent=1).encode() + b"\n")
    return request


def read_request(path: Path) -> EnrolmentRequest:
    """Read an enrolment request: size-capped before reading, every field checked, then the signature."""
    bad = f"{path} is not a valid enrolment request"
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REQUEST_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path}: {exc.strerror}.") from exc
    if len(data) > MAX_REQUEST_BYTES:
        raise CheckpointError(f"{path} is too large to be an enrolment request; nothing was enrolled.")
    try:
        wrapper = json.loads(data.decode("utf-8"))
        body_text = wrapper["body"]
        signature = base64.b64decode(wrapper["signature"], validate=True)
        if wrapper["format"] != FORMAT or not isinstance(body_text, str):
            raise ValueError("format")
        body = json.loads(body_text)
        if not isinstance(body, dict) or set(body) != {"station_id", "name", "public_key", "created"}:
            raise ValueError("fields")
        station_id, name, created = body["station_id"], body["name"], body["created"]
        public_key = public_from_raw(base64.b64decode(body["public_key"], validate=True))
    except (
        UnicodeDecodeError,
        json.JSONDecodeError,
        RecursionError,
        KeyError,
        TypeError,
        ValueError,
        binascii.Error,
    ) as exc:
        raise error("errors.enrol.damaged", path=path) from exc
    if not valid_station_id(station_id):
        raise error("errors.enrol.no_station", path=path)
    if not isinstance(name, str) or len(name) > MAX_NAME or clean(name) != name:
        raise CheckpointError(f"{bad}: its station name is too long or holds control characters.")
    if not isinstance(created, str) or _ISO.fullmatch(created) is None:
        raise CheckpointError(f"{bad}: its time is not a UTC date-time; nothing was enrolled.")
    if not verify_signature(public_key, signature, _message(body_text.encode())):
        raise error("errors.enrol.bad_signature", path=path)
    return EnrolmentRequest(station_id, name, public_key, datetime.fromisoformat(created))


def check_enrolled(
    enrolment: Enrolment | None, station_id: str, public_key: Ed25519PublicKey, what: str
) -> None:
    """Refuse `what` (a bundle) unless `station_id` is enrolled here with exactly `public_key`."""
    if enrolment is None:
        raise error(
            "errors.enrol.not_enrolled",
            what=what,
            station=station_id,
            fingerprint=fingerprint(public_key),
            hint=ENROL_HINT,
        )
    if raw_public(enrolment.public_key) != raw_public(public_key):
        raise error(
            "errors.enrol.other_key",
            what=what,
            station=station_id,
            enrolled=fingerprint(enrolment.public_key),
            given=fingerprint(public_key),
        )


def check_not_retired(
    enrolment: Enrolment, written: datetime | None, newest_entry: datetime | None, what: str
) -> None:
    """Refuse a bundle of a retired station written (or holding entries) after it was retired."""
    retired = enrolment.retired_at
    if retired is None:
        return
    if written is None or written > retired or (newest_entry is not None and newest_entry > retired):
        raise error(
            "errors.enrol.retired",
            what=what,
            station=enrolment.station_id,
            when=retired.isoformat(timespec="seconds"),
            reason=enrolment.retire_reason or "no reason given",
        )


def admit_bundle(enrolment: Enrolment | None, bundle: Bundle, what: str) -> Enrolment:
    """The one rule, for every office store (SQLite and the county's PostgreSQL), run inside the merge's
    transaction: the bundle's station is enrolled with the bundle's key and was not retired before the
    bundle was written. Returns the enrolment; raises CheckpointError (nothing is imported) otherwise."""
    check_enrolled(enrolment, bundle.station_id, bundle.public_key, what)
    assert enrolment is not None
    if enrolment.retired_at is not None:  # (the entries' times are read only then)
        check_not_retired(enrolment, bundle.created, bundle.newest_time(), what)
    return enrolment


class EnrolmentStore(Protocol):
    """Where an office keeps its enrolments: the SQLite `LogStore`, or the county store (`county.CountyStore`)."""

    async def enrol_station(
        self, station_id: str, public_key: Ed25519PublicKey, name: str, *, now: datetime
    ) -> Enrolment: ...

    async def retire_station(self, station_id: str, reason: str, *, now: datetime) -> Enrolment: ...

    async def enrolments(self) -> dict[str, Enrolment]: ...


async def enrol(
    store: EnrolmentStore, request: EnrolmentRequest, confirmed: str, *, now: datetime | None = None
) -> Enrolment:
    """Enrol the station of `request` once `confirmed` (the fingerprint a person checked) matches its key."""
    if not same_fingerprint(confirmed, request.public_key):
        raise error(
            "errors.enrol.wrong_fingerprint", station=request.station_id, fingerprint=request.fingerprint
        )
    return await store.enrol_station(
        request.station_id, request.public_key, request.name, now=now or utcnow()
    )


async def retire(
    store: EnrolmentStore, station_id: str, reason: str, *, now: datetime | None = None
) -> Enrolment:
    """Retire an enrolled station (a lost or stolen laptop): its later bundles are refused."""
    text = clean(reason, limit=MAX_REASON).strip()
    if not text:
        raise error("errors.enrol.no_reason")
    if not valid_station_id(station_id):
        raise error("errors.enrol.bad_id", station=station_id)
    return await store.retire_station(station_id, text, now=now or utcnow())


def enrolment_json(enrolment: Enrolment, tz: tzinfo | None = None) -> dict[str, object]:
    """The JSON view; with `tz`, times are in that zone with their offset (the same instants)."""
    return {
        "station_id": enrolment.station_id,
        "name": enrolment.name,
        "fingerprint": fingerprint(enrolment.public_key),
        "enrolled_at": iso_local(enrolment.enrolled_at, tz),
        "retired_at": None if enrolment.retired_at is None else iso_local(enrolment.retired_at, tz),
        "retire_reason": enrolment.retire_reason,
    }
