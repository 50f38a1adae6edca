"""The hash chain and the seals: what makes the traffic log tamper-evident.

Each entry's hash covers its fields and the previous entry's hash. An entry IS its canonical body: a compact JSON
array of the chained fields in `CHAINED` order, stored verbatim in the `body` column. Every other column
of the entry is a STORED generated column extracted from `body` by SQLite, so a column can never say
something the hashed body does not; verification hashes the stored bytes and never re-encodes anything,
so a log verifies the same on any machine, forever (docs/log.md).

Personal fields (holder name, temperatures) are not chained directly: the chain covers a salted
commitment `sha256(salt || personal)`. A retention purge drops the personal text and the salt and keeps
the commitment, so the chain still verifies.

A seal is the station's Ed25519 signature over (station, seq, head hash, time): entries missing up to a
sealed sequence number are detected even when the chain that is left is whole.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a helper process that only scans chunks never loads the crypto library
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DOMAIN = "checkpoint-log/1\n"
GENESIS = "0" * 64

# Every column the hash covers, in order. `personal` and `salt` are covered through `commitment`.
CHAINED = (
    "station_id", "seq", "id", "ts", "mono", "operator", "leader", "direction", "verdict", "reason",
    "denied_for", "warnings", "pass_id", "key_id", "category", "plate", "org", "valid_from",
    "valid_until", "occupants", "fevers", "vehicle", "note", "override_by", "override_reason",
    "raw_hash", "refers_to", "commitment", "prev_hash",
)  # fmt: skip

INTEGER_FIELDS = frozenset({"seq", "ts", "mono", "valid_from", "valid_until", "occupants", "fevers"})
REQUIRED_FIELDS = frozenset(
    {"station_id", "seq", "id", "ts", "mono", "operator", "leader", "direction", "verdict", "reason",
     "warnings", "fevers", "commitment", "prev_hash"}
)  # fmt: skip

# The SQL expression that gives an entry's canonical text (what its hash covers).
CANONICAL_SQL = "body"
# SQL that builds the canonical text from parameters in CHAINED order (byte-identical to `canonical()`).
CANONICAL_PARAMS_SQL = "SELECT json_array(" + ", ".join("?" for _ in CHAINED) + ")"

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def canonical(values: Sequence[object]) -> str:
    """The canonical body of an entry from its values in CHAINED order: a compact JSON array, UTF-8,
    no whitespace — exactly what SQLite's json_array() writes for the same TEXT/INTEGER/NULL values."""
    if len(values) != len(CHAINED):
        raise ValueError(f"an entry has {len(CHAINED)} chained fields, not {len(values)}")
    return _encode(list(values))


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
    anchors: int = 0  # receipts, seal copies and head codes kept outside the log it was checked against

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
    _check_seals(
        report, station_id, [(r[0], r[1], r[2], bytes(r[3])) for r in seal_rows], hashes_at, public_key
    )
    return report


# --- Fast verification of whole logs -------------------------------------------------------------------
#
# A clean log is verified by scanning the table once in rowid (insertion) order, in chunks, on every core:
# each chunk checks hashes, commitments and links inside itself and reports, per station, where it starts
# and ends; the chunks are then stitched together. A station whose chain breaks anywhere is verified again
# entry by entry in sequence order (`verify_station`), which names the first bad entry exactly.

CHUNK_ROWS = 16_384
PARALLEL_FROM = 200_000  # below this many entries, one process is faster than starting another


@dataclass
class Segment:
    """One station's entries within one chunk of rows."""

    first_seq: int
    first_prev: str
    last_seq: int
    last_hash: str
    count: int = 1
    broken: bool = False
    sealed_hashes: dict[int, str] = field(default_factory=dict)


_STATION_TOKEN = re.compile(rb'\["[A-Za-z0-9_.\-]{1,24}"').fullmatch


def scan_chunk(
    conn: sqlite3.Connection, low: int, high: int, sealed: dict[str, frozenset[int]]
) -> dict[str, Segment]:
    """Check the entries with `low <= rowid < high`; never raises on bad data.

    The hot loop reads each body as bytes and takes the station, sequence number, commitment and
    previous hash from the fixed places a canonical body keeps them — `["<station>",<seq>,` at the start,
    `,"<commitment>","<prev hash>"]` at the end — instead of asking SQLite for four more columns. The
    hash covers every byte of the body, so these are exactly as trustworthy as the columns (a tail that is
    not in that shape cannot link to the previous entry's hash). The station token is checked against the
    shape of a station id once, when it is first seen in the chunk; a body that does not start that way
    marks the log broken, and the exact pass (`verify_station`) decides.
    """
    # Per station token (`["<station>"`): [first seq, first prev, last seq, last hash, count, broken,
    # {sealed seq: hash}]
    state: dict[bytes, list[Any]] = {}
    domain = hashlib.sha256(DOMAIN.encode())
    empty = hashlib.sha256()
    token_ok = _STATION_TOKEN
    marks = {b'["' + station.encode() + b'"': seqs for station, seqs in sealed.items()}
    cursor = conn.execute(
        "SELECT CAST(hash AS BLOB), CAST(body AS BLOB), CAST(personal AS BLOB), salt FROM entries "
        "WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
        (low, high),
    )
    for stored, body, personal, salt in cursor:
        try:
            token, number, _ = body.split(b",", 2)
            seq = int(number) if number.isdigit() else -1
        except (AttributeError, ValueError):  # no body, or not even two commas in it
            token, seq = b"", -1
        current = state.get(token)
        if current is None or seq < 0:
            if seq < 0 or token_ok(token) is None:
                state.setdefault(b"", [0, b"", 0, b"", 0, True, {}])[5] = True
                continue
            current = state[token] = [seq, body[-66:-2], seq, stored, 1, False, {}]
        else:
            if seq != current[2] + 1 or body[-66:-2] != current[3]:
                current[5] = True
            current[2] = seq
            current[3] = stored
            current[4] += 1
        digest = domain.copy()
        digest.update(body)
        if digest.hexdigest().encode() != stored:
            current[5] = True
        if personal is not None:
            if salt is None:
                current[5] = True
            else:
                digest = empty.copy()
                digest.update(salt)
                digest.update(personal)
                if digest.hexdigest().encode() != body[-133:-69]:
                    current[5] = True
        elif salt is not None:
            current[5] = True  # a salt without its personal data
        wanted = marks.get(token)
        if wanted and seq in wanted:
            current[6][seq] = stored.decode()
    return {
        token[2:-1].decode(): Segment(
            first_seq=v[0],
            first_prev=v[1].decode(),
            last_seq=v[2],
            last_hash=v[3].decode(),
            count=v[4],
            broken=v[5],
            sealed_hashes=v[6],
        )
        for token, v in state.items()
    }


def _scan_connection(path: str) -> sqlite3.Connection:
    """A read-only connection that maps the file into memory: rows are read without copying pages."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.execute("PRAGMA mmap_size = 4294967296")
    return conn


_helper_connections: dict[str, sqlite3.Connection] = {}


def _scan_chunk_in_helper(
    index: int, path: str, chunks: list[tuple[int, int]], sealed: dict[str, frozenset[int]]
) -> dict[str, Segment]:
    """In a helper process: scan chunk `index` (one connection per helper, kept for its next chunks)."""
    conn = _helper_connections.get(path)
    if conn is None:
        conn = _helper_connections[path] = _scan_connection(path)
    return scan_chunk(conn, *chunks[index], sealed)


def _scan_chunks(
    conn: sqlite3.Connection,
    path: str,
    chunks: list[tuple[int, int]],
    sealed: dict[str, frozenset[int]],
    total: int,
    progress: Progress | None,
    workers: int | None,
) -> list[dict[str, Segment]]:
    """Scan every chunk, shared between this process and a helper process per further core
    (checkpoint.sharing): this process starts at once, the helpers join in when they are up."""
    import os

    from .sharing import share

    results: list[dict[str, Segment]] = [{} for _ in chunks]
    done = 0

    def finished(index: int, segments: dict[str, Segment]) -> None:
        nonlocal done
        results[index] = segments
        done += sum(s.count for s in segments.values())
        if progress is not None:
            progress(done, total)

    try:
        own = _scan_connection(path) if path and chunks else None
    except sqlite3.Error:
        own = None
    scanner = own if own is not None else conn
    cores = workers if workers is not None else min(4, os.cpu_count() or 1)
    helpers = cores - 1 if total >= PARALLEL_FROM and own is not None else 0
    try:
        share(
            len(chunks),
            lambda index: finished(index, scan_chunk(scanner, *chunks[index], sealed)),
            _scan_chunk_in_helper,
            (path, chunks, sealed),
            finished,
            helpers,
        )
    finally:
        if own is not None:
            own.close()
    return results


def verify_all(
    conn: sqlite3.Connection,
    path: str,
    public_keys: dict[str, Ed25519PublicKey],
    progress: Progress | None = None,
    workers: int | None = None,
) -> VerifyResult:
    """Verify every station's chain and seals in the log open on `conn` (stored at `path`)."""
    total = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    # Two queries: SQLite answers MIN and MAX of the rowid from the b-tree's ends only one at a time.
    low = conn.execute("SELECT MIN(rowid) FROM entries").fetchone()[0]
    high = conn.execute("SELECT MAX(rowid) FROM entries").fetchone()[0]
    seal_rows: dict[str, list[tuple[int, str, int, bytes]]] = {}
    for station, seq, head_hash, sealed_at, signature in conn.execute(
        "SELECT station_id, seq, head_hash, sealed_at, signature FROM seals ORDER BY station_id, seq"
    ):
        seal_rows.setdefault(station, []).append((seq, head_hash, sealed_at, bytes(signature)))
    sealed = {station: frozenset(r[0] for r in rows) for station, rows in seal_rows.items()}
    chunks = (
        [] if low is None else [(a, min(a + CHUNK_ROWS, high + 1)) for a in range(low, high + 1, CHUNK_ROWS)]
    )
    results = _scan_chunks(conn, path, chunks, sealed, total, progress, workers)

    stations = sorted({s for segments in results for s in segments} | set(seal_rows))
    if "" in stations:
        # Some body is not in canonical shape: verify every station entry by entry.
        real = [str(r[0]) for r in conn.execute("SELECT DISTINCT station_id FROM entries")]
        stations = sorted(set(stations) - {""} | set(real))
        for segments in results:
            for segment in segments.values():
                segment.broken = True
    result = VerifyResult()
    for station in stations:
        pieces = [segments[station] for segments in results if station in segments]
        broken = any(p.broken for p in pieces)
        if not broken and pieces:
            if pieces[0].first_seq != 1 or pieces[0].first_prev != GENESIS:
                broken = True
            for before, after in pairwise(pieces):
                if after.first_seq != before.last_seq + 1 or after.first_prev != before.last_hash:
                    broken = True
        if broken:
            # Exact diagnosis, entry by entry in sequence order.
            result.stations.append(verify_station(conn, station, public_keys.get(station)))
            continue
        report = ChainReport(station)
        report.entries = sum(p.count for p in pieces)
        report.head_seq = pieces[-1].last_seq if pieces else 0
        hashes_at = {seq: h for p in pieces for seq, h in p.sealed_hashes.items()}
        rows = seal_rows.get(station, [])
        report.seals = len(rows)
        _check_seals(report, station, rows, hashes_at, public_keys.get(station))
        result.stations.append(report)
    return result


def _check_seals(
    report: ChainReport,
    station_id: str,
    seal_rows: list[tuple[int, str, int, bytes]],
    hashes_at: dict[int, str],
    public_key: Ed25519PublicKey | None,
) -> None:
    from .keys import verify_signature

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


# --- Anchors outside the log file ----------------------------------------------------------------------
#
# A receipt from the office, a copy of a seal, or the head code written in the paper duty book each say
# "this station's log had entry `seq` with this hash". A log that was cut short, replaced by an older copy,
# re-chained, or had its seal rows deleted no longer agrees with them.

HEAD_CODE_HEX = 6
_HEAD_CODE = re.compile(rf"(\d{{1,12}})-([0-9A-Fa-f]{{{HEAD_CODE_HEX}}})")


@dataclass(frozen=True)
class Anchor:
    """What one file or note outside the log says about it. `kind`: receipt, seal, head code, or
    damaged (the anchor itself failed its check: `problem` says how)."""

    kind: str
    seq: int
    head_hash: str  # the whole hash, or (a head code) its first HEAD_CODE_HEX digits
    source: str
    problem: str = ""


def head_code(seq: int, head_hash: str) -> str:
    """The short code for the duty book: the head's sequence number and the first digits of its hash."""
    return f"{seq}-{head_hash[:HEAD_CODE_HEX].upper()}"


def parse_head_code(text: str) -> Anchor | None:
    """The anchor a head code stands for; None when `text` is not one (`1234-9F3A2C`)."""
    match = _HEAD_CODE.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        return None
    return Anchor("head code", int(match.group(1)), match.group(2).lower(), f"the head code {text.strip()}")


def check_anchors(conn: sqlite3.Connection, report: ChainReport, anchors: Sequence[Anchor]) -> None:
    """Check one station's log (open on `conn`, already verified into `report`) against its anchors."""
    station = report.station_id
    for anchor in anchors:
        report.anchors += 1
        if anchor.kind == "damaged":
            report.fail(anchor.seq, anchor.problem)
            continue
        row = conn.execute(
            "SELECT hash FROM entries WHERE station_id = ? AND seq = ?", (station, anchor.seq)
        ).fetchone()
        if row is None:
            first = min(report.head_seq + 1, anchor.seq)
            report.fail(
                first,
                f"entries {first} to {anchor.seq} are missing although {anchor.source} covers entry "
                f"{anchor.seq} (the log was cut short or replaced by an older copy)",
            )
        elif not str(row[0]).startswith(anchor.head_hash):
            report.fail(
                anchor.seq,
                f"entry {anchor.seq} differs from the one {anchor.source} covers "
                "(the log was rolled back or re-chained)",
            )
        elif anchor.kind == "seal":
            sealed = conn.execute(
                "SELECT head_hash FROM seals WHERE station_id = ? AND seq = ?", (station, anchor.seq)
            ).fetchone()
            if sealed is None or sealed[0] != anchor.head_hash:
                report.fail(
                    anchor.seq,
                    f"the seal at entry {anchor.seq} was deleted from the log ({anchor.source} outside it still has it)",
                )
