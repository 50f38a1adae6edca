"""`checkpoint demo`: a demo office and station whose sample passes each show what they are meant to."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkpoint.demo import NOT_PASSES, STATION_ID, build_demo, demo_exists
from checkpoint.errors import CheckpointError
from checkpoint.keys import load_trust
from checkpoint.models import Category, Reason
from checkpoint.paths import Home
from checkpoint.policy import Facts, LogState, decide
from checkpoint.revocations import load_list
from checkpoint.settings import load_settings
from checkpoint.timeutil import utcnow
from tests.conftest import run_cli


def test_demo_passes_show_every_case(tmp_path: Path) -> None:
    demo = build_demo(tmp_path / "demo")
    settings = load_settings(demo.station.config)
    assert settings.demo and settings.station.id == STATION_ID
    assert Path(settings.station.camera) == (tmp_path / "demo" / "feed.avi").resolve()
    trust = load_trust(demo.station.trust)
    revocations = load_list(demo.station.revocations, trust)
    assert 18 <= len(demo.passes) <= 24
    assert {sample.category for sample, _ in demo.passes} == set(Category)
    now = utcnow()
    reasons = []
    for sample, issued in demo.passes:
        decision = decide(
            issued.payload, trust, revocations, settings.station.rules(), LogState(), Facts(occupants=1), now
        )
        assert decision.reason.value == sample.expect, sample
        reasons.append(decision.reason)
    assert reasons.count(Reason.REVOKED) == 1
    assert reasons.count(Reason.WRONG_CHECKPOINT) == 1
    assert reasons.count(Reason.EXPIRED) >= 2
    for text in NOT_PASSES:
        assert decide(
            text, trust, revocations, settings.station.rules(), LogState(), Facts(), now
        ).reason is (Reason.NOT_A_PASS)
    codes = demo.feed_codes()
    assert len(codes) == len(demo.passes) + len(NOT_PASSES)
    assert (tmp_path / "demo" / "passes.txt").read_text(encoding="utf-8").count("CP1:") == len(demo.passes)
    assert len(list((demo.office.root / "cards").glob("*.png"))) == len(demo.passes)


def test_demo_is_not_built_twice(tmp_path: Path) -> None:
    build_demo(tmp_path / "demo")
    assert demo_exists(tmp_path / "demo")
    with pytest.raises(CheckpointError, match="already a demo"):
        build_demo(tmp_path / "demo")


def test_demo_refuses_a_folder_in_use(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="not empty"):
        build_demo(tmp_path / "busy")


@pytest.mark.slow
def test_demo_command_writes_a_feed_the_scanner_reads(tmp_path: Path) -> None:
    from scanner.decoders import make_decoder
    from scanner.sources import open_source

    home = Home(tmp_path / "home")
    result = run_cli(home, "demo", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert "Demo built" in result.output
    feed = tmp_path / "demo" / "feed.avi"
    source = open_source(str(feed))
    decoder = make_decoder("zbar")
    seen: set[str] = set()
    try:
        for _ in range(60):
            frame = source.read()
            if frame is None:
                break
            seen.update(d.text for d in decoder.decode(frame.image))
    finally:
        source.close()
    assert any(text.startswith("CP1:") for text in seen)
    again = run_cli(home, "demo", str(tmp_path / "demo"))
    assert again.exit_code == 0 and "already a demo" in again.output


def test_station_on_an_unconfigured_home_is_one_sentence(tmp_path: Path) -> None:
    result = run_cli(Home(tmp_path / "nothing"), "station", "--camera", "none")
    assert result.exit_code == 2
    assert "no trust file" in result.output and "Traceback" not in result.output


def test_shipped_station_configs_load() -> None:
    root = Path(__file__).resolve().parent.parent / "config"
    example = load_settings(root / "station.example.toml", required=True)
    assert example.station.id == "dafan-east" and example.station.fever_threshold == 37.3
    demo = load_settings(root / "demo.toml", required=True)
    assert demo.demo and demo.station.id == STATION_ID
