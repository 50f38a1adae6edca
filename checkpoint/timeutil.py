"""Time: stored in UTC, shown in local time (default Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .catalog import error


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise error("cli.time.zone", name=name) from exc


def parse_when(text: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """Parse an ISO date or date-time typed by a person; a naive value is in the local zone `tz`.

    A bare date means its start (or, with `end_of_day`, the last second of that day).
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time(23, 59, 59) if end_of_day else time(0, 0), tzinfo=tz)
        else:
            moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
    except ValueError as exc:
        raise error("cli.time.not_a_time", text=raw) from exc
    return moment.astimezone(UTC)


def to_epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def fmt_local(moment: datetime, tz: ZoneInfo, *, seconds: bool = False) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def iso_local(moment: datetime, tz: tzinfo | None) -> str:
    """An ISO 8601 time in the local zone with its offset (`2026-11-30T22:49:00+08:00`): as exact as UTC,
    and what a person reading JSON or a CSV file expects. Stored and signed formats keep UTC (`tz` None:
    the moment as it is)."""
    return (moment if tz is None else moment.astimezone(tz)).isoformat()


def humanise_age(delta: timedelta) -> str:
    """A short age such as '3 h' or '2 d' (English; the UI translates units)."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{seconds // 60} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
