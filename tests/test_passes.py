"""The pass format: round trips, limits, and every way a payload can be wrong."""

from __future__ import annotations

from datetime import timedelta

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint.keys import TrustedKey, TrustList, key_id_of
from checkpoint.models import Category, PassData, Reason
from checkpoint.passes import (
    MAX_TEXT,
    PREFIX,
    PassFormatError,
    new_pass_id,
    normalise_pass_id,
    parse_body,
    read_pass,
    sign_pass,
)
from checkpoint.qrimage import qr_version

from .conftest import NOW

KEY = Ed25519PrivateKey.generate()
KEY_ID = key_id_of(KEY.public_key())
TRUST = TrustList((TrustedKey(KEY_ID, KEY.public_key(), NOW - timedelta(days=365), None, "office"),))


def make(**overrides: object) -> PassData:
    fields: dict[str, object] = {
        "pass_id": "7K3M9QXA",
        "key_id": KEY_ID,
        "category": Category.EMERGENCY,
        "plate": "鄂A12345",
        "holder": "张三",
        "org": "县人民医院",
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=7),
        "checkpoints": ("north-gate",),
        "max_occupants": 4,
        "issued_at": NOW - timedelta(days=1),
    }
    fields.update(overrides)
    return PassData(**fields)  # type: ignore[arg-type]


def test_round_trip_gives_back_every_field() -> None:
    data = make()
    text = sign_pass(data, KEY)
    assert text.startswith(PREFIX)
    reading = read_pass(text, TRUST, NOW)
    assert reading.reason is Reason.OK
    assert reading.pass_data == data


def test_text_uses_only_qr_alphanumeric_characters() -> None:
    alphabet = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert set(sign_pass(make(), KEY)) <= alphabet


def test_a_large_chinese_pass_fits_the_documented_qr_version() -> None:
    """The issue's worst case: docs/pass-format.md gives the version (13 at level Q, alphanumeric)."""
    data = make(
        plate="鄂A12345",
        holder="欧阳" + "明" * 18,
        org=("湖北省武汉市江夏区疫情防控指挥部" + "应急保障组医疗物资运输第三车队")[:30],
        checkpoints=("north-gate", "south-gate", "east-bridge"),
    )
    assert len(data.holder) == 20 and len(data.org) == 30
    text = sign_pass(data, KEY)
    assert read_pass(text, TRUST, NOW).pass_data == data
    assert qr_version(text) <= 13


def test_pass_ids_are_short_unique_and_typeable() -> None:
    ids = {new_pass_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 8 for i in ids)
    assert normalise_pass_id(" 7k3m9qxa ") == "7K3M9QXA"
    assert normalise_pass_id("OIL00000") == "01100000"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"holder": "x" * 41}, "holder"),
        ({"org": "y" * 61}, "org"),
        ({"plate": "鄂A 12345"}, "plate"),
        ({"holder": "a\x1b[31mb"}, "control"),
        ({"max_occupants": 0}, "occupants"),
        ({"checkpoints": ("bad id!",)}, "checkpoint"),
        ({"valid_until": NOW - timedelta(days=2)}, "valid-until"),
    ],
)
def test_signing_refuses_fields_out_of_limits(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(PassFormatError, match=message):
        sign_pass(make(**overrides), KEY)


def _resign(body: bytes, key: Ed25519PrivateKey) -> str:
    return PREFIX + base45.b45encode(body + key.sign(PREFIX.encode() + body)).decode()


def test_every_reading_reason() -> None:
    text = sign_pass(make(), KEY)
    raw = base45.b45decode(text[len(PREFIX) :])
    body, signature = raw[:-64], raw[-64:]
    other = Ed25519PrivateKey.generate()
    cases = {
        "https://weixin.qq.com/x": Reason.NOT_A_PASS,
        "6901234567892": Reason.NOT_A_PASS,
        "": Reason.NOT_A_PASS,
        "\x00\xff\xfe junk": Reason.NOT_A_PASS,
        text[:-10]: Reason.MALFORMED,
        text + "00": Reason.MALFORMED,
        text + "!!!": Reason.MALFORMED,
        PREFIX + "AAAA": Reason.MALFORMED,
        PREFIX + "0" * 10_000: Reason.MALFORMED,
        "CP2:" + text[4:]: Reason.MALFORMED,
        PREFIX + base45.b45encode(body + bytes(64)).decode(): Reason.BAD_SIGNATURE,
        PREFIX
        + base45.b45encode(body + signature[:-1] + bytes([signature[-1] ^ 1])).decode(): Reason.BAD_SIGNATURE,
        PREFIX
        + base45.b45encode(body[:-1] + bytes([body[-1] ^ 1]) + signature).decode(): Reason.BAD_SIGNATURE,
        # Re-signed by a key nobody trusts, still naming the office's key id: the signature fails.
        _resign(body, other): Reason.BAD_SIGNATURE,
        # Re-signed and naming its own key id: that key is unknown.
        _resign(bytes.fromhex(key_id_of(other.public_key())) + body[4:], other): Reason.UNKNOWN_KEY,
    }
    for code, reason in cases.items():
        assert read_pass(code, TRUST, NOW).reason is reason, code[:40]


def test_a_key_outside_its_window_is_unknown() -> None:
    text = sign_pass(make(), KEY)
    retired = TrustList(
        (TrustedKey(KEY_ID, KEY.public_key(), NOW - timedelta(days=9), NOW - timedelta(days=1), ""),)
    )
    assert read_pass(text, retired, NOW).reason is Reason.UNKNOWN_KEY
    assert read_pass(text, retired, NOW - timedelta(days=2)).reason is Reason.OK


def test_one_changed_character_is_never_ok() -> None:
    text = sign_pass(make(), KEY)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for index in range(len(PREFIX), len(text)):
        replacement = alphabet[(alphabet.index(text[index]) + 7) % len(alphabet)]
        changed = text[:index] + replacement + text[index + 1 :]
        assert read_pass(changed, TRUST, NOW).reason in {
            Reason.MALFORMED,
            Reason.BAD_SIGNATURE,
            Reason.UNKNOWN_KEY,
        }


def test_a_signed_but_garbled_body_is_malformed_not_a_crash() -> None:
    good = sign_pass(make(), KEY)
    body = base45.b45decode(good[len(PREFIX) :])[:-64]
    for garbled in (body + b"\x00", body[:-3], body[:9] + b"\x09" + body[10:]):
        assert read_pass(_resign(garbled, KEY), TRUST, NOW).reason is Reason.MALFORMED
    with pytest.raises(PassFormatError):
        parse_body(body[:20])


cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
printable = st.characters(codec="utf-8", categories=("L", "N", "P", "Zs"))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    category=st.sampled_from(list(Category)),
    plate=st.from_regex(
        r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5}",
        fullmatch=True,
    ),
    holder=st.text(st.one_of(cjk, printable), max_size=40).map(str.strip),
    org=st.text(st.one_of(cjk, printable), max_size=60),
    checkpoints=st.lists(
        st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}", fullmatch=True), max_size=8, unique=True
    ),
    occupants=st.integers(1, 60),
    days=st.integers(1, 400),
)
def test_issue_encode_decode_is_the_identity(
    category: Category, plate: str, holder: str, org: str, checkpoints: list[str], occupants: int, days: int
) -> None:
    from checkpoint.text import has_unsafe

    if has_unsafe(holder) or has_unsafe(org):
        return
    data = make(
        pass_id=new_pass_id(), category=category, plate=plate, holder=holder, org=org,
        checkpoints=tuple(checkpoints), max_occupants=occupants, valid_until=NOW + timedelta(days=days),
    )  # fmt: skip
    assert read_pass(sign_pass(data, KEY), TRUST, NOW).pass_data == data


VALID = sign_pass(make(), KEY)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_no_mutation_of_a_valid_payload_is_ok(data: st.DataObject) -> None:
    text = VALID
    kind = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate", "append"]))
    index = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.characters(codec="ascii"))
    if kind == "replace":
        if char == text[index]:
            return
        mutated = text[:index] + char + text[index + 1 :]
    elif kind == "insert":
        mutated = text[:index] + char + text[index:]
    elif kind == "delete":
        mutated = text[:index] + text[index + 1 :]
    elif kind == "truncate":
        mutated = text[:index]
    else:
        mutated = text + data.draw(st.text(min_size=1, max_size=20))
    assert read_pass(mutated, TRUST, NOW).reason is not Reason.OK


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=MAX_TEXT + 50), st.text(max_size=300).map(lambda s: PREFIX + s)))
def test_no_random_text_raises(text: str) -> None:
    reading = read_pass(text, TRUST, NOW)
    assert reading.reason is not Reason.OK
