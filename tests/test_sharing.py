"""checkpoint.sharing: work split between this process (from the front) and helper processes (from the back)."""

from __future__ import annotations

import time

import pytest

from checkpoint.sharing import share

from . import sharing_work


def _run(
    function: object, count: int, helpers: int, delay: float = 0.02
) -> tuple[int, list[int], dict[int, int]]:
    here: list[int] = []
    received: dict[int, int] = {}

    def record(index: int, value: int) -> None:
        assert index not in received, f"item {index} reported twice"
        received[index] = value

    def work_here(index: int) -> None:
        time.sleep(delay)
        here.append(index)

    mine = share(count, work_here, function, (delay,), record, helpers)  # type: ignore[arg-type]
    return mine, here, received


def test_every_item_is_done_once_this_process_doing_a_prefix() -> None:
    mine, here, received = _run(sharing_work.square, 60, helpers=1)
    assert here == list(range(mine))
    assert received == {i: i * i for i in range(mine, 60)}
    assert 0 < mine < 60  # both sides worked: items take 20 ms, a helper starts in well under 1.2 s


def test_without_helpers_this_process_does_everything() -> None:
    mine, here, received = _run(sharing_work.square, 7, helpers=0)
    assert (mine, here, received) == (7, list(range(7)), {})


@pytest.mark.parametrize("function", [sharing_work.dies_in_a_helper, sharing_work.fails_in_a_helper])
def test_a_helper_that_dies_or_fails_loses_nothing(function: object) -> None:
    mine, here, received = _run(function, 60, helpers=1)
    assert mine < 60  # the helper claimed items before it went
    assert here == list(range(mine))
    assert received == {i: i * i for i in range(mine, 60)}  # redone here with the same function


def test_an_item_that_fails_here_too_raises() -> None:
    with pytest.raises(ValueError, match="is bad"):
        share(40, lambda index: time.sleep(0.02), sharing_work.fails_everywhere, (0.0,), lambda i, v: None, 1)
