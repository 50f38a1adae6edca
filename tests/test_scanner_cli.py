"""`checkpoint scan` end to end on generated media, and the scan benchmarks in miniature."""

from __future__ import annotations

import json
from pathlib import Path

from checkpoint.paths import Home
from checkpoint.store import open_reader
from tests.conftest import NOW, run_cli
from tests.media import code_folder, code_video

AT = NOW.strftime("%Y-%m-%dT%H:%M:%S%z")


def lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_a_url_qr_is_not_a_pass(station_home: Home, tmp_path: Path) -> None:
    video = code_video(tmp_path / "url.avi", ["https://example.org/track?id=1"], hold=5, gap=2)
    result = run_cli(station_home, "scan", "--source", str(video), "--json")
    assert result.exit_code == 0, result.output
    [decision] = lines(result.stdout)
    assert decision["decision"] == "deny"
    assert decision["reason"] == "not_a_pass"
    assert decision["pass_id"] is None


def test_real_passes_are_decided_and_logged(station_home: Home, tmp_path: Path, issue) -> None:  # type: ignore[no-untyped-def]
    good = issue(plate="鄂A12345")
    other = issue(plate="鄂B6789X", checkpoints=("south-gate",))
    folder = code_folder(tmp_path / "frames", [good.payload, other.payload, good.payload], hold=4, gap=2)
    result = run_cli(
        station_home, "scan", "--source", str(folder), "--json", "--log", "--at", AT, "--operator", "李警官"
    )
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    # The third showing is a duplicate of the first (same code within duplicate_seconds): one scan.
    assert [(d["decision"], d["reason"], d["pass_id"]) for d in out] == [
        ("allow", "ok", good.data.pass_id),
        ("deny", "wrong_checkpoint", other.data.pass_id),
    ]
    assert [d["logged_seq"] for d in out] == [1, 2]
    conn = open_reader(station_home.log_db)
    try:
        rows = conn.execute("SELECT pass_id, reason, operator, leader FROM entries ORDER BY seq").fetchall()
    finally:
        conn.close()
    assert rows == [
        (good.data.pass_id, "ok", "李警官", "scan"),
        (other.data.pass_id, "wrong_checkpoint", "李警官", "scan"),
    ]


def test_plain_lines_are_clean(station_home: Home, tmp_path: Path) -> None:
    hostile = "[red]x[/] \x1b[2J\u202e evil"
    video = code_video(tmp_path / "h.avi", [hostile], hold=4, gap=2)
    result = run_cli(station_home, "scan", "--source", str(video))
    assert result.exit_code == 0, result.output
    assert "not_a_pass" in result.stdout
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout


def test_missing_and_corrupt_sources_are_one_sentence(station_home: Home, tmp_path: Path) -> None:
    result = run_cli(station_home, "scan", "--source", str(tmp_path / "nope.avi"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"checkpoint: There is no video file {tmp_path / 'nope.avi'}."
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF" + bytes(500))
    result = run_cli(station_home, "scan", "--source", str(bad))
    assert result.exit_code == 2
    assert "is not a video this program can read." in result.stderr
    assert "Traceback" not in result.output


def test_bench_scan_in_miniature(station_home: Home, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    args = ["bench", "scan", "--frames-per-category", "1", "--corpus", str(corpus), "--json"]
    result = run_cli(station_home, *args, "--method", "ours/zxing", "--method", "zxing-cpp")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["frames"] == 30
    ours = figures["results"]["ours/zxing"]
    assert ours["nominal"]["success"] == 1.0
    assert all(cell["wrong"] == 0 for cell in ours.values())
    assert (corpus / "manifest.json").exists()  # written once, read back next time
    again = run_cli(station_home, *args, "--method", "opencv")
    assert json.loads(again.stdout)["frames"] == 30


def test_bench_latency_in_miniature(station_home: Home) -> None:
    result = run_cli(station_home, "bench", "latency", "--passes", "2", "--hold", "6", "--gap", "4", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["decided"] == 2 and figures["allowed"] == 2
    assert figures["latency_p95_ms"] > 0


def test_absent_webcam_is_one_sentence(station_home: Home) -> None:
    result = run_cli(station_home, "scan", "--source", "47")
    assert result.exit_code == 2
    assert result.stderr.strip() == "checkpoint: There is no camera number 47; check that it is plugged in."


def test_without_log_the_log_still_says_who_is_inside(station_home: Home, tmp_path: Path, issue) -> None:  # type: ignore[no-untyped-def]
    """`scan` without --log decides like the station: a pass logged IN is already inside."""
    good = issue(plate="鄂A12345")
    video = code_video(tmp_path / "in.avi", [good.payload], hold=4, gap=2)
    first = run_cli(station_home, "scan", "--source", str(video), "--json", "--log", "--at", AT)
    assert [d["reason"] for d in lines(first.stdout)] == ["ok"]
    again = run_cli(station_home, "scan", "--source", str(video), "--json", "--at", AT)
    assert [(d["reason"], d["logged_seq"]) for d in lines(again.stdout)] == [("already_inside", None)]
    empty = run_cli(station_home, "scan", "--source", "", "--json")
    assert empty.exit_code == 2 and "--source" in empty.stderr


def test_logged_scans_carry_the_shift_signed_in_at_the_station(
    station_home: Home, tmp_path: Path, issue
) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from checkpoint.store import LogStore, Shift

    async def sign_in() -> None:
        store = await LogStore.open(station_home.log_db, "north-gate")
        async with store:
            await store.start_shift(Shift("张三", "王五"))

    asyncio.run(sign_in())
    folder = code_folder(tmp_path / "frames", [issue().payload], hold=3, gap=1)
    result = run_cli(station_home, "scan", "--source", str(folder), "--json", "--log", "--at", AT)
    assert result.exit_code == 0, result.output
    conn = open_reader(station_home.log_db)
    try:
        assert conn.execute("SELECT operator, leader FROM entries").fetchall() == [("张三", "王五")]
    finally:
        conn.close()
