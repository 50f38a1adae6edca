"""Station bundles: how a station's log reaches the office (USB stick, shared folder) and is merged there.

A bundle holds a run of one station's entries (verbatim: same hashes), the seals up to its head, the
station's shifts and its public key, all signed by the station key. The station remembers what it last
exported and by default sends only what is new (`--all` sends everything again).

At the office, `import_bundles` checks everything before it writes anything: the station must be
enrolled here (checkpoint.stations; no trust on first use) and the bundle signed by the enrolled key —
checked before any entry is looked at — then every entry's hash and link, every seal. Then
`LogStore.merge_bundle`, in one `BEGIN IMMEDIATE` transaction under the store's own lock, inserts only
the entries the office does not have yet. So:

- importing a bundle twice is importing it once (entries already there must be identical, or the whole
  bundle is refused as a forked log);
- a bundle with one altered entry, a broken chain or a bad signature is refused whole, and so is one
  that does not extend what the office holds (it re-chains, or ends short of what the office already had
  when it was written: a cut or rolled-back station log);
- order does not matter: a bundle that starts after a gap (its earlier bundle has not arrived yet) is
  verified and *held* in the office home's `bundles/pending/`; every later import retries the held ones,
  so once the missing bundle arrives the chain is completed, whatever order the files came in.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import chain
from .catalog import Translator, error
from .errors import CheckpointError
from .fsutil import atomic_write, describe_os_error, sqlite_trouble
from .intake import BUNDLE_CAP, load_json, read_capped
from .keys import public_from_raw, raw_public, verify_signature
from .models import Category, Direction, Reason, Verdict
from .passes import CHECKPOINT_ID, MAX_HOLDER, MAX_OCCUPANTS, MAX_ORG, MAX_PLATE, PASS_ID
from .stations import check_enrolled
from .store import INSERT_COLUMNS, SHIFT_COLUMNS, Enrolment, LogStore, open_reader
from .text import clean, has_unsafe
from .timeutil import from_micros, utcnow

FORMAT = "checkpoint-bundle/2"
COLUMNS = INSERT_COLUMNS  # body (the hashed canonical JSON array), hash, personal, salt
MAX_BYTES = BUNDLE_CAP  # checkpoint.intake: about 600,000 entries; a bundle is refused above it unread
# The start of every body `export_bundle` writes: the station id, its name, its key. Read before the
# signature is checked (the key checks it); the full parse afterwards must agree with it.
_HEADER = re.compile(
    rb'\{"station_id":(?P<station>"[A-Za-z0-9_.\-]{1,24}"),"station_name":"(?:[^"\\]|\\.){0,400}?",'
    rb'"public_key":"(?P<key>[A-Za-z0-9+/]{43}=)"'
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_TEXT = 200  # characters of a typed name, reason or note (the station screen keeps no more)
_ENUMS: dict[str, frozenset[str]] = {
    "direction": frozenset(d.value for d in Direction),
    "verdict": frozenset(v.value for v in Verdict),
    "reason": frozenset(r.value for r in Reason),
}
_REASONS = _ENUMS["reason"]
_TS = chain.CHAINED.index("ts")
# The station says when it wrote the bundle: a UTC date-time as `datetime.isoformat()` writes it.
_CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")

# Given to `read_bundle`: raises CheckpointError unless the station (id, key in the bundle) is enrolled.
EnrolmentCheck = Callable[[str, Ed25519PublicKey, str], None]


def _message(body: bytes) -> bytes:
    return FORMAT.encode() + b"\n" + body


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise CheckpointError(f"The bundle is damaged: {what} is not base64 text.")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError(f"The bundle is damaged: {what} is not base64 text.") from exc


# ---------------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    path: Path
    station_id: str
    from_seq: int
    to_seq: int
    seals: int
    head_hash: str = ""

    @property
    def entries(self) -> int:
        return self.to_seq - self.from_seq + 1


def state_path(root: Path) -> Path:
    """Where a station remembers what it last exported."""
    return root / "bundle-state.json"


def last_exported(root: Path, station_id: str) -> int:
    path = state_path(root)
    if not path.exists():
        return 0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return int(data.get(station_id, {}).get("to_seq", 0))
    except (OSError, ValueError, AttributeError, TypeError):
        return 0


def _remember(root: Path, station_id: str, to_seq: int, head_hash: str) -> None:
    path = state_path(root)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
    data[station_id] = {"to_seq": to_seq, "hash": head_hash, "at": utcnow().isoformat()}
    atomic_write(path, json.dumps(data, indent=2).encode() + b"\n")


async def export_bundle(
    log_db: Path,
    station_id: str,
    key: Ed25519PrivateKey,
    out: Path,
    *,
    state_root: Path,
    from_seq: int | None = None,
    station_name: str = "",
    now: datetime | None = None,
    seal: bool = True,
) -> ExportResult | None:
    """Seal the head (unless `seal` is False), then write the entries after the last export (or from
    `from_seq`) to `out`.

    Returns None when there is nothing new to send.
    """
    moment = now or utcnow()
    if seal:
        store = await LogStore.open(log_db, station_id)
        async with store:
            await store.seal(key, now=moment)
    start = from_seq if from_seq is not None else last_exported(state_root, station_id) + 1
    start = max(1, start)
    conn = open_reader(log_db)
    try:
        head = (
            conn.execute("SELECT MAX(seq) FROM entries WHERE station_id = ?", (station_id,)).fetchone()[0]
            or 0
        )
        if head < start:
            return None
        prev = conn.execute(
            "SELECT hash FROM entries WHERE station_id = ? AND seq = ?", (station_id, start - 1)
        ).fetchone()
        prev_hash = chain.GENESIS if start == 1 else (None if prev is None else prev[0])
        if prev_hash is None:
            raise CheckpointError(
                f"Entry {start - 1} of {station_id} is missing from this log; export with --all."
            )
        entries = []
        for row in conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM entries WHERE station_id = ? AND seq >= ? ORDER BY seq",
            (station_id, start),
        ):
            values = list(row)
            values[-1] = None if values[-1] is None else _b64(bytes(values[-1]))
            entries.append(values)
        seals = [
            [seq, head_hash, sealed_at, kid, _b64(bytes(sig))]
            for seq, head_hash, sealed_at, kid, sig in conn.execute(
                "SELECT seq, head_hash, sealed_at, key_id, signature FROM seals WHERE station_id = ? ORDER BY seq",
                (station_id,),
            )
        ]
        shifts = [
            list(r)
            for r in conn.execute(
                f"SELECT {', '.join(SHIFT_COLUMNS)} FROM shifts WHERE station_id = ? ORDER BY started",
                (station_id,),
            )
        ]
    finally:
        conn.close()
    to_seq = start + len(entries) - 1
    body = {
        "station_id": station_id,
        "station_name": station_name,
        "public_key": _b64(raw_public(key.public_key())),
        "created": moment.isoformat(),
        "from_seq": start,
        "to_seq": to_seq,
        "prev_hash": prev_hash,
        "columns": list(COLUMNS),
        "entries": entries,
        "seals": seals,
        "shift_columns": list(SHIFT_COLUMNS),
        "shifts": shifts,
    }
    body_bytes = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    wrapper = {
        "format": FORMAT,
        "body": body_bytes.decode(),
        "signature": _b64(key.sign(_message(body_bytes))),
    }
    atomic_write(out, json.dumps(wrapper, ensure_ascii=False).encode())
    _remember(state_root, station_id, to_seq, str(entries[-1][1]))
    return ExportResult(out, station_id, start, to_seq, len(seals), str(entries[-1][1]))


# ---------------------------------------------------------------------------------------------- import


@dataclass
class Bundle:
    """A bundle whose signature, chain and seals have been checked (not yet compared with the office log)."""

    station_id: str
    station_name: str
    public_key: Ed25519PublicKey
    from_seq: int
    to_seq: int
    prev_hash: str
    entries: list[tuple[str, str, str | None, bytes | None]]
    seals: list[tuple[str, int, str, int, str, bytes]]
    shifts: list[tuple[Any, ...]]

    created: datetime | None = None  # when the station says it wrote the bundle

    def hash_at(self, seq: int) -> str:
        return self.entries[seq - self.from_seq][1]

    def newest_time(self) -> datetime | None:
        """The latest entry time the bundle claims (its entries were checked by `read_bundle`)."""
        times = [json.loads(text)[_TS] for text, _, _, _ in self.entries]
        return max((from_micros(t) for t in times), default=None)


def read_bundle(path: Path, enrolled: EnrolmentCheck | None = None) -> Bundle:
    """Read and check a bundle file; raises CheckpointError naming the first problem.

    Size before parsing, signature before work: the file is refused above `MAX_BYTES` before it is read;
    only the wrapper and the body's first fields (station id, name, key) are read before the signature over
    the body's bytes is checked; the entries are parsed after that, one copy at a time. With `enrolled`, the
    station must be enrolled with the bundle's key before its signature is checked and any entry is looked at.
    """
    data = read_capped(path, MAX_BYTES, "bundle")
    if not data.lstrip().startswith(b"{"):
        raise error("errors.bundle.not_json", path=path)
    wrapper = load_json(data, f"The bundle {path.name}")
    del data
    if (
        not isinstance(wrapper, dict)
        or wrapper.get("format") != FORMAT
        or not isinstance(wrapper.get("body"), str)
    ):
        raise error("errors.bundle.not_bundle", path=path)
    body_bytes = wrapper.pop("body").encode()
    header = _HEADER.match(body_bytes)
    if header is None:
        raise error("errors.bundle.unreadable", path=path)
    try:
        station_id = json.loads(header["station"])
        public_key = public_from_raw(_unb64(header["key"].decode(), "the station key"))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise error("errors.bundle.unreadable", path=path) from exc
    if not isinstance(station_id, str) or not CHECKPOINT_ID.fullmatch(station_id):
        raise error("errors.bundle.no_station", path=path)
    if enrolled is not None:
        enrolled(station_id, public_key, f"The bundle {path.name} from {station_id}")
    signature = _unb64(wrapper.get("signature"), "the signature")
    if not verify_signature(public_key, signature, _message(body_bytes)):
        raise error("errors.bundle.bad_signature", name=path.name, station=station_id)
    del wrapper
    try:
        body = load_json(body_bytes, f"The bundle {path.name}")
    except CheckpointError as exc:
        raise CheckpointError(f"{exc.message.rstrip('.')}; nothing was imported.") from exc
    del body_bytes
    if (
        not isinstance(body, dict)
        or body.get("station_id") != station_id
        or body.get("public_key") != header["key"].decode()
    ):
        raise CheckpointError(
            f"The bundle {path.name} is damaged (its header does not add up); nothing was imported."
        )
    try:
        checked = _check_body(body, station_id, public_key, path.name)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise CheckpointError(f"The bundle {path.name} is damaged ({exc}); nothing was imported.") from exc
    created = body.get("created")
    if not isinstance(created, str) or _CREATED.fullmatch(created) is None:
        raise CheckpointError(
            f"The bundle {path.name} is damaged (its time is not a UTC date-time); nothing was imported."
        )
    checked.created = datetime.fromisoformat(created)
    return checked


def _check_body(body: dict[str, Any], station_id: str, public_key: Ed25519PublicKey, name: str) -> Bundle:
    if list(body["columns"]) != list(COLUMNS):
        raise error("errors.bundle.other_version", name=name)
    from_seq, to_seq, prev = int(body["from_seq"]), int(body["to_seq"]), str(body["prev_hash"])
    refuse = f"The bundle {name} from {station_id} is refused, nothing was imported:"
    raw_entries = body["entries"]
    if from_seq < 1 or to_seq - from_seq + 1 != len(raw_entries) or not _HEX64.fullmatch(prev):
        raise CheckpointError(f"{refuse} its entry range does not add up.")
    entries: list[tuple[str, str, str | None, bytes | None]] = []
    for offset, item in enumerate(raw_entries):
        seq = from_seq + offset
        if not isinstance(item, list) or len(item) != len(COLUMNS):
            raise CheckpointError(f"{refuse} entry {seq} is damaged.")
        text, digest, personal, salt_text = item
        if (
            not isinstance(text, str)
            or not isinstance(digest, str)
            or not (personal is None or isinstance(personal, str))
        ):
            raise CheckpointError(f"{refuse} entry {seq} is damaged.")
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{refuse} entry {seq} is damaged.") from exc
        if not isinstance(values, list) or len(values) != len(chain.CHAINED):
            raise CheckpointError(f"{refuse} entry {seq} is damaged.")
        row = dict(zip(chain.CHAINED, values, strict=True))
        for column, value in row.items():
            if not (
                value is None or isinstance(value, str) or (isinstance(value, int) and value is not True)
            ):
                raise CheckpointError(f"{refuse} entry {seq} has a bad {column}.")
        if row["station_id"] != station_id:
            raise CheckpointError(f"{refuse} entry {seq} belongs to another station.")
        if row["seq"] != seq:
            raise CheckpointError(f"{refuse} entry {seq} is missing (the next one is {row['seq']}).")
        for column, allowed in _ENUMS.items():
            if row[column] not in allowed:
                raise CheckpointError(f"{refuse} entry {seq} has an unknown {column}.")
        if row["denied_for"] is not None and row["denied_for"] not in _REASONS:
            raise CheckpointError(f"{refuse} entry {seq} has an unknown reason.")
        if any(w not in _REASONS for w in str(row["warnings"]).split(",") if w):
            raise CheckpointError(f"{refuse} entry {seq} has an unknown warning.")
        if not all(isinstance(row[c], int) for c in ("ts", "mono", "fevers")):
            raise CheckpointError(f"{refuse} entry {seq} has a bad time or fever count.")
        problem = _field_problem(row)
        if problem:
            raise CheckpointError(f"{refuse} entry {seq} has {problem}.")
        if personal is not None and not _personal_ok(personal):
            raise CheckpointError(
                f"{refuse} the personal fields of entry {seq} are not in the station's shape."
            )
        if row["prev_hash"] != prev:
            raise CheckpointError(
                f"{refuse} entry {seq} does not link to entry {seq - 1} (the chain is broken)."
            )
        if chain.canonical(values) != text or chain.entry_hash(text) != digest:
            raise CheckpointError(f"{refuse} entry {seq} was altered (its hash does not match).")
        salt = None if salt_text is None else _unb64(salt_text, f"the salt of entry {seq}")
        if personal is not None and chain.commitment(salt, personal) != row["commitment"]:
            raise CheckpointError(f"{refuse} the personal fields of entry {seq} were altered.")
        entries.append((text, digest, personal, salt))
        prev = digest
    bundle = Bundle(
        station_id=station_id,
        station_name=clean(str(body.get("station_name", "")), limit=80),
        public_key=public_key,
        from_seq=from_seq,
        to_seq=to_seq,
        prev_hash=str(body["prev_hash"]),
        entries=entries,
        seals=[],
        shifts=[],
    )
    if not isinstance(body["seals"], list) or len(body["seals"]) > len(raw_entries) + to_seq:
        raise CheckpointError(f"{refuse} its seals are damaged.")
    for seal in body["seals"]:
        if not (
            isinstance(seal, list)
            and len(seal) == 5
            and _is_int(seal[0], 1, to_seq)
            and isinstance(seal[1], str)
            and _HEX64.fullmatch(seal[1])
            and _is_int(seal[2], _TS_LOW, _TS_HIGH)
            and isinstance(seal[3], str)
            and _KEY_ID.fullmatch(seal[3])
        ):
            raise CheckpointError(f"{refuse} a seal is damaged.")
        seq, head_hash, sealed_at, kid, sig = seal
        signature = _unb64(sig, "a seal signature")
        if not verify_signature(
            public_key, signature, chain.seal_message(station_id, int(seq), head_hash, int(sealed_at))
        ):
            raise CheckpointError(f"{refuse} the seal at entry {seq} has a bad signature.")
        if int(seq) > to_seq:
            raise CheckpointError(f"{refuse} it holds a seal at entry {seq} but stops at entry {to_seq}.")
        if int(seq) >= from_seq and bundle.hash_at(int(seq)) != head_hash:
            raise CheckpointError(f"{refuse} entry {seq} differs from the sealed one.")
        bundle.seals.append((station_id, int(seq), str(head_hash), int(sealed_at), str(kid), signature))
    shift_columns = body.get("shift_columns", list(SHIFT_COLUMNS))
    shifts = body.get("shifts", [])
    if shift_columns != list(SHIFT_COLUMNS) or not isinstance(shifts, list) or len(shifts) > 100_000:
        raise CheckpointError(f"{refuse} its shifts are damaged.")
    for shift in shifts:
        if not isinstance(shift, list) or len(shift) != len(SHIFT_COLUMNS):
            raise CheckpointError(f"{refuse} a shift is damaged.")
        row = dict(zip(shift_columns, shift, strict=True))
        if not _shift_ok(row):
            raise CheckpointError(f"{refuse} a shift is damaged.")
        if row["station_id"] == station_id:
            bundle.shifts.append(tuple(row[c] for c in SHIFT_COLUMNS))
    return bundle


# What a station's own writes put in each chained field (checkpoint.store, the station screen): a bundle is
# held to the same, so nothing reaches the office log, an export or a report that a station could not write.
_TS_LOW, _TS_HIGH = 946_684_800_000_000, 7_258_118_400_000_000  # 2000-01-01 to 2200-01-01, microseconds
_ENTRY_ID = re.compile(r"[0-9a-f]{32}")
_KEY_ID = re.compile(r"[0-9A-F]{8}")
_CATEGORIES = frozenset(c.value for c in Category)
_TEXT_LIMITS = {
    "operator": MAX_TEXT, "leader": MAX_TEXT, "plate": MAX_PLATE, "org": MAX_ORG, "vehicle": MAX_TEXT,
    "note": MAX_TEXT, "override_by": MAX_TEXT, "override_reason": MAX_TEXT,
}  # fmt: skip


def _is_int(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _field_problem(row: dict[str, Any]) -> str:
    """What is wrong with one entry's chained fields, as the end of a sentence ('' when nothing)."""
    if not _ENTRY_ID.fullmatch(str(row["id"])) or not isinstance(row["id"], str):
        return "a bad id"
    refers_to = row["refers_to"]
    if refers_to is not None and not (isinstance(refers_to, str) and _ENTRY_ID.fullmatch(refers_to)):
        return "a bad refers_to"
    if row["category"] is not None and row["category"] not in _CATEGORIES:
        return "an unknown category"
    pass_id = row["pass_id"]
    if pass_id is not None and not (isinstance(pass_id, str) and PASS_ID.fullmatch(pass_id)):
        return "a bad pass id"
    key_id = row["key_id"]
    if key_id is not None and not (isinstance(key_id, str) and _KEY_ID.fullmatch(key_id)):
        return "a bad key id"
    for column in ("raw_hash", "commitment"):
        value = row[column]
        if (value is not None or column == "commitment") and not (
            isinstance(value, str) and _HEX64.fullmatch(value)
        ):
            return f"a bad {column}"
    for column, limit in _TEXT_LIMITS.items():
        value = row[column]
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return f"a {column} longer than {limit} characters"
    if not row["operator"] or not row["leader"]:
        return "no operator or shift leader"
    if not _is_int(row["ts"], _TS_LOW, _TS_HIGH) or not _is_int(row["mono"], 0, 2**63 - 1):
        return "an impossible time"
    for column in ("valid_from", "valid_until"):
        if row[column] is not None and not _is_int(row[column], _TS_LOW, _TS_HIGH):
            return f"an impossible {column}"
    if row["occupants"] is not None and not _is_int(row["occupants"], 0, MAX_OCCUPANTS):
        return "an impossible number of occupants"
    if not _is_int(row["fevers"], 0, MAX_OCCUPANTS):
        return "an impossible number of fevers"
    return ""


def _personal_ok(personal: str) -> bool:
    """The personal text is what the station writes: {"holder": text or null, "temperatures": [tenths]}."""
    if len(personal) > 2_000:
        return False
    try:
        data = json.loads(personal)
    except (ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or set(data) - {"holder", "temperatures"}:
        return False
    holder, temperatures = data.get("holder"), data.get("temperatures", [])
    if holder is not None and not (isinstance(holder, str) and len(holder) <= MAX_HOLDER):
        return False
    return (
        isinstance(temperatures, list)
        and len(temperatures) <= MAX_OCCUPANTS
        and all(_is_int(t, 0, 999) for t in temperatures)
    )


def _shift_ok(row: dict[str, Any]) -> bool:
    return (
        isinstance(row["id"], str)
        and 0 < len(row["id"]) <= 100
        and not has_unsafe(row["id"])
        and isinstance(row["station_id"], str)
        and all(isinstance(row[c], str) and len(row[c]) <= MAX_TEXT for c in ("operator", "leader"))
        and _is_int(row["started"], _TS_LOW, _TS_HIGH)
        and (row["ended"] is None or _is_int(row["ended"], _TS_LOW, _TS_HIGH))
        and (row["sealed_seq"] is None or _is_int(row["sealed_seq"], 0, 2**62))
    )


@dataclass
class ImportResult:
    path: Path
    station_id: str
    from_seq: int
    to_seq: int
    added: int = 0
    already: int = 0
    seals: int = 0
    held: bool = False
    missing: tuple[int, int] | None = None
    purged: int = 0

    def sentence(self, t: Translator | None = None) -> str:
        """What happened to this bundle, in `t`'s language (English without one)."""
        key, values = self.said()
        return (t if t is not None else Translator("en"))(key, **values)

    def said(self) -> tuple[str, dict[str, object]]:
        """The catalog key and values of `sentence`."""
        name, station = self.path.name, self.station_id
        if self.held:
            assert self.missing is not None
            lo, hi = self.missing
            return "cli.bundle.held", dict(name=name, first=lo, last=hi, station=station)
        if self.added == 0:
            return "cli.bundle.already", dict(
                name=name, station=station, first=self.from_seq, last=self.to_seq
            )
        return "cli.bundle.imported", dict(
            name=name,
            added=self.added,
            station=station,
            first=self.from_seq,
            last=self.to_seq,
            already=self.already,
        )


def pending_dir(root: Path) -> Path:
    return root / "bundles" / "pending"


async def _merge(store: LogStore, bundle: Bundle, path: Path) -> ImportResult:
    """Merge a checked bundle through the store's own write transaction; or say what is missing."""
    merged = await store.merge_bundle(bundle, path.name)
    result = ImportResult(path, bundle.station_id, bundle.from_seq, bundle.to_seq)
    result.added, result.already, result.seals = merged.added, merged.already, merged.seals
    if merged.missing is not None:
        result.held, result.missing = True, merged.missing
    return result


async def import_bundles(
    log_db: Path,
    paths: list[Path],
    *,
    office_station_id: str,
    root: Path,
    retention_days: int | None = None,
    now: datetime | None = None,
) -> list[ImportResult]:
    """Import bundles into the office log; then retry held ones; then purge old personal data.

    A bundle that fails a check raises CheckpointError and changes nothing. Bundles that start after a
    gap are copied to `root/bundles/pending` and merged later, when the gap is filled.
    """
    try:
        store = await LogStore.open(log_db, office_station_id)
        async with store:
            check = enrolment_check(await store.enrolments())
            checked = [(path, read_bundle(path, check)) for path in paths]
            return await _import_checked(store, checked, root, retention_days, now, check)
    except sqlite3.Error as exc:
        # Each bundle merges in its own transaction and a second import is harmless: say so.
        if sqlite_trouble(exc) == "full":
            raise error("errors.bundle.disk_full", log=log_db) from exc
        raise CheckpointError(
            f"The log {log_db} could not be written ({exc}); import again "
            "(what was merged stays, and importing a bundle twice adds nothing)."
        ) from exc
    except OSError as exc:
        raise CheckpointError(describe_os_error(exc, pending_dir(root))) from exc


def enrolment_check(enrolments: dict[str, Enrolment]) -> EnrolmentCheck:
    """The check `read_bundle` runs before any work: the station is enrolled here with the bundle's key."""

    def check(station_id: str, public_key: Ed25519PublicKey, what: str) -> None:
        check_enrolled(enrolments.get(station_id), station_id, public_key, what)

    return check


async def _import_checked(
    store: LogStore,
    checked: list[tuple[Path, Bundle]],
    root: Path,
    retention_days: int | None,
    now: datetime | None,
    check: EnrolmentCheck,
) -> list[ImportResult]:
    results: list[ImportResult] = []
    for path, bundle in checked:
        result = await _merge(store, bundle, path)
        if result.held:
            folder = pending_dir(root)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{bundle.station_id}-{bundle.from_seq:09d}-{bundle.to_seq:09d}.bundle"
            if path.resolve() != target.resolve():
                shutil.copyfile(path, target)
        results.append(result)
    results.extend(await _retry_pending(store, root, check))
    if retention_days is not None:
        purged = await store.purge((now or utcnow()) - timedelta(days=retention_days))
        if results:
            results[-1].purged = purged
    return results


async def _retry_pending(store: LogStore, root: Path, check: EnrolmentCheck) -> list[ImportResult]:
    folder = pending_dir(root)
    done: list[ImportResult] = []
    progress = True
    while progress and folder.is_dir():
        progress = False
        for path in sorted(folder.glob("*.bundle")):
            try:
                bundle = read_bundle(path, check)
                result = await _merge(store, bundle, path)
            except CheckpointError:
                path.rename(path.with_suffix(".refused"))
                continue
            if not result.held:
                path.unlink()
                done.append(result)
                progress = True
    return done
