"""`checkpoint bench scan`: decode success and time per frame on the scan corpus, side by side.

Compared on the same frames, in one run: plain `pyzbar.decode` on the full grey frame (QR only), plain
`zxingcpp.read_barcodes` (QR only, library defaults), plain `cv2.QRCodeDetector().detectAndDecode`, and our
pipeline (`scanner.pipeline.Pipeline`, state reset before every frame so no frame profits from the one
before) with each decoder. Success = the pass's payload was read; reading a payload that is not in the
frame is a *wrong payload*, counted as a failure and reported; on a frame with no code, success = nothing read.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ..errors import CheckpointError
from .context import progress_line

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CORPUS_TIME = datetime(2026, 2, 3, 4, 0, tzinfo=UTC)  # passes in the corpus are issued "now" = this
HOLDERS = ("张三", "李四", "王五", "赵六", "陈静", "刘洋")
ORGS = ("县人民医院", "镇卫生院", "县公安局", "镇政府", "县疾控中心", "县消防救援大队")


def sample_passes(count: int, *, seed: int = 7, now: datetime | None = None) -> tuple[list[str], Any]:
    """`count` real passes signed by a key derived from `seed`; returns (QR texts, trust list)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ..keys import TrustedKey, TrustList, key_id_of
    from ..models import Category, PassData
    from ..passes import sign_pass

    rng = random.Random(seed)
    key = Ed25519PrivateKey.from_private_bytes(bytes(rng.randrange(256) for _ in range(32)))
    key_id = key_id_of(key.public_key())
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    texts = []
    categories = list(Category)
    for i in range(count):
        data = PassData(
            pass_id="".join(rng.choice(CROCKFORD) for _ in range(8)),
            key_id=key_id,
            category=categories[i % len(categories)],
            plate=f"鄂A{rng.randrange(10000, 99999)}",
            holder=HOLDERS[i % len(HOLDERS)],
            org=ORGS[i % len(ORGS)],
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=14),
            checkpoints=(),
            max_occupants=4,
            issued_at=now - timedelta(days=1),
        )
        texts.append(sign_pass(data, key))
    trusted = TrustedKey(
        key_id=key_id,
        public_key=key.public_key(),
        valid_from=now - timedelta(days=30),
        valid_until=None,
        office="bench",
    )
    return texts, TrustList(keys=(trusted,))


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _methods(include: Sequence[str]) -> dict[str, Callable[[Any], list[bytes]]]:
    import cv2
    import zxingcpp
    from pyzbar import pyzbar

    from scanner.pipeline import Pipeline

    qr = [pyzbar.ZBarSymbol.QRCODE]
    zx_format: Any = zxingcpp.BarcodeFormat.QRCode
    detector = cv2.QRCodeDetector()

    def plain_zbar(grey: Any) -> list[bytes]:
        return [r.data for r in pyzbar.decode(grey, symbols=qr)]

    def plain_zxing(grey: Any) -> list[bytes]:
        return [bytes(r.bytes) for r in zxingcpp.read_barcodes(grey, formats=zx_format)]

    def plain_opencv(grey: Any) -> list[bytes]:
        text, _points, _straight = detector.detectAndDecode(grey)
        return [text.encode("utf-8")] if text else []

    def ours(decoder: str) -> Callable[[Any], list[bytes]]:
        pipeline = Pipeline(decoder, duplicate_seconds=0.0)

        def run(grey: Any) -> list[bytes]:
            pipeline.reset()
            return [d.raw for d in pipeline.find(grey, 0.0)]

        return run

    methods: dict[str, Callable[[Any], list[bytes]]] = {
        "pyzbar": plain_zbar,
        "zxing-cpp": plain_zxing,
        "opencv": plain_opencv,
        "ours/zbar": ours("zbar"),
        "ours/zxing": ours("zxing"),
    }
    return {name: fn for name, fn in methods.items() if name in include}


METHODS = ("pyzbar", "zxing-cpp", "opencv", "ours/zbar", "ours/zxing")


def run_bench(samples: Sequence[Any], methods: Sequence[str] = METHODS) -> dict[str, Any]:
    """Per method and category: frames, successes, wrong payloads, times (ms). Plus per frame size."""
    fns = _methods(methods)
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in fns}
    for done, sample in enumerate(samples, 1):
        for name, fn in fns.items():
            start = time.perf_counter()
            try:
                found = fn(sample.image)
            except Exception:
                found = []
            elapsed = (time.perf_counter() - start) * 1000
            wrong = [raw for raw in found if raw not in sample.present]
            ok = (not found) if sample.target is None else (sample.target in found and not wrong)
            for key in (sample.category, f"all {sample.width}x{sample.height}"):
                cell = results[name].setdefault(key, {"frames": 0, "ok": 0, "wrong": 0, "ms": []})
                cell["frames"] += 1
                cell["ok"] += int(ok)
                cell["wrong"] += int(bool(wrong))
                cell["ms"].append(elapsed)
        progress_line(done, len(samples), "bench scan")
    return results


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rows in results.items():
        out[name] = {
            key: {
                "frames": cell["frames"],
                "success": cell["ok"] / cell["frames"],
                "wrong": cell["wrong"],
                "median_ms": statistics.median(cell["ms"]),
                "p95_ms": _percentile(cell["ms"], 0.95),
            }
            for key, cell in rows.items()
        }
    return out


def print_table(summary: dict[str, Any]) -> None:
    names = list(summary)
    keys = sorted(next(iter(summary.values())), key=lambda k: k.startswith("all "))
    width = 19
    click.echo("success % (wrong payloads) · median / p95 ms per frame")
    click.echo(f"{'category':<16}" + "".join(f"{n:>{width}}" for n in names))
    for key in keys:
        top = f"{key:<16}"
        bottom = " " * 16
        for name in names:
            cell = summary[name][key]
            wrong = f" ({cell['wrong']}!)" if cell["wrong"] else ""
            rate = f"{100 * cell['success']:.0f}%{wrong}"
            times = f"{cell['median_ms']:.1f} / {cell['p95_ms']:.1f}"
            top += f"{rate:>{width}}"
            bottom += f"{times:>{width}}"
        click.echo(top)
        click.echo(bottom)


def register(group: click.Group) -> None:
    @group.command("scan")
    @click.option(
        "--corpus",
        "corpus_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Read the corpus from this folder; generate it there first if it has no manifest.json.",
    )
    @click.option("--frames-per-category", default=6, show_default=True, help="Frames per category and size.")
    @click.option("--seed", default=2026, show_default=True, help="Corpus seed.")
    @click.option(
        "--method", "methods", multiple=True, type=click.Choice(METHODS), help="Only these methods."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
    def bench_scan(
        corpus_dir: Path | None, frames_per_category: int, seed: int, methods: tuple[str, ...], as_json: bool
    ) -> None:
        """Decode success and ms per frame, per corpus category: pyzbar, zxing-cpp, OpenCV and ours."""
        from scanner.corpus import generate, read_corpus, write_corpus

        if frames_per_category < 1:
            raise CheckpointError("--frames-per-category must be at least 1.")
        if corpus_dir is not None and (corpus_dir / "manifest.json").exists():
            try:
                samples = list(read_corpus(corpus_dir))
            except ValueError as exc:
                raise CheckpointError(str(exc)) from exc
        else:
            texts, _trust = sample_passes(8, seed=seed, now=CORPUS_TIME)  # same texts, same frames
            samples = list(generate(texts, frames_per_category=frames_per_category, seed=seed))
            if corpus_dir is not None:
                write_corpus(corpus_dir, samples)
        summary = _summary(run_bench(samples, methods or METHODS))
        if as_json:
            click.echo(json.dumps({"frames": len(samples), "results": summary}, ensure_ascii=False))
            return
        click.echo(f"{len(samples)} frames (seed {seed})")
        print_table(summary)
