"""`checkpoint bench county`: the county store on PostgreSQL beside a township's SQLite office, same data.

One run builds a township-style log (loadgen), cuts every station's chain into bundle-sized runs, and
merges them into a throwaway county database and into a SQLite office log through each store's own merge
(the bundles' signatures, hashes and links are checked once, before timing, as `read_bundle` does for
both). Then it re-imports everything, verifies both, makes the daily report from each, and times the
audit filter page (one station, one day, denials) quiet and while an import runs beside four auditors.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click

from ..errors import CheckpointError
from .context import echo_json, say

TARGETS = {
    "import": 20_000,
    "reimport": 50_000,
    "page_p95_ms": 10.0,
    "page_busy_p95_ms": 25.0,
    "report_ms": 100.0,
    "verify": 80_000,
}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@click.command("county")
@click.option(
    "--url",
    envvar="CHECKPOINT_TEST_PG_URL",
    help="A PostgreSQL server and a role that may create databases (default: $CHECKPOINT_TEST_PG_URL, "
    "which scripts/postgres.sh sets).",
)
@click.option("--stations", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option(
    "--entries", type=click.IntRange(100, 20_000), default=5000, show_default=True, help="Per station."
)
@click.option(
    "--bundle", "bundle_size", type=click.IntRange(100, 10_000), default=1000, show_default=True,
    help="Entries per bundle.",
)  # fmt: skip
@click.option("--queries", type=click.IntRange(10, 5000), default=300, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def bench_county(
    url: str | None, stations: int, entries: int, bundle_size: int, queries: int, as_json: bool
) -> None:
    """Import, re-import, verify, report and audit pages: the county (PostgreSQL) beside a SQLite office."""
    if not url:
        raise CheckpointError(
            "bench county needs a PostgreSQL server: give --url, or run it as "
            "'scripts/postgres.sh .venv/bin/checkpoint bench county'."
        )
    from ..county import connect

    name = f"checkpoint_bench_{uuid.uuid4().hex[:8]}"
    with connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    from urllib.parse import urlsplit, urlunsplit

    target = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    try:
        with tempfile.TemporaryDirectory(prefix="checkpoint-bench-county-") as tmp:
            figures = _run(target, Path(tmp), stations, entries, bundle_size, queries)
    finally:
        with connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in ("importer", "auditor", "retention"):
                admin.execute(f'DROP ROLE IF EXISTS "{name}_{role}"')
    if as_json:
        echo_json(figures)
        return
    _print(figures)


def _run(url: str, work: Path, stations: int, entries: int, size: int, queries: int) -> dict[str, Any]:
    import json
    import random
    from dataclasses import replace
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from ..audit import Filter, page
    from ..bundle import Bundle
    from ..county import chunks, connect, county_init, merge, verify
    from ..county_reader import county_report, reading
    from ..loadgen import build_log
    from ..models import Verdict
    from ..report import build_report
    from ..store import LogStore, open_reader, verify_log
    from ..timeutil import from_micros, utcnow

    tz = ZoneInfo("Asia/Shanghai")
    township = work / "township.db"
    say(f"Building {stations * entries:,} entries of {stations} stations …")
    build_log(township, stations * entries, stations=stations)
    reader = open_reader(township)
    keys = {
        str(r[0]): (bytes(r[1]), str(r[2]))
        for r in reader.execute("SELECT station_id, public_key, name FROM stations")
    }
    runs = {sid: list(chunks(reader, sid, *key, size=size)) for sid, key in keys.items()}
    first_ts = reader.execute("SELECT MIN(ts) FROM entries").fetchone()[0]
    reader.close()
    # Bundles arrive station after station, round by round; the first half of every station's runs, then
    # the second half (while the auditors query what the first half brought).
    rounds = max(len(r) for r in runs.values())
    ordered = [runs[sid][i] for i in range(rounds) for sid in sorted(runs) if i < len(runs[sid])]
    half = {id(b) for sid in runs for b in runs[sid][: max(1, len(runs[sid]) // 2)]}
    first = [b for b in ordered if id(b) in half]
    second = [b for b in ordered if id(b) not in half]
    total = sum(len(b.entries) for b in ordered)
    path = work / "bundle"
    figures: dict[str, Any] = {
        "stations": len(runs),
        "entries": total,
        "bundles": len(ordered),
        "bundle": size,
    }

    county_init(url, timezone=tz.key, retention_days=28)
    from ..county import enrol_station
    from ..keys import public_from_raw

    for sid, (raw, name) in keys.items():  # both offices enrol the stations first (no trust on first use)
        enrol_station(url, sid, public_from_raw(raw), name, now=utcnow())

    def county_import(bundles: list[Bundle]) -> float:
        started = time.perf_counter()
        with connect(url, autocommit=True) as conn:
            for bundle in bundles:
                merge(conn, bundle, path)
        return time.perf_counter() - started

    async def sqlite_import(bundles: list[Bundle]) -> float:
        from ..bundle import _merge
        from ..keys import public_from_raw
        from ..timeutil import utcnow

        store = await LogStore.open(work / "office.db", "office")
        async with store:
            for sid, (raw, name) in keys.items():  # the office takes bundles only from enrolled stations
                await store.enrol_station(sid, public_from_raw(raw), name, now=utcnow())
            started = time.perf_counter()
            for bundle in bundles:
                await _merge(store, bundle, path)
            return time.perf_counter() - started

    say("Importing …")
    quiet_first = county_import(first)
    sqlite_s = asyncio.run(sqlite_import(ordered))

    day = (from_micros(first_ts).astimezone(tz) + timedelta(hours=2)).date()
    rng = random.Random(7)
    names = sorted(runs)
    # The auditors ask about what the first half brought, so their answers must not change while the
    # second half arrives: one station's denials of one day, up to where the second half starts.
    cut = from_micros(min(json.loads(b.entries[0][0])[3] for b in second)) if second else None
    filters = []
    for _ in range(queries):
        flt = Filter(station=rng.choice(names), verdict=Verdict.DENY).for_day(day, tz)
        if cut is not None and flt.end is not None and cut < flt.end:
            flt = replace(flt, end=cut)
        filters.append(flt)

    def pages(conn: Any, out: list[float], results: list[list[tuple[str, int]]] | None = None) -> None:
        for flt in filters:
            started = time.perf_counter()
            found = page(conn, flt)
            out.append((time.perf_counter() - started) * 1000)
            if results is not None:
                results.append([(e.station_id, e.seq) for e in found])

    quiet_ms: list[float] = []
    quiet_results: list[list[tuple[str, int]]] = []
    with reading(url) as county_reader:
        pages(county_reader.sqlite, quiet_ms, quiet_results)
    sqlite_ms: list[float] = []
    office = open_reader(work / "office.db")
    pages(office, sqlite_ms)

    busy_ms: list[float] = []
    errors: list[str] = []
    mismatches = 0
    done = threading.Event()

    def auditor() -> None:
        nonlocal mismatches
        try:
            while not done.is_set():
                with reading(url) as mine:  # a new snapshot for every pass, as a screen's refresh
                    got: list[list[tuple[str, int]]] = []
                    pages(mine.sqlite, busy_ms, got)
                mismatches += sum(a != b for a, b in zip(got, quiet_results, strict=True))
        except Exception as exc:  # a benchmark reports what went wrong instead of stopping
            errors.append(f"{type(exc).__name__}: {exc}")

    say("Importing the second half beside four auditors …")
    threads = [threading.Thread(target=auditor) for _ in range(4)]
    for thread in threads:
        thread.start()
    busy_second = county_import(second)
    done.set()
    for thread in threads:
        thread.join()
    first_entries = sum(len(b.entries) for b in first)
    figures["county_import_quiet_per_s"] = round(first_entries / quiet_first)
    figures["county_import_busy_per_s"] = round((total - first_entries) / busy_second) if second else None
    figures["county_import_per_s"] = round(total / (quiet_first + busy_second))
    figures["sqlite_import_per_s"] = round(total / sqlite_s)
    with connect(url) as conn:
        stored = conn.execute(
            "SELECT pg_total_relation_size('entries') + pg_total_relation_size('seals')"
        ).fetchone()
    figures["county_bytes_per_entry"] = round(int(stored[0] if stored else 0) / total)
    figures["sqlite_bytes_per_entry"] = round((work / "office.db").stat().st_size / total)
    figures["county_reimport_per_s"] = round(total / county_import(ordered))
    figures["sqlite_reimport_per_s"] = round(total / asyncio.run(sqlite_import(ordered)))

    figures["page_p95_ms"] = round(_p95(quiet_ms), 2)
    figures["sqlite_page_p95_ms"] = round(_p95(sqlite_ms), 2)
    figures["page_busy_p95_ms"] = round(_p95(busy_ms), 2) if busy_ms else None
    figures["busy_pages"] = len(busy_ms)
    figures["busy_errors"] = errors
    figures["busy_results_differ"] = mismatches

    started = time.perf_counter()
    report = county_report(url, day, tz)
    figures["report_ms"] = round((time.perf_counter() - started) * 1000, 1)
    started = time.perf_counter()
    expected = build_report(office, day, tz)
    figures["sqlite_report_ms"] = round((time.perf_counter() - started) * 1000, 1)
    figures["report_totals_equal"] = report.totals == expected.totals
    office.close()

    started = time.perf_counter()
    result = verify(url)
    figures["county_verify_per_s"] = round(result.entries / (time.perf_counter() - started))
    started = time.perf_counter()
    peer = verify_log(work / "office.db")
    figures["sqlite_verify_per_s"] = round(peer.entries / (time.perf_counter() - started))
    figures["verify_ok"] = result.ok and peer.ok and result.entries == peer.entries == total
    return figures


def _print(f: dict[str, Any]) -> None:
    say(
        f"{f['entries']:,} entries of {f['stations']} stations in {f['bundles']} bundles of {f['bundle']:,} "
        "(one run, same bundles for both stores)"
    )
    say(f"{'figure':<36}{'county (PG)':>14}{'SQLite office':>15}{'target':>12}")
    rows = [
        ("import (first half, quiet), entries/s", f"{f['county_import_quiet_per_s']:,}",
         f"{f['sqlite_import_per_s']:,}", f"≥ {TARGETS['import']:,}",
         f["county_import_quiet_per_s"] >= TARGETS["import"]),
        ("  … second half, beside 4 auditors", f"{f['county_import_busy_per_s'] or 0:,}", "-", "-", True),
        ("re-import (nothing new), entries/s", f"{f['county_reimport_per_s']:,}",
         f"{f['sqlite_reimport_per_s']:,}", f"≥ {TARGETS['reimport']:,}",
         f["county_reimport_per_s"] >= TARGETS["reimport"]),
        ("audit page p95 (station, day, denials)", f"{f['page_p95_ms']} ms", f"{f['sqlite_page_p95_ms']} ms",
         f"≤ {TARGETS['page_p95_ms']:.0f} ms", f["page_p95_ms"] <= TARGETS["page_p95_ms"]),
        ("  … during an import, 4 auditors", f"{f['page_busy_p95_ms']} ms", "-",
         f"≤ {TARGETS['page_busy_p95_ms']:.0f} ms",
         f["page_busy_p95_ms"] is not None and f["page_busy_p95_ms"] <= TARGETS["page_busy_p95_ms"]),
        ("daily report", f"{f['report_ms']} ms", f"{f['sqlite_report_ms']} ms",
         f"≤ {TARGETS['report_ms']:.0f} ms", f["report_ms"] <= TARGETS["report_ms"]),
        ("full verification, entries/s", f"{f['county_verify_per_s']:,}", f"{f['sqlite_verify_per_s']:,}",
         f"≥ {TARGETS['verify']:,}", f["county_verify_per_s"] >= TARGETS["verify"]),
    ]  # fmt: skip
    for label, county, sqlite, target, ok in rows:
        verdict = "" if target == "-" else "meets target" if ok else "BELOW TARGET"
        say(f"{label:<36}{county:>14}{sqlite:>15}{target:>12}  {verdict}")
    say(
        f"during the import: {f['busy_pages']:,} pages, {len(f['busy_errors'])} errors, "
        f"{f['busy_results_differ']} results different from the quiet run; report totals equal: "
        f"{f['report_totals_equal']}; verification OK on both: {f['verify_ok']}"
    )
    say(
        f"bytes per entry, indexes included: {f['county_bytes_per_entry']:,} (county), "
        f"{f['sqlite_bytes_per_entry']:,} (SQLite office)"
    )
    for error in f["busy_errors"][:3]:
        say(f"  auditor error: {error}")


def register(group: click.Group) -> None:
    group.add_command(bench_county)
