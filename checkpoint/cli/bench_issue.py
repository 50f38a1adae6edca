"""`checkpoint bench issue`: a 1,000-row CSV batch end to end — validate, sign and store, a PNG per
pass, the A4 sheet of cards — in passes per second, beside the QR encoders it could have used."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from ..keys import Keyring, save_trust
from ..paths import Home
from ..registry import Registry
from .context import Context, say

TARGET_SECONDS = 60.0
CATEGORIES = ("medical", "official", "emergency")


def _csv(path: Path, rows: int) -> None:
    lines = ["plate,category,holder,org,valid_from,valid_until,checkpoints,occupants"]
    lines += [
        f"鄂A{n:05d},{CATEGORIES[n % 3]},持证人{n},县人民医院发热门诊,,,north-gate,{1 + n % 5}"
        for n in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(folder: Path, rows: int, sheet: bool) -> dict[str, float]:
    from ..batch import parse_rows, read_rows, sign_rows, write_outputs

    home = Home(folder / "home").ensure()
    ctx = Context(home_dir=home.root)
    keyring = Keyring(home.office_keys, ctx.settings.office.name)
    keyring.init()
    save_trust(home.trust, keyring.trust_list())
    source = folder / "passes.csv"
    _csv(source, rows)
    times: dict[str, float] = {}
    started = time.perf_counter()
    good, errors = parse_rows(
        read_rows(source), tz=ctx.settings.ui.timezone, valid_days=ctx.settings.office.valid_days
    )
    assert not errors, errors
    times["validate"] = time.perf_counter() - started
    mark = time.perf_counter()
    registry = Registry(home.registry, keyring)
    try:
        result = sign_rows(registry, good)
        registry.store([(p.data, p.payload, None) for p in result.passes])
    finally:
        registry.close()
    times["sign + store"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_outputs(result, folder / "out", office=ctx.settings.office.name, tz=ctx.settings.ui.timezone)
    times["PNGs + index"] = time.perf_counter() - mark
    if sheet:
        from ..cards import write_sheet

        mark = time.perf_counter()
        write_sheet(
            result.passes, folder / "sheet.pdf", office="Township office", tz=ctx.settings.ui.timezone
        )
        times["sheet (PDF)"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    times["sheet bytes"] = (folder / "sheet.pdf").stat().st_size if sheet else 0
    return times


def _encoders(samples: int) -> tuple[float, float]:
    """Milliseconds per QR matrix: zxing-cpp (what cards use) vs qrcode (pure Python)."""
    from ..cards import fast_matrix
    from ..qrimage import qr_matrix

    payload = "CP1:" + "6BFUY4SB0$CK6ZP0:2E$VF52A1*3PDA-CSEGH29+BTWG$SUMA5J5M1F8T4GQJO5T-AE/3BAWA" * 3
    timings = []
    for encoder in (fast_matrix, qr_matrix):
        started = time.perf_counter()
        for _ in range(samples):
            encoder(payload)
        timings.append((time.perf_counter() - started) * 1000 / samples)
    return timings[0], timings[1]


@click.command("issue")
@click.option(
    "--rows", type=click.IntRange(10, 20_000), default=1000, show_default=True, help="Rows in the CSV."
)
@click.option("--no-sheet", is_flag=True, help="Skip the A4 sheet of cards.")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the output in this folder.",
)
def bench_issue(rows: int, no_sheet: bool, folder: Path | None) -> None:
    """Batch issue: passes per second for a CSV with PNGs and the sheet (target: 1,000 in ≤ 60 s)."""
    with tempfile.TemporaryDirectory(prefix="checkpoint-bench-issue-") as tmp:
        work = folder if folder is not None else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        times = _run(work, rows, not no_sheet)
        zxing_ms, qrcode_ms = _encoders(20)
    total = times["total"]
    say(f"bench issue: {rows} rows, PNG per pass{'' if no_sheet else ', A4 sheet'}")
    for name in ("validate", "sign + store", "PNGs + index", "sheet (PDF)"):
        if name in times:
            say(f"  {name:<14} {times[name]:7.2f} s   {rows / max(times[name], 1e-9):8.0f} passes/s")
    verdict = "within" if total <= TARGET_SECONDS * rows / 1000 else "OVER"
    say(
        f"  {'total':<14} {total:7.2f} s   {rows / total:8.0f} passes/s   ({verdict} the target of 60 s per 1,000)"
    )
    if times["sheet bytes"]:
        say(f"  sheet: {(rows + 3) // 4} pages, {times['sheet bytes'] / 1e6:.1f} MB")
    say("  QR matrix per pass, peers:")
    say(f"    zxing-cpp (used)      {zxing_ms:7.2f} ms")
    say(
        f"    qrcode (pure Python)  {qrcode_ms:7.2f} ms   → {qrcode_ms * rows / 1000:.0f} s for {rows} passes"
    )


def register(group: click.Group) -> None:
    group.add_command(bench_issue)
