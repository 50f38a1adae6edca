"""What the network sync tests share: a real `checkpoint serve` in a subprocess, station homes with real
entries, a loopback TCP proxy that injects faults, and the entry counts at both ends."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from checkpoint import stations
from checkpoint.keys import load_or_create_station_key
from checkpoint.paths import Home
from checkpoint.settings import Settings, SyncSettings, load_settings
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow
from tests.test_audit_data import draft

CHECKPOINT = str(Path(sys.executable).parent / "checkpoint")
DEADLINE = 60.0  # a safety net for conditions we wait for, never a timing


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


class Server:
    """`checkpoint serve` on 127.0.0.1 (a free port) in a subprocess, over `office`."""

    def __init__(self, office: Home, *args: str) -> None:
        self.office = office
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.access = office.root / f"access-{os.getpid()}-{time.monotonic_ns()}.log"

    def start(self) -> Server:
        self.stderr = self.office.root / f"serve-{time.monotonic_ns()}.err"
        env = {**os.environ, "CHECKPOINT_HOME": str(self.office.root)}
        with self.access.open("ab") as out, self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [CHECKPOINT, "--home", str(self.office.root), "serve", "--port", "0", *self.args],
                stdout=out,
                stderr=err,
                env=env,
            )
        found: list[str] = []

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"serve stopped: {self.stderr.read_text()}")
            match = re.search(r"listening on (https?://127\.0\.0\.1:\d+)", self.stderr.read_text())
            if match:
                found.append(match.group(1))
            return bool(found)

        wait_for(listening, "the server to listen")
        self.url = found[0]
        return self

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=DEADLINE)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_lines(self) -> list[str]:
        return self.access.read_text(encoding="utf-8").splitlines() if self.access.exists() else []


def make_station(root: Path, station_id: str, office: Home) -> Home:
    home = Home(root / station_id).ensure()
    home.trust.write_bytes(office.trust.read_bytes())
    home.config.write_text(f'[station]\nid = "{station_id}"\nname = "{station_id} gate"\n', encoding="utf-8")
    load_or_create_station_key(home.station_key)
    return home


def append(home: Home, station_id: str, n: int) -> None:
    async def run() -> None:
        store = await LogStore.open(home.log_db, station_id)
        async with store:
            for i in range(n):
                await store.append(
                    draft("in" if i % 2 == 0 else "out", holder="张三", temperatures=(365,)),
                    now=utcnow() - timedelta(seconds=n - i),
                )

    asyncio.run(run())


def enrol(office: Home, station: Home, station_id: str) -> None:
    """Enrol `station`'s key at `office` (as `stations enrol` does after a person confirmed it)."""
    key = load_or_create_station_key(station.station_key).public_key()

    async def run() -> None:
        store = await LogStore.open(office.log_db, "office")
        async with store:
            await store.enrol_station(station_id, key, f"{station_id} gate", now=utcnow())

    asyncio.run(run())


def retire(office: Home, station_id: str) -> None:
    async def run() -> None:
        store = await LogStore.open(office.log_db, "office")
        async with store:
            await stations.retire(store, station_id, "laptop stolen")

    asyncio.run(run())


def settings_for(home: Home, url: str, **sync: object) -> Settings:
    settings = load_settings(home.config)
    return settings.model_copy(update={"sync": SyncSettings(url=url, **sync)})  # type: ignore[arg-type]


def office_rows(office: Home, station_id: str) -> list[tuple[int, str]]:
    if not office.log_db.exists():
        return []
    conn = sqlite3.connect(office.log_db)
    try:
        return conn.execute(
            "SELECT seq, hash FROM entries WHERE station_id = ? ORDER BY seq", (station_id,)
        ).fetchall()
    finally:
        conn.close()


def office_seals(office: Home, station_id: str) -> list[int]:
    conn = sqlite3.connect(office.log_db)
    try:
        return [
            r[0]
            for r in conn.execute("SELECT seq FROM seals WHERE station_id = ? ORDER BY seq", (station_id,))
        ]
    finally:
        conn.close()


def station_rows(home: Home, station_id: str) -> list[tuple[int, str]]:
    return office_rows(home, station_id)


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a server, that can misbehave on purpose.

    `on_request(n)` is called with the bytes of the request forwarded so far and may return "cut" (reset the
    station's connection and stop), "hold" (stop forwarding, keep both sides open until released) or None.
    `drop_response` resets the station's connection as soon as the server starts answering a POST (the server
    has committed by then; the station never hears). `hold_response` keeps that answer until `released`.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.on_request: Callable[[int], str | None] = lambda n: None
        self.drop_response = False  # only answers to a POST (the bundle): the downloads pass
        self.hold_response = False
        self.released = threading.Event()
        self.events: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop = True
        self.released.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        """Reset the connection now (another thread may be blocked reading it: shut it down first)."""
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.close()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        except OSError:
            self._reset(client)
            return
        done = threading.Event()
        head = bytearray()

        def down() -> None:
            while True:
                try:
                    data = upstream.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    break
                posted = head.startswith(b"POST")
                if self.drop_response and posted:
                    self.events.append("response-dropped")
                    self._reset(client)
                    break
                if self.hold_response and posted:
                    self.events.append("response-held")
                    self.released.wait(DEADLINE)
                try:
                    client.sendall(data)
                except OSError:
                    break
            done.set()
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

        threading.Thread(target=down, daemon=True).start()
        sent = 0
        while not done.is_set():
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            sent += len(data)
            if len(head) < 8:
                head.extend(data[:8])
            verdict = self.on_request(sent)
            if verdict == "cut":
                self.events.append("request-cut")
                self._reset(client)
                self._reset(upstream)
                return
            if verdict == "hold":
                self.events.append("request-held")
                self.released.wait(DEADLINE)
                self._reset(upstream)
                self._reset(client)
                return
            try:
                upstream.sendall(data)
            except OSError:
                break
        done.wait(DEADLINE)
        upstream.close()
        client.close()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files), made with `cryptography`."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "checkpoint office")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "office.crt", folder / "office.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
