"""`checkpoint bench audit`: filter queries, CSV export and full verification over a million-entry log."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from .context import echo_json, say

TARGET_P95_MS = 100.0
TARGET_EXPORT = 100_000
TARGET_VERIFY = 300_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@click.command("audit")
@click.option("--entries", type=click.IntRange(1000), default=1_000_000, show_default=True)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use (or build once and keep) this log file instead of a temporary one.",
)
@click.option(
    "--repeat", type=click.IntRange(1, 50), default=5, show_default=True, help="Runs of each query."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def bench_audit(entries: int, log_path: Path | None, repeat: int, as_json: bool) -> None:
    """Build a big log (loadgen), then time filter pages, CSV export and verification against targets."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from ..audit import Filter, Vocabulary, key_of, page
    from ..export import export_log
    from ..loadgen import build_log
    from ..models import Category, Direction, Reason, Verdict
    from ..store import migrate, open_reader, verify_log

    with tempfile.TemporaryDirectory(prefix="checkpoint-bench-audit-") as tmp:
        path = log_path or Path(tmp) / "log.db"
        figures: dict[str, Any] = {"entries": entries}
        if not path.exists():
            say(f"Building a {entries:,}-entry log at {path} …")
            started = time.perf_counter()
            build_log(path, entries)
            figures["build_s"] = round(time.perf_counter() - started, 1)
        else:
            import sqlite3

            conn = sqlite3.connect(path)
            migrate(conn)  # bring an older bench log to the current schema (indexes)
            conn.close()
        conn = open_reader(path)
        figures["entries"] = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        tz = ZoneInfo("Asia/Shanghai")
        first_ts = conn.execute("SELECT MIN(ts) FROM entries").fetchone()[0]
        from ..timeutil import from_micros

        day = from_micros(first_ts).astimezone(tz).date()
        day = date.fromordinal(day.toordinal() + 10)
        vocab = Vocabulary()
        started = time.perf_counter()
        vocab.refresh(conn)
        figures["vocabulary_ms"] = round((time.perf_counter() - started) * 1000, 1)
        filters = {
            "everything": Filter(),
            "one day": Filter().for_day(day, tz),
            "station": Filter(station="north-gate"),
            "station+day+fevers": Filter(station="east-bridge", fevers_only=True).for_day(day, tz),
            "denied": Filter(verdict=Verdict.DENY),
            "reason (rare)": Filter(reason=Reason.UNKNOWN_KEY),
            "overrides": Filter(reason=Reason.OVERRIDE),
            "category+out": Filter(category=Category.OFFICIAL, direction=Direction.OUT),
            "plate digits": Filter(plate="12345"),
            "plate prefix": Filter(plate="鄂A1"),
            "plate (none)": Filter(plate="鄂Z"),
            "operator": Filter(operator="王医生3"),
            "fevers": Filter(fevers_only=True),
        }
        per_filter: dict[str, float] = {}
        timings: list[float] = []
        for name, flt in filters.items():
            runs: list[float] = []
            for _ in range(repeat):
                after = None
                for _page in range(3):  # the first page and two more, as scrolling does
                    started = time.perf_counter()
                    found = page(conn, vocab.resolve(conn, flt), after)
                    runs.append((time.perf_counter() - started) * 1000)
                    if not found:
                        break
                    after = key_of(found[-1])
            per_filter[name] = round(_percentile(runs, 0.95), 1)
            timings.extend(runs)
        figures["query_p50_ms"] = round(statistics.median(timings), 1)
        figures["query_p95_ms"] = round(_percentile(timings, 0.95), 1)
        figures["query_max_ms"] = round(max(timings), 1)
        figures["query_p95_by_filter_ms"] = per_filter

        out = Path(tmp) / "export.csv"
        started = time.perf_counter()
        rows_out = export_log(conn, Filter(), out, "csv", tz)
        elapsed = time.perf_counter() - started
        figures["export_rows_per_s"] = round(rows_out / elapsed)
        figures["export_mb"] = round(out.stat().st_size / 1e6, 1)
        # peers, to read the figures against this machine: the bare cost of reading the same rows
        sample = min(figures["entries"], 200_000)
        started = time.perf_counter()
        conn.execute("SELECT sum(length(hash)) FROM (SELECT hash FROM entries LIMIT ?)", (sample,)).fetchone()
        figures["peer_sqlite_scan_rows_per_s"] = round(sample / (time.perf_counter() - started))
        started = time.perf_counter()
        cursor = conn.execute("SELECT * FROM entries LIMIT ?", (sample,))
        while cursor.fetchmany(5000):
            pass
        figures["peer_python_fetch_rows_per_s"] = round(sample / (time.perf_counter() - started))
        conn.close()

        started = time.perf_counter()
        result = verify_log(path)
        elapsed = time.perf_counter() - started
        figures["verify_ok"] = result.ok
        figures["verify_entries_per_s"] = round(result.entries / elapsed)

    if as_json:
        echo_json(figures)
        return
    say(
        f"log: {figures['entries']:,} entries"
        + (f", built in {figures['build_s']} s" if "build_s" in figures else "")
    )
    say(f"vocabulary of plates and operators (once per session): {figures['vocabulary_ms']} ms")
    for name, p95 in per_filter.items():
        say(f"  {name:<22} p95 {p95:7.1f} ms")

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "BELOW TARGET"

    say(f"{'figure':<28}{'measured':>14}{'target':>14}")
    summary: list[tuple[str, str, str, bool]] = [
        ("filter page p95", f"{figures['query_p95_ms']} ms", f"≤ {TARGET_P95_MS:.0f} ms",
         figures["query_p95_ms"] <= TARGET_P95_MS),
        ("CSV export", f"{figures['export_rows_per_s']:,}/s", f"≥ {TARGET_EXPORT:,}/s",
         figures["export_rows_per_s"] >= TARGET_EXPORT),
        ("full verification", f"{figures['verify_entries_per_s']:,}/s", f"≥ {TARGET_VERIFY:,}/s",
         figures["verify_entries_per_s"] >= TARGET_VERIFY and figures["verify_ok"]),
    ]  # fmt: skip
    for label, measured, target, ok in summary:
        say(f"{label:<28}{measured:>14}{target:>14}  {verdict(ok)}")
    say("peers on this machine (the floor under the export):")
    say(f"  {'SQLite scan of one column':<38}{figures['peer_sqlite_scan_rows_per_s']:>12,}/s")
    say(f"  {'Python fetch of whole rows (sqlite3)':<38}{figures['peer_python_fetch_rows_per_s']:>12,}/s")


def register(group: click.Group) -> None:
    group.add_command(bench_audit)
