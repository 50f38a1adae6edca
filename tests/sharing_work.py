"""Work functions for tests/test_sharing.py: top-level, so that a spawned helper process can import them."""

from __future__ import annotations

import os
import time
from multiprocessing import parent_process


def square(index: int, delay: float) -> int:
    time.sleep(delay)
    return index * index


def dies_in_a_helper(index: int, delay: float) -> int:
    """A helper process killed hard (as by the OOM killer) on its first item."""
    if parent_process() is not None:
        os._exit(9)
    time.sleep(delay)
    return index * index


def fails_in_a_helper(index: int, delay: float) -> int:
    if parent_process() is not None:
        raise MemoryError("no memory in the helper")
    time.sleep(delay)
    return index * index


def fails_everywhere(index: int, delay: float) -> int:
    raise ValueError(f"item {index} is bad")
