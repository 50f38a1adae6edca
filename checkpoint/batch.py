"""Issuing passes in bulk from a CSV file, all or nothing.

    plate,category,holder,org,valid_from,valid_until,checkpoints,occupants
    鄂A12345,medical,张三,县人民医院,2026-02-03,2026-02-17,,4

Every row is checked first (by `pass_request`, the validator the office screen and `pass issue` use);
any bad row stops the batch before anything is signed, and every bad row is reported with its line
number and each bad field. The files are written before the register records the passes, so a full
disk issues nothing. A row whose plate, category and validity match a live pass
already issued gives that pass back instead of a duplicate, so running the same file twice is safe.
The file may be UTF-8 (with or without a BOM) or GBK / GB18030, as spreadsheets in China save it.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import CheckpointError
from .fsutil import atomic_write, describe_os_error
from .pass_request import FieldError, Problem, Translate, category_of, check_request
from .registry import IssuedPass, PassRequest, Registry
from .text import clean, neutralise_formula
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
MAX_ROWS = 20_000
MAX_FILE = 16 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    """A bad row: one problem for each bad field (or for the row itself), each worded by the front end."""

    line: int
    problems: tuple[FieldError, ...]

    def reasons(self, t: Translate) -> list[str]:
        """A sentence for each problem, in `t`'s language, without its closing full stop."""
        return [problem.message(t).rstrip(".。") for problem in self.problems]

    def reason(self, t: Translate) -> str:
        return "; ".join(self.reasons(t))

    def to_json(self, t: Translate) -> dict[str, object]:
        return {
            "line": self.line,
            "reason": self.reason(t),
            "reasons": self.reasons(t),
            "fields": [problem.to_json() for problem in self.problems],
        }


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
    return neutralise_formula(clean("" if value is None else str(value)))


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
    """An English category value from `medical`, `Medical` or `医护人员` (else the text, lower case)."""
    category = category_of(text)
    return category.value if category is not None else text.strip().lower()


def parse_rows(
    rows: list[tuple[int, dict[str, str]]],
    *,
    tz: str,
    valid_days: int,
    now: datetime | None = None,
) -> tuple[list[BatchRow], list[RowError]]:
    """Check every row with the one pass-request validator; returns the good rows and an error for each
    bad one, naming every bad field (none are skipped silently).

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
            errors.append(RowError(line, (FieldError("row", Problem.EXTRA_CELLS),)))
            continue
        values = {name: row.get(name, "") for name in COLUMNS}
        values["valid_from"] = values["valid_from"].strip() or today
        checked = check_request(values, tz=tz, valid_days=valid_days, now=moment)
        if checked.request is None:
            errors.append(RowError(line, tuple(checked.errors.values())))
            continue
        request = checked.request
        key = (request.plate, request.category.value, request.valid_from, request.valid_until)
        if key in seen:
            errors.append(RowError(line, (FieldError("row", Problem.DUPLICATE, detail=str(seen[key])),)))
            continue
        seen[key] = line
        good.append(BatchRow(line, request))
    return good, errors


def sign_rows(
    registry: Registry,
    rows: Sequence[BatchRow],
    *,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Sign every row that has no live pass yet (the others give theirs back); nothing is stored."""
    passes: list[IssuedPass] = []
    new: list[bool] = []
    for index, row in enumerate(rows):
        existing = registry.find_same(row.request)
        if existing is not None:
            passes.append(existing)
            new.append(False)
        else:
            data, payload = registry.build(row.request, now=now)
            passes.append(IssuedPass(data, payload))
            new.append(True)
        if progress is not None:
            progress(index + 1, len(rows))
    return BatchResult(passes, new, [r.line for r in rows])


def issue_rows(
    registry: Registry,
    rows: Sequence[BatchRow],
    out: Path,
    *,
    office: str,
    tz: str,
    sheet: Path | None = None,
    pngs: bool = True,
    now: datetime | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BatchResult:
    """Sign the rows, write their files, and only then record the new passes (one transaction).

    The files are written into a hidden folder inside `out` (and the sheet beside its own name) and
    moved into place once the register has the passes: a full disk or a bad folder issues nothing and
    leaves no file of a pass that does not exist. `progress(phase, done, total)`: "sign", then "write".
    """

    def phase(name: str) -> Callable[[int, int], None] | None:
        return None if progress is None else (lambda done, total: progress(name, done, total))

    result = sign_rows(registry, rows, now=now, progress=phase("sign"))
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".batch-", dir=out))
    except OSError as exc:
        raise CheckpointError(f"{describe_os_error(exc, out).rstrip('.')}; nothing was issued.") from exc
    staged_sheet = None if sheet is None else sheet.with_name(f".{sheet.name}.{staging.name}")
    try:
        write_outputs(
            result, staging, office=office, tz=tz, sheet=staged_sheet, pngs=pngs, progress=phase("write")
        )
        # Only now are they passes: the register takes all of them or none.
        registry.store(
            [(p.data, p.payload, None) for p, is_new in zip(result.passes, result.new, strict=True) if is_new]
        )
    except CheckpointError as exc:
        _remove(staging, staged_sheet)
        message = exc.message.replace(str(staging), str(out))  # name the folder the person gave
        if sheet is not None and staged_sheet is not None:
            message = message.replace(str(staged_sheet), str(sheet))
        raise CheckpointError(_nothing_issued(message)) from exc
    except BaseException:
        _remove(staging, staged_sheet)
        raise
    try:
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
        if sheet is not None and staged_sheet is not None:
            os.replace(staged_sheet, sheet)
        staging.rmdir()
    except OSError as exc:  # a rename after the passes went live: say where their files are
        raise CheckpointError(
            f"{result.issued} pass(es) were issued and are live, but their files could not be moved from "
            f"{staging} into {out} ({exc.strerror}); move them there by hand."
        ) from exc
    return result


def _nothing_issued(message: str) -> str:
    """A write error's sentence, saying that nothing was issued (once)."""
    if "nothing was issued" in message:
        return message
    return f"{message.rstrip('.')}; nothing was issued."


def _remove(folder: Path, sheet: Path | None) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if sheet is not None:
        sheet.unlink(missing_ok=True)


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
