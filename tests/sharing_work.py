"""Work functions for tests/test_sharing.py: top-level, so that a spawned helper process can import them.

Each takes (index, delay, marker): in a helper process it first creates the file `marker`, so a test can
wait until a helper has really claimed an item instead of hoping it started in time."""

from __future__ import annotations

import os
import time
from multiprocessing import parent_process
from pathlib import Path


def _in_helper(marker: str) -> bool:
    if parent_process() is None:
        return False
    Path(marker).touch()
    return True


def square(index: int, delay: float, marker: str) -> int:
    _in_helper(marker)
    time.sleep(delay)
    return index * index


def dies_in_a_helper(index: int, delay: float, marker: str) -> int:
    """A helper process killed hard (as by the OOM killer) on its first item."""
    if _in_helper(marker):
        os._exit(9)
    time.sleep(delay)
    return index * index


def fails_in_a_helper(index: int, delay: float, marker: str) -> int:
    if _in_helper(marker):
        raise MemoryError("no memory in the helper")
    time.sleep(delay)
    return index * index


def fails_everywhere(index: int, delay: float, marker: str) -> int:
    _in_helper(marker)
    raise ValueError(f"item {index} is bad")
