"""The station's check-in: the single entry point for a vehicle at the barrier.

Modelled on libpretixsync's `TicketCheckProvider.check`: every front end (the station screen,
`checkpoint scan --log`) hands the facts it collected to one `CheckIn` and renders the typed outcome
it gets back; none of them decides, counts or writes the log by itself.

One vehicle goes through like this:

1. **Intake** (`code`, `typed`): a code from the camera or typed (a USB barcode scanner types too).
   Before anything is decided: no shift → ignored; the same code within `station.duplicate_seconds` →
   the same vehicle; a camera code within `VERDICT_HOLD_SECONDS` of a verdict does not replace it (a pass
   of ours waits and is taken when the hold is over, anything else is dropped; a typed code takes over at
   once); a vehicle being checked or a form open → busy.
2. **Decide**: `policy.decide` with what is known. A code that fails the pass checks is logged at once.
3. **Check** (`check`, `mismatch`, `cancel`): a valid pass waits for its occupants' temperatures (and
   the plate confirmed, or a mismatch); then `decide` again with every fact.
4. **Record**: the entry is appended durably (`LogStore.append`) and only then returned as `Recorded`,
   which is what the screen shows. The denial now shown is the only one an override may refer to.

Overrides refer to one denial by its entry id (`override_target`, `override`); counters, sign-in,
resume of an open shift, the handover summary and the seal live here too. The clock is passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .chain import head_code
from .errors import CheckpointError
from .keys import TrustList
from .models import Direction, Reason, Verdict
from .passes import is_ours, raw_hash
from .plates import normalise_plate
from .policy import Decision, Facts, LogState, Override, decide
from .revocations import RevocationList
from .settings import StationSettings
from .store import Entry, EntryDraft, LogStore, Shift
from .temperature import TemperatureError, looks_like_readings, parse_readings
from .text import clean

MAX_CODE = 4096  # characters of a typed or scanned text the station will look at
MAX_NAME = 20  # characters of an operator's, leader's or supervisor's name: a line of the duty book
MAX_TEXT = 200  # characters of a written reason or note
MAX_OCCUPANTS = 60
VERDICT_HOLD_SECONDS = 3.0  # after a verdict, camera codes do not replace it for this long
REFUSE_QUIET_SECONDS = 5.0  # "finish the check first" is said for the camera at most this often
VEHICLE_KINDS = ("car", "van", "truck", "bus", "motorcycle", "tractor", "other")


# ----------------------------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class Check:
    """The facts of the check step: occupants (None: as many as readings), readings, plate seen."""

    occupants: int | None
    temperatures: tuple[int, ...]
    plate_mismatch: bool = False


@dataclass(frozen=True)
class OpenShift:
    id: str
    shift: Shift
    started: datetime


@dataclass(frozen=True)
class Vehicle:
    """One vehicle at the barrier: what was scanned or typed, and the facts staff supplied."""

    code: str | None  # None: no pass shown
    raw_hash: str | None
    facts: Facts
    plate: str | None = None  # typed by staff (no pass)
    vehicle: str | None = None
    note: str | None = None
    decision: Decision | None = None  # the decision so far (a valid pass waiting for its check)


# ----------------------------------------------------------------------------------- what comes out

IgnoredKind = Literal[
    "sign_in_first", "duplicate", "held", "waiting", "busy", "not_checking", "seen", "empty"
]


@dataclass(frozen=True)
class Ignored:
    """The code was not taken; `tell` is True when the staff should be told why (`kind`)."""

    kind: IgnoredKind
    tell: bool = False


@dataclass(frozen=True)
class Checking:
    """A valid pass: check the plate, type the occupants' temperatures (nothing logged yet)."""

    vehicle: Vehicle
    decision: Decision


@dataclass(frozen=True)
class Recorded:
    """The verdict, after its entry is in the log (`entry` is None only for a store-less dry run)."""

    vehicle: Vehicle
    decision: Decision
    entry: Entry | None


@dataclass(frozen=True)
class NotRecorded:
    """The log refused the write: nothing was recorded (`error.kind` for a LogError)."""

    error: CheckpointError


@dataclass(frozen=True)
class CheckProblem:
    """What was typed in the check step is not usable; the vehicle is still being checked.
    `key` is a catalog key (`temp.<kind>` or `check.<kind>`), `values` its fields."""

    key: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cancelled:
    """The check was cancelled: nothing was logged."""


@dataclass(frozen=True)
class ClockBehind:
    """The station's clock is earlier than its newest log entry: staff must confirm before it decides
    (`confirm_clock`), or set the clock right."""

    now: datetime
    newest: datetime


@dataclass(frozen=True)
class OverrideRefused:
    """The denial the override named is no longer the verdict on screen: nothing was logged."""


Outcome = (
    Ignored | Checking | Recorded | NotRecorded | CheckProblem | Cancelled | ClockBehind | OverrideRefused
)


@dataclass(frozen=True)
class Denial:
    """The denial an override would set aside: shown in the override dialog."""

    entry_id: str
    plate: str | None
    holder: str | None
    reason: Reason


@dataclass(frozen=True)
class Counters:
    """In, out, denied, fevers, overrides: this shift (None when nobody is signed in) and today."""

    shift: dict[str, int] | None
    day: dict[str, int]


@dataclass(frozen=True)
class Handover:
    """The summary shown before the seal."""

    shift: Shift
    started: datetime
    inside: int
    counts: dict[str, int]
    head_code: str  # seq and hash prefix of the head the seal will cover, for the paper duty book


class StaffTextError(CheckpointError):
    """A name or reason staff typed is empty or too long; `kind` is `required` or `too_long`."""

    def __init__(self, message: str, kind: str, field_name: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field_name


def staff_text(value: str, field_name: str, limit: int) -> str:
    """A name or reason as typed by staff: cleaned, stripped, not empty, at most `limit` characters."""
    text = clean(value).strip()
    if not text:
        raise StaffTextError(f"Type the {field_name}.", "required", field_name)
    if len(text) > limit:
        raise StaffTextError(
            f"The {field_name} is longer than {limit} characters; shorten it.", "too_long", field_name
        )
    return text


def read_check(temperatures_text: str) -> Check | CheckProblem:
    """What staff typed in the check step (one temperature per occupant) as a Check, or the problem with it."""
    try:
        readings = parse_readings(temperatures_text)
    except TemperatureError as error:
        typed = clean(error.values.get("typed", temperatures_text), limit=12)
        return CheckProblem(f"temp.{error.kind}", {**error.values, "typed": typed})
    if not readings:
        return CheckProblem("check.no_readings")
    return Check(len(readings), readings)


def code_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


class CheckIn:
    """The check-in flow of one station. Not thread-safe: call it from one event loop."""

    def __init__(
        self,
        store: LogStore | None,
        trust: TrustList,
        revocations: RevocationList,
        settings: StationSettings,
        *,
        clock: Callable[[], datetime],
        hold_seconds: float | None = None,
        looping_feed: bool = False,
        inside: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        """`store` None: decide without writing (`scan` without `--log`; `inside` then says who is
        inside). `looping_feed`: the camera is a demo feed that comes round again, so a camera code
        that was already turned away once this session is not logged again (nobody stands there)."""
        self.store = store
        self.trust = trust
        self.revocations = revocations
        self.settings = settings
        self.rules = settings.rules()
        self.clock = clock
        self.hold_seconds = VERDICT_HOLD_SECONDS if hold_seconds is None else hold_seconds
        self.looping_feed = looping_feed
        self._inside = inside
        self.direction = Direction.IN
        self.open: OpenShift | None = None
        self.pending: Vehicle | None = None  # a valid pass being checked
        self.current: Recorded | None = None  # the verdict on screen (None: idle, or a check)
        self.waiting: tuple[str, bytes] | None = None  # a camera pass that came during the hold
        self._last_code: tuple[str, datetime] | None = None
        self._verdict_at: datetime | None = None
        self._told_busy = False  # "finish the check first" said once for the vehicle being checked
        self._refused_at: datetime | None = None
        self._turned_away: set[str] = set()  # a looping feed's codes already denied this session
        self._newest: datetime | None = None
        self._clock_confirmed = False

    # ------------------------------------------------------------------------------- shifts

    async def resume(self) -> OpenShift | None:
        """After a restart (or a power cut) the open shift carries on. Also reads the newest entry's
        time (for the clock check)."""
        store = self._store()
        current = await store.open_shift()
        self.open = None if current is None else OpenShift(*current)
        self._newest = await store.newest_time()
        return self.open

    async def sign_in(self, operator: str, leader: str) -> OpenShift:
        """Start a shift. Raises StaffTextError for an empty or too long name, CheckpointError when the log
        refuses the write."""
        shift = Shift(
            staff_text(operator, "operator on duty", MAX_NAME), staff_text(leader, "shift leader", MAX_NAME)
        )
        now = self.clock()
        shift_id = await self._store().start_shift(shift, now=now)
        self.open = OpenShift(shift_id, shift, now)
        return self.open

    def work_as(self, shift: Shift) -> None:
        """Headless scanning (`checkpoint scan`): decide for `shift` without a sign-in of its own (the
        station's open shift, if there is one, keeps its id and start)."""
        current = self.open
        self.open = OpenShift(
            "" if current is None else current.id, shift, self.clock() if current is None else current.started
        )

    async def handover(self) -> Handover | None:
        """The summary of the open shift (None: nobody is signed in)."""
        if self.open is None:
            return None
        store = self._store()
        counts = await store.counts_since(self.open.started)
        inside = len(await store.inside())
        code = head_code(*await store.head())
        return Handover(self.open.shift, self.open.started, inside, counts, code)

    async def seal(self, key: Ed25519PrivateKey) -> int | None:
        """Seal the chain head with the station key and end the shift; the sealed sequence number, or
        None when there was nothing new to seal. Raises CheckpointError."""
        store = self._store()
        if self.open is None:
            return None
        sealed = await store.seal(key, now=self.clock())
        seq = None if sealed is None else sealed[0]
        await store.end_shift(self.open.id, seq, now=self.clock())
        self.open = None
        self.pending = None
        self.current = None
        self.waiting = None
        return seq

    def take(self, *, trust: TrustList | None = None, revocations: RevocationList | None = None) -> None:
        """A newer trust list or revocation list arrived (sync): decide with it from the next vehicle on."""
        if trust is not None:
            self.trust = trust
        if revocations is not None:
            self.revocations = revocations

    # ------------------------------------------------------------------------------- counters

    async def counters(self, tz: tzinfo) -> Counters:
        store = self._store()
        now = self.clock()
        day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        day = await store.counts_since(day_start)
        shift = await store.counts_since(self.open.started) if self.open is not None else None
        return Counters(shift, day)

    # ------------------------------------------------------------------------------- the clock

    def clock_behind(self) -> bool:
        """The clock is earlier than the newest entry in the log (set back, or a flat CMOS battery)."""
        return self._newest is not None and self.clock() < self._newest

    def confirm_clock(self) -> None:
        """Staff confirmed that the station may decide with its clock behind the log (this session)."""
        self._clock_confirmed = True

    def _clock_refusal(self) -> ClockBehind | None:
        if self._clock_confirmed or self._newest is None:
            return None
        now = self.clock()
        return ClockBehind(now, self._newest) if now < self._newest else None

    # ------------------------------------------------------------------------------- intake

    async def typed(self, text: str, *, form_open: bool = False) -> Outcome:
        """A line typed (or a USB scanner's Enter): the temperatures of the vehicle being checked, or a
        code. Numbers with no vehicle being checked are not a code a vehicle showed: not logged."""
        text = text.strip()[:MAX_CODE]
        if self.pending is not None and self.pending.decision is not None:
            if is_ours(text) or len(text) > 60:  # a USB scanner read the next pass: not temperatures
                return Ignored("busy", tell=True)
            return await self.check_typed(text)
        if looks_like_readings(text):
            self.current = None  # said on a clear panel, not beside the last vehicle's verdict
            return Ignored("not_checking", tell=True)
        if not text:
            return Ignored("empty")
        return await self.code(text, text.encode("utf-8", errors="surrogatepass"), form_open=form_open)

    async def code(self, text: str, raw: bytes, *, scanned: bool = False, form_open: bool = False) -> Outcome:
        """A code arrived (camera, USB scanner or typed). Decide what can be decided now."""
        text = text[:MAX_CODE]
        now = self.clock()
        if self.open is None:  # while the sign-in form is open the camera's codes wait quietly
            return Ignored("sign_in_first", tell=not (scanned and form_open) and self._tell(scanned, now))
        if scanned and self._holding(now):
            # A code the camera sees right after a verdict (a sticker, the next car's pass held up early)
            # must not replace the verdict the guard is reading. A pass of ours waits for the hold's end.
            if is_ours(text) and not form_open and self.pending is None:
                self.waiting = (text, raw)
                return Ignored("waiting")
            return Ignored("held")
        if form_open or self.pending is not None:
            pending = self.pending
            if pending is None:
                return Ignored("busy", tell=self._tell(scanned, now))
            if pending.code == text or self._told_busy:  # the same car is simply still held up
                return Ignored("busy")
            self._told_busy = True  # once per vehicle: the camera keeps seeing the queue behind it
            return Ignored("busy", tell=self._tell(scanned, now))
        if (
            self._last_code is not None
            and self._last_code[0] == text
            and timedelta(0) <= now - self._last_code[1] < timedelta(seconds=self.settings.duplicate_seconds)
        ):
            return Ignored("duplicate")  # the same vehicle, not a new event
        if scanned and self.looping_feed and code_digest(text) in self._turned_away:
            return Ignored("seen")
        refusal = self._clock_refusal()
        if refusal is not None:
            return refusal
        self._last_code = (text, now)
        if not scanned:
            self.waiting = None  # a typed code takes over: the car that waited is shown again later
        vehicle = Vehicle(code=text, raw_hash=raw_hash(raw), facts=Facts(direction=self.direction))
        decision = await self._decide(vehicle)
        if decision.allowed and decision.pass_data is not None:
            self.pending = replace(vehicle, decision=decision)
            self._told_busy = False
            self.current = None  # a check is on screen now: the last verdict is no longer there
            return Checking(self.pending, decision)
        outcome = await self._record(vehicle, decision)
        if scanned and self.looping_feed and isinstance(outcome, Recorded):
            self._turned_away.add(code_digest(text))
        return outcome

    async def release(self) -> Outcome | None:
        """The camera pass that came during a verdict's hold, once the hold is over (call it now and
        then, e.g. once a second); None when there is none, or not yet."""
        if self.waiting is None or self._holding(self.clock()) or self.pending is not None:
            return None
        text, raw = self.waiting
        self.waiting = None
        return await self.code(text, raw, scanned=True)

    def _holding(self, now: datetime) -> bool:
        return (
            self._verdict_at is not None
            and self.current is not None
            and timedelta(0) <= now - self._verdict_at < timedelta(seconds=self.hold_seconds)
        )

    def _tell(self, scanned: bool, now: datetime) -> bool:
        """Say why a code was not taken; for the camera at most every few seconds (it keeps seeing it)."""
        if (
            scanned
            and self._refused_at is not None
            and timedelta(0) <= now - self._refused_at < timedelta(seconds=REFUSE_QUIET_SECONDS)
        ):
            return False
        self._refused_at = now
        return True

    # ------------------------------------------------------------------------------- the check

    async def check_typed(self, text: str) -> Outcome:
        """The temperatures line of the vehicle being checked (Enter: the plate matches)."""
        if self.pending is None:
            return Ignored("not_checking", tell=True)
        result = read_check(text)
        if isinstance(result, CheckProblem):
            return result
        return await self.check(result)

    async def mismatch(self) -> Outcome:
        """F3 during the check: the plate seen is not the pass's."""
        return await self.check(Check(None, (), plate_mismatch=True))

    async def check(self, result: Check) -> Outcome:
        """The check step's facts: decide again with every fact, then record."""
        vehicle = self.pending
        if vehicle is None:
            return Ignored("not_checking", tell=True)
        refusal = self._clock_refusal()
        if refusal is not None:
            return refusal
        self.pending = None
        vehicle = replace(
            vehicle,
            facts=replace(
                vehicle.facts,
                occupants=result.occupants or None,
                temperatures=result.temperatures,
                plate_mismatch=result.plate_mismatch,
            ),
        )
        return await self._record(vehicle, await self._decide(vehicle))

    def cancel(self) -> Outcome:
        """Esc during the check: nothing is logged; the same pass may be shown again at once."""
        if self.pending is None:
            return Ignored("not_checking")
        self.pending = None
        self.current = None
        self._last_code = None
        return Cancelled()

    def clear(self) -> None:
        """The verdict is cleared from the screen: no override refers to it any more."""
        self.current = None

    # ------------------------------------------------------------------------------- no pass

    async def no_pass(self, plate: str, vehicle: str, reason: str) -> Outcome:
        """A vehicle that showed no pass, turned back. Raises CheckpointError for a bad plate or reason."""
        if self.open is None:
            return Ignored("sign_in_first", tell=True)
        if self.pending is not None:
            return Ignored("busy", tell=True)
        kind = vehicle if vehicle in VEHICLE_KINDS else "other"
        note = staff_text(reason, "reason", MAX_TEXT)
        refusal = self._clock_refusal()
        if refusal is not None:
            return refusal
        entry = Vehicle(
            code=None,
            raw_hash=None,
            facts=Facts(direction=self.direction),
            plate=normalise_plate(plate),
            vehicle=kind,
            note=note,
        )
        return await self._record(entry, await self._decide(entry))

    # ------------------------------------------------------------------------------- overrides

    def override_target(self) -> Denial | None:
        """The denial now on screen, which an override would set aside (None: there is none)."""
        current = self.current
        if self.pending is not None or current is None or current.entry is None:
            return None
        entry = current.entry
        if entry.verdict is not Verdict.DENY:
            return None
        return Denial(entry.id, entry.plate, entry.holder, entry.reason)

    async def override(self, entry_id: str, supervisor: str, reason: str) -> Outcome:
        """A named supervisor lets the denied vehicle `entry_id` through with a written reason: a new
        entry that refers to the denial. Refused unless that denial is the verdict on screen."""
        target = self.override_target()
        if target is None or target.entry_id != entry_id or self.current is None:
            return OverrideRefused()
        who = staff_text(supervisor, "supervisor", MAX_NAME)
        why = staff_text(reason, "reason", MAX_TEXT)
        refusal = self._clock_refusal()
        if refusal is not None:
            return refusal
        denied = self.current.vehicle
        vehicle = replace(denied, facts=replace(denied.facts, override=Override(who, why)), decision=None)
        return await self._record(vehicle, await self._decide(vehicle), refers_to=entry_id)

    # ------------------------------------------------------------------------------- decide, record

    async def _decide(self, vehicle: Vehicle) -> Decision:
        if self.store is not None:
            inside = await self.store.inside()
        else:
            inside = self._inside() if self._inside is not None else frozenset()
        return decide(
            vehicle.code,
            self.trust,
            self.revocations,
            self.rules,
            LogState(inside=inside),
            vehicle.facts,
            self.clock(),
        )

    def draft(self, vehicle: Vehicle, decision: Decision, *, refers_to: str | None = None) -> EntryDraft:
        """The log entry for a decision about `vehicle` (by the shift on duty)."""
        facts = vehicle.facts
        shift = self.open.shift if self.open is not None else Shift("scan", "scan")
        override = facts.override if decision.reason is Reason.OVERRIDE else None
        draft = EntryDraft.from_decision(
            decision,
            direction=facts.direction,
            shift=shift,
            occupants=facts.occupants,
            temperatures=facts.temperatures,
            raw_hash=vehicle.raw_hash,
            plate=vehicle.plate,
            vehicle=vehicle.vehicle,
            note=vehicle.note,
            override_by=None if override is None else override.supervisor,
            override_reason=None if override is None else override.reason,
        )
        draft.refers_to = refers_to
        return draft

    async def _record(self, vehicle: Vehicle, decision: Decision, *, refers_to: str | None = None) -> Outcome:
        """Append the entry (durably), then — only then — return the verdict to show."""
        vehicle = replace(vehicle, decision=decision)
        entry = None
        if self.store is not None:
            now = self.clock()
            try:
                entry = await self.store.append(self.draft(vehicle, decision, refers_to=refers_to), now=now)
            except CheckpointError as exc:
                return NotRecorded(exc)
            self._newest = now if self._newest is None else max(self._newest, now)
        recorded = Recorded(vehicle, decision, entry)
        self.current = recorded
        self._verdict_at = self.clock()
        return recorded

    def _store(self) -> LogStore:
        if self.store is None:
            raise CheckpointError("This check-in has no traffic log to write to.")
        return self.store
