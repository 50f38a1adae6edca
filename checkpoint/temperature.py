"""Body temperatures: typed by staff in °C with one decimal, kept as whole tenths of a degree."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import CheckpointError

LOWEST = 340  # 34.0 °C, in tenths
HIGHEST = 430  # 43.0 °C
DEFAULT_FEVER = 373  # 37.3 °C: China's screening threshold
_UNIT = re.compile(r"\s*(°\s*[cC]|℃|度)$")


class TemperatureError(CheckpointError):
    """A reading that cannot be a body temperature; the message suggests what was meant.

    `kind` (not_number, decimals, meant, fahrenheit, range) and `values` let a screen say the same thing
    in its own language (the station's catalog has `temp.<kind>`).
    """

    def __init__(self, message: str, kind: str, **values: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.values = values


def parse_temperature(text: str) -> int:
    """`"36.6"` → 366. Refuses anything outside 34.0–43.0 °C with a helpful sentence."""
    typed = text.strip()[:12]
    raw = _UNIT.sub("", typed.replace("，", ".").replace(",", ".").replace("。", "."))
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


def is_fever(tenths: int, threshold: int = DEFAULT_FEVER) -> bool:
    return tenths >= threshold
