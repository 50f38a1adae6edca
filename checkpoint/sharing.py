"""Sharing a row of independent work items between this process and helper processes, one per further core.

Used where the work is CPU-bound Python and SQLite (log verification, CSV export): threads would share
one GIL, so the work is shared with spawned helper processes instead. This process takes items from the
front of the row and the helpers take them from the back, through two shared counters, so

- this process starts at once and never waits for a helper to start (a short job costs nobody anything);
- nobody sits idle while there is work, and the two ends meet with at most one item in hand on each side;
- the items this process does are a prefix `0..k-1` in order, and the helpers' are the rest `k..n-1`:
  an export can write its own part straight to the output and append the helpers' parts after it.

A helper that cannot start, fails or dies loses nothing: every item it claimed and did not report is done
again here. Only standard-library pieces are used, and the helper imports only the module of its function.
"""

from __future__ import annotations

import contextlib
import os
import queue as queue_module
import signal
from collections.abc import Callable
from multiprocessing import get_context
from typing import Any

HelperFunction = Callable[..., Any]


def prepare() -> None:
    """Start multiprocessing's resource tracker now, while `sys.stderr` is still this process's own.

    A full-screen UI (Textual) replaces `sys.stderr` with an object without a real file descriptor, and
    the tracker — which every spawned process and every multiprocessing lock needs — passes stderr's
    descriptor to its own process when it starts: started from inside the UI, it fails. The apps call
    this before they run; `share` also copes without helpers if it was not called."""
    from multiprocessing import resource_tracker

    with contextlib.suppress(OSError, ValueError):  # then `share` does all the work in this process
        resource_tracker.ensure_running()


def _quiet() -> None:
    """A helper never talks to the terminal (it may be under a full-screen UI) and leaves Ctrl+C to the
    main process, which ends it; what goes wrong in a helper is reported through the results queue."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


def _helper(
    lock: Any, front: Any, back: Any, results: Any, function: HelperFunction, args: tuple[Any, ...]
) -> None:
    """A helper process: take items from the back until the ends meet; report each result."""
    _quiet()
    while True:
        with lock:
            if back.value <= front.value:
                break
            back.value -= 1
            index = back.value
        try:
            results.put((index, True, function(index, *args)))
        except BaseException as exc:  # reported, and the item is done again by the main process
            results.put((index, False, repr(exc)))
            break


def share(
    count: int,
    here: Callable[[int], None],
    function: HelperFunction,
    args: tuple[Any, ...],
    received: Callable[[int, Any], None],
    helpers: int,
) -> int:
    """Do items `0..count-1`: `here(i)` in this process from the front; `function(i, *args)` in helper
    processes from the back, their results passed to `received(i, result)` here. Returns how many items
    this process did with `here` (they are `0..k-1`). Exceptions from `here` propagate."""
    if helpers < 1 or count < 2:
        for index in range(count):
            here(index)
        return count
    context = get_context("spawn")
    try:
        lock = context.Lock()
        front = context.RawValue("q", 0)
        back = context.RawValue("q", count)
        results: Any = context.Queue()
    except (OSError, ValueError, RuntimeError):
        # No process-shared locks here (no /dev/shm, or a resource tracker that cannot start).
        for index in range(count):
            here(index)
        return count
    processes = []
    for _ in range(helpers):
        process = context.Process(
            target=_helper, args=(lock, front, back, results, function, args), daemon=True
        )
        try:
            process.start()
        except (OSError, RuntimeError, ValueError):
            break  # no helper processes here (a frozen or embedded interpreter, a process limit)
        processes.append(process)
    reported: set[int] = set()

    def drain(wait: float) -> None:
        while True:
            try:
                index, ok, value = results.get(timeout=wait) if wait else results.get_nowait()
            except queue_module.Empty:
                return
            wait = 0
            if ok:
                reported.add(index)
                received(index, value)

    mine = 0
    stuck = False
    try:
        while True:
            if not lock.acquire(timeout=5):
                stuck = True  # a helper died holding the lock: finish everything here
                break
            try:
                if front.value >= back.value:
                    break
                index = front.value
                front.value += 1
            finally:
                lock.release()
            here(index)
            mine += 1
            drain(0)
        while not stuck and any(p.is_alive() for p in processes):
            drain(0.05)
        drain(0)
    finally:
        for process in processes:
            if stuck or process.is_alive():
                process.terminate()
            process.join()
        results.close()
    for index in range(mine, count):  # claimed by a helper that failed or died, or never claimed
        if index not in reported:
            received(index, function(index, *args))
    return mine
