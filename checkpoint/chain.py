"""The hash chain and the seals: what makes the traffic log tamper-evident.

Each entry's hash covers its fields and the previous entry's hash. The canonical form of an entry is
built by SQLite itself (`quote()` of every chained column, comma-separated), both when the entry is
appended and when the chain is verified, so the two can never disagree about encoding.

Personal fields (holder name, temperatures) are not chained directly: the chain covers a salted
commitment `sha256(salt || personal)`. A retention purge drops the personal text and the salt and keeps
the commitment, so the chain still verifies.

A seal is the station's Ed25519 signature over (station, seq, head hash, time): entries missing up to a
sealed sequence number are detected even when the chain that is left is whole.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .keys import verify_signature

DOMAIN = "checkpoint-log/1\n"
GENESIS = "0" * 64

# Every column the hash covers, in order. `personal` and `salt` are covered through `commitment`.
CHAINED = (
    "station_id", "seq", "id", "ts", "mono", "operator", "leader", "direction", "verdict", "reason",
    "denied_for", "warnings", "pass_id", "key_id", "category", "plate", "org", "valid_from",
    "valid_until", "occupants", "fevers", "vehicle", "note", "override_by", "override_reason",
    "raw_hash", "refers_to", "commitment", "prev_hash",
)  # fmt: skip

CANONICAL_SQL = " || ',' || ".join(f"quote({name})" for name in CHAINED)
CANONICAL_PARAMS_SQL = "SELECT " + " || ',' || ".join("quote(?)" for _ in CHAINED)


def entry_hash(canonical: str) -> str:
    return hashlib.sha256((DOMAIN + canonical).encode()).hexdigest()


def commitment(salt: bytes | None, personal: str | None) -> str:
    """The chained stand-in for the personal fields. No personal data → hash of nothing."""
    if personal is None or salt is None:
        return hashlib.sha256(b"").hexdigest()
    return hashlib.sha256(salt + personal.encode()).hexdigest()


EMPTY_COMMITMENT = commitment(None, None)


def seal_message(station_id: str, seq: int, head_hash: str, sealed_at: int) -> bytes:
    return f"checkpoint-seal/1\n{station_id}\n{seq}\n{head_hash}\n{sealed_at}".encode()


@dataclass
class ChainReport:
    """The result of verifying one station's chain."""

    station_id: str
    entries: int = 0
    head_seq: int = 0
    seals: int = 0
    last_sealed_seq: int = 0
    first_bad_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None and not self.problem

    def fail(self, seq: int, problem: str) -> None:
        if self.first_bad_seq is None or seq < self.first_bad_seq:
            self.first_bad_seq = seq
            self.problem = problem


@dataclass
class VerifyResult:
    stations: list[ChainReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.stations)

    @property
    def entries(self) -> int:
        return sum(report.entries for report in self.stations)


Progress = Callable[[int, int], None]


def verify_station(
    conn: sqlite3.Connection,
    station_id: str,
    public_key: Ed25519PublicKey | None,
    progress: Progress | None = None,
    done_before: int = 0,
    total: int = 0,
) -> ChainReport:
    """Recompute one station's chain and check its seals. Reads only; never raises on bad data."""
    report = ChainReport(station_id)
    expected_seq = 1
    prev = GENESIS
    hashes_at: dict[int, str] = {}
    seal_rows = conn.execute(
        "SELECT seq, head_hash, sealed_at, signature FROM seals WHERE station_id = ? ORDER BY seq",
        (station_id,),
    ).fetchall()
    sealed_seqs = {row[0] for row in seal_rows}
    cursor = conn.execute(
        f"SELECT seq, prev_hash, hash, commitment, personal, salt, {CANONICAL_SQL} "
        "FROM entries WHERE station_id = ? ORDER BY seq",
        (station_id,),
    )
    sha256 = hashlib.sha256
    domain = DOMAIN
    count = 0
    while True:
        rows = cursor.fetchmany(4096)
        if not rows:
            break
        for seq, prev_hash, stored, commit, personal, salt, canonical in rows:
            count += 1
            if report.first_bad_seq is None:
                if seq != expected_seq:
                    report.fail(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
                elif prev_hash != prev:
                    report.fail(seq, f"entry {seq} does not link to entry {seq - 1}")
                elif sha256((domain + canonical).encode()).hexdigest() != stored:
                    report.fail(seq, f"entry {seq} was altered")
                elif personal is not None and commitment(salt, personal) != commit:
                    report.fail(seq, f"the personal fields of entry {seq} were altered")
            if seq in sealed_seqs:
                hashes_at[seq] = stored
            prev = stored
            expected_seq = seq + 1
        if progress is not None:
            progress(done_before + count, total)
    report.entries = count
    report.head_seq = expected_seq - 1
    report.seals = len(seal_rows)
    for seq, head_hash, sealed_at, signature in seal_rows:
        if public_key is None:
            report.fail(seq, f"the seal at entry {seq} cannot be checked: no station key is known")
            continue
        message = seal_message(station_id, seq, head_hash, sealed_at)
        if not verify_signature(public_key, bytes(signature), message):
            report.fail(seq, f"the seal at entry {seq} has a bad signature")
        elif seq > report.head_seq:
            report.fail(
                report.head_seq + 1, f"entries {report.head_seq + 1} to {seq} were removed after a seal"
            )
        elif hashes_at.get(seq) != head_hash:
            report.fail(seq, f"entry {seq} differs from the sealed one")
        else:
            report.last_sealed_seq = max(report.last_sealed_seq, seq)
    return report
