"""Decoders and the pipeline: byte-exact payloads, inverted codes, the steps, duplicates, the corpus."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from checkpoint.registry import IssuedPass
from scanner.corpus import read_corpus, write_corpus
from scanner.decoders import AUTO_DECODER, ZbarDecoder, ZxingDecoder, make_decoder
from scanner.pipeline import Pipeline
from scanner.sources import Frame, open_source
from scanner.synthetic import compose_frame, render_code
from tests.corpus import pass_texts, samples
from tests.media import code_video, single_frame

DECODERS = ["zbar", "zxing"]
BINARY = bytes(range(256)) + b"\x00\xff\x80\xc3\x28"  # every byte value, and invalid UTF-8
UTF8 = "通行证 鄂A·12345 café ✓ \u202eevil".encode()
PAYLOADS = [BINARY, UTF8, b"https://example.org/?q=1&x=%20", b"CP1:NOT-A-REAL-PASS"]


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("payload", PAYLOADS, ids=["binary", "utf8", "url", "alnum"])
def test_payloads_come_back_byte_exact(decoder: str, payload: bytes) -> None:
    found = make_decoder(decoder).decode(single_frame(payload))
    assert [d.raw for d in found] == [payload]


@pytest.mark.parametrize("decoder", DECODERS)
def test_payloads_survive_a_video_file(decoder: str, tmp_path: Path) -> None:
    path = code_video(tmp_path / "feed.avi", [BINARY, UTF8], hold=3, gap=2)
    source = open_source(str(path))
    pipeline = Pipeline(decoder)
    got = []
    while (frame := source.read()) is not None:
        got += [d.raw for d in pipeline.process(frame)]
    assert got == [BINARY, UTF8]


def test_text_is_for_display_and_raw_is_the_truth() -> None:
    [found] = ZxingDecoder().decode(single_frame(BINARY))
    assert found.raw == BINARY
    assert isinstance(found.text, str) and "\ufffd" in found.text


@pytest.mark.parametrize("decoder", DECODERS)
def test_inverted_code_is_read(decoder: str) -> None:
    inverted = 255 - single_frame(b"DARK MODE")
    assert [d.raw for d in make_decoder(decoder).decode(inverted)] == [b"DARK MODE"]
    if decoder == "zbar":  # ZBar itself cannot read light-on-dark: the inverted retry is what reads it
        assert make_decoder(decoder).decode(inverted, invert=False) == []


def test_zbar_would_see_only_the_blue_channel_so_colour_is_refused() -> None:
    colour = cv2.cvtColor(single_frame(b"X"), cv2.COLOR_GRAY2BGR)
    with pytest.raises(ValueError):
        ZbarDecoder().decode(colour)


def test_auto_is_the_documented_winner() -> None:
    assert make_decoder("auto").name == AUTO_DECODER
    docs = Path(__file__).parent.parent / "docs" / "benchmarks.md"
    assert f"`auto` is `{AUTO_DECODER}`" in docs.read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        make_decoder("tesseract")


def frame_of(image: np.ndarray, index: int, ts: float) -> Frame:
    return Frame(image, ts, index)


@pytest.mark.parametrize("decoder", DECODERS)
def test_pipeline_steps_on_a_720p_frame(decoder: str) -> None:
    code = render_code(b"STEPS", size=400)
    big = compose_frame(code, 1280, 720, seed=5, scale=0.5)
    pipeline = Pipeline(decoder, duplicate_seconds=0)
    assert [d.raw for d in pipeline.find(big, 0.0)] == [b"STEPS"]
    assert pipeline.last_step == "downscaled"
    assert [d.raw for d in pipeline.find(big, 0.1)] == [b"STEPS"]
    assert pipeline.last_step == "region"
    pipeline.reset()
    far = compose_frame(render_code(b"FAR AWAY " * 8, size=400), 1280, 720, seed=6, scale=0.16)
    assert [d.raw for d in pipeline.find(far, 0.0)] == [b"FAR AWAY " * 8]
    assert pipeline.last_step == "full"
    polygon = pipeline.find(far, 0.0)[0].polygon
    xs = [p[0] for p in polygon]
    assert 500 < min(xs) < max(xs) < 780  # full-resolution coordinates, near the middle


def test_duplicates_within_the_window_are_one_scan() -> None:
    image = single_frame(b"SAME")
    other = single_frame(b"OTHER")
    pipeline = Pipeline("zxing", duplicate_seconds=5.0)
    seen = []
    for index, (img, ts) in enumerate(
        [(image, 0.0), (image, 1.0), (other, 2.0), (image, 5.5), (image, 11.0)]
    ):
        seen += [(d.raw, d.frame_index) for d in pipeline.process(frame_of(img, index, ts))]
    # Holding the pass in view keeps it suppressed (4.5 s after its last sighting at 1.0); 11.0 is new.
    assert seen == [(b"SAME", 0), (b"OTHER", 2), (b"SAME", 4)]


def test_a_decoder_that_raises_costs_one_look_not_the_pipeline() -> None:
    pipeline = Pipeline("zbar")

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("native trouble")

    pipeline.decoder.decode = broken  # type: ignore[method-assign]
    assert pipeline.process(frame_of(single_frame(b"X"), 0, 0.0)) == []
    assert pipeline.errors >= 1


@pytest.fixture(scope="module")
def corpus_texts(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    # Real passes issued by the core; module-scoped by issuing through a private office.
    from datetime import timedelta

    from checkpoint.keys import Keyring
    from checkpoint.paths import Home
    from checkpoint.registry import Registry
    from tests.conftest import NOW, request

    home = Home(tmp_path_factory.mktemp("office")).ensure()
    keyring = Keyring(home.office_keys, "Test township office")
    keyring.init(now=NOW - timedelta(days=30))
    registry = Registry(home.registry, keyring)

    def issue(**fields: object) -> IssuedPass:
        return registry.issue(request(**fields), now=NOW - timedelta(days=1))

    try:
        return pass_texts(issue, 3)
    finally:
        registry.close()


@pytest.mark.parametrize("decoder", DECODERS)
def test_pipeline_on_the_corpus_reads_nominal_always_and_never_a_wrong_payload(
    decoder: str, corpus_texts: list[str]
) -> None:
    pipeline = Pipeline(decoder, duplicate_seconds=0)
    per_category: dict[str, list[bool]] = {}
    for sample in samples(corpus_texts, frames_per_category=2):
        pipeline.reset()
        found = [d.raw for d in pipeline.find(sample.image, 0.0)]
        wrong = [raw for raw in found if raw not in sample.present]
        assert not wrong, f"{sample.name}: wrong payload {wrong[0][:40]!r}"
        ok = not found if sample.target is None else sample.target in found
        per_category.setdefault(sample.category, []).append(ok)
    assert all(per_category["nominal"]), "nominal frames must all be read"
    assert all(per_category["no_code"])
    assert all(per_category["two_codes"]) if decoder == "zxing" else True


def test_corpus_is_deterministic_and_round_trips(corpus_texts: list[str], tmp_path: Path) -> None:
    chosen = ["nominal", "phone_screen", "two_codes", "no_code"]
    first = samples(corpus_texts, frames_per_category=1, categories=chosen)
    again = samples(corpus_texts, frames_per_category=1, categories=chosen)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first, again, strict=True))
    other_seed = samples(corpus_texts, frames_per_category=1, categories=chosen, seed=1)
    assert not np.array_equal(first[0].image, other_seed[0].image)
    assert {(s.width, s.height) for s in first} == {(640, 480), (1280, 720)}
    write_corpus(tmp_path / "c", first)
    back = list(read_corpus(tmp_path / "c"))
    assert [(s.name, s.target, s.present) for s in back] == [(s.name, s.target, s.present) for s in first]
    assert np.array_equal(back[0].image, first[0].image)
    assert first[0].target == corpus_texts[0].encode()


def test_corpus_categories_match_the_issue() -> None:
    from scanner.corpus import CATEGORIES

    assert set(CATEGORIES) == {
        "nominal", "rotation", "perspective", "blur", "motion_blur", "noise", "low_contrast", "low_light",
        "glare", "far", "phone_screen", "curved", "damaged", "two_codes", "no_code",
    }  # fmt: skip
