"""The decision policy: a pure function, one reason per decision, every reason reachable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkpoint.keys import TrustList
from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.policy import Facts, LogState, Override, RuleMode, StationRules, decide
from checkpoint.revocations import Revocation, RevocationList
from checkpoint.temperature import TemperatureError, format_tenths, parse_temperature

from .conftest import NOW

RULES = StationRules(checkpoint_id="north-gate")
NO_REVOCATIONS = RevocationList()


def run(code: str | None, trust: TrustList, facts: Facts | None = None, **kw: object):  # type: ignore[no-untyped-def]
    rules = kw.pop("rules", RULES)
    state = kw.pop("state", LogState())
    revocations = kw.pop("revocations", NO_REVOCATIONS)
    now = kw.pop("now", NOW)
    return decide(code, trust, revocations, rules, state, facts or Facts(), now)  # type: ignore[arg-type]


def test_a_valid_pass_is_allowed_with_its_fields(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    issued = issue()
    decision = run(issued.payload, trust, Facts(occupants=2, temperatures=(365, 368)))
    assert (decision.verdict, decision.reason) == (Verdict.ALLOW, Reason.OK)
    assert decision.pass_data == issued.data and decision.fevers == ()


def test_station_rules_and_staff_facts_reach_every_reason(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    issued = issue(max_occupants=2)
    code = issued.payload
    revoked = RevocationList(seq=3, entries=(Revocation(issued.data.pass_id, NOW, "lost"),))
    cases = [
        (run(code, trust, revocations=revoked), Reason.REVOKED),
        (run(code, trust, now=NOW + timedelta(days=30)), Reason.EXPIRED),
        (run(code, trust, now=NOW - timedelta(days=3)), Reason.NOT_YET_VALID),
        (run(issue(checkpoints=("south-gate",)).payload, trust), Reason.WRONG_CHECKPOINT),
        (
            run(
                code, trust, rules=StationRules("north-gate", closed_categories=frozenset({Category.MEDICAL}))
            ),
            Reason.CATEGORY_CLOSED,
        ),
        (run(code, trust, Facts(plate_mismatch=True)), Reason.PLATE_MISMATCH),
        (run(code, trust, state=LogState(inside=frozenset({issued.data.pass_id}))), Reason.ALREADY_INSIDE),
        (run(code, trust, Facts(occupants=3)), Reason.TOO_MANY_OCCUPANTS),
        (run(code, trust, Facts(occupants=2, temperatures=(366, 381))), Reason.FEVER),
        (run(code, trust, Facts(occupants=1, temperatures=(373,))), Reason.FEVER),  # at the threshold
        (run(None, trust), Reason.NO_PASS),
        (run("https://example.cn", trust), Reason.NOT_A_PASS),
        (run("CP1:!!", trust), Reason.MALFORMED),
        (run(code, TrustList()), Reason.UNKNOWN_KEY),
    ]
    for decision, reason in cases:
        assert decision.reason is reason
        assert decision.verdict is Verdict.DENY


def test_leaving_is_never_anti_passback(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    issued = issue()
    inside = LogState(inside=frozenset({issued.data.pass_id}))
    assert run(issued.payload, trust, Facts(direction=Direction.OUT), state=inside).reason is Reason.OK


def test_warn_modes_allow_with_a_warning(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    issued = issue()
    rules = StationRules("north-gate", anti_passback=RuleMode.WARN, fever_action=RuleMode.WARN)
    state = LogState(inside=frozenset({issued.data.pass_id}))
    decision = run(issued.payload, trust, Facts(occupants=1, temperatures=(390,)), rules=rules, state=state)
    assert (decision.verdict, decision.reason) == (Verdict.ALLOW, Reason.OK)
    assert decision.warnings == (Reason.ALREADY_INSIDE, Reason.FEVER)
    assert decision.fevers == (390,)
    off = StationRules("north-gate", anti_passback=RuleMode.OFF)
    assert run(issued.payload, trust, rules=off, state=state).warnings == ()


def test_threshold_is_a_setting(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    issued = issue()
    strict = StationRules("north-gate", fever_threshold=372)
    assert run(issued.payload, trust, Facts(temperatures=(372,)), rules=strict).reason is Reason.FEVER
    assert run(issued.payload, trust, Facts(temperatures=(372,))).reason is Reason.OK


def test_override_lets_a_denied_vehicle_through_and_keeps_the_rule(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    override = Override("王主任", "救护车转运危重病人")
    decision = run(None, trust, Facts(override=override))
    assert (decision.verdict, decision.reason, decision.denied_for) == (
        Verdict.ALLOW,
        Reason.OVERRIDE,
        Reason.NO_PASS,
    )
    expired = run(issue().payload, trust, Facts(override=override), now=NOW + timedelta(days=40))
    assert expired.reason is Reason.OVERRIDE and expired.denied_for is Reason.EXPIRED
    # An override on a vehicle that would pass anyway is just a normal allow.
    assert run(issue().payload, trust, Facts(override=override)).reason is Reason.OK


def test_the_policy_is_pure(trust: TrustList, issue) -> None:  # type: ignore[no-untyped-def]
    code = issue().payload
    facts = Facts(occupants=2, temperatures=(366, 367))
    assert run(code, trust, facts) == run(code, trust, facts)


@pytest.mark.parametrize(
    ("typed", "tenths"),
    [
        ("36.6", 366),
        ("37", 370),
        (" 37.3 ", 373),
        ("38,1", 381),
        ("36.5℃", 365),
        ("36.9°C", 369),
        ("34.0", 340),
        ("43", 430),
    ],
)
def test_temperatures_parse_to_tenths(typed: str, tenths: int) -> None:
    assert parse_temperature(typed) == tenths
    assert format_tenths(tenths) == f"{tenths / 10:.1f}"


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("3.7", "did you mean 37.x?"),
        ("373", "did you mean 37.3?"),
        ("98.6", "looks like °F"),
        ("33.9", "outside 34.0–43.0"),
        ("43.1", "outside 34.0–43.0"),
        ("36.66", "more than one decimal"),
        ("abc", "not a number"),
        ("", "Type a temperature"),
        ("nan", "Type a temperature"),
    ],
)
def test_wrong_temperatures_get_a_helpful_sentence(typed: str, hint: str) -> None:
    with pytest.raises(TemperatureError) as caught:
        parse_temperature(typed)
    assert hint in str(caught.value)


def test_a_retired_keys_pass_that_has_run_out_says_expired(office_home, issue) -> None:  # type: ignore[no-untyped-def]
    """After a rotation the old key is trusted for a grace period only. A pass it signed that has
    simply run out is "expired", not "unknown key" (which a guard reads as a forgery); a pass whose own
    dates are still good is refused as "unknown key" all the same — never allowed."""
    from checkpoint.keys import Keyring

    keyring = Keyring(office_home.office_keys, "Test township office")
    short = issue(valid_until=NOW + timedelta(days=2))  # signed by the first key
    long = issue(valid_until=NOW + timedelta(days=60))
    keyring.rotate(timedelta(days=10), now=NOW)
    trust = keyring.trust_list()
    later = NOW + timedelta(days=20)  # past the first key's grace and the short pass's end
    expired = run(short.payload, trust, now=later)
    assert (expired.verdict, expired.reason) == (Verdict.DENY, Reason.EXPIRED)
    assert expired.pass_data == short.data
    still_dated = run(long.payload, trust, now=later)
    assert (still_dated.verdict, still_dated.reason, still_dated.pass_data) == (
        Verdict.DENY,
        Reason.UNKNOWN_KEY,
        None,
    )
    forged = long.payload[:-4] + ("0000" if not long.payload.endswith("0000") else "1111")
    assert run(forged, trust, now=later).reason in (Reason.UNKNOWN_KEY, Reason.MALFORMED)
