"""The one pass-request validator: what a person typed (office screen, `pass issue`, a batch row) → a
`PassRequest`, or an error kind for each bad field with the bad value quoted.

The result carries every field that *is* good even when others are not, so the office form's live card
preview is built from the same check that decides whether Ctrl+S may issue. Nothing here is worded:
each `FieldError` names a kind (`Problem`), the field, the bad value and its limit, and the front end
words it through the translation catalog (`request.error.<kind>`, `request.field.<field>`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from .cards import card_fits, unprintable
from .errors import CheckpointError
from .models import Category
from .passes import CHECKPOINT_ID, MAX_CHECKPOINTS, MAX_HOLDER, MAX_OCCUPANTS, MAX_ORG
from .plates import PlateError, display_plate, normalise_plate
from .registry import PassRequest
from .text import clean, has_unsafe
from .timeutil import fmt_local, parse_when, zone

FIELDS = ("plate", "category", "holder", "org", "valid_from", "valid_until", "checkpoints", "occupants")
MAX_REASON = 200  # characters of a revocation reason (the list keeps 200)
QUOTED = 30  # characters of a bad value quoted back

# The category words a person may type: the English values, and the Chinese words a batch file carries.
CATEGORY_WORDS = {
    "应急车辆": Category.EMERGENCY,
    "应急": Category.EMERGENCY,
    "公务人员": Category.OFFICIAL,
    "公务": Category.OFFICIAL,
    "医护人员": Category.MEDICAL,
    "医护": Category.MEDICAL,
}

# t("request.error.plate", field=…, value=…, limit=…) → the sentence in the front end's language.
Translate = Callable[..., str]


class Problem(StrEnum):
    """What is wrong with one field (the catalog key is `request.error.<value>`)."""

    MISSING = "missing"  # a required field left blank (plate, category)
    PLATE = "plate"  # not a plate number
    PLATE_START = "plate_start"  # no province or special series character first
    PLATE_LETTERS = "plate_letters"  # the letters I or O, which plates do not use
    CATEGORY = "category"  # not emergency, official or medical
    TOO_LONG = "too_long"  # more characters than the pass carries
    UNSAFE = "unsafe"  # control or invisible characters
    UNPRINTABLE = "unprintable"  # characters the card's fonts cannot print (emoji)
    NO_ROOM = "no_room"  # printable, but more than the card's lines hold
    DATE = "date"  # not a date or time
    ORDER = "order"  # valid-until not after valid-from
    CHECKPOINT = "checkpoint"  # not a checkpoint id
    TOO_MANY = "too_many"  # more checkpoints than a pass names
    NOT_A_NUMBER = "not_a_number"  # occupants
    OCCUPANTS = "occupants"  # a number outside 1..MAX_OCCUPANTS
    EMPTY = "empty"  # a required text left blank (a revocation reason)
    EXTRA_CELLS = "extra_cells"  # a batch row with more cells than the header
    DUPLICATE = "duplicate"  # a batch row asking for the pass an earlier row asks for


@dataclass(frozen=True)
class FieldError:
    """One bad field: its kind, the value as typed (cleaned and cut for quoting) and the limit, if any."""

    field: str
    kind: Problem
    value: str = ""
    limit: int | None = None
    detail: str = ""  # more to name: the characters that cannot be printed, the other date, the line

    def message(self, t: Translate) -> str:
        """The sentence, in `t`'s language, with the bad value quoted."""
        return t(
            f"request.error.{self.kind.value}",
            field=t(f"request.field.{self.field}"),
            value=self.value,
            limit="" if self.limit is None else self.limit,
            detail=self.detail,
        )

    def to_json(self) -> dict[str, object]:
        return {"field": self.field, "kind": self.kind.value, "value": self.value, "limit": self.limit}


def quote(text: str) -> str:
    """The bad value as it is quoted in a message: cleaned, cut, in quotes (so a blank one shows)."""
    return repr(clean(text.strip(), limit=QUOTED))


@dataclass(frozen=True)
class Checked:
    """The request when every field is good; otherwise the first error of each bad field.

    The good fields are there either way (None when bad or, for the dates, not known), so a preview
    can show what is right while something else is still wrong.
    """

    request: PassRequest | None
    errors: dict[str, FieldError]
    plate: str | None = None
    category: Category | None = None
    holder: str | None = None
    org: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    checkpoints: tuple[str, ...] | None = None
    occupants: int | None = None
    values: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.request is not None

    def messages(self, t: Translate) -> dict[str, str]:
        return {name: error.message(t) for name, error in self.errors.items()}


class RequestInvalid(CheckpointError):
    """A request with bad fields; the front end words `errors` (this message is only the summary)."""

    def __init__(self, errors: dict[str, FieldError]) -> None:
        super().__init__(f"The request has {len(errors)} bad field(s): {', '.join(errors)}.")
        self.errors = errors


def category_of(text: str) -> Category | None:
    """`medical`, `Medical` or `医护人员` → Category.MEDICAL; None for anything else."""
    stripped = text.strip()
    word = CATEGORY_WORDS.get(stripped)
    if word is not None:
        return word
    try:
        return Category(stripped.lower())
    except ValueError:
        return None


def check_text(name: str, text: str, limit: int) -> tuple[str | None, FieldError | None]:
    """A holder, organisation or reason: at most `limit` characters, nothing hidden, every character
    printable on the card, and (holder, organisation) as much as the card's lines hold."""
    value = text.strip()
    if len(value) > limit:
        return None, FieldError(name, Problem.TOO_LONG, quote(value), limit, str(len(value)))
    if has_unsafe(value):
        return None, FieldError(name, Problem.UNSAFE, quote(value))
    missing = unprintable(value)
    if missing:
        return None, FieldError(name, Problem.UNPRINTABLE, quote(value), detail=" ".join(missing))
    if name in ("holder", "org") and not card_fits(name, value):
        return None, FieldError(name, Problem.NO_ROOM, quote(value))
    return value, None


def check_reason(text: str) -> tuple[str | None, FieldError | None]:
    """A revocation reason: not blank, at most 200 characters, nothing hidden."""
    value = text.strip()
    if not value:
        return None, FieldError("reason", Problem.EMPTY)
    if len(value) > MAX_REASON:
        return None, FieldError("reason", Problem.TOO_LONG, quote(value), MAX_REASON, str(len(value)))
    if has_unsafe(value):
        return None, FieldError("reason", Problem.UNSAFE, quote(value))
    return value, None


def parse_checkpoints(text: str) -> tuple[tuple[str, ...] | None, FieldError | None]:
    """`gate-1, gate-2` (or with a Chinese comma) → ("gate-1", "gate-2"); empty means all."""
    items = tuple(dict.fromkeys(part.strip() for part in text.replace("，", ",").split(",") if part.strip()))
    for item in items:
        if not CHECKPOINT_ID.match(item):
            return None, FieldError("checkpoints", Problem.CHECKPOINT, quote(item))
    if len(items) > MAX_CHECKPOINTS:
        return None, FieldError(
            "checkpoints", Problem.TOO_MANY, quote(text), MAX_CHECKPOINTS, str(len(items))
        )
    if not card_fits("checkpoints", ", ".join(items)):
        return None, FieldError("checkpoints", Problem.NO_ROOM, quote(text))
    return items, None


def parse_window(
    valid_from: str, valid_until: str, *, tz: str, valid_days: int, now: datetime
) -> tuple[datetime | None, datetime | None, dict[str, FieldError]]:
    """The validity from what was typed, to the minute: a blank start is now, a blank end `valid_days`
    after the start, a bare end date its last minute. Returns (start, end, errors)."""
    local = zone(tz)
    errors: dict[str, FieldError] = {}
    start: datetime | None = now.replace(second=0, microsecond=0)
    end: datetime | None = None
    if valid_from.strip():
        try:
            start = parse_when(valid_from, local).replace(second=0, microsecond=0)
        except CheckpointError:
            start = None
            errors["valid_from"] = FieldError("valid_from", Problem.DATE, quote(valid_from))
    if valid_until.strip():
        try:
            end = parse_when(valid_until, local, end_of_day=True).replace(second=0, microsecond=0)
        except CheckpointError:
            errors["valid_until"] = FieldError("valid_until", Problem.DATE, quote(valid_until))
    elif start is not None:
        end = start + timedelta(days=valid_days)
    if start is not None and end is not None and end <= start:
        errors["valid_until"] = FieldError(
            "valid_until", Problem.ORDER, quote(fmt_local(end, local)), detail=quote(fmt_local(start, local))
        )
        end = None
    return start, end, errors


def check_request(values: dict[str, str], *, tz: str, valid_days: int, now: datetime) -> Checked:
    """Check every field of `values` (the names in FIELDS, as typed; a missing one is blank).

    A blank valid-from is `now`, a blank valid-until `valid_days` later, blank occupants 5.
    """
    typed = {name: str(values.get(name, "") or "") for name in FIELDS}
    errors: dict[str, FieldError] = {}
    plate: str | None = None
    try:
        plate = normalise_plate(typed["plate"])
    except PlateError as exc:
        kind = {"start": Problem.PLATE_START, "letters": Problem.PLATE_LETTERS}.get(exc.kind, Problem.PLATE)
        kind = kind if typed["plate"].strip() else Problem.MISSING
        errors["plate"] = FieldError("plate", kind, quote(typed["plate"]))
    category = category_of(typed["category"])
    if category is None:
        kind = Problem.CATEGORY if typed["category"].strip() else Problem.MISSING
        errors["category"] = FieldError("category", kind, quote(typed["category"]))
    holder, error = check_text("holder", typed["holder"], MAX_HOLDER)
    if error is not None:
        errors["holder"] = error
    org, error = check_text("org", typed["org"], MAX_ORG)
    if error is not None:
        errors["org"] = error
    start, end, date_errors = parse_window(
        typed["valid_from"], typed["valid_until"], tz=tz, valid_days=valid_days, now=now
    )
    errors.update(date_errors)
    checkpoints, error = parse_checkpoints(typed["checkpoints"])
    if error is not None:
        errors["checkpoints"] = error
    occupants: int | None = None
    count = typed["occupants"].strip() or "5"
    try:
        occupants = int(count)
    except ValueError:
        errors["occupants"] = FieldError("occupants", Problem.NOT_A_NUMBER, quote(count), MAX_OCCUPANTS)
    if occupants is not None and not 1 <= occupants <= MAX_OCCUPANTS:
        errors["occupants"] = FieldError("occupants", Problem.OCCUPANTS, quote(count), MAX_OCCUPANTS)
        occupants = None
    request = None
    if not errors:
        assert plate is not None and category is not None and holder is not None and org is not None
        assert start is not None and end is not None and checkpoints is not None and occupants is not None
        request = PassRequest(
            plate=plate, category=category, holder=holder, org=org, valid_from=start, valid_until=end,
            checkpoints=checkpoints, max_occupants=occupants,
        )  # fmt: skip
    ordered = {name: errors[name] for name in FIELDS if name in errors}
    return Checked(
        request, ordered, plate=plate, category=category, holder=holder, org=org, valid_from=start,
        valid_until=None if "valid_until" in errors else end, checkpoints=checkpoints, occupants=occupants,
        values=typed,
    )  # fmt: skip


def shown_plate(checked: Checked) -> str:
    """The plate as the card shows it: `鄂A·12345` once it is a plate, else what was typed."""
    if checked.plate is not None:
        return display_plate(checked.plate)
    return clean(checked.values.get("plate", "").strip())
