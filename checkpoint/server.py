"""The office's sync service for stations on a network (`checkpoint serve`): an ASGI app over the office home.

Endpoints (every one but /v1/health needs a request signed by an enrolled station, see `netsync`):

- `POST /v1/bundles`: a station's signed bundle (the same file `bundle export` writes). The size is checked
  from Content-Length before anything is read, and again while the body streams to a file; then the
  bundle goes through the same verification and merge as `bundle import`, into the office's store (log.db,
  or the county's PostgreSQL server: `sync.office_store`), and the answer is a receipt signed by the office
  key (station, seq, head hash, time).
- `GET /v1/revocations?have=N`: the office's current signed revocation list (published as `revocations
  export` does: a new number only when it changed), or 204 when the station already has number N or newer.
- `GET /v1/trust?have=HASH`: the office's trust file, or 204 when its SHA-256 is HASH.

The office's work is the folder sync's (`sync.OfficeSync`): the network is one more way to carry it.

The app is a plain Starlette application; uvicorn runs it (`checkpoint serve`). Neither is imported by
`import checkpoint`: only this module and the `serve` command import them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .bundle import ImportResult, read_bundle
from .errors import CheckpointError
from .keys import Keyring, key_id_of, verify_signature
from .netsync import (
    BUNDLE_PATH,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_STATION,
    HEADER_TIME,
    HEADER_VERSION,
    REVOCATIONS_PATH,
    TRUST_PATH,
    request_message,
)
from .passes import CHECKPOINT_ID
from .paths import Home
from .receipts import Receipt
from .revocations import parse_list
from .settings import Settings
from .store import Enrolment
from .sync import OfficeSync, office_store
from .text import clean
from .timeutil import to_epoch, utcnow

ACCESS_LOG = logging.getLogger("checkpoint.serve.access")
DEFAULT_MAX_BUNDLE = 64 * 1024 * 1024
DEFAULT_WINDOW = 300  # seconds a signed request stays valid either side of the office's clock
DEFAULT_READ_TIMEOUT = 30.0  # seconds the office waits for the next piece of a body
PURGE_EVERY = 3600.0  # seconds between retention purges (a purge with every bundle would be wasted work)
_NONCE = re.compile(r"[0-9a-f]{32}")
_HAVE = re.compile(r"[0-9a-f]{64}|[0-9]{1,18}")


class Refused(Exception):
    """A request refused with one sentence and an HTTP status."""

    def __init__(self, status: int, sentence: str, outcome: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence
        self.outcome = outcome


@dataclass
class Replays:
    """The nonces seen within the request window; a nonce seen again is a replay."""

    window: int
    seen: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def first_time(self, nonce: str, now: float) -> bool:
        while self.seen:
            oldest, at = next(iter(self.seen.items()))
            if at >= now - 2 * self.window:
                break
            del self.seen[oldest]
        if nonce in self.seen:
            return False
        self.seen[nonce] = now
        return True


class OfficeService:
    """What the app serves from: the office home, its settings, the one merge lock, the nonces seen."""

    def __init__(
        self,
        home: Home,
        settings: Settings,
        *,
        max_bundle_bytes: int = DEFAULT_MAX_BUNDLE,
        window: int = DEFAULT_WINDOW,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.home = home
        self.settings = settings
        self.max_bundle_bytes = max_bundle_bytes
        self.window = window
        self.read_timeout = read_timeout
        self.clock = clock
        self.keyring = Keyring(home.office_keys, settings.office.name)
        self.keyring.active()  # refuses now, with one sentence, a home that has no office key
        self.office = OfficeSync(
            home,
            settings.station.id,
            self.keyring,
            settings.office.name,
            store=office_store(home, settings),  # log.db, or the county's PostgreSQL server
        )
        self.merge_lock = asyncio.Lock()
        self.files_lock = asyncio.Lock()
        self.purged_at = -PURGE_EVERY
        self.replays = Replays(window)
        self.incoming = home.root / "netsync" / "incoming"
        for left in self.incoming.glob("*.bundle") if self.incoming.is_dir() else ():
            left.unlink(missing_ok=True)  # half a body from before a crash: never imported, never needed

    # ----------------------------------------------------------------------- who is asking

    async def enrolment(self, station_id: str) -> Enrolment | None:
        """The enrolment of `station_id` at this office (read without the writer), or None."""
        return await self.office.office_store.enrolment(station_id)

    async def authenticate(self, request: Request) -> str:
        """The station a signed request comes from. Raises Refused (nothing is read or stored then)."""
        headers = request.headers
        station_id = headers.get(HEADER_STATION, "")
        stamp = headers.get(HEADER_TIME, "")
        nonce = headers.get(HEADER_NONCE, "")
        if not station_id or not stamp or not nonce or not headers.get(HEADER_SIGNATURE):
            raise Refused(401, "This request is not signed by a station; use `checkpoint sync`.", "unsigned")
        if not CHECKPOINT_ID.fullmatch(station_id) or "\n" in station_id:
            raise Refused(400, "The request names no valid station id.", "bad-station")
        if not stamp.isdigit() or len(stamp) > 12 or not _NONCE.fullmatch(nonce):
            raise Refused(400, "The request's signature fields are damaged.", "bad-auth")
        try:
            signature = base64.b64decode(headers[HEADER_SIGNATURE], validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, "The request's signature is not base64 text.", "bad-auth") from None
        now = self.clock()
        if abs(to_epoch(now) - int(stamp)) > self.window:
            raise Refused(
                401,
                f"The request from station {station_id} is stale: its clock differs from the office's by more "
                f"than {self.window} s; set the station's clock and sync again.",
                "stale",
            )
        request.scope.setdefault("state", {})["station"] = station_id
        enrolment = await self.enrolment(station_id)
        if enrolment is None:
            raise Refused(
                403,
                f"Station {station_id} is not enrolled at this office; confirm its fingerprint and run "
                "`checkpoint stations enrol FILE` with its enrolment request, then sync again.",
                "unenrolled",
            )
        if enrolment.retired_at is not None:
            raise Refused(
                403,
                f"Station {station_id} was retired at {enrolment.retired_at.isoformat(timespec='seconds')} "
                f"({clean(enrolment.retire_reason or 'no reason given', limit=100)}) and may no longer sync; "
                "enrol its replacement under a new station id.",
                "retired",
            )
        key = enrolment.public_key
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = request_message(request.method, target, station_id, int(stamp), nonce)
        if not verify_signature(key, signature, message):
            raise Refused(
                403,
                f"The request is not signed by the key enrolled for station {station_id} "
                f"({key_id_of(key)}); nothing was done.",
                "bad-signature",
            )
        if not self.replays.first_time(nonce, time.monotonic()):
            raise Refused(
                401, "This request was already received once (a replay); nothing was done.", "replay"
            )
        return station_id

    # ----------------------------------------------------------------------- bundles

    async def receive_bundle(self, request: Request) -> Response:
        station_id = await self.authenticate(request)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bundle_bytes):
            raise Refused(413, self._too_large(), "too-large")
        self.incoming.mkdir(parents=True, exist_ok=True)
        path = self.incoming / f"{station_id}-{secrets.token_hex(8)}.bundle"
        try:
            await self._receive_to(request, path)
            named = await asyncio.to_thread(bundle_station, path)
            if named != station_id:
                raise Refused(
                    403,
                    f"Station {station_id} sent a bundle of station {clean(named)}; a station sends only its "
                    "own log; nothing was imported.",
                    "other-station",
                )
            async with self.merge_lock:
                results, receipt = await asyncio.to_thread(self._take, path)
        finally:
            path.unlink(missing_ok=True)
        result = results[0]
        request.scope.setdefault("state", {})["entries"] = result.added
        if result.held or receipt is None:
            missing = result.missing or (1, 1)
            return JSONResponse(
                {"held": True, "missing_from": missing[0], "sentence": clean(result.sentence())}, 202
            )
        return JSONResponse(
            {"receipt": json.loads(receipt.to_bytes()), "added": result.added, "already": result.already}
        )

    def _take(self, path: Path) -> tuple[list[ImportResult], Receipt | None]:
        """The folder sync's office step for one bundle (in a thread: parsing and hashing are CPU work)."""
        due = time.monotonic() - self.purged_at >= PURGE_EVERY
        self.office.retention_days = self.settings.log.retention_days if due else None
        taken = asyncio.run(self.office.take_bundle(path))
        if due:
            self.purged_at = time.monotonic()
        return taken

    def _too_large(self) -> str:
        return (
            f"The bundle is larger than this office accepts ({self.max_bundle_bytes // (1024 * 1024)} MiB); "
            "sync more often, or raise `checkpoint serve --max-bundle-mb`; nothing was imported."
        )

    async def _receive_to(self, request: Request, path: Path) -> None:
        """Stream the body to `path`, refusing it as soon as it passes the cap; each piece within the timeout."""
        size = 0
        stream = request.stream().__aiter__()
        with path.open("wb") as handle:
            while True:
                try:
                    async with asyncio.timeout(self.read_timeout):
                        chunk = await stream.__anext__()
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise Refused(
                        408, "The station sent its bundle too slowly; nothing was imported.", "slow"
                    ) from None
                size += len(chunk)
                if size > self.max_bundle_bytes:
                    raise Refused(413, self._too_large(), "too-large")
                handle.write(chunk)

    # ----------------------------------------------------------------------- downloads

    async def revocations(self, request: Request) -> Response:
        await self.authenticate(request)
        async with self.files_lock:
            data = await asyncio.to_thread(self._revocations)
        seq = parse_list(json.loads(data), "the office's revocation list").seq
        have = _have(request)
        if have is not None and have.isdigit() and int(have) >= seq:
            return Response(status_code=204, headers={HEADER_VERSION: str(seq)})
        request.scope.setdefault("state", {})["version"] = seq
        return Response(data, media_type="application/json", headers={HEADER_VERSION: str(seq)})

    def _revocations(self) -> bytes:
        """The current signed list as the office publishes it (a new number only when it changed)."""
        self.office.revocation_list()
        return self.home.revocations.read_bytes()

    def _trust(self) -> bytes:
        path = self.home.root / "netsync" / "trust.json"
        self.office.write_trust_file(path)
        return path.read_bytes()

    async def trust(self, request: Request) -> Response:
        await self.authenticate(request)
        async with self.files_lock:
            data = await asyncio.to_thread(self._trust)
        digest = hashlib.sha256(data).hexdigest()
        if _have(request) == digest:
            return Response(status_code=204, headers={HEADER_VERSION: digest})
        return Response(data, media_type="application/json", headers={HEADER_VERSION: digest})


class _Named(Exception):
    def __init__(self, station_id: str) -> None:
        super().__init__(station_id)
        self.station_id = station_id


def bundle_station(path: Path) -> str:
    """The station a bundle file names, read before its signature and entries are checked (no other work)."""

    def stop(station_id: str, public_key: Ed25519PublicKey, what: str) -> None:
        raise _Named(station_id)

    try:
        read_bundle(path, stop)
    except _Named as named:
        return named.station_id
    raise CheckpointError("The bundle names no station; nothing was imported.")


def _have(request: Request) -> str | None:
    have = request.query_params.get("have")
    if have is None:
        return None
    if not _HAVE.fullmatch(have):
        raise Refused(400, "The request's have= is neither a list number nor a hash.", "bad-query")
    return have


def _endpoint(
    service: OfficeService, method: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await method(request)
        except Refused as refused:
            request.scope.setdefault("state", {})["outcome"] = refused.outcome
            return JSONResponse({"error": refused.sentence}, refused.status)
        except CheckpointError as exc:
            request.scope.setdefault("state", {})["outcome"] = "refused"
            return JSONResponse({"error": clean(exc.message)}, 422)
        except ClientDisconnect:
            request.scope.setdefault("state", {})["outcome"] = "client-gone"
            return Response(status_code=400)

    return endpoint


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


class AccessLog:
    """One JSON line per request: time, method, path, status, bytes, milliseconds, station, outcome.

    No query strings, addresses or bodies: nothing personal reaches the log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        seen = {"status": 0, "bytes": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = int(message["status"])
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            line = {
                "time": utcnow().isoformat(timespec="milliseconds"),
                "method": scope.get("method", ""),
                "path": clean(str(scope.get("path", "")), limit=80),
                "status": seen["status"],
                "bytes": seen["bytes"],
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "station": state.get("station"),
                "outcome": state.get("outcome", "ok" if seen["status"] < 400 else "error"),
            }
            if "entries" in state:
                line["entries"] = state["entries"]
            ACCESS_LOG.info(json.dumps(line, ensure_ascii=False))


def create_app(service: OfficeService) -> ASGIApp:
    """The ASGI application for `service` (shared by `checkpoint serve` and the tests)."""
    app = Starlette(
        routes=[
            Route(BUNDLE_PATH, _endpoint(service, service.receive_bundle), methods=["POST"]),
            Route(REVOCATIONS_PATH, _endpoint(service, service.revocations), methods=["GET"]),
            Route(TRUST_PATH, _endpoint(service, service.trust), methods=["GET"]),
            Route("/v1/health", health, methods=["GET"]),
        ]
    )
    return AccessLog(app)
