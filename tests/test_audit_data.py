"""Test logs for the audit tests, written the real way: `LogStore.append` with `EntryDraft`s, one store per
station on the same file, opened one after another. Imported by the other test_audit*/report/bundle tests."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from checkpoint.models import Category, Direction, Reason, Verdict
from checkpoint.store import EntryDraft, LogStore, Shift, verify_log

# 2026-02-03 in Asia/Shanghai runs from 2026-02-02 16:00 UTC to 2026-02-03 16:00 UTC.
DAY_START = datetime(2026, 2, 2, 16, 0, tzinfo=UTC)
HOSTILE = ["[@click=app.quit]x[/]", "[/]", "\x1b[31mred\x1b[0m", '=HYPERLINK("http://x")', "\u202eevil"]


@dataclass
class Sample:
    path: Path
    keys: dict[str, Ed25519PrivateKey]


def draft(
    direction: str = "in",
    reason: Reason = Reason.OK,
    *,
    category: Category | None = Category.MEDICAL,
    plate: str | None = "鄂A12345",
    pass_id: str | None = "7K3M9QXA",
    holder: str | None = "张三",
    temperatures: tuple[int, ...] = (365,),
    operator: str = "李四",
    leader: str = "王五",
    override_by: str | None = None,
    override_reason: str | None = None,
    note: str | None = None,
) -> EntryDraft:
    verdict = Verdict.ALLOW if reason in (Reason.OK, Reason.OVERRIDE) else Verdict.DENY
    return EntryDraft(
        direction=Direction(direction),
        verdict=verdict,
        reason=reason,
        operator=operator,
        leader=leader,
        denied_for=Reason.EXPIRED if reason is Reason.OVERRIDE else None,
        pass_id=pass_id,
        key_id="ABCD1234" if pass_id else None,
        category=None if category is None else category.value,
        plate=plate,
        holder=holder,
        org="县人民医院" if pass_id else None,
        occupants=len(temperatures) or None,
        temperatures=temperatures,
        fevers=sum(1 for t in temperatures if t >= 373),
        override_by=override_by,
        override_reason=override_reason,
        note=note,
    )


# (station, minutes after DAY_START, draft)
def sample_plan() -> list[tuple[str, float, EntryDraft]]:
    plan: list[tuple[str, float, EntryDraft]] = [
        ("north-gate", -30, draft()),  # the day before (local)
        ("north-gate", 5, draft()),
        ("north-gate", 65, draft("out")),
        ("north-gate", 70, draft(category=Category.EMERGENCY, plate="鄂A11111", pass_id="EMER0001")),
        ("north-gate", 75, draft(reason=Reason.EXPIRED, plate="鄂B22222", pass_id="EXPD0001")),
        (
            "north-gate",
            80,
            draft(reason=Reason.NO_PASS, category=None, pass_id=None, holder=None, plate="湘C33333"),
        ),
        (
            "north-gate",
            90,
            draft(reason=Reason.FEVER, temperatures=(366, 385), plate="鄂A44444", pass_id="FEVR0001"),
        ),
        (
            "north-gate",
            95,
            draft(
                reason=Reason.OVERRIDE,
                category=Category.EMERGENCY,
                plate="鄂A55555",
                pass_id="OVRD0001",
                override_by="陈镇长",
                override_reason="救护车转运病人",
                temperatures=(380,),
            ),
        ),
        # the same pass (7K3M9QXA) enters at east-bridge 4 minutes after north-gate: a clone alert
        ("east-bridge", 9, draft(operator="赵六", leader="孙七")),
        (
            "east-bridge",
            200,
            draft(category=Category.OFFICIAL, plate="鄂A66666", pass_id="OFFI0001", operator="赵六"),
        ),
        ("east-bridge", 210, draft("out", category=Category.OFFICIAL, plate="鄂A66666", pass_id="OFFI0001")),
        (
            "east-bridge",
            300,
            draft(reason=Reason.NO_PASS, category=None, pass_id=None, holder=None, plate="鄂A77777"),
        ),
        # hostile text everywhere a person or a file can put it
        (
            "east-bridge",
            400,
            draft(
                plate="[/]",
                holder=HOSTILE[0],
                operator=HOSTILE[2],
                leader=HOSTILE[1],
                note=HOSTILE[3],
                pass_id="HOST0001",
            ),
        ),
        ("east-bridge", 60 * 25, draft()),  # the day after (local)
    ]
    return plan


PREVIOUS = "@previous"
"""A plan's `refers_to` placeholder: the id of the entry appended just before at the same station."""


def override_plan() -> list[tuple[str, float, EntryDraft]]:
    """The sample plus a fever denial that a supervisor then let through: two entries for one vehicle,
    the override's `refers_to` naming the denial (which it supersedes)."""
    fever = draft(reason=Reason.FEVER, temperatures=(381,), plate="鄂A88888", pass_id="FEVR0002")
    allowed = replace(
        draft(
            reason=Reason.OVERRIDE,
            temperatures=(381,),
            plate="鄂A88888",
            pass_id="FEVR0002",
            override_by="陈镇长",
            override_reason="发热病人送医",
        ),
        denied_for=Reason.FEVER,
        refers_to=PREVIOUS,
    )
    plan = sample_plan()
    plan[-1:-1] = [("north-gate", 100, fever), ("north-gate", 102, allowed)]
    return plan


async def _write(
    path: Path, plan: list[tuple[str, float, EntryDraft]], keys: dict[str, Ed25519PrivateKey]
) -> None:
    for station in dict.fromkeys(s for s, _, _ in plan):
        store = await LogStore.open(path, station)
        async with store:
            await store.start_shift(Shift("李四", "王五"), now=DAY_START)
            previous = None
            for sid, minutes, entry in plan:
                if sid == station:
                    if entry.refers_to == PREVIOUS:
                        entry = replace(entry, refers_to=None if previous is None else previous.id)
                    previous = await store.append(entry, now=DAY_START + timedelta(minutes=minutes))
            await store.seal(keys[station], now=DAY_START + timedelta(days=2))


def build_sample(path: Path, plan: list[tuple[str, float, EntryDraft]] | None = None) -> Sample:
    plan = sample_plan() if plan is None else plan
    keys = {s: Ed25519PrivateKey.generate() for s, _, _ in plan}
    asyncio.run(_write(path, plan, keys))
    return Sample(path, keys)


def raw_rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM entries ORDER BY ts, station_id, seq").fetchall()
    conn.close()
    return rows


def tamper(path: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    """Edit the log behind the store's back, the way an attacker with the file would."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS entries_only_purge")
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def alter(path: Path, station: str, seq: int, old: str, new: str) -> None:
    """Change text inside one entry behind the store's back (whatever column holds it)."""
    conn = sqlite3.connect(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_xinfo(entries)")]
    conn.close()
    if "body" in columns:
        tamper(
            path,
            "UPDATE entries SET body = replace(body, ?, ?) WHERE station_id = ? AND seq = ?",
            (old, new, station, seq),
        )
    else:
        tamper(
            path,
            "UPDATE entries SET plate = replace(plate, ?, ?) WHERE station_id = ? AND seq = ?",
            (old, new, station, seq),
        )


def test_sample_log_verifies(tmp_path: Path) -> None:
    sample = build_sample(tmp_path / "log.db")
    assert verify_log(sample.path).ok
    assert len(raw_rows(sample.path)) == len(sample_plan())
