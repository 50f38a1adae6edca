"""Live sync with the office over the network: the station's side (and the request format both sides share).

The network carries what the sync folder carries, nothing more: the station's new entries and seals as a
signed bundle up, a signed receipt back; the office's signed trust file and revocation list down. One
exchange (`sync_once`) is:

1. pull the trust file, then the revocation list (a list may be signed by a key the new trust file brings),
   each only when the office has a newer one than this home (`?have=` the hash or number this home has; an
   up-to-date station downloads nothing), each through the same verified import as a file from the sync
   folder;
2. push the entries after the last receipt (and, at a handover, the seals) as a bundle; the office merges it
   with the same service as `bundle import` and answers with a receipt signed by its key.

**Exactly once.** An entry counts as delivered only when a receipt covering it has been verified and kept.
Until then it is sent again (from the entry after the last receipt), and the office, which compares hashes
at the overlap, adds nothing it already has. So a dropped connection, a server killed in the middle, or a
station killed while sending loses nothing and doubles nothing.

**Authentication.** Every request carries the station id, the time, a random nonce and the request line,
signed with the station's Ed25519 key (the key the office enrolled). The office refuses an unknown or
retired station, a stale time and a nonce it has seen (a replay). With HTTPS the station pins the office
certificate's SHA-256 (`sync.tls_fingerprint`) instead of trusting certificate authorities.

This module uses the standard library's `http.client` (no extra dependency, blocking): callers run
`sync_once` in a thread (the station screen's worker) or from the command line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.client
import ipaddress
import json
import os
import re
import secrets
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .bundle import ExportResult, export_bundle
from .errors import CheckpointError
from .fsutil import atomic_write
from .keys import TrustList, load_or_create_station_key, load_trust
from .paths import Home
from .receipts import Receipt, anchors_dir, check_receipt, keep_receipt, parse_receipt, receipted_seq
from .revocations import RevocationList, import_list, load_list
from .settings import Settings
from .store import hash_at
from .sync import take_trust_file
from .text import clean
from .timeutil import to_epoch, utcnow

PROTOCOL = "checkpoint-request/1"
HEADER_STATION = "x-checkpoint-station"
HEADER_TIME = "x-checkpoint-time"
HEADER_NONCE = "x-checkpoint-nonce"
HEADER_SIGNATURE = "x-checkpoint-signature"
HEADER_VERSION = "x-checkpoint-version"  # the number (or hash) of a served trust file / revocation list
BUNDLE_PATH = "/v1/bundles"
TRUST_PATH = "/v1/trust"
REVOCATIONS_PATH = "/v1/revocations"
MAX_RESPONSE = 64 * 1024 * 1024  # a revocation list of 200,000 passes is about 20 MB
_CHUNK = 256 * 1024


# ------------------------------------------------------------------------------- the signed request


def request_message(method: str, target: str, station_id: str, timestamp: int, nonce: str) -> bytes:
    """What a station signs for one request: the protocol, the request line, who, when, and a nonce."""
    return "\n".join((PROTOCOL, method.upper(), target, station_id, str(timestamp), nonce)).encode()


def auth_headers(
    key: Ed25519PrivateKey, station_id: str, method: str, target: str, now: datetime
) -> dict[str, str]:
    """The headers that authenticate one request (`target` is the path with its query, as sent)."""
    timestamp = to_epoch(now)
    nonce = secrets.token_hex(16)
    signature = key.sign(request_message(method, target, station_id, timestamp, nonce))
    return {
        HEADER_STATION: station_id,
        HEADER_TIME: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: base64.b64encode(signature).decode(),
    }


# ------------------------------------------------------------------------------------ the receipt


def read_answer_receipt(data: object, trust: TrustList, station_id: str) -> Receipt:
    """The receipt in the office's answer, checked as a receipt file from the folder is.
    Raises CheckpointError: then nothing counts as delivered."""
    source = "the office's receipt"
    if not isinstance(data, dict):
        raise CheckpointError("The office's answer holds no receipt; nothing was marked as delivered.")
    receipt = parse_receipt(json.dumps(data).encode(), source)
    if receipt.station_id != station_id:
        raise CheckpointError(f"The office's receipt is for station {receipt.station_id}, not this one.")
    check_receipt(receipt, trust, source)
    return receipt


# ------------------------------------------------------------------------------------- transport


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class OfficeUnreachable(CheckpointError):
    """The office did not answer (no route, refused, reset, timed out): try again later; nothing is lost."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def refusal(self) -> str:
        """The office's one sentence for a refusal (cleaned: it came over the network)."""
        data = self.json()
        text = data.get("error") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text:
            text = f"the office answered HTTP {self.status}"
        return clean(text, limit=400)


class OfficeClient:
    """One HTTP(S) request at a time to `sync.url`, with the certificate pinned when a fingerprint is set."""

    def __init__(self, url: str, *, fingerprint: str = "", timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckpointError(f"sync.url {url!r} is not an http:// or https:// address.")
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.fingerprint = fingerprint
        self.timeout = timeout
        self._open: http.client.HTTPConnection | None = None

    def abort(self) -> None:
        """Cut the request in flight, from another thread (a station quitting does not wait for the office)."""
        conn = self._open
        if conn is not None and conn.sock is not None:
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_RDWR)

    def _connect(self) -> http.client.HTTPConnection:
        if not self.https:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.connect()
            return conn
        if self.fingerprint:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the pin below replaces the CA check
        else:
            context = ssl.create_default_context()
        tls = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
        tls.connect()
        if self.fingerprint:
            sock = tls.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
            seen = hashlib.sha256(der or b"").hexdigest()
            if seen != self.fingerprint:
                tls.close()
                raise CheckpointError(
                    f"The office at {self.url} showed a certificate with fingerprint {seen[:16]}…, not the "
                    "pinned sync.tls_fingerprint; nothing was sent (ask the office for its fingerprint)."
                )
        return tls

    def request(self, method: str, target: str, headers: dict[str, str], body: Path | None = None) -> Answer:
        """Send one request and read the whole answer (capped). Raises OfficeUnreachable on network trouble."""
        try:
            conn = self._connect()
            self._open = conn
            try:
                if body is None:
                    conn.request(method, target, headers=headers)
                else:
                    size = body.stat().st_size
                    with body.open("rb") as handle:
                        conn.putrequest(method, target)
                        for name, value in {
                            **headers,
                            "Content-Type": "application/json",
                            "Content-Length": str(size),
                        }.items():
                            conn.putheader(name, value)
                        conn.endheaders()
                        while chunk := handle.read(_CHUNK):
                            conn.send(chunk)
                response = conn.getresponse()
                data = response.read(MAX_RESPONSE + 1)
                if len(data) > MAX_RESPONSE:
                    raise CheckpointError(f"The office at {self.url} sent an answer too large to be ours.")
                return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
            finally:
                self._open = None
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            raise OfficeUnreachable(
                f"The office at {self.url} cannot be reached ({_why(exc)}); the entries stay here and are "
                "sent at the next sync."
            ) from exc


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return "the connection was cut"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    return clean(str(exc) or type(exc).__name__, limit=120)


# ------------------------------------------------------------------------------------ the exchange


def sync_dir(home: Home) -> Path:
    """Where the station keeps its network sync state (the last receipt, the bundle being sent)."""
    return home.root / "netsync"


@dataclass
class NetSyncReport:
    """What one exchange did."""

    url: str
    sent_from: int = 0
    sent_to: int = 0
    added: int = 0
    already: int = 0
    receipt: Receipt | None = None
    revocations: RevocationList | None = None  # the new list, when one was imported
    trust: str | None = None  # what taking the office's trust file did, when it had a new one
    covered: int = 0  # the newest entry a receipt this station keeps covers, after the exchange
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.revocations is not None:
            out.append(
                f"Imported revocation list number {self.revocations.seq} "
                f"({len(self.revocations.entries)} revoked pass(es)) from the office."
            )
        if self.trust is not None:
            out.append(self.trust)
        if self.receipt is None:
            out.append("Nothing new to send to the office.")
        else:
            out.append(
                f"Sent entries {self.sent_from} to {self.sent_to} to {self.url}: {self.added} new at the office, "
                f"{self.already} it already had; receipt for entry {self.receipt.seq} kept."
            )
        return [*out, *self.notes]


def sync_once(
    home: Home,
    settings: Settings,
    *,
    seals: bool = False,
    now: datetime | None = None,
    client: OfficeClient | None = None,
) -> NetSyncReport:
    """Pull what the office has newer, then push what the office has not acknowledged. Raises CheckpointError.

    `seals` resends the newest entry even when everything was acknowledged, so that a seal made at a
    handover reaches the office at once. Blocking: run it in a thread from an event loop.
    """
    sync = settings.sync
    if not sync.url:
        raise CheckpointError(
            "No office address is set; set sync.url (or CHECKPOINT_SYNC__URL), or give a folder: checkpoint sync DIR."
        )
    office = client or OfficeClient(sync.url, fingerprint=sync.tls_fingerprint, timeout=sync.timeout_seconds)
    if not office.https and not is_loopback(office.host) and not sync.plain_http:
        raise CheckpointError(
            f"sync.url {sync.url} is plain HTTP: names and temperatures would cross the network unencrypted; "
            "use https:// with sync.tls_fingerprint (docs/sync.md), or set sync.plain_http = true inside a VPN."
        )
    station_id = settings.station.id
    key = load_or_create_station_key(home.station_key)
    report = NetSyncReport(url=sync.url)
    trust = load_trust(home.trust)
    if not trust.keys:
        raise CheckpointError("This home trusts no office key; import the office's trust file first.")

    def call(method: str, target: str, body: Path | None = None) -> Answer:
        return office.request(
            method, target, auth_headers(key, station_id, method, target, now or utcnow()), body
        )

    report.trust = _pull_trust(home, call)
    trust = load_trust(home.trust)
    report.revocations = _pull_revocations(home, trust, call, settings.station.id)
    _push(home, settings, key, trust, call, report, seals=seals, now=now)
    return report


def _download(home: Home, call: Any, target: str, what: str) -> Path | None:
    """GET `target` into a temporary file (None when the office has nothing newer: 204)."""
    answer: Answer = call("GET", target)
    if answer.status in (204, 304):
        return None
    if answer.status != 200:
        raise CheckpointError(f"The office refused to send its {what}: {answer.refusal()}")
    folder = sync_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".json", delete=False) as handle:
        handle.write(answer.body)
    return Path(handle.name)


def _pull_trust(home: Home, call: Any) -> str | None:
    have = hashlib.sha256(home.trust.read_bytes()).hexdigest() if home.trust.exists() else ""
    temp = _download(home, call, f"{TRUST_PATH}?have={have}" if have else TRUST_PATH, "trust file")
    if temp is None:
        return None
    try:
        return take_trust_file(home, temp)  # the same rule as the sync folder's trust file
    finally:
        temp.unlink(missing_ok=True)


def _pull_revocations(home: Home, trust: TrustList, call: Any, station_id: str) -> RevocationList | None:
    have = load_list(home.revocations, trust).seq
    temp = _download(home, call, f"{REVOCATIONS_PATH}?have={have}", "revocation list")
    if temp is None:
        return None
    try:
        old, new = import_list(  # the same verified path as a file, anchored in the log
            temp, home.revocations, trust, log_db=home.log_db, station_id=station_id
        )
    finally:
        temp.unlink(missing_ok=True)
    return None if new.seq == old.seq else new


def _push(
    home: Home,
    settings: Settings,
    key: Ed25519PrivateKey,
    trust: TrustList,
    call: Any,
    report: NetSyncReport,
    *,
    seals: bool,
    now: datetime | None,
) -> None:
    station_id = settings.station.id
    covered = receipted_seq(home.root, station_id, trust)
    report.covered = covered
    start = covered + 1
    resend = folder_resend(home)
    if resend is not None:
        start = min(start, resend)
    folder = sync_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    outgoing = folder / f"outgoing-{os.getpid()}.bundle"

    def export(from_seq: int) -> ExportResult | None:
        if not home.log_db.exists():
            return None
        return asyncio.run(
            export_bundle(
                home.log_db,
                station_id,
                key,
                outgoing,
                state_root=folder,
                from_seq=from_seq,
                station_name=settings.station.name,
                now=now,
                seal=False,  # the seals the station made at its handovers travel; no new one each time
            )
        )

    try:
        exported = export(start)
        if exported is None and seals and start > 1:
            exported = export(start - 1)  # the newest entry again, so that a new seal travels with it
        if exported is None:
            return
        report.sent_from, report.sent_to = exported.from_seq, exported.to_seq
        answer: Answer = call("POST", BUNDLE_PATH, outgoing)
    finally:
        outgoing.unlink(missing_ok=True)
    if answer.status == 202:
        data = answer.json()
        report.notes.append(
            "The office holds this bundle until the entries before it arrive; they are sent next time."
        )
        missing = data.get("missing_from") if isinstance(data, dict) else None
        if isinstance(missing, int) and 1 <= missing < start:  # the office has less than a receipt said
            atomic_write(sync_dir(home) / "resend-from", f"{missing}\n".encode())
        return
    if answer.status != 200:
        raise CheckpointError(f"The office refused the entries: {answer.refusal()}")
    data = answer.json()
    got = read_answer_receipt(data.get("receipt") if isinstance(data, dict) else None, trust, station_id)
    kept = keep_receipt(home.root, got)  # an anchor, as a receipt from the sync folder is
    if hash_at(home.log_db, station_id, got.seq) != got.head_hash:
        raise CheckpointError(
            f"The office holds entry {got.seq} of this station with a hash this log does not have: the log was "
            f"cut or rolled back after it was sent (the receipt is kept as {kept.name}); run "
            "`checkpoint log verify` and tell the office."
        )
    prune_receipts(home, station_id, got.seq)
    if got.seq < exported.to_seq:
        report.notes.append(
            f"The office holds entries up to {got.seq} only; the rest is sent again at the next sync."
        )
        if got.seq < start - 1:
            atomic_write(sync_dir(home) / "resend-from", f"{got.seq + 1}\n".encode())
        return
    (sync_dir(home) / "resend-from").unlink(missing_ok=True)
    report.receipt = got
    report.covered = got.seq
    if isinstance(data, dict):
        report.added = int(data.get("added", 0))
        report.already = int(data.get("already", 0))


_RECEIPT_NAME = re.compile(
    r"(?P<station>[A-Za-z0-9][A-Za-z0-9_.-]{0,23})-(?P<seq>\d{9})-[0-9a-f]{12}\.receipt"
)


def prune_receipts(home: Home, station_id: str, newest: int) -> int:
    """Remove this station's receipts older than the one at `newest`, which the log was just checked against.

    A receipt anchors the chain up to its entry, so the newest one covers every entry an older one does
    (`log verify` checks the chain links below it); a push every interval would otherwise leave one file
    per exchange, each read and verified at every sync and every `log verify`. Returns how many went.
    """
    removed = 0
    for path in (anchors_dir(home.root) / "receipts").glob(f"{station_id}-*.receipt"):
        match = _RECEIPT_NAME.fullmatch(path.name)
        if match is not None and match["station"] == station_id and int(match["seq"]) < newest:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def folder_resend(home: Home) -> int | None:
    """The entry to send from when the office said it holds less than its last receipt (a restored office)."""
    try:
        return int((sync_dir(home) / "resend-from").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def waiting_entries(home: Home, station_id: str, head_seq: int) -> int:
    """How many of this station's entries (up to `head_seq`) no receipt covers yet."""
    return max(head_seq - receipted_seq(home.root, station_id, load_trust(home.trust)), 0)


@dataclass(frozen=True)
class OfficeLink:
    """How the station's link to the office stands, for its status line: when it last synced, since when it
    fails (unreachable, or refused with `problem`), and up to which entry receipts cover the log."""

    synced_at: datetime | None = None
    down_since: datetime | None = None
    refused: bool = False
    problem: str = ""
    covered: int = 0

    def synced(self, at: datetime, report: NetSyncReport) -> OfficeLink:
        return OfficeLink(synced_at=at, covered=report.covered)

    def failed(self, at: datetime, error: CheckpointError) -> OfficeLink:
        """After a failed exchange: the first failure's time is kept while the failures go on."""
        return OfficeLink(
            synced_at=self.synced_at,
            down_since=self.down_since or at,
            refused=not isinstance(error, OfficeUnreachable),
            problem=error.message,
            covered=self.covered,
        )

    def waiting(self, head_seq: int) -> int:
        return max(head_seq - self.covered, 0)
