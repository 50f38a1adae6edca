"""checkpoint.sharing: work split between this process (from the front) and helper processes (from the back)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from checkpoint.sharing import share

from . import sharing_work


def _wait_for(marker: Path) -> None:
    """Until a helper has claimed an item (it creates `marker` first): no guessing at start-up times."""
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _run(
    function: object, count: int, helpers: int, marker: Path, delay: float = 0.01
) -> tuple[int, list[int], dict[int, int]]:
    here: list[int] = []
    received: dict[int, int] = {}

    def record(index: int, value: int) -> None:
        assert index not in received, f"item {index} reported twice"
        received[index] = value

    def work_here(index: int) -> None:
        if index == 0 and helpers:
            _wait_for(marker)
        time.sleep(delay)
        here.append(index)

    mine = share(count, work_here, function, (delay, str(marker)), record, helpers)  # type: ignore[arg-type]
    return mine, here, received


def test_every_item_is_done_once_this_process_doing_a_prefix(tmp_path: Path) -> None:
    mine, here, received = _run(sharing_work.square, 60, 1, tmp_path / "claimed")
    assert here == list(range(mine))
    assert received == {i: i * i for i in range(mine, 60)}
    assert 0 < mine < 60  # both sides worked


def test_without_helpers_this_process_does_everything(tmp_path: Path) -> None:
    mine, here, received = _run(sharing_work.square, 7, 0, tmp_path / "claimed")
    assert (mine, here, received) == (7, list(range(7)), {})


@pytest.mark.parametrize("function", [sharing_work.dies_in_a_helper, sharing_work.fails_in_a_helper])
def test_a_helper_that_dies_or_fails_loses_nothing(function: object, tmp_path: Path) -> None:
    mine, here, received = _run(function, 60, 1, tmp_path / "claimed")
    assert mine < 60  # the helper claimed items before it went
    assert here == list(range(mine))
    assert received == {i: i * i for i in range(mine, 60)}  # redone here with the same function


def test_an_item_that_fails_here_too_raises(tmp_path: Path) -> None:
    marker = tmp_path / "claimed"

    def here(index: int) -> None:
        if index == 0:
            _wait_for(marker)

    with pytest.raises(ValueError, match="is bad"):
        share(40, here, sharing_work.fails_everywhere, (0.0, str(marker)), lambda i, v: None, 1)
