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
    """A reading that cannot be a body temperature; the message suggests what was meant."""


def parse_temperature(text: str) -> int:
    """`"36.6"` → 366. Refuses anything outside 34.0–43.0 °C with a helpful sentence."""
    typed = text.strip()[:12]
    raw = _UNIT.sub("", typed.replace("，", ".").replace(",", ".").replace("。", "."))
    if not raw:
        raise TemperatureError("Type a temperature in °C, such as 36.6.")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise TemperatureError(f"{typed!r} is not a number; type a temperature in °C, such as 36.6.") from exc
    if not value.is_finite():
        raise TemperatureError("Type a temperature in °C, such as 36.6.")
    if value != value.quantize(Decimal("0.1")):
        raise TemperatureError(f"{raw} has more than one decimal; type it as 36.6.")
    tenths = int(value * 10)
    if LOWEST <= tenths <= HIGHEST:
        return tenths
    raise TemperatureError(_hint(value))


def _hint(value: Decimal) -> str:
    shown = f"{value.normalize():f}"
    if Decimal("3.4") <= value <= Decimal("4.3"):
        whole = int(value * 10)
        return f"{shown} °C is not a body temperature; did you mean {whole // 10}{whole % 10}.x?"
    if Decimal(340) <= value <= Decimal(430) and value == value.to_integral_value():
        whole = int(value)
        return f"{shown} °C is not a body temperature; did you mean {whole // 10}.{whole % 10}?"
    if Decimal("93.2") <= value <= Decimal("109.4"):
        celsius = ((value - 32) * 5 / 9).quantize(Decimal("0.1"))
        return f"{shown} looks like °F; that is {celsius} °C — type the reading in °C."
    return f"{shown} °C is outside 34.0–43.0 °C; measure again and type the reading in °C."


def format_tenths(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"


def is_fever(tenths: int, threshold: int = DEFAULT_FEVER) -> bool:
    return tenths >= threshold
