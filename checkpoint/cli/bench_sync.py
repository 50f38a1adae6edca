"""`checkpoint bench sync`: many stations pushing to `checkpoint serve` at once, beside `bundle import` of the
same bundles from files; and how long a revocation takes to reach a syncing station."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..paths import Home
from .context import say

if TYPE_CHECKING:
    from ..registry import Registry
    from ..settings import Settings


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class _Station:
    station_id: str
    bundle: Path
    entries: int
    head_hash: str


class _Server:
    """`checkpoint serve` over `home` in a subprocess on 127.0.0.1 (a free port)."""

    def __init__(self, home: Path, log: Path, *, nice: int = 0) -> None:
        self.err = log.with_suffix(".err")
        with log.open("wb") as out, self.err.open("wb") as err:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-c", "from checkpoint.cli import main; main()", "--home", str(home)),
                    *("serve", "--port", "0", "--max-bundle-mb", "256"),
                ],
                stdout=out,
                stderr=err,
                env={**os.environ, "CHECKPOINT_HOME": str(home)},
            )
        if nice:
            os.setpriority(os.PRIO_PROCESS, self.proc.pid, nice)
        deadline = time.monotonic() + 120
        while True:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.err.read_text())
            if found:
                self.url = found.group(1)
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(f"checkpoint serve did not start: {self.err.read_text()[-400:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _office(root: Path, name: str) -> Path:
    from ..keys import Keyring, save_trust
    from ..paths import Home

    home = Home(root / name).ensure()
    home.config.write_text('[station]\nid = "office"\n[office]\nname = "Bench office"\n', encoding="utf-8")
    keyring = Keyring(home.office_keys, "Bench office")
    keyring.init()
    save_trust(home.trust, keyring.trust_list())
    return home.root


async def _enrol(office: Path, ids: list[str], seed: int) -> None:
    from ..loadgen import station_key
    from ..paths import Home
    from ..store import LogStore
    from ..timeutil import utcnow

    store = await LogStore.open(Home(office).log_db, "office")
    async with store:
        for sid in ids:
            await store.enrol_station(sid, station_key(seed, sid).public_key(), sid, now=utcnow())


def _stations(work: Path, count: int, entries: int, seed: int) -> list[_Station]:
    """One shared generated log for `count` stations; each station's bundle exported by `export_bundle`."""
    from ..bundle import export_bundle
    from ..loadgen import build_log, station_ids, station_key

    log = work / "stations.db"
    build_log(log, count * entries, stations=count, seed=seed)
    made = []
    for sid in station_ids(count):
        out = work / "bundles" / f"{sid}.bundle"
        out.parent.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(
            export_bundle(
                log, sid, station_key(seed, sid), out, state_root=work / "state", from_seq=1, seal=False
            )
        )
        if result is not None:
            made.append(_Station(sid, out, result.entries, result.head_hash))
    return made


def _push(url: str, office_trust: Path, station: _Station, seed: int) -> float:
    """One simulated station's push: the signed request, the bundle, the receipt checked. Seconds taken."""
    from ..keys import load_trust
    from ..loadgen import station_key
    from ..netsync import BUNDLE_PATH, OfficeClient, auth_headers, read_answer_receipt
    from ..timeutil import utcnow

    client = OfficeClient(url, timeout=600)
    key = station_key(seed, station.station_id)
    started = time.perf_counter()
    answer = client.request(
        "POST",
        BUNDLE_PATH,
        auth_headers(key, station.station_id, "POST", BUNDLE_PATH, utcnow()),
        station.bundle,
    )
    if answer.status != 200:
        raise click.ClickException(f"{station.station_id}: HTTP {answer.status}: {answer.refusal()}")
    data = answer.json()
    receipt = read_answer_receipt(data.get("receipt"), load_trust(office_trust), station.station_id)
    if receipt.seq != station.entries or receipt.head_hash != station.head_hash:
        raise click.ClickException(f"{station.station_id}: the receipt does not cover what was sent.")
    return time.perf_counter() - started


def _exactly_once(office: Path, stations: list[_Station]) -> str:
    from ..paths import Home
    from ..store import LogStore, verify_log

    result = verify_log(Home(office).log_db)

    async def heads() -> dict[str, tuple[int, str]]:
        store = await LogStore.open(Home(office).log_db, "office")
        async with store:
            return {s.station_id: await store.head(s.station_id) for s in stations}

    found = asyncio.run(heads())
    expected = sum(s.entries for s in stations)
    same = all(found[s.station_id] == (s.entries, s.head_hash) for s in stations)
    ok = result.ok and result.entries == expected and same
    return (
        f"{'every entry exactly once' if ok else 'MISMATCH'}: {result.entries:,} entries at the office, "
        f"{expected:,} sent; chains {'OK' if result.ok else 'TAMPERED'}; heads {'match' if same else 'differ'}"
    )


def _revocation_trials(root: Path, url: str, office: Path, trials: int, interval: int) -> list[float]:
    """Revoke a pass at the office at a random moment; time until a station syncing every `interval` s
    decides DENY revoked for it."""
    from ..keys import Keyring, load_or_create_station_key
    from ..models import Category
    from ..registry import PassRequest, Registry
    from ..settings import load_settings
    from ..timeutil import utcnow

    station = Home(root / "rev-station").ensure()
    station.trust.write_bytes(Home(office).trust.read_bytes())
    station.config.write_text(
        f'[station]\nid = "rev-gate"\n[sync]\nurl = "{url}"\ninterval_seconds = {interval}\n',
        encoding="utf-8",
    )
    settings = load_settings(station.config)
    key = load_or_create_station_key(station.station_key)

    async def enrol() -> None:
        from ..store import LogStore

        store = await LogStore.open(Home(office).log_db, "office")
        async with store:
            await store.enrol_station("rev-gate", key.public_key(), "rev gate", now=utcnow())

    asyncio.run(enrol())
    registry = Registry(Home(office).registry, Keyring(Home(office).office_keys, "Bench office"))
    times: list[float] = []
    try:
        for _ in range(trials):
            now = utcnow()
            issued = registry.issue(
                PassRequest(
                    "鄂A12345", Category.MEDICAL, "张三", "县人民医院", now - timedelta(days=1),
                    now + timedelta(days=9), (), 4,
                )
            )  # fmt: skip
            took = _one_trial(station, settings, registry, issued.payload, issued.data.pass_id, interval)
            if took is not None:
                times.append(took)
    finally:
        registry.close()
    return times


def _one_trial(
    station: Home, settings: Settings, registry: Registry, payload: str, pass_id: str, interval: int
) -> float | None:
    """A station loop (sync, then decide the pass with the lists it has, then wait the interval); the pass
    is revoked at a random moment of it. Seconds from the revoke to the first DENY revoked."""
    import random

    from ..keys import load_trust
    from ..models import Direction, Reason
    from ..netsync import sync_once
    from ..policy import Facts, LogState, decide
    from ..revocations import load_list
    from ..timeutil import utcnow

    stop = threading.Event()
    revoked_at: list[float] = []
    seen: list[float] = []

    def station_loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a failed exchange is retried at the next interval
                sync_once(station, settings)
            trust = load_trust(station.trust)
            decision = decide(
                payload, trust, load_list(station.revocations, trust), settings.station.rules(),
                LogState(), Facts(direction=Direction.IN), utcnow(),
            )  # fmt: skip
            if revoked_at and decision.reason is Reason.REVOKED:
                seen.append(time.perf_counter())
                return
            stop.wait(interval)

    thread = threading.Thread(target=station_loop, daemon=True)
    thread.start()
    time.sleep(random.uniform(1.0, interval))  # the revocation falls anywhere in the interval
    registry.revoke(pass_id, "bench")
    revoked_at.append(time.perf_counter())
    thread.join(timeout=10 * interval)
    stop.set()
    return seen[0] - revoked_at[0] if seen else None


def _ui_lag(root: Path, seconds: float) -> tuple[dict[str, object], dict[str, object], str]:
    """The station app's event-loop lag while it scans the demo feed (as `bench ui` measures it), without
    and then with the background sync running (every 5 s) against a serve over the demo office."""
    from ..demo import build_demo
    from ..keys import load_or_create_station_key
    from ..settings import load_settings
    from ..store import LogStore
    from ..timeutil import utcnow
    from .bench_ui import _measure, _video

    demo = build_demo(root / "demo")
    video = root / "feed.avi"
    _video(video, demo.feed_codes(), 30.0)
    plain = asyncio.run(_measure(demo.station.root, video, seconds, 30.0))
    settings = load_settings(demo.station.config)
    key = load_or_create_station_key(demo.station.station_key)

    async def enrol() -> None:
        store = await LogStore.open(demo.office.log_db, "office")
        async with store:
            await store.enrol_station(
                settings.station.id, key.public_key(), settings.station.name, now=utcnow()
            )

    asyncio.run(enrol())
    # At a junction the office is another machine: here it shares the two cores, so it runs at a lower
    # priority than the station app being measured.
    server = _Server(demo.office.root, root / "demo-serve.log", nice=15)
    try:
        with demo.station.config.open("a", encoding="utf-8") as handle:
            handle.write(f'\n[sync]\nurl = "{server.url}"\ninterval_seconds = 5\n')
        syncing = asyncio.run(_measure(demo.station.root, video, seconds, 30.0))
        pushes = sum(1 for line in (root / "demo-serve.log").read_text().splitlines() if '"POST"' in line)
    finally:
        server.stop()
    return plain, syncing, f"{pushes} pushes to the office during the run"


@click.command("sync")
@click.option(
    "--stations", type=click.IntRange(1, 500), default=100, show_default=True, help="Simulated stations."
)
@click.option(
    "--entries", type=click.IntRange(10, 100_000), default=2000, show_default=True, help="Entries each."
)
@click.option(
    "--concurrency", type=click.IntRange(1, 500), default=100, show_default=True, help="Pushes at once."
)
@click.option(
    "--time-limit",
    type=click.IntRange(10, 3600),
    default=900,
    show_default=True,
    help="Give up after this (s).",
)
@click.option("--revocation-trials", type=click.IntRange(0, 20), default=3, show_default=True)
@click.option(
    "--interval", type=click.IntRange(5, 600), default=10, show_default=True, help="sync.interval_seconds."
)
@click.option(
    "--ui-seconds",
    type=click.FloatRange(0, 600),
    default=20.0,
    show_default=True,
    help="Station UI lag run (0: none).",
)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), help="Work folder.")
def bench_sync(
    stations: int,
    entries: int,
    concurrency: int,
    time_limit: int,
    revocation_trials: int,
    interval: int,
    ui_seconds: float,
    folder: Path | None,
) -> None:
    """Stations pushing to `checkpoint serve` on loopback at once, beside `bundle import` of the same bundles."""
    from ..bundle import import_bundles
    from ..paths import Home

    seed = 7
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        made = _stations(work, stations, entries, seed)
        total = sum(s.entries for s in made)
        say(
            f"{len(made)} stations, {total:,} entries (about {entries:,} each), bundles exported in "
            f"{time.perf_counter() - started:.1f} s"
        )

        # --- over the network
        office = _office(work, "office")
        asyncio.run(_enrol(office, [s.station_id for s in made], seed))
        server = _Server(office, work / "serve.log")
        try:
            latencies: list[float] = []
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                futures = [pool.submit(_push, server.url, Home(office).trust, s, seed) for s in made]
                for future in futures:
                    latencies.append(
                        future.result(timeout=max(1.0, time_limit - (time.perf_counter() - started)))
                    )
            wall = time.perf_counter() - started
            say(f"serve: {len(made)} stations pushing, {concurrency} at once, over HTTP on loopback:")
            say(
                f"  {total / wall:,.0f} entries/s   ({total:,} in {wall:.1f} s)   push p50 "
                f"{statistics.median(latencies):.2f} s   p95 {_percentile(latencies, 0.95):.2f} s   "
                f"max {max(latencies):.2f} s"
            )
            say(f"  {_exactly_once(office, made)}")
            again = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(lambda s: _push(server.url, Home(office).trust, s, seed), made))
            say(
                f"  the same pushes again (as after a lost receipt): {time.perf_counter() - again:.1f} s, "
                f"{_exactly_once(office, made)}"
            )
            if revocation_trials:
                times = _revocation_trials(work, server.url, office, revocation_trials, interval)
                shown = ", ".join(f"{t:.1f} s" for t in times) or "none reached the station"
                worst = f"{max(times):.1f} s" if times else "-"
                say(
                    f"revocation: pass revoke at the office → DENY revoked at a station syncing every {interval} s: "
                    f"{shown}   (worst {worst}, target ≤ 15 s)"
                )
        finally:
            server.stop()

        # --- the same bundles from files
        office2 = _office(work, "office-files")
        asyncio.run(_enrol(office2, [s.station_id for s in made], seed))
        home2 = Home(office2)
        per: list[float] = []
        started = time.perf_counter()
        for s in made:
            one = time.perf_counter()
            asyncio.run(import_bundles(home2.log_db, [s.bundle], office_station_id="office", root=home2.root))
            per.append(time.perf_counter() - one)
        wall = time.perf_counter() - started
        say("bundle import of the same bundles from files, one after another:")
        say(
            f"  {total / wall:,.0f} entries/s   ({total:,} in {wall:.1f} s)   per bundle p50 "
            f"{statistics.median(per):.2f} s   p95 {_percentile(per, 0.95):.2f} s"
        )
        say(f"  {_exactly_once(office2, made)}")

        if ui_seconds:
            plain, syncing, pushes = _ui_lag(work / "ui", ui_seconds)
            say(
                f"station UI event-loop lag scanning the demo feed at 30 fps for {ui_seconds:.0f} s ({pushes}):"
            )
            say(f"  {'':<12}{'no sync':>12}{'syncing':>12}")
            for key, name in (("lag_p50_ms", "p50"), ("lag_p99_ms", "p99"), ("lag_max_ms", "max stall")):
                say(f"  {name:<12}{plain[key]:>9.2f} ms{syncing[key]:>9.2f} ms")
            say(f"  decisions logged: {plain['decisions_logged']} / {syncing['decisions_logged']}")


def register(group: click.Group) -> None:
    group.add_command(bench_sync)
