"""Incoming files: size-capped before they are read, parsed with limits, dates kept within reason.

Nothing that arrives in a file is trusted for what it says about itself (docs/log.md, the trust
model). Every reader of an incoming file (a bundle, a trust file, a revocation list, an enrolment
request) goes through here:

- `read_capped(path, cap, what)` reads at most `cap` bytes; a larger file is refused before a byte of it is
  parsed (the size is checked on the open file, and the read stops one byte past the cap in case it grew);
- `load_json(data, what)` refuses deep nesting, numbers of more than 18 digits, NaN/Infinity and duplicate
  keys, each in one sentence (never a RecursionError or OverflowError);
- `parse_time(value, what)` takes an ISO 8601 time with its zone between the years 2000 and 2200.

The caps (docs/log.md, "Incoming files") are far above what the product writes and far below what would
hurt a laptop: memory stays within a few times the cap.
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path

from .catalog import error
from .errors import CheckpointError

KiB = 1024
MiB = 1024 * KiB

# The caps for each kind of incoming file (bytes).
TRUST_CAP = 256 * KiB  # at most 100 keys of about 300 bytes each, and signatures
REVOCATIONS_CAP = 32 * MiB  # 200,000 revoked passes of about 120 bytes each
BUNDLE_CAP = 512 * MiB  # about 600,000 entries: far more than a station writes between two syncs
REQUEST_CAP = 64 * KiB  # an enrolment request: an id, a name, a key, a signature

MAX_DEPTH = 32  # no file of ours nests deeper than 6 levels
MAX_DIGITS = 18  # every number of ours fits in a signed 64-bit integer with room to spare
FIRST_YEAR, LAST_YEAR = 2000, 2200
SCAN_UP_TO = 1 * MiB


def read_capped(path: Path, cap: int, what: str) -> bytes:
    """The bytes of `path`, refusing a file larger than `cap` before reading it (one sentence)."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > cap:
                raise _too_large(path, size, cap, what)
            data = handle.read(cap + 1)
    except FileNotFoundError as exc:
        raise error("errors.file.none", what=what, path=path) from exc
    except IsADirectoryError as exc:
        raise error("errors.file.is_folder", what=what, path=path) from exc
    except OSError as exc:
        raise CheckpointError(f"Cannot read the {what} {path}: {exc.strerror}.") from exc
    if len(data) > cap:
        raise _too_large(path, len(data), cap, what)
    return data


def _too_large(path: Path, size: int, cap: int, what: str) -> CheckpointError:
    return error("errors.file.too_large", path=path, size=_size(size), what=what, cap=_size(cap))


def _size(count: int) -> str:
    if count >= MiB:
        return f"{count / MiB:.1f} MiB"
    if count >= KiB:
        return f"{count / KiB:.1f} KiB"
    return f"{count} bytes"


class _Refused(ValueError):
    """A JSON value our files never hold; the message is the end of a sentence."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Refused(f"holds a number of {len(text.lstrip('-'))} digits, more than any of ours has")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 32:
        raise _Refused("holds a number far longer than any of ours")
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"holds the number {text[:20]}, too large for any of ours")
    return value


def _parse_constant(text: str) -> float:
    raise _Refused(f"holds {text}, which is not a number")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("names a field twice")
    return result


def nesting_depth(data: bytes | str, limit: int = MAX_DEPTH) -> int:
    """How deep brackets nest in JSON text (outside strings), stopping once past `limit`."""
    text = data.encode() if isinstance(data, str) else data
    depth = deepest = 0
    in_string = escaped = False
    # A quick pass over bytes: only `"`, `\\`, `[`, `{`, `]`, `}` matter, and all are ASCII in UTF-8.
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def load_json(data: bytes | str, what: str) -> object:
    """Parse JSON from an incoming file, refusing what no file of ours holds, in one sentence.

    Up to SCAN_UP_TO bytes the nesting is measured before parsing; a larger text (a bundle) is left to the
    parser, which refuses deep nesting itself (Python's parser stops at its recursion limit).
    """
    if len(data) <= SCAN_UP_TO and nesting_depth(data) > MAX_DEPTH:
        raise CheckpointError(f"{what} is nested more than {MAX_DEPTH} levels deep; it is not one of ours.")
    try:
        return json.loads(
            data,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except _Refused as exc:
        raise CheckpointError(f"{what} {exc}; it is not one of ours.") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{what} is nested too deeply; it is not one of ours.") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error("errors.file.not_json", what=what) from exc


def parse_time(value: object, what: str) -> datetime:
    """An ISO 8601 time with its zone, between FIRST_YEAR and LAST_YEAR (UTC), or one sentence."""
    if not isinstance(value, str) or len(value) > 40:
        raise CheckpointError(f"{what} is not a date and time.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CheckpointError(f"{what} is not a date and time.") from exc
    if moment.tzinfo is None:
        raise CheckpointError(f"{what} has no time zone.")
    try:
        year = moment.astimezone(UTC).year
    except OverflowError:
        year = moment.year
    if not FIRST_YEAR <= moment.year <= LAST_YEAR or not FIRST_YEAR <= year <= LAST_YEAR:
        raise CheckpointError(
            f"{what} is in the year {moment.year}, outside {FIRST_YEAR}–{LAST_YEAR}; it cannot be right."
        )
    return moment
