"""`checkpoint bench store`: append latency with synchronous=FULL, chain verification speed, bytes per entry."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import click

from ..models import Direction, Reason, Verdict
from ..store import EntryDraft, LogStore, verify_log
from .context import say


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _appends(path: Path, count: int) -> list[float]:
    latencies = []
    store = await LogStore.open(path, "bench-station")
    async with store:
        for i in range(count):
            draft = EntryDraft(
                direction=Direction.IN if i % 2 else Direction.OUT,
                verdict=Verdict.ALLOW,
                reason=Reason.OK,
                operator="李四",
                leader="王五",
                pass_id="7K3M9QXA",
                key_id="38FDA86F",
                category="medical",
                plate="鄂A12345",
                holder="张三",
                org="县人民医院",
                occupants=2,
                temperatures=(365, 368),
                raw_hash="0" * 64,
            )
            started = time.perf_counter()
            await store.append(draft)
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@click.command("store")
@click.option("--appends", type=click.IntRange(10), default=2000, show_default=True, help="Appends to time.")
@click.option(
    "--entries", type=click.IntRange(1000), default=1_000_000, show_default=True, help="Log size to verify."
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Work folder (default: a temporary one).",
)
@click.option(
    "--log",
    "existing",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Verify this big log instead of building one (e.g. the one `bench audit` keeps).",
)
@click.option("--repeat", type=click.IntRange(1, 10), default=1, show_default=True, help="Verification runs.")
def bench_store(appends: int, entries: int, folder: Path | None, existing: Path | None, repeat: int) -> None:
    """Append latency (p50/p95, synchronous=FULL), verification speed, bytes on disk per entry."""
    from ..loadgen import build_log

    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        work = Path(tmp)
        latencies = asyncio.run(_appends(work / "append.db", appends))
        say(f"append ({appends} entries, WAL, synchronous=FULL, one fsync per entry):")
        say(
            f"  p50 {statistics.median(latencies):.2f} ms   p95 {_percentile(latencies, 0.95):.2f} ms   "
            f"max {max(latencies):.2f} ms   (target p95 ≤ 5 ms)"
        )
        if existing is None:
            big = work / "big.db"
            started = time.perf_counter()
            build_log(big, entries, stations=3)
            say(f"built a {entries:,}-entry log over 3 stations in {time.perf_counter() - started:.1f} s")
            for suffix in ("-wal", "-shm"):
                Path(str(big) + suffix).unlink(missing_ok=True)
        else:
            big = existing
        for run in range(repeat):
            started = time.perf_counter()
            result = verify_log(big)
            elapsed = time.perf_counter() - started
            say(
                f"verify: {result.entries:,} entries in {elapsed:.2f} s = {result.entries / elapsed:,.0f} "
                f"entries/s   (target ≥ 300,000/s)   verdict: {'OK' if result.ok else 'TAMPERED'}"
            )
            if run == 0:
                size = big.stat().st_size
                say(
                    f"  bytes on disk per entry (with indexes): {size / result.entries:.0f}  ({size / 1e6:.0f} MB)"
                )


def register(group: click.Group) -> None:
    group.add_command(bench_store)
