"""Body temperatures: typed by staff in °C with one decimal, kept as whole tenths of a degree."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from .errors import CheckpointError

LOWEST = 340  # 34.0 °C, in tenths
HIGHEST = 430  # 43.0 °C
DEFAULT_FEVER = 373  # 37.3 °C: China's screening threshold
_UNIT = re.compile(r"\s*(°\s*[cC]|℃|度)$")


class TemperatureError(CheckpointError):
    """A reading that cannot be a body temperature; the message suggests what was meant.

    `kind` (not_number, decimals, meant, fahrenheit, range, ambiguous) and `values` let a screen say the
    same thing in its own language (the station's catalog has `temp.<kind>`).
    """

    def __init__(self, message: str, kind: str, **values: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.values = values


def half_width(text: str) -> str:
    """What a Chinese input method types, as ASCII: full-width digits, `．`, `，`, `；`, `℃` (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def parse_temperature(text: str) -> int:
    """`"36.6"` → 366 (also `３６．６`, `36,6`, `37℃`). Refuses anything outside 34.0–43.0 °C with a
    helpful sentence."""
    typed = half_width(text).strip()[:12]
    raw = _UNIT.sub("", typed.replace(",", ".").replace("。", "."))
    if not raw:
        raise TemperatureError("Type a temperature in °C, such as 36.6.", "not_number")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise TemperatureError(
            f"{typed!r} is not a number; type a temperature in °C, such as 36.6.", "not_number"
        ) from exc
    if not value.is_finite():
        raise TemperatureError("Type a temperature in °C, such as 36.6.", "not_number")
    if value != value.quantize(Decimal("0.1")):
        raise TemperatureError(f"{raw} has more than one decimal; type it as 36.6.", "decimals")
    tenths = int(value * 10)
    if LOWEST <= tenths <= HIGHEST:
        return tenths
    raise _out_of_range(value)


# A comma is a decimal comma only in a lone `36,6`; between readings (`36.6,36.8`) it separates them.
_DECIMAL_COMMA = re.compile(r"\d{1,3},\d(?:°?[CcFf]|℃)?")
_COMMAS_ONLY = re.compile(r"\d{1,3}(?:,\d{1,3})+")


def split_readings(text: str) -> list[str]:
    """The readings in a typed line: separated by spaces, `/`, `;`, `、`, or commas between readings
    (full-width forms too). Raises TemperatureError (`ambiguous`) for `36,6,36,8`, which could be two
    readings with decimal commas or four numbers."""
    readings: list[str] = []
    for token in re.split(r"[\s/;、]+", half_width(text)):
        if not token:
            continue
        if "," not in token or _DECIMAL_COMMA.fullmatch(token):
            readings.append(token)
        elif _COMMAS_ONLY.fullmatch(token) and token.count(",") > 1:
            raise TemperatureError(
                f"{token!r} is ambiguous; separate readings with a space, such as 36.6 36.8.",
                "ambiguous",
            )
        else:
            readings.extend(part for part in token.split(",") if part)
    return readings


def parse_readings(text: str) -> tuple[int, ...]:
    """Every reading of a typed line, in tenths. Raises TemperatureError for the first bad one; the
    error's `values["typed"]` is that reading as typed."""
    readings: list[int] = []
    for typed in split_readings(text):
        try:
            readings.append(parse_temperature(typed))
        except TemperatureError as error:
            error.values.setdefault("typed", typed)
            raise
    return tuple(readings)


# One reading as staff type it (36.6, 36,6, 98.6F, 37℃), or a unit on its own (37 ℃).
_READING = re.compile(r"\d{1,3}(?:[.,。]\d{1,2})?(?:°?[CcFf]|℃)?|°?[CcFf]|℃")


def looks_like_readings(text: str) -> bool:
    """Whether a short text is temperatures (split as the check line splits them), never a code a vehicle
    showed: a shop's 13-digit barcode is not. Short only: a few readings, a bounded match."""
    if not 0 < len(text) <= 40 or not any(ch.isdigit() for ch in text):
        return False
    try:
        tokens = split_readings(text)
    except TemperatureError:
        return True  # `36,6,36,8`: readings, typed ambiguously
    return all(_READING.fullmatch(token) for token in tokens)


def _out_of_range(value: Decimal) -> TemperatureError:
    shown = f"{value.normalize():f}"
    if Decimal("3.4") <= value <= Decimal("4.3"):
        whole = int(value * 10)
        guess = f"{whole // 10}{whole % 10}.x"
    elif Decimal(340) <= value <= Decimal(430) and value == value.to_integral_value():
        whole = int(value)
        guess = f"{whole // 10}.{whole % 10}"
    elif Decimal("93.2") <= value <= Decimal("109.4"):
        celsius = str(((value - 32) * 5 / 9).quantize(Decimal("0.1")))
        return TemperatureError(
            f"{shown} looks like °F; that is {celsius} °C — type the reading in °C.",
            "fahrenheit",
            celsius=celsius,
        )
    else:
        return TemperatureError(
            f"{shown} °C is outside 34.0–43.0 °C; measure again and type the reading in °C.", "range"
        )
    return TemperatureError(
        f"{shown} °C is not a body temperature; did you mean {guess}?", "meant", guess=guess
    )


def format_tenths(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"
