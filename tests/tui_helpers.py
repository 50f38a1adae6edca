"""What the TUI tests share: waiting for a condition, and what an app told its user.

`notices(app)` lists the messages an app notified since its last `clear_notifications()`, recorded at
`App.notify` (the public entry every toast goes through) by the autouse fixture in `tests/conftest.py`.
Unlike Textual's private `app._notifications` it does not lose a toast whose timeout ran out while a busy
machine was slow to get to the assertion.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import pytest
from textual.app import App
from textual.pilot import Pilot

_SAID: WeakKeyDictionary[App[Any], list[str]] = WeakKeyDictionary()


def record_notifications(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every `notify()` of every app (the real method still runs)."""
    notify, clear = App.notify, App.clear_notifications

    def recording_notify(self: App[Any], message: str, **kwargs: Any) -> None:
        _SAID.setdefault(self, []).append(str(message))
        notify(self, message, **kwargs)

    def recording_clear(self: App[Any]) -> None:
        _SAID.pop(self, None)
        clear(self)

    monkeypatch.setattr(App, "notify", recording_notify)
    monkeypatch.setattr(App, "clear_notifications", recording_clear)


def notices(app: App[Any]) -> list[str]:
    """The messages `app` notified since its last `clear_notifications()`, oldest first."""
    return list(_SAID.get(app, []))


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], *, seconds: float = 30.0) -> None:
    """Let the app run until `condition` holds (the limit is a safety net, not a timing assertion)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app did not get there")


async def wait_until_still(
    pilot: Pilot[Any], look: Callable[[], object], *, times: int = 3, seconds: float = 30.0
) -> None:
    """Let the app run until `look()` gives the same answer `times` polls in a row (a layout that has
    settled: keys composed, breakpoints applied, regions placed)."""
    before, same = look(), 0
    for _ in range(int(seconds / 0.05)):
        await pilot.pause(0.05)
        now = look()
        same = same + 1 if now == before else 0
        if same >= times:
            return
        before = now
    raise AssertionError("the screen did not settle")
