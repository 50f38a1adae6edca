"""The decision: allow or deny, with exactly one reason. A pure function; the clock is an argument.

The station screen only collects facts (what staff saw and typed) and asks `decide()`; it never
decides by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum

from .keys import TrustList
from .models import Category, Direction, PassData, Reason, Verdict
from .passes import read_pass
from .revocations import RevocationList
from .temperature import DEFAULT_FEVER


class RuleMode(StrEnum):
    """What a rule does when it is broken: deny the vehicle, only warn, or nothing at all."""

    DENY = "deny"
    WARN = "warn"
    OFF = "off"


@dataclass(frozen=True)
class StationRules:
    """The station settings the decision depends on."""

    checkpoint_id: str
    closed_categories: frozenset[Category] = frozenset()
    anti_passback: RuleMode = RuleMode.DENY
    fever_threshold: int = DEFAULT_FEVER  # tenths of a degree
    fever_action: RuleMode = RuleMode.DENY


@dataclass(frozen=True)
class Override:
    """A named supervisor lets a denied vehicle through, with a written reason."""

    supervisor: str
    reason: str


@dataclass(frozen=True)
class Facts:
    """What staff supply: direction, occupants and their temperatures, plate check, override."""

    direction: Direction = Direction.IN
    occupants: int | None = None
    temperatures: tuple[int, ...] = ()
    plate_mismatch: bool = False
    override: Override | None = None


@dataclass(frozen=True)
class LogState:
    """What the log says that matters to a decision: which passes are inside (entered, not left)."""

    inside: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: Reason
    pass_data: PassData | None = None
    detail: str = ""
    key_id: str | None = None
    denied_for: Reason | None = None  # the rule an override set aside
    warnings: tuple[Reason, ...] = ()
    fevers: tuple[int, ...] = field(default=())  # readings at or above the threshold

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    def to_json(self, tz: tzinfo | None = None) -> dict[str, object]:
        return {
            "decision": self.verdict.value,
            "reason": self.reason.value,
            "detail": self.detail,
            "pass": None if self.pass_data is None else self.pass_data.public_dict(tz),
            "denied_for": None if self.denied_for is None else self.denied_for.value,
            "warnings": [w.value for w in self.warnings],
        }


def _deny(reason: Reason, detail: str, data: PassData | None, facts: Facts, **extra: object) -> Decision:
    if facts.override is not None:
        return Decision(
            Verdict.ALLOW,
            Reason.OVERRIDE,
            data,
            f"overrode {reason.value}: {detail}",
            denied_for=reason,
            **extra,  # type: ignore[arg-type]
        )
    return Decision(Verdict.DENY, reason, data, detail, **extra)  # type: ignore[arg-type]


def decide(
    code: str | None,
    trust: TrustList,
    revocations: RevocationList,
    rules: StationRules,
    state: LogState,
    facts: Facts,
    now: datetime,
) -> Decision:
    """Decide for one vehicle. `code` is the text of the scanned or typed pass; None: no pass shown."""
    if code is None:
        return _deny(Reason.NO_PASS, "no pass shown", None, facts)
    reading = read_pass(code, trust, now)
    if reading.reason is not Reason.OK or reading.pass_data is None:
        return _deny(reading.reason, reading.detail, reading.pass_data, facts, key_id=reading.key_id)
    data = reading.pass_data
    key_id = data.key_id
    if revocations.is_revoked(data.pass_id):
        return _deny(Reason.REVOKED, "on the revocation list", data, facts, key_id=key_id)
    if now < data.valid_from:
        return _deny(Reason.NOT_YET_VALID, "before valid-from", data, facts, key_id=key_id)
    if now > data.valid_until:
        return _deny(Reason.EXPIRED, "after valid-until", data, facts, key_id=key_id)
    if data.checkpoints and rules.checkpoint_id not in data.checkpoints:
        return _deny(Reason.WRONG_CHECKPOINT, "not valid at this checkpoint", data, facts, key_id=key_id)
    if data.category in rules.closed_categories:
        return _deny(Reason.CATEGORY_CLOSED, "category closed here", data, facts, key_id=key_id)
    if facts.plate_mismatch:
        return _deny(Reason.PLATE_MISMATCH, "plate seen is not the pass's", data, facts, key_id=key_id)
    warnings: list[Reason] = []
    if (
        facts.direction is Direction.IN
        and data.pass_id in state.inside
        and rules.anti_passback is not RuleMode.OFF
    ):
        if rules.anti_passback is RuleMode.DENY:
            return _deny(Reason.ALREADY_INSIDE, "entered before, no exit since", data, facts, key_id=key_id)
        warnings.append(Reason.ALREADY_INSIDE)
    occupants = facts.occupants if facts.occupants is not None else len(facts.temperatures)
    if occupants > data.max_occupants:
        return _deny(
            Reason.TOO_MANY_OCCUPANTS,
            f"{occupants} occupants, pass allows {data.max_occupants}",
            data,
            facts,
            key_id=key_id,
            warnings=tuple(warnings),
        )
    fevers = tuple(t for t in facts.temperatures if t >= rules.fever_threshold)
    if fevers and rules.fever_action is not RuleMode.OFF:
        if rules.fever_action is RuleMode.DENY:
            return _deny(
                Reason.FEVER,
                "temperature at or above the threshold",
                data,
                facts,
                key_id=key_id,
                warnings=tuple(warnings),
                fevers=fevers,
            )
        warnings.append(Reason.FEVER)
    return Decision(
        Verdict.ALLOW, Reason.OK, data, "valid pass", key_id=key_id, warnings=tuple(warnings), fevers=fevers
    )
