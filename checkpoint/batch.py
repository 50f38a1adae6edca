"""Issuing passes in bulk from a CSV file, all or nothing, and renewing a pass.

    plate,category,holder,org,valid_from,valid_until,checkpoints,occupants
    鄂A12345,medical,张三,县人民医院,2026-02-03,2026-02-17,,4

Every row is validated first; any bad row stops the batch before anything is signed, and every bad
row is reported with its line number. A row whose plate, category and validity match a live pass
already issued gives that pass back instead of a duplicate, so running the same file twice is safe.
The file may be UTF-8 (with or without a BOM) or GBK / GB18030, as spreadsheets in China save it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import CheckpointError
from .fsutil import atomic_write
from .models import Category, PassData
from .registry import IssuedPass, PassRequest, Registry
from .text import clean
from .timeutil import iso_local, utcnow, zone

COLUMNS = ("plate", "category", "holder", "org", "valid_from", "valid_until", "checkpoints", "occupants")
REQUIRED = ("plate", "category")
# Headers a Chinese spreadsheet may carry, and common spellings.
HEADER_ALIASES = {
    "车牌号": "plate",
    "车牌": "plate",
    "类别": "category",
    "持证人": "holder",
    "单位": "org",
    "organisation": "org",
    "organization": "org",
    "有效期自": "valid_from",
    "有效期至": "valid_until",
    "适用卡口": "checkpoints",
    "卡口": "checkpoints",
    "乘车人数": "occupants",
    "max_occupants": "occupants",
}
CATEGORY_WORDS = {
    "应急车辆": Category.EMERGENCY,
    "应急": Category.EMERGENCY,
    "公务人员": Category.OFFICIAL,
    "公务": Category.OFFICIAL,
    "医护人员": Category.MEDICAL,
    "医护": Category.MEDICAL,
}
MAX_ROWS = 20_000
MAX_FILE = 16 * 1024 * 1024
DEFAULT_OCCUPANTS = 5
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# make_request(plate=…, category=…, …) → PassRequest, raising CheckpointError with one sentence.
RequestMaker = Callable[..., PassRequest]


@dataclass(frozen=True)
class RowError:
    """A bad row: `reasons` has a sentence for each bad field, `reason` is them all in one line."""

    line: int
    reason: str
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.reasons:
            object.__setattr__(self, "reasons", (self.reason,))

    @classmethod
    def of(cls, line: int, reasons: Sequence[str]) -> RowError:
        return cls(line, "; ".join(reasons), tuple(reasons))

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


# The fields make_request checks, in the order a row's errors are reported; the dates go together
# (their order is one check). Each group is tried alone against PROBE values that are all good.
FIELD_GROUPS = (("plate",), ("category",), ("holder",), ("org",), ("valid_from", "valid_until"), ("checkpoints",),
                ("occupants",))  # fmt: skip
PROBE = {"plate": "鄂A00000", "category": "medical", "holder": "", "org": "", "valid_until": None,
         "checkpoints": "", "occupants": 1}  # fmt: skip


def field_errors(make_request: RequestMaker, fields: dict[str, Any], first: str) -> list[str]:
    """Every bad field of a row that `make_request` refused with `first` (which names only one of them).

    Each field is checked alone, the others set to good values; `first` stands when no single field is
    at fault (a combination of them is).
    """
    reasons: list[str] = []
    for group in FIELD_GROUPS:
        try:
            make_request(**{**PROBE, "valid_from": fields["valid_from"], "now": fields["now"],
                            **{name: fields[name] for name in group}})  # fmt: skip
        except CheckpointError as exc:
            reason = exc.message.rstrip(".")
            if reason not in reasons:
                reasons.append(reason)
    return reasons or [first]


@dataclass(frozen=True)
class BatchRow:
    line: int
    request: PassRequest


class BatchInvalid(CheckpointError):
    """The file has bad rows; `errors` names every one. Nothing was issued."""

    def __init__(self, errors: list[RowError], source: str) -> None:
        count = len(errors)
        super().__init__(
            f"{source} has {count} bad row{'s' if count != 1 else ''}; nothing was issued: "
            "fix them and run the same file again."
        )
        self.errors = errors


@dataclass
class BatchResult:
    """The passes of a batch in file order; `new[i]` says whether `passes[i]` was issued by this run."""

    passes: list[IssuedPass]
    new: list[bool]
    lines: list[int]

    @property
    def issued(self) -> int:
        return sum(self.new)

    @property
    def existing(self) -> int:
        return len(self.new) - self.issued


def neutralise_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula, with control characters made visible."""
    text = clean("" if value is None else str(value))
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A UTF-8 CSV (with BOM, so spreadsheets read Chinese) whose every cell is neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(h) for h in header])
    for row in rows:
        writer.writerow([neutralise_cell(c) for c in row])
    atomic_write(path, ("\ufeff" + buffer.getvalue()).encode("utf-8"))


def decode_csv(raw: bytes, source: str) -> str:
    """UTF-8 (BOM or not), else GB18030 (a superset of GBK). One sentence if it is neither."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise CheckpointError(
            f"{source} is neither UTF-8 nor GBK text; save it as CSV UTF-8 and try again."
        ) from exc


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: cell}) for every non-empty data row. Raises CheckpointError."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise CheckpointError(f"{path} is {size // 1_000_000} MB; a batch file may be at most 16 MB.")
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"There is no file {path}.") from exc
    except IsADirectoryError as exc:
        raise CheckpointError(f"{path} is a folder; give a CSV file.") from exc
    except OSError as exc:
        raise CheckpointError(f"Cannot read {path}: {exc.strerror}.") from exc
    text = decode_csv(raw, str(path))
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") and "\t" not in sample else ","
    if sample.count("\t") > sample.count(delimiter):
        delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header_cells = next(reader)
    except StopIteration as exc:
        raise CheckpointError(f"{path} is empty; its first line must name the columns.") from exc
    except csv.Error as exc:
        raise CheckpointError(f"{path} is not a readable CSV file ({exc}).") from exc
    header: list[str] = []
    for cell in header_cells:
        name = cell.strip().lower().replace(" ", "_").replace("-", "_")
        name = HEADER_ALIASES.get(cell.strip(), HEADER_ALIASES.get(name, name))
        if name not in COLUMNS:
            raise CheckpointError(
                f"Line 1 of {path} names an unknown column {clean(cell, limit=30)!r}; "
                f"the columns are {', '.join(COLUMNS)}."
            )
        if name in header:
            raise CheckpointError(f"Line 1 of {path} names the column {name} twice.")
        header.append(name)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CheckpointError(
            f"Line 1 of {path} has no {' or '.join(missing)} column; it must name the columns."
        )
    rows: list[tuple[int, dict[str, str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CheckpointError(f"Line {line} of {path} is not valid CSV ({exc}).") from exc
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise CheckpointError(f"{path} has more than {MAX_ROWS} rows; split it into smaller files.")
        row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            row["__extra__"] = "x"
        rows.append((line, row))
    return rows


def category_value(text: str) -> str:
    """An English category value from `medical`, `Medical` or `医护人员`."""
    stripped = text.strip()
    word = CATEGORY_WORDS.get(stripped)
    return word.value if word is not None else stripped.lower()


def _second(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def parse_rows(
    rows: list[tuple[int, dict[str, str]]],
    make_request: RequestMaker,
    *,
    tz: str,
    now: datetime | None = None,
) -> tuple[list[BatchRow], list[RowError]]:
    """Validate every row; returns the good ones and an error for each bad one (none are skipped silently).

    An empty valid_from means today (00:00 local), so that running the same file again on the same day
    asks for the same validity and issues no duplicates.
    """
    moment = now or utcnow()
    today = moment.astimezone(zone(tz)).date().isoformat()
    good: list[BatchRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str, datetime, datetime], int] = {}
    for line, row in rows:
        if "__extra__" in row:
            errors.append(RowError(line, "it has more cells than the header has columns"))
            continue
        occupants_text = row.get("occupants", "").strip()
        bad_count: str | None = None
        try:
            occupants = int(occupants_text) if occupants_text else DEFAULT_OCCUPANTS
        except ValueError:
            bad_count = f"occupants {clean(occupants_text, limit=20)!r} is not a whole number"
            occupants = DEFAULT_OCCUPANTS  # so that the other fields are still checked
        fields: dict[str, Any] = {
            "plate": row.get("plate", ""),
            "category": category_value(row.get("category", "")),
            "holder": row.get("holder", ""),
            "org": row.get("org", ""),
            "valid_from": row.get("valid_from", "").strip() or today,
            "valid_until": row.get("valid_until", "").strip() or None,
            "checkpoints": row.get("checkpoints", ""),
            "occupants": occupants,
            "now": moment,
        }
        try:
            request = make_request(**fields)
        except CheckpointError as exc:
            reasons = field_errors(make_request, fields, exc.message.rstrip("."))
            errors.append(RowError.of(line, reasons if bad_count is None else [*reasons, bad_count]))
            continue
        if bad_count is not None:
            errors.append(RowError(line, bad_count))
            continue
        # The register keeps validity to the minute; ask for it that way so a re-run finds the same pass.
        request = dataclasses.replace(
            request, valid_from=_second(request.valid_from), valid_until=_second(request.valid_until)
        )
        key = (request.plate, request.category.value, request.valid_from, request.valid_until)
        if key in seen:
            errors.append(RowError(line, f"it asks for the same pass as line {seen[key]}"))
            continue
        seen[key] = line
        good.append(BatchRow(line, request))
    return good, errors


def issue_rows(
    registry: Registry,
    rows: Sequence[BatchRow],
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Sign every row that has no live pass yet and store them all in one transaction."""
    passes: list[IssuedPass | None] = []
    new: list[bool] = []
    to_store: list[tuple[PassData, str, str | None]] = []
    for index, row in enumerate(rows):
        existing = registry.find_same(row.request)
        if existing is not None:
            passes.append(existing)
            new.append(False)
        else:
            data, payload = registry.build(row.request, now=now)
            to_store.append((data, payload, None))
            passes.append(IssuedPass(data, payload))
            new.append(True)
        if progress is not None:
            progress(index + 1, len(rows))
    if to_store:
        registry.store(to_store)
    return BatchResult([p for p in passes if p is not None], new, [r.line for r in rows])


def png_name(issued: IssuedPass) -> str:
    """`<pass id>_<plate>.png`: findable by either (the plate is in normal form, safe in a file name)."""
    return f"{issued.data.pass_id}_{issued.data.plate}.png"


def write_outputs(
    result: BatchResult,
    out: Path,
    *,
    office: str,
    tz: str,
    sheet: Path | None = None,
    pngs: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """A PNG per pass, `passes.csv` (the index) in `out`, and the A4 sheet if asked. Returns the index."""
    from .cards import fast_matrix, matrix_png, write_sheet

    out.mkdir(parents=True, exist_ok=True)
    total = len(result.passes) * (2 if sheet is not None else 1)
    matrices = []
    for index, issued in enumerate(result.passes):
        matrix = fast_matrix(issued.payload)
        matrices.append(matrix)
        if pngs:
            matrix_png(matrix, out / png_name(issued))
        if progress is not None:
            progress(index + 1, total)
    index_path = out / "passes.csv"
    local = zone(tz)  # people read this file: local times with their offset
    write_csv(
        index_path,
        ["line", "pass_id", "plate", "category", "holder", "org", "valid_from", "valid_until", "status", "png"],
        [
            [
                line, p.data.pass_id, p.data.plate, p.data.category.value, p.data.holder, p.data.org,
                iso_local(p.data.valid_from, local), iso_local(p.data.valid_until, local),
                "issued" if is_new else "existing", png_name(p) if pngs else "",
            ]
            for line, p, is_new in zip(result.lines, result.passes, result.new, strict=True)
        ],
    )  # fmt: skip
    if sheet is not None:
        offset = len(result.passes)

        def sheet_progress(done: int, count: int) -> None:
            if progress is not None:
                progress(offset + done, total)

        write_sheet(result.passes, sheet, office=office, tz=tz, matrices=matrices, progress=sheet_progress)
    return index_path


def renew(
    registry: Registry,
    pass_id: str,
    *,
    valid_from: datetime,
    valid_until: datetime,
    now: datetime | None = None,
) -> tuple[IssuedPass, IssuedPass]:
    """A new pass with the old one's fields and a new validity; the old one revoked "renewed as NEW".

    Returns (old, new). The caller republishes the revocation list.
    """
    old = registry.get(pass_id)
    if old.revoked_at is not None:
        raise CheckpointError(f"Pass {pass_id} is revoked; issue a new pass instead of renewing it.")
    if valid_until <= valid_from:
        raise CheckpointError("valid-until must be after valid-from.")
    d = old.data
    request = PassRequest(
        plate=d.plate,
        category=d.category,
        holder=d.holder,
        org=d.org,
        valid_from=valid_from,
        valid_until=valid_until,
        checkpoints=d.checkpoints,
        max_occupants=d.max_occupants,
    )
    new = registry.issue(request, now=now, replaces=old.data.pass_id)
    old = registry.revoke(old.data.pass_id, f"renewed as {new.data.pass_id}", now=now)
    return old, new


def renewal_window(old: IssuedPass, *, now: datetime, valid_days: int) -> tuple[datetime, datetime]:
    """Default validity of a renewal: from now (or the old start if later) for `valid_days`."""
    start = max(now, old.data.valid_from).replace(microsecond=0)
    return start, start + timedelta(days=valid_days)
