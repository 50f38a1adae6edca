"""`checkpoint serve` with real stations: a real uvicorn server on loopback (a subprocess), real station homes,
real Ed25519 keys; what is pushed arrives once, what is refused is refused in one sentence and not stored."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from checkpoint.bundle import export_bundle
from checkpoint.cli.serve import certificate_fingerprint, plain_http_warning
from checkpoint.errors import CheckpointError
from checkpoint.keys import Keyring, load_or_create_station_key
from checkpoint.netsync import BUNDLE_PATH, REVOCATIONS_PATH, Answer, OfficeClient, auth_headers, sync_once
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.revocations import load_list
from checkpoint.store import LogStore
from checkpoint.timeutil import utcnow
from tests.conftest import request, run_cli
from tests.netsync_support import (
    Server,
    append,
    enrol,
    make_station,
    office_rows,
    office_seals,
    retire,
    settings_for,
    station_rows,
    wait_for,
)


@pytest.fixture
def server(office_home: Home) -> Iterator[Server]:
    office_home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    srv = Server(office_home, "--max-bundle-mb", "1").start()
    yield srv
    srv.stop()


@pytest.fixture
def north(tmp_path: Path, office_home: Home) -> Home:
    return make_station(tmp_path, "north-gate", office_home)


def _post(
    url: str, headers: dict[str, str], body: bytes, target: str = BUNDLE_PATH
) -> tuple[int, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_push_is_acknowledged_by_a_receipt_and_a_second_sync_sends_nothing(
    server: Server, office_home: Home, north: Home
) -> None:
    append(north, "north-gate", 7)
    enrol(office_home, north, "north-gate")
    settings = settings_for(north, server.url)
    report = sync_once(north, settings)
    assert report.receipt is not None and report.receipt.seq == 7
    assert (report.added, report.already) == (7, 0)
    assert office_rows(office_home, "north-gate") == station_rows(north, "north-gate")
    again = sync_once(north, settings)
    assert again.receipt is None and again.lines()[-1] == "Nothing new to send to the office."
    append(north, "north-gate", 3)
    third = sync_once(north, settings)
    assert third.receipt is not None and (third.sent_from, third.sent_to, third.added) == (8, 10, 3)
    assert office_rows(office_home, "north-gate") == station_rows(north, "north-gate")
    wait_for(
        lambda: len(server.log_lines()) == 8,
        "an access log line per request (3 trust, 3 revocations, 2 bundles)",
    )
    lines = [json.loads(line) for line in server.log_lines()]
    assert lines and all(set(line) >= {"time", "method", "path", "status", "ms", "station"} for line in lines)
    assert {line["station"] for line in lines} == {"north-gate"}
    assert not any("张三" in text for text in server.log_lines())  # no personal data in the access log


def test_cli_sync_without_a_folder_uses_sync_url(server: Server, office_home: Home, north: Home) -> None:
    append(north, "north-gate", 4)
    enrol(office_home, north, "north-gate")
    with north.config.open("a", encoding="utf-8") as handle:
        handle.write(f'[sync]\nurl = "{server.url}"\n')
    result = run_cli(north, "sync")
    assert result.exit_code == 0, result.output
    assert "Sent entries 1 to 4" in result.output and "receipt for entry 4 kept" in result.output
    assert len(office_rows(office_home, "north-gate")) == 4


def test_revocations_travel_down_and_an_up_to_date_station_downloads_nothing(
    server: Server, office_home: Home, north: Home, registry: Registry
) -> None:
    enrol(office_home, north, "north-gate")
    issued = registry.issue(
        request(valid_from=utcnow() - timedelta(days=1), valid_until=utcnow() + timedelta(days=9))
    )
    registry.revoke(issued.data.pass_id, "lost")
    registry.publish_revocations("Test township office", office_home.revocations)
    settings = settings_for(north, server.url)
    first = sync_once(north, settings)
    assert first.revocations is not None and first.revocations.is_revoked(issued.data.pass_id)
    trust = Keyring(office_home.office_keys, "Test township office").trust_list()
    assert load_list(north.revocations, trust).seq == first.revocations.seq
    second = sync_once(north, settings)
    assert second.revocations is None

    def statuses() -> list[int]:
        return [json.loads(line)["status"] for line in server.log_lines() if REVOCATIONS_PATH in line]

    wait_for(lambda: len(statuses()) == 2, "two access log lines")
    assert statuses() == [200, 204]


def test_unenrolled_station_is_refused_in_one_sentence_and_nothing_is_stored(
    server: Server, office_home: Home, north: Home
) -> None:
    append(north, "north-gate", 3)
    with pytest.raises(CheckpointError) as refused:
        sync_once(north, settings_for(north, server.url))
    assert refused.value.message == (
        "The office refused to send its trust file: Station north-gate is not enrolled at this office; "
        "confirm its fingerprint and run `checkpoint stations enrol FILE` with its enrolment request, then "
        "sync again."
    )
    assert office_rows(office_home, "north-gate") == []


def test_a_retired_station_is_refused_and_nothing_is_stored(
    server: Server, office_home: Home, north: Home
) -> None:
    append(north, "north-gate", 3)
    enrol(office_home, north, "north-gate")
    settings = settings_for(north, server.url)
    sync_once(north, settings)
    retire(office_home, "north-gate")
    append(north, "north-gate", 2)
    with pytest.raises(CheckpointError) as refused:
        sync_once(north, settings)
    assert "Station north-gate was retired at" in refused.value.message
    assert "(laptop stolen) and may no longer sync; enrol its replacement under a new station id." in (
        refused.value.message
    )
    assert len(office_rows(office_home, "north-gate")) == 3


def test_a_replayed_request_is_refused(server: Server, office_home: Home, north: Home) -> None:
    append(north, "north-gate", 2)
    enrol(office_home, north, "north-gate")
    sync_once(north, settings_for(north, server.url))  # makes a bundle file we can send by hand
    import asyncio

    from checkpoint.bundle import export_bundle  # the same bundle the client sends

    key = load_or_create_station_key(north.station_key)
    out = north.root / "again.bundle"
    asyncio.run(
        export_bundle(north.log_db, "north-gate", key, out, state_root=north.root, from_seq=1, seal=False)
    )
    headers = auth_headers(key, "north-gate", "POST", BUNDLE_PATH, utcnow())
    status, _ = _post(server.url, headers, out.read_bytes())
    assert status == 200
    status, body = _post(server.url, headers, out.read_bytes())
    assert (
        status == 401
        and body["error"] == "This request was already received once (a replay); nothing was done."
    )
    assert len(office_rows(office_home, "north-gate")) == 2


def test_oversized_body_is_refused_before_it_is_read(server: Server, office_home: Home, north: Home) -> None:
    enrol(office_home, north, "north-gate")
    key = load_or_create_station_key(north.station_key)
    big = b"x" * (1024 * 1024 + 1)
    status, body = _post(server.url, auth_headers(key, "north-gate", "POST", BUNDLE_PATH, utcnow()), big)
    assert status == 413 and "larger than this office accepts (1 MiB)" in body["error"]
    # without Content-Length (chunked): refused while it streams
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = auth_headers(key, "north-gate", "POST", BUNDLE_PATH, utcnow())
    conn.request(
        "POST", BUNDLE_PATH, body=iter([big[:600_000], big[600_000:]]), headers=headers, encode_chunked=True
    )
    response = conn.getresponse()
    assert response.status == 413
    conn.close()
    assert office_rows(office_home, "north-gate") == []
    assert not any((office_home.root / "netsync" / "incoming").iterdir())


def test_a_bundle_for_another_station_is_refused(
    server: Server, office_home: Home, north: Home, tmp_path: Path
) -> None:
    south = make_station(tmp_path, "south-gate", office_home)
    append(south, "south-gate", 2)
    enrol(office_home, north, "north-gate")
    enrol(office_home, south, "south-gate")
    south_key = load_or_create_station_key(south.station_key)
    out = tmp_path / "south.bundle"
    asyncio.run(export_bundle(south.log_db, "south-gate", south_key, out, state_root=south.root, seal=False))
    north_key = load_or_create_station_key(north.station_key)
    status, body = _post(
        server.url, auth_headers(north_key, "north-gate", "POST", BUNDLE_PATH, utcnow()), out.read_bytes()
    )
    assert status == 403
    assert body["error"] == (
        "Station north-gate sent a bundle of station south-gate; a station sends only its own log; "
        "nothing was imported."
    )
    assert office_rows(office_home, "south-gate") == []


def test_a_stale_request_is_refused(server: Server, office_home: Home, north: Home) -> None:
    enrol(office_home, north, "north-gate")
    key = load_or_create_station_key(north.station_key)
    stale = auth_headers(
        key, "north-gate", "GET", f"{REVOCATIONS_PATH}?have=0", utcnow() - timedelta(hours=1)
    )
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("GET", f"{REVOCATIONS_PATH}?have=0", headers=stale)
    response = conn.getresponse()
    assert response.status == 401 and "is stale" in json.loads(response.read())["error"]
    conn.close()


def test_https_with_a_pinned_certificate(office_home: Home, north: Home, tmp_path: Path) -> None:
    from tests.netsync_support import self_signed

    cert, key = self_signed(tmp_path)
    office_home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    srv = Server(office_home, "--tls-cert", str(cert), "--tls-key", str(key)).start()
    try:
        assert srv.url.startswith("https://")
        append(north, "north-gate", 2)
        enrol(office_home, north, "north-gate")
        good = settings_for(north, srv.url, tls_fingerprint=certificate_fingerprint(cert))
        assert sync_once(north, good).receipt is not None
        append(north, "north-gate", 1)
        wrong = settings_for(north, srv.url, tls_fingerprint="ab" * 32)
        with pytest.raises(CheckpointError) as refused:
            sync_once(north, wrong)
        assert "not the pinned sync.tls_fingerprint; nothing was sent" in refused.value.message
        assert len(office_rows(office_home, "north-gate")) == 2
    finally:
        srv.stop()


@pytest.mark.parametrize(
    ("host", "tls", "warned"),
    [("127.0.0.1", False, False), ("::1", False, False), ("localhost", False, False),
     ("0.0.0.0", False, True), ("192.168.1.10", False, True), ("192.168.1.10", True, False)],
)  # fmt: skip
def test_plain_http_off_loopback_is_warned(host: str, tls: bool, warned: bool) -> None:
    warning = plain_http_warning(host, tls)
    assert (warning is not None) == warned
    if warning:
        assert warning.startswith(f"Warning: serving plain HTTP on {host}:")


def test_serve_refuses_a_home_that_is_not_an_office(north: Home) -> None:
    result = run_cli(north, "serve", "--port", "0")
    assert result.exit_code == 2
    assert "is not an office home (no office keys)" in result.output


def test_a_handover_seal_travels_even_when_every_entry_has_a_receipt(
    server: Server, office_home: Home, north: Home
) -> None:
    append(north, "north-gate", 4)
    enrol(office_home, north, "north-gate")
    settings = settings_for(north, server.url)
    sync_once(north, settings)

    async def seal() -> None:
        store = await LogStore.open(north.log_db, "north-gate")
        async with store:
            await store.seal(load_or_create_station_key(north.station_key))

    asyncio.run(seal())
    assert sync_once(north, settings).receipt is None  # the interval's push: nothing new, no seal sent
    assert office_seals(office_home, "north-gate") == []
    report = sync_once(north, settings, seals=True)  # after a handover
    assert report.receipt is not None and (report.sent_from, report.sent_to, report.added) == (4, 4, 0)
    assert office_seals(office_home, "north-gate") == [4]


def test_a_station_log_rolled_back_after_a_receipt_is_refused_and_nothing_is_stored(
    server: Server, office_home: Home, north: Home
) -> None:
    append(north, "north-gate", 3)
    backup = north.root / "log-3.db"
    backup.write_bytes(north.log_db.read_bytes())
    append(north, "north-gate", 2)
    enrol(office_home, north, "north-gate")
    settings = settings_for(north, server.url)
    assert sync_once(north, settings).covered == 5
    for suffix in ("-wal", "-shm"):
        Path(f"{north.log_db}{suffix}").unlink(missing_ok=True)
    north.log_db.write_bytes(backup.read_bytes())  # the older copy, then other entries 4 to 6
    append(north, "north-gate", 3)
    with pytest.raises(CheckpointError) as refused:
        sync_once(north, settings)
    assert refused.value.message.startswith("The office refused the entries: The bundle "), (
        refused.value.message
    )
    assert len(office_rows(office_home, "north-gate")) == 5


def test_sync_without_a_folder_or_an_address_is_one_sentence(north: Home, office_home: Home) -> None:
    result = run_cli(north, "sync")
    assert result.exit_code == 2
    assert result.output.strip().endswith(
        "No office address is set; set sync.url (or CHECKPOINT_SYNC__URL), or give a folder: checkpoint sync DIR."
    )
    at_office = run_cli(office_home, "sync")
    assert at_office.exit_code == 2
    assert "This is the office's home: it serves stations with `checkpoint serve`" in at_office.output


def test_an_office_that_cannot_be_reached_is_one_sentence(north: Home) -> None:
    with north.config.open("a", encoding="utf-8") as handle:
        handle.write('[sync]\nurl = "http://127.0.0.1:9"\n')  # the discard port: nothing listens there
    result = run_cli(north, "sync")
    assert result.exit_code == 2
    assert (
        "The office at http://127.0.0.1:9 cannot be reached (connection refused); the entries stay here"
        in (result.output)
    )


def test_older_receipts_go_once_a_newer_one_covers_them_and_a_rollback_is_still_caught(
    server: Server, office_home: Home, north: Home
) -> None:
    enrol(office_home, north, "north-gate")
    settings = settings_for(north, server.url)
    append(north, "north-gate", 3)
    backup = north.root / "log-3.db"
    backup.write_bytes(north.log_db.read_bytes())
    for _ in range(3):
        append(north, "north-gate", 2)
        sync_once(north, settings)
    receipts = sorted(p.name for p in (north.root / "anchors" / "receipts").iterdir())
    assert len(receipts) == 1 and receipts[0].startswith("north-gate-000000009-")
    assert run_cli(north, "log", "verify").exit_code == 0
    for suffix in ("-wal", "-shm"):
        Path(f"{north.log_db}{suffix}").unlink(missing_ok=True)
    north.log_db.write_bytes(backup.read_bytes())  # an older copy of log.db
    result = run_cli(north, "log", "verify")
    assert result.exit_code != 0 and "TAMPERED" in result.output


def test_a_station_that_stops_sending_its_body_is_timed_out(office_home: Home, north: Home) -> None:
    import socket

    office_home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    srv = Server(office_home, "--read-timeout", "1").start()
    try:
        enrol(office_home, north, "north-gate")
        key = load_or_create_station_key(north.station_key)
        headers = auth_headers(key, "north-gate", "POST", BUNDLE_PATH, utcnow())
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        with socket.create_connection(("127.0.0.1", srv.port), timeout=60) as sock:
            sock.sendall(
                f"POST {BUNDLE_PATH} HTTP/1.1\r\nHost: office\r\n{head}Content-Length: 100000\r\n\r\n".encode()
                + b'{"format": "checkpoint-bundle/2", '
            )
            answer = b""  # the office answers without the rest of the body
            while not answer.endswith(b"}") and (piece := sock.recv(65536)):
                answer += piece
        assert answer.startswith(b"HTTP/1.1 408")
        assert "The station sent its bundle too slowly; nothing was imported." in answer.decode()
        assert office_rows(office_home, "north-gate") == []
        assert not any((office_home.root / "netsync" / "incoming").iterdir())
    finally:
        srv.stop()


class _NeverSends(OfficeClient):
    def request(self, *args: object, **kwargs: object) -> Answer:
        raise AssertionError("nothing may be sent")


def test_plain_http_to_another_machine_is_refused_before_anything_is_sent(north: Home) -> None:
    url = "http://192.0.2.10:8750"  # never contacted: the client here refuses to send
    append(north, "north-gate", 1)
    with pytest.raises(CheckpointError) as refused:
        sync_once(north, settings_for(north, url), client=_NeverSends(url))
    assert refused.value.message == (
        f"sync.url {url} is plain HTTP: names and temperatures would cross the network unencrypted; use "
        "https:// with sync.tls_fingerprint (docs/sync.md), or set sync.plain_http = true inside a VPN."
    )
    with pytest.raises(AssertionError, match="nothing may be sent"):  # allowed on purpose: it would send
        sync_once(north, settings_for(north, url, plain_http=True), client=_NeverSends(url))
