"""Exactly once, with faults: a real `checkpoint serve` on loopback, real station homes, a loopback proxy that
breaks the connection on purpose. After each fault the entry counts at both ends are checked: nothing lost,
nothing doubled, and nothing counts as delivered without a receipt."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoint.netsync import OfficeUnreachable, sync_once, waiting_entries
from checkpoint.paths import Home
from tests.netsync_support import (
    CHECKPOINT,
    DEADLINE,
    Proxy,
    Server,
    append,
    enrol,
    make_station,
    office_rows,
    settings_for,
    station_rows,
    wait_for,
)

ENTRIES = 400


@pytest.fixture
def office(office_home: Home) -> Home:
    office_home.config.write_text('[station]\nid = "office"\n', encoding="utf-8")
    return office_home


@pytest.fixture
def server(office: Home) -> Iterator[Server]:
    srv = Server(office).start()
    yield srv
    srv.stop()


@pytest.fixture
def north(tmp_path: Path, office: Home) -> Home:
    home = make_station(tmp_path, "north-gate", office)
    append(home, "north-gate", ENTRIES)
    enrol(office, home, "north-gate")
    return home


@pytest.fixture
def proxy(server: Server) -> Iterator[Proxy]:
    p = Proxy(server.port)
    yield p
    p.close()


def _bundle_size(north: Home) -> int:
    import asyncio

    from checkpoint.bundle import export_bundle
    from checkpoint.keys import load_or_create_station_key

    out = north.root / "size.bundle"
    key = load_or_create_station_key(north.station_key)
    asyncio.run(export_bundle(north.log_db, "north-gate", key, out, state_root=north.root / "x", seal=False))
    size = out.stat().st_size
    out.unlink()
    return size


def _exactly_once(office: Home, north: Home) -> None:
    assert office_rows(office, "north-gate") == station_rows(north, "north-gate")
    assert len(office_rows(office, "north-gate")) == ENTRIES
    assert waiting_entries(north, "north-gate", ENTRIES) == 0


def test_server_killed_in_the_middle_of_an_upload(
    office: Home, north: Home, server: Server, proxy: Proxy
) -> None:
    half = _bundle_size(north) // 2

    def kill_midway(sent: int) -> str | None:
        if sent < half:
            return None
        proxy.events.append("server-killed")
        server.kill()
        return "cut"

    proxy.on_request = kill_midway
    with pytest.raises(OfficeUnreachable) as cut:
        sync_once(north, settings_for(north, proxy.url))
    assert "server-killed" in proxy.events, cut.value.message
    assert office_rows(office, "north-gate") == []
    assert waiting_entries(north, "north-gate", ENTRIES) == ENTRIES
    again = Server(office).start()
    try:
        report = sync_once(north, settings_for(north, again.url))
        assert report.receipt is not None and (report.added, report.already) == (ENTRIES, 0)
        _exactly_once(office, north)
    finally:
        again.stop()


def test_connection_reset_after_the_office_committed(office: Home, north: Home, proxy: Proxy) -> None:
    proxy.drop_response = True
    with pytest.raises(OfficeUnreachable) as lost:
        sync_once(north, settings_for(north, proxy.url))
    assert "the entries stay here and are sent at the next sync" in lost.value.message
    assert "response-dropped" in proxy.events
    assert len(office_rows(office, "north-gate")) == ENTRIES  # the office has them …
    assert (
        waiting_entries(north, "north-gate", ENTRIES) == ENTRIES
    )  # … but without a receipt the station sends again
    proxy.drop_response = False
    report = sync_once(north, settings_for(north, proxy.url))
    assert report.receipt is not None and (report.added, report.already) == (0, ENTRIES)
    _exactly_once(office, north)


def test_a_slow_server_is_unreachable_and_then_nothing_is_doubled(
    office: Home, north: Home, proxy: Proxy
) -> None:
    proxy.hold_response = True
    with pytest.raises(OfficeUnreachable) as slow:
        sync_once(north, settings_for(north, proxy.url, timeout_seconds=1.0))
    assert "no answer in time" in slow.value.message
    proxy.hold_response = False
    proxy.released.set()
    wait_for(lambda: len(office_rows(office, "north-gate")) == ENTRIES, "the office to commit")
    report = sync_once(north, settings_for(north, proxy.url))
    assert report.receipt is not None and report.added == 0
    _exactly_once(office, north)


def test_a_slow_server_within_the_timeout_is_fine(office: Home, north: Home, proxy: Proxy) -> None:
    import threading

    proxy.hold_response = True

    def release_when_held() -> None:
        wait_for(lambda: "response-held" in proxy.events, "the proxy to hold an answer")
        proxy.hold_response = False
        proxy.released.set()

    threading.Thread(target=release_when_held, daemon=True).start()
    report = sync_once(north, settings_for(north, proxy.url, timeout_seconds=DEADLINE))
    assert report.receipt is not None and report.added == ENTRIES
    _exactly_once(office, north)


def test_station_killed_while_sending(office: Home, north: Home, server: Server, proxy: Proxy) -> None:
    third = _bundle_size(north) // 3
    proxy.on_request = lambda sent: "hold" if sent > third else None
    env = {**os.environ, "CHECKPOINT_SYNC__URL": proxy.url}
    station = subprocess.Popen([CHECKPOINT, "--home", str(north.root), "sync"], env=env)
    try:
        wait_for(lambda: "request-held" in proxy.events, "the station to be in the middle of sending")
        station.send_signal(signal.SIGKILL)
        station.wait(timeout=DEADLINE)
    finally:
        proxy.released.set()  # the proxy then drops both sides: the office sees the station vanish
    incoming = office.root / "netsync" / "incoming"
    wait_for(
        lambda: not incoming.exists() or not any(incoming.iterdir()), "the office to drop the half bundle"
    )
    assert office_rows(office, "north-gate") == []
    assert waiting_entries(north, "north-gate", ENTRIES) == ENTRIES
    report = sync_once(north, settings_for(north, server.url))
    assert report.receipt is not None and report.added == ENTRIES
    _exactly_once(office, north)


def test_a_request_in_flight_can_be_cut_when_the_station_quits(north: Home, proxy: Proxy) -> None:
    import threading

    from checkpoint.netsync import OfficeClient

    proxy.hold_response = True
    client = OfficeClient(proxy.url, timeout=DEADLINE)

    def quit_when_held() -> None:
        wait_for(lambda: "response-held" in proxy.events, "the office to be slow to answer")
        client.abort()

    threading.Thread(target=quit_when_held, daemon=True).start()
    with pytest.raises(OfficeUnreachable) as cut:
        sync_once(north, settings_for(north, proxy.url), client=client)
    assert "the connection was cut" in cut.value.message  # not "no answer in time": it did not wait
    proxy.released.set()
