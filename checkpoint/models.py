"""The words of the domain: categories, directions, decisions and their reasons, a pass."""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from .timeutil import iso_local


class Category(StrEnum):
    """The three kinds of vehicle that may pass during the lockdown."""

    EMERGENCY = "emergency"
    OFFICIAL = "official"
    MEDICAL = "medical"

    @property
    def code(self) -> int:
        return _CATEGORY_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Category:
        for category, value in _CATEGORY_CODES.items():
            if value == code:
                return category
        raise ValueError(f"unknown category code {code}")


_CATEGORY_CODES = {Category.EMERGENCY: 1, Category.OFFICIAL: 2, Category.MEDICAL: 3}


class Direction(StrEnum):
    IN = "in"
    OUT = "out"

    def flipped(self) -> Direction:
        return Direction.OUT if self is Direction.IN else Direction.IN


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Reason(StrEnum):
    """Exactly one of these ends every decision (docs/architecture.md, "Reasons and categories")."""

    OK = "ok"
    NOT_A_PASS = "not_a_pass"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    WRONG_CHECKPOINT = "wrong_checkpoint"
    CATEGORY_CLOSED = "category_closed"
    ALREADY_INSIDE = "already_inside"
    TOO_MANY_OCCUPANTS = "too_many_occupants"
    FEVER = "fever"
    PLATE_MISMATCH = "plate_mismatch"
    NO_PASS = "no_pass"
    OVERRIDE = "override"


class PassData(BaseModel):
    """The fields a pass carries. Built only from a verified payload or by the issuing office."""

    model_config = ConfigDict(frozen=True)

    pass_id: str
    key_id: str
    category: Category
    plate: str
    holder: str
    org: str
    valid_from: datetime
    valid_until: datetime
    checkpoints: tuple[str, ...]
    max_occupants: int
    issued_at: datetime

    def public_dict(self, tz: tzinfo | None = None) -> dict[str, object]:
        """The JSON view printed by `verify --json` and `pass show --json`; with `tz`, its times are in
        that zone with their offset (the same instants as UTC, as a person reading it expects)."""
        return {
            "pass_id": self.pass_id,
            "key_id": self.key_id,
            "category": self.category.value,
            "plate": self.plate,
            "holder": self.holder,
            "org": self.org,
            "valid_from": iso_local(self.valid_from, tz),
            "valid_until": iso_local(self.valid_until, tz),
            "checkpoints": list(self.checkpoints),
            "max_occupants": self.max_occupants,
            "issued_at": iso_local(self.issued_at, tz),
        }
