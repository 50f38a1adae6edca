"""The station's check-in service (checkpoint.checkin), without Textual: a real SQLite log in tmp_path,
passes signed for real by the office key, the clock moved on by hand."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from checkpoint.checkin import (
    MAX_NAME,
    Cancelled,
    Check,
    CheckIn,
    Checking,
    CheckProblem,
    ClockBehind,
    Ignored,
    NotRecorded,
    OverrideRefused,
    Recorded,
    StaffTextError,
    read_check,
)
from checkpoint.keys import load_or_create_station_key, load_trust
from checkpoint.models import Direction, Reason, Verdict
from checkpoint.paths import Home
from checkpoint.registry import Registry
from checkpoint.revocations import RevocationList, load_list, save_list
from checkpoint.settings import load_settings
from checkpoint.store import EntryDraft, LogStore, verify_log
from checkpoint.timeutil import zone
from tests.conftest import NOW
from tests.station_helpers import Clock, entries

WECHAT = "https://weixin.qq.com/r/abc"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(station_home: Home) -> AsyncIterator[LogStore]:
    opened = await LogStore.open(station_home.log_db, "north-gate")
    yield opened
    await opened.close()


def make_checkin(home: Home, store: LogStore | None, clock: Clock, **options: object) -> CheckIn:
    trust = load_trust(home.trust)
    revocations = load_list(home.revocations, trust) if home.revocations.exists() else RevocationList()
    settings = load_settings(home.config).station
    return CheckIn(store, trust, revocations, settings, clock=clock, **options)  # type: ignore[arg-type]


@pytest.fixture
async def checkin(station_home: Home, store: LogStore, clock: Clock) -> CheckIn:
    service = make_checkin(station_home, store, clock)
    await service.sign_in("李四", "王五")
    return service


async def let_through(checkin: CheckIn, payload: str, readings: str = "36.6") -> Recorded:
    checking = await checkin.typed(payload)
    assert isinstance(checking, Checking), checking
    recorded = await checkin.typed(readings)
    assert isinstance(recorded, Recorded), recorded
    return recorded


# --------------------------------------------------------------------------- the flow


async def test_a_valid_pass_waits_for_its_check_then_is_logged(
    checkin: CheckIn, station_home: Home, issue
) -> None:
    issued = issue(plate="鄂A12345", holder="张三")
    outcome = await checkin.code(issued.payload, issued.payload.encode(), scanned=True)
    assert isinstance(outcome, Checking) and outcome.decision.pass_data is not None
    assert outcome.decision.pass_data.plate == "鄂A12345"
    assert entries(station_home) == []  # nothing decided before the check
    recorded = await checkin.typed("36.6 36.8")
    assert isinstance(recorded, Recorded) and recorded.entry is not None
    [entry] = entries(station_home)
    assert (entry.verdict, entry.reason, entry.pass_id) == (Verdict.ALLOW, Reason.OK, issued.data.pass_id)
    assert entry.temperatures == (366, 368) and entry.occupants == 2
    assert (entry.operator, entry.leader) == ("李四", "王五")
    assert entry.id == recorded.entry.id and checkin.pending is None


async def test_a_code_that_fails_the_pass_checks_is_logged_at_once(
    checkin: CheckIn, station_home: Home
) -> None:
    outcome = await checkin.typed(WECHAT)
    assert isinstance(outcome, Recorded) and outcome.decision.reason is Reason.NOT_A_PASS
    assert [e.reason for e in entries(station_home)] == [Reason.NOT_A_PASS]


async def test_a_fever_is_denied_with_its_readings(checkin: CheckIn, station_home: Home, issue) -> None:
    recorded = await let_through(checkin, issue().payload, "36.6 38.1")
    assert recorded.decision.verdict is Verdict.DENY and recorded.decision.reason is Reason.FEVER
    [entry] = entries(station_home)
    assert entry.fevers == 1 and entry.temperatures == (366, 381)


async def test_plate_mismatch_and_cancel(checkin: CheckIn, station_home: Home, issue, clock: Clock) -> None:
    issued = issue()
    await checkin.typed(issued.payload)
    assert isinstance(await checkin.mismatch(), Recorded)
    assert [e.reason for e in entries(station_home)] == [Reason.PLATE_MISMATCH]
    clock.advance(60)
    other = issue(plate="鄂A67890")
    assert isinstance(await checkin.typed(other.payload), Checking)
    assert isinstance(checkin.cancel(), Cancelled)
    assert checkin.pending is None and len(entries(station_home)) == 1
    assert isinstance(await checkin.typed(other.payload), Checking)  # shown again at once: not a duplicate


async def test_a_typo_in_the_check_keeps_the_vehicle(checkin: CheckIn, station_home: Home, issue) -> None:
    await checkin.typed(issue().payload)
    problem = await checkin.typed("3.7")
    assert problem == CheckProblem("temp.meant", {"guess": "37.x", "typed": "3.7"})
    assert checkin.pending is not None and entries(station_home) == []
    assert isinstance(await checkin.typed("37.0"), Recorded)


async def test_a_pass_typed_during_the_check_is_not_temperatures(
    checkin: CheckIn, station_home: Home, issue
) -> None:
    await checkin.typed(issue(plate="鄂A11111").payload)
    busy = await checkin.typed(issue(plate="鄂A22222").payload)
    assert busy == Ignored("busy", tell=True)
    await checkin.typed("36.5")
    assert [e.plate for e in entries(station_home)] == ["鄂A11111"]


async def test_numbers_with_no_vehicle_are_not_a_code(checkin: CheckIn, station_home: Home) -> None:
    for typed in ("36.6", "98.6F", "36.5 37.0", "36.6,36.8", "３６．６", "36.6，36.8"):
        assert await checkin.typed(typed) == Ignored("not_checking", tell=True), typed
    assert entries(station_home) == []
    assert isinstance(await checkin.typed("6901234567892"), Recorded)  # a shop's barcode is a code


async def test_codes_wait_for_sign_in(station_home: Home, store: LogStore, clock: Clock, issue) -> None:
    service = make_checkin(station_home, store, clock)
    assert await service.resume() is None
    outcome = await service.code(issue().payload, b"x", scanned=True)
    assert outcome == Ignored("sign_in_first", tell=True)
    quiet = await service.code(issue().payload, b"x", scanned=True, form_open=True)  # the sign-in form
    assert quiet == Ignored("sign_in_first", tell=False)
    assert entries(station_home) == []


# --------------------------------------------------------------------------- intake: duplicates, hold, busy


async def test_the_same_code_within_the_window_is_the_same_vehicle(
    checkin: CheckIn, station_home: Home, clock: Clock
) -> None:
    await checkin.typed(WECHAT)
    clock.advance(4)  # station.duplicate_seconds is 5
    assert await checkin.typed(WECHAT) == Ignored("duplicate")
    clock.advance(2)
    assert isinstance(await checkin.typed(WECHAT), Recorded)
    assert len(entries(station_home)) == 2


async def test_a_camera_code_does_not_replace_a_verdict_for_three_seconds(
    checkin: CheckIn, station_home: Home, issue, clock: Clock
) -> None:
    """Issue 14 item 1: a guard can read a verdict and act on it. A stray camera code is dropped during
    the hold; a pass of ours waits and is taken when the hold is over; a typed code takes over at once."""
    await let_through(checkin, issue(plate="鄂A11111").payload)
    clock.advance(0.25)
    assert await checkin.code(WECHAT, WECHAT.encode(), scanned=True) == Ignored("held")
    nxt = issue(plate="鄂A22222")
    assert await checkin.code(nxt.payload, b"p", scanned=True) == Ignored("waiting")
    assert checkin.current is not None and checkin.current.decision.allowed  # still the ALLOW
    assert await checkin.release() is None  # not yet
    clock.advance(3)
    released = await checkin.release()
    assert isinstance(released, Checking) and released.decision.pass_data is not None
    assert released.decision.pass_data.plate == "鄂A22222"
    checkin.cancel()
    await let_through(checkin, issue(plate="鄂A33333").payload)
    assert isinstance(await checkin.typed("6901234567892"), Recorded)  # typed: at once, no hold
    assert [e.plate for e in entries(station_home)] == ["鄂A11111", "鄂A33333", None]


async def test_clearing_the_verdict_ends_the_hold(checkin: CheckIn, issue, clock: Clock) -> None:
    await let_through(checkin, issue().payload)
    checkin.clear()
    assert isinstance(await checkin.code(WECHAT, WECHAT.encode(), scanned=True), Recorded)


async def test_busy_is_said_once_per_vehicle(checkin: CheckIn, issue, clock: Clock) -> None:
    first, other = issue(), issue(plate="鄂A67890")
    await checkin.typed(first.payload)
    said = []
    for _ in range(3):
        clock.advance(10)
        outcome = await checkin.code(other.payload, b"x", scanned=True)
        assert isinstance(outcome, Ignored) and outcome.kind == "busy"
        said.append(outcome.tell)
    assert said == [True, False, False]
    assert await checkin.code(first.payload, b"x", scanned=True) == Ignored("busy")  # the same car


async def test_a_form_open_makes_camera_codes_wait_quietly(checkin: CheckIn, clock: Clock) -> None:
    assert await checkin.code(WECHAT, b"w", scanned=True, form_open=True) == Ignored("busy", tell=True)
    clock.advance(1)
    assert await checkin.code(WECHAT, b"w", scanned=True, form_open=True) == Ignored("busy", tell=False)


async def test_a_looping_demo_feed_logs_each_turned_away_code_once(
    station_home: Home, store: LogStore, clock: Clock, issue, registry: Registry
) -> None:
    """The demo feed comes round again and again: its expired / non-pass codes are logged the first time
    (a guard may be watching) and not on every loop; a valid pass is checked each time it comes."""
    station_home.config.write_text(  # as the demo station is set up
        '[station]\nid = "north-gate"\nname = "North gate"\nanti_passback = "warn"\n', encoding="utf-8"
    )
    service = make_checkin(station_home, store, clock, looping_feed=True)
    await service.sign_in("李四", "王五")
    expired = issue(valid_from=NOW - timedelta(days=10), valid_until=NOW - timedelta(days=1))
    good = issue(plate="鄂A67890")
    for _ in range(3):  # three loops of the feed
        clock.advance(60)
        await service.code(WECHAT, WECHAT.encode(), scanned=True)
        clock.advance(7)
        await service.code(expired.payload, b"e", scanned=True)
        clock.advance(7)
        assert isinstance(await service.code(good.payload, b"g", scanned=True), Checking)
        await service.check(Check(None, (365,)))
    reasons = [e.reason for e in entries(station_home)]
    assert reasons.count(Reason.NOT_A_PASS) == 1 and reasons.count(Reason.EXPIRED) == 1
    assert reasons.count(Reason.OK) == 3
    typed = await service.typed(WECHAT)  # typed by a person: always taken
    assert isinstance(typed, Recorded)


async def test_a_long_code_is_cut_before_it_is_looked_at(checkin: CheckIn, station_home: Home) -> None:
    outcome = await checkin.typed("A" * 10_000)
    assert isinstance(outcome, Recorded) and outcome.vehicle.code == "A" * 4096


# --------------------------------------------------------------------------- overrides


async def test_an_override_refers_to_the_denial_it_sets_aside(
    checkin: CheckIn, station_home: Home, issue
) -> None:
    expired = issue(
        plate="鄂A11111",
        holder="张三",
        valid_from=NOW - timedelta(days=10),
        valid_until=NOW - timedelta(days=1),
    )
    assert checkin.override_target() is None  # nothing denied yet
    denied = await checkin.typed(expired.payload)
    assert isinstance(denied, Recorded) and denied.entry is not None
    target = checkin.override_target()
    assert target is not None
    assert (target.entry_id, target.plate, target.holder, target.reason) == (
        denied.entry.id,
        "鄂A11111",
        "张三",
        Reason.EXPIRED,
    )
    allowed = await checkin.override(target.entry_id, "赵主任", "救护车送病人")
    assert isinstance(allowed, Recorded)
    first, second = entries(station_home)
    assert (second.verdict, second.reason, second.denied_for) == (
        Verdict.ALLOW,
        Reason.OVERRIDE,
        Reason.EXPIRED,
    )
    assert (second.override_by, second.override_reason, second.refers_to) == (
        "赵主任",
        "救护车送病人",
        first.id,
    )
    assert second.pass_id == first.pass_id and second.plate == "鄂A11111"
    assert checkin.override_target() is None  # the verdict on screen is the ALLOW now


async def test_qa_no_override_for_the_car_that_left(
    checkin: CheckIn, station_home: Home, issue, clock: Clock
) -> None:
    """Issue 10's QA sequence: plate A fever DENY, pass B → CHECK, Esc, F4: no override for plate A."""
    denied = await let_through(checkin, issue(plate="鄂A11111").payload, "38.5")
    assert denied.decision.reason is Reason.FEVER and denied.entry is not None
    clock.advance(30)
    assert isinstance(await checkin.typed(issue(plate="鄂B22222").payload), Checking)
    assert checkin.override_target() is None  # a check is on screen, not A's denial
    assert isinstance(checkin.cancel(), Cancelled)
    assert checkin.override_target() is None  # "Check cancelled" is on screen
    refused = await checkin.override(denied.entry.id, "赵主任", "reason")
    assert isinstance(refused, OverrideRefused)
    assert [e.reason for e in entries(station_home)] == [Reason.FEVER]


async def test_an_override_naming_another_denial_is_refused(
    checkin: CheckIn, station_home: Home, clock: Clock
) -> None:
    first = await checkin.typed(WECHAT)
    clock.advance(10)
    await checkin.typed("6901234567892")
    assert isinstance(first, Recorded) and first.entry is not None
    assert isinstance(await checkin.override(first.entry.id, "赵主任", "x"), OverrideRefused)
    assert len(entries(station_home)) == 2


async def test_an_override_needs_a_name_and_a_reason(checkin: CheckIn) -> None:
    await checkin.typed(WECHAT)
    target = checkin.override_target()
    assert target is not None
    with pytest.raises(StaffTextError):
        await checkin.override(target.entry_id, "  ", "reason")
    with pytest.raises(StaffTextError):
        await checkin.override(target.entry_id, "赵" * (MAX_NAME + 1), "reason")


async def test_an_overridden_fever_counts_once(checkin: CheckIn, issue) -> None:
    await let_through(checkin, issue().payload, "38.1")
    target = checkin.override_target()
    assert target is not None
    await checkin.override(target.entry_id, "赵主任", "fever clinic")
    counters = await checkin.counters(zone("Asia/Shanghai"))
    assert counters.shift is not None
    assert {k: counters.shift[k] for k in ("in", "denied", "fevers", "overrides")} == {
        "in": 1,
        "denied": 0,
        "fevers": 1,
        "overrides": 1,
    }
    assert counters.day == counters.shift


# --------------------------------------------------------------------------- no pass, direction


async def test_no_pass_is_turned_back_with_plate_kind_and_reason(
    checkin: CheckIn, station_home: Home
) -> None:
    outcome = await checkin.no_pass("鄂a · 55555", "van", "走亲戚 [b]x[/b]")
    assert isinstance(outcome, Recorded)
    [entry] = entries(station_home)
    assert (entry.verdict, entry.reason, entry.plate) == (Verdict.DENY, Reason.NO_PASS, "鄂A55555")
    assert (entry.vehicle, entry.note) == ("van", "走亲戚 [b]x[/b]")


async def test_no_pass_refuses_a_bad_plate(checkin: CheckIn, station_home: Home) -> None:
    from checkpoint.errors import CheckpointError

    with pytest.raises(CheckpointError):
        await checkin.no_pass("nonsense plate!", "car", "x")
    assert entries(station_home) == []


async def test_direction_and_anti_passback(checkin: CheckIn, station_home: Home, issue, clock: Clock) -> None:
    issued = issue()
    await let_through(checkin, issued.payload)
    clock.advance(60)
    again = await checkin.typed(issued.payload)
    assert isinstance(again, Recorded) and again.decision.reason is Reason.ALREADY_INSIDE
    clock.advance(60)
    checkin.direction = Direction.OUT
    await let_through(checkin, issued.payload)
    assert [(e.direction, e.reason) for e in entries(station_home)] == [
        (Direction.IN, Reason.OK),
        (Direction.IN, Reason.ALREADY_INSIDE),
        (Direction.OUT, Reason.OK),
    ]


async def test_a_revoked_pass_is_denied(
    station_home: Home, store: LogStore, clock: Clock, issue, registry: Registry
) -> None:
    bad = issue(plate="鄂A22222")
    registry.revoke(bad.data.pass_id, "lost", now=NOW - timedelta(hours=1))
    save_list(station_home.revocations, registry.revocation_list("Test township office", now=NOW))
    service = make_checkin(station_home, store, clock)
    await service.sign_in("李四", "王五")
    outcome = await service.typed(bad.payload)
    assert isinstance(outcome, Recorded) and outcome.decision.reason is Reason.REVOKED


# --------------------------------------------------------------------------- shifts and the log


async def test_sign_in_caps_names_at_a_duty_book_line(
    station_home: Home, store: LogStore, clock: Clock
) -> None:
    """Issue 14 item 8: a 120-character name is refused; names are cleaned of control characters."""
    service = make_checkin(station_home, store, clock)
    with pytest.raises(StaffTextError) as refused:
        await service.sign_in("张" * 120, "王五")
    assert refused.value.kind == "too_long"
    with pytest.raises(StaffTextError):
        await service.sign_in("李四", "   ")
    assert await store.open_shift() is None
    opened = await service.sign_in("李四\u202e", "王" * MAX_NAME)
    assert opened.shift.operator == "李四\ufffd" and len(opened.shift.leader) == MAX_NAME


async def test_an_open_shift_resumes_and_handover_seals(
    station_home: Home, store: LogStore, clock: Clock, issue
) -> None:
    first = make_checkin(station_home, store, clock)
    await first.sign_in("李四", "王五")
    await first.typed(WECHAT)
    clock.advance(60)
    again = make_checkin(station_home, store, clock)  # the station restarted
    resumed = await again.resume()
    assert resumed is not None and resumed.shift.operator == "李四"
    await let_through(again, issue(plate="鄂A67890").payload, "36.4")
    summary = await again.handover()
    assert summary is not None
    assert summary.inside == 1 and summary.counts["denied"] == 1 and summary.counts["in"] == 1
    sealed = await again.seal(load_or_create_station_key(station_home.station_key))
    assert sealed == 2 and again.open is None and await store.open_shift() is None
    result = verify_log(station_home.log_db)
    assert result.ok and result.stations[0].last_sealed_seq == 2


async def test_a_log_that_refuses_the_write_records_nothing(
    checkin: CheckIn, store: LogStore, station_home: Home
) -> None:
    await store.db.execute("PRAGMA query_only = ON")
    outcome = await checkin.typed(WECHAT)
    assert isinstance(outcome, NotRecorded)
    assert checkin.override_target() is None
    await store.db.execute("PRAGMA query_only = OFF")
    assert entries(station_home) == []


async def test_the_clock_behind_the_log_needs_confirming(
    station_home: Home, store: LogStore, clock: Clock, issue
) -> None:
    """Issue 11 "Time": the station refuses to decide while its clock is earlier than its newest entry,
    until staff confirm."""
    draft = EntryDraft(Direction.IN, Verdict.DENY, Reason.NO_PASS, "甲", "乙")
    await store.append(draft, now=NOW + timedelta(hours=2))
    service = make_checkin(station_home, store, clock)
    await service.resume()
    await service.sign_in("李四", "王五")
    assert service.clock_behind()
    behind = await service.typed(WECHAT)
    assert isinstance(behind, ClockBehind) and behind.newest == NOW + timedelta(hours=2)
    assert isinstance(await service.no_pass("鄂A55555", "car", "x"), ClockBehind)
    assert len(entries(station_home)) == 1
    service.confirm_clock()
    assert isinstance(await service.typed(WECHAT), Recorded)
    assert len(entries(station_home)) == 2


async def test_a_dry_run_decides_without_writing(station_home: Home, clock: Clock, issue) -> None:
    service = make_checkin(station_home, None, clock, inside=lambda: frozenset())
    service.work_as(__import__("checkpoint.store").store.Shift("scan", "scan"))
    outcome = await service.code(issue().payload, b"x", scanned=True)
    assert isinstance(outcome, Checking)
    recorded = await service.check(Check(None, ()))
    assert isinstance(recorded, Recorded) and recorded.entry is None and recorded.decision.allowed
    assert not station_home.log_db.exists()


# --------------------------------------------------------------------------- reading the check


@pytest.mark.parametrize(
    ("typed", "readings"),
    [
        ("36.6 36.8", (366, 368)),
        ("３６．６", (366,)),  # a Chinese input method's full-width digits and point
        ("36.6，36.8", (366, 368)),
        ("36.6,36.8", (366, 368)),
        ("36,6", (366,)),  # a lone decimal comma
        ("36,6 36,8", (366, 368)),
        ("36.6；36.8", (366, 368)),
        ("36.6、36.8", (366, 368)),
        ("37℃ 36.5°C", (370, 365)),
        ("３６．６　３７．１", (366, 371)),  # the ideographic space
    ],
)
def test_readings_as_staff_type_them(typed: str, readings: tuple[int, ...]) -> None:
    assert read_check(typed) == Check(len(readings), readings)


def test_two_decimal_comma_readings_without_a_space_are_ambiguous() -> None:
    problem = read_check("36,6,36,8")
    assert isinstance(problem, CheckProblem) and problem.key == "temp.ambiguous"


def test_a_check_with_no_readings_is_a_problem() -> None:
    problem = read_check("")
    assert isinstance(problem, CheckProblem) and problem.key == "check.no_readings"


def test_the_demo_feed_is_paced_like_traffic(tmp_path: Path) -> None:
    """Issue 14 item 1: each pass of the demo feed is in view for a few seconds, and the next comes after
    the verdict hold, so that a guard can read every verdict (and press F4) before the next vehicle."""
    from checkpoint.checkin import VERDICT_HOLD_SECONDS
    from checkpoint.demo import build_demo

    timeline = build_demo(tmp_path / "demo").feed_timeline()
    for (_, start, end), (_, next_start, _) in itertools.pairwise(timeline):
        assert end - start >= 2.0
        assert next_start - end > VERDICT_HOLD_SECONDS


def test_the_service_loads_no_textual_opencv_or_scanner() -> None:
    """The check-in service is core: a fresh interpreter that imports it has none of them loaded."""
    import subprocess
    import sys

    code = (
        "import sys, checkpoint.checkin; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'cv2', 'scanner', 'tui')]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
