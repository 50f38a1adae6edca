"""The daily situation report: totals against the raw rows, PDF rendered and read back, HTML escaped."""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checkpoint import audit
from checkpoint.report import build_report, render_html, render_markdown, write_report
from checkpoint.store import LogStore, open_reader, verify_log
from checkpoint.timeutil import to_micros
from tests.conftest import run_cli
from tests.test_audit_data import HOSTILE, alter, build_sample, override_plan, raw_rows

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 2, 3)


@pytest.fixture
def home(tmp_path: Path):  # type: ignore[no-untyped-def]
    from checkpoint.paths import Home

    home = Home(tmp_path / "office").ensure()
    build_sample(home.log_db)
    return home


@pytest.fixture
def override_home(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The sample plus a fever denial (38.1) that a supervisor then let through on an override."""
    from checkpoint.paths import Home

    home = Home(tmp_path / "office-override").ensure()
    build_sample(home.log_db, override_plan())
    return home


def _day_rows(path: Path, station: str | None = None) -> list:  # type: ignore[type-arg]
    start, end = (to_micros(t) for t in audit.day_bounds(DAY, TZ))
    return [
        r
        for r in raw_rows(path)
        if start <= r["ts"] < end and (station is None or r["station_id"] == station)
    ]


def _current(path: Path, rows: list) -> list:  # type: ignore[type-arg]
    """The rule, modelled independently: an entry a later entry refers to is superseded."""
    superseded = {r["refers_to"] for r in raw_rows(path) if r["refers_to"]}
    return [r for r in rows if r["id"] not in superseded]


@pytest.mark.parametrize("with_override", [False, True])
@pytest.mark.parametrize("station", [None, "north-gate", "east-bridge"])
def test_totals_equal_counts_from_the_raw_rows(  # type: ignore[no-untyped-def]
    home, override_home, station: str | None, with_override: bool
) -> None:
    if with_override:
        home = override_home
    every = _day_rows(home.log_db, station)
    rows = _current(home.log_db, every)
    assert len(rows) == len(every) - (with_override and station != "east-bridge")
    expected: Counter[tuple[str, str]] = Counter()
    for r in rows:
        kind = "denied" if r["verdict"] == "deny" else r["direction"]
        expected[(r["category"] or "none", kind)] += 1
    conn = open_reader(home.log_db)
    report = build_report(conn, DAY, TZ, station=station)
    for c in report.categories:
        assert (c.allowed_in, c.allowed_out, c.denied) == (
            expected[(c.category, "in")],
            expected[(c.category, "out")],
            expected[(c.category, "denied")],
        ), c.category
    assert report.totals.total == len(rows)
    assert dict(report.denials) == dict(Counter(r["reason"] for r in rows if r["verdict"] == "deny"))
    assert [(e.station_id, e.seq) for e in report.fevers] == [
        (r["station_id"], r["seq"]) for r in rows if r["fevers"]
    ]
    assert [(e.station_id, e.seq) for e in report.overrides] == [
        (r["station_id"], r["seq"]) for r in rows if r["reason"] == "override"
    ]
    assert sum(h.total for h in report.hours) == len(rows)
    assert sum(s.entries for s in report.shifts) == len(every)  # the shifts table counts log entries


def test_an_overridden_fever_denial_counts_once(override_home) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(override_home, "report", "--date", "2026-02-03")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.count("38.1") == 1  # listed once, by the override entry that carries it
    assert "| Allowed (Override) |" not in text
    line = next(x for x in text.splitlines() if "38.1" in x)
    assert "鄂A·88888" in line and "allowed" in line
    assert "| Fever | 1 |" in text  # FEVR0001 only: FEVR0002 was let through
    assert "| Medical staff | 4 | 1 | 2 | 7 |" in text  # 鄂A88888 once, allowed in (not also denied)
    assert "| Total | 7 | 2 | 4 | 13 |" in text
    overrides = text.split("## Overrides")[1].split("##")[0]
    assert "发热病人送医" in overrides and "| Fever |" in overrides
    conn = open_reader(override_home.log_db)
    hours = audit.hourly(conn, audit.Filter(), DAY, TZ)
    assert sum(h.total for h in hours) == 13 and sum(h.denied for h in hours) == 4
    # the browse table is the log: both entries are there
    assert len(audit.page(conn, audit.Filter(plate="鄂A88888"))) == 2


def test_markdown_has_every_section_and_the_clone_alert(home) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(home, "report", "--date", "2026-02-03")
    assert result.exit_code == 0, result.output
    text = result.output
    for heading in ("Traffic by category", "Turned back, by reason", "Fevers", "Overrides", "Shifts",
                    "Traffic by hour", "Clone alerts", "Log verification"):  # fmt: skip
        assert f"## {heading}" in text
    assert "| Total | 6 | 2 | 4 | 12 |" in text
    assert "Pass 7K3M9QXA entered at north-gate (00:05) and at east-bridge (00:09), 4 min apart." in text
    assert "陈镇长" in text and "救护车转运病人" in text and "36.6 38.5" in text
    assert "The traffic log verifies: 14 entries" in text
    assert "## Traffic by hour\n\n█ allowed  ░ turned back\n" in text  # the bars' legend
    assert "\x1b" not in text and "\u202e" not in text


def test_chinese_html_escapes_everything(home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.html"
    result = run_cli(
        home, "report", "--date", "2026-02-03", "--format", "html", "--lang", "zh", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "每日情况汇报" in page and "劝返原因" in page and "特批放行" in page and "带班领导" in page
    assert "<td>[/]</td>" in page  # the hostile leader, as text
    assert "\x1b" not in page and "␛[31mred␛[0m" in page
    conn = open_reader(home.log_db)
    report = build_report(conn, DAY, TZ)
    report.station_names["north-gate"] = "<script>alert(1)</script>"
    escaped = render_html(report, "en")
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped
    assert "\\<script\\>" in render_markdown(report, "en")


def test_pdf_renders_and_reads_back_in_chinese(home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r.pdf"
    result = run_cli(
        home, "report", "--date", "2026-02-03", "--format", "pdf", "--lang", "zh", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(p.stat().st_size > 5000 for p in pages)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    for words in (
        "每日情况汇报",
        "分类通行情况",
        "应急车辆",
        "医护人员",
        "发热",
        "陈镇长",
        "疑似通行证复制",
        "核查通过",
    ):
        assert words in text, words
    assert "7K3M9QXA" in text and "鄂A·44444" in text


def test_a_tampered_log_is_reported_and_exits_1(home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alter(home.log_db, "north-gate", 3, "鄂A12345", "鄂A00000")
    result = run_cli(
        home, "report", "--date", "2026-02-03", "--format", "html", "--out", str(tmp_path / "r.html")
    )
    assert result.exit_code == 1
    assert "fails verification" in result.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "THE TRAFFIC LOG FAILS VERIFICATION." in page and "first bad entry 3" in page


def test_purge_keeps_the_counts_and_the_chain(home) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    conn = open_reader(home.log_db)
    before = build_report(conn, DAY, TZ)
    conn.close()

    async def purge() -> int:
        store = await LogStore.open(home.log_db, "office")
        async with store:
            return await store.purge(audit.day_bounds(DAY, TZ)[1] + timedelta(days=5))

    assert asyncio.run(purge()) == len(raw_rows(home.log_db))  # every sample entry holds personal data
    assert verify_log(home.log_db).ok
    conn = open_reader(home.log_db)
    after = build_report(conn, DAY, TZ)
    assert [vars(c) for c in after.categories] == [vars(c) for c in before.categories]
    assert after.denials == before.denials
    assert [(e.station_id, e.seq) for e in after.fevers] == [(e.station_id, e.seq) for e in before.fevers]
    assert all(e.purged and not e.temperatures for e in after.fevers)
    assert "(purged)" in render_markdown(after, "en")
    verified = run_cli(home, "log", "verify")
    assert verified.exit_code == 0, verified.output


def test_bad_date_is_one_sentence(home) -> None:  # type: ignore[no-untyped-def]
    result = run_cli(home, "report", "--date", "3rd of May")
    assert result.exit_code == 2 and "is not a date" in result.output and "Traceback" not in result.output
    assert HOSTILE  # the sample log holds hostile text (used above)


def _pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    )
    return text.stdout.split("\f")


def test_a_two_page_chinese_pdf_keeps_latin_text_after_the_page_break(home, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """fpdf2 mixed fonts (DejaVu + the CJK fallback): every line on page 2 must set its font, or the
    station ids and pass numbers there vanish ("No font in show")."""
    conn = open_reader(home.log_db)
    report = build_report(conn, DAY, TZ, verification=verify_log(home.log_db))
    report.clones.alerts = report.clones.alerts * 60  # enough clone alerts to run onto a second page
    out = tmp_path / "r.pdf"
    write_report(report, "pdf", "zh", out)
    render = subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(out), str(tmp_path / "page")], capture_output=True, text=True
    )
    assert render.returncode == 0 and "No font" not in render.stderr, render.stderr
    pages = [p for p in _pdf_pages(out) if p.strip()]
    assert len(pages) >= 2
    last = pages[-1]
    assert "通行记录核查通过" in last
    assert "north-gate：8 条" in last and "east-bridge：6 条" in last  # Latin station ids after the break
    assert "7K3M9QXA" in last


def test_a_station_home_names_its_checkpoint_and_says_not_sealed_yet(tmp_path: Path) -> None:
    """One station's own log, never sealed: the heading names the station (settings), the verification
    says "not sealed yet" in amber rather than "every seal valid" / "sealed up to entry 0"."""
    import asyncio

    from checkpoint.keys import load_or_create_station_key
    from checkpoint.paths import Home
    from checkpoint.store import Shift
    from tests.test_audit_data import DAY_START, draft

    home = Home(tmp_path / "station").ensure()
    home.config.write_text('[station]\nid = "dafan-east"\nname = "大畈镇东卡口"\n', encoding="utf-8")
    load_or_create_station_key(home.station_key)

    async def write() -> None:
        store = await LogStore.open(home.log_db, "dafan-east")
        async with store:
            await store.start_shift(Shift("李四", "王五"), now=DAY_START)
            for minutes in (10, 20):
                await store.append(draft(), now=DAY_START + timedelta(minutes=minutes))

    asyncio.run(write())
    result = run_cli(home, "report", "--date", "2026-02-03")
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Checkpoint: 大畈镇东卡口 (dafan-east)" in text and "all checkpoints" not in text
    assert "**The traffic log verifies: 2 entries, every chain whole; not sealed yet.**" in text
    assert "大畈镇东卡口 (dafan-east): 2 entries, not sealed yet." in text
    assert "every seal valid" not in text and "up to entry 0" not in text
    out = tmp_path / "r.html"
    result = run_cli(
        home, "report", "--date", "2026-02-03", "--format", "html", "--lang", "zh", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<p class="warn">通行记录核查通过：共 2 条，记录链完整；尚未签章。</p>' in page
    assert "卡口: 大畈镇东卡口 (dafan-east)" in page and "签章有效" not in page


def test_a_shift_still_open_says_so_and_one_entry_is_one(tmp_path: Path) -> None:
    """A shift not handed over showed "Until 03:11" (its last entry) as if it had ended then."""
    import asyncio

    from checkpoint.paths import Home
    from checkpoint.store import Shift
    from tests.test_audit_data import DAY_START, draft

    home = Home(tmp_path / "station").ensure()
    home.config.write_text('[station]\nid = "dafan-east"\n', encoding="utf-8")

    async def write(end: bool) -> None:
        store = await LogStore.open(home.log_db, "dafan-east")
        async with store:
            if not end:
                await store.start_shift(Shift("李四", "王五"), now=DAY_START)
                await store.append(draft(), now=DAY_START + timedelta(minutes=10))
            else:
                opened = await store.open_shift()
                assert opened is not None
                await store.end_shift(opened[0], None, now=DAY_START + timedelta(hours=2))

    asyncio.run(write(end=False))
    last = (DAY_START + timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    text = run_cli(home, "report", "--date", "2026-02-03", "--no-verify").output
    assert f"still open (last entry {last})" in text, text
    zh = run_cli(home, "report", "--date", "2026-02-03", "--lang", "zh").output
    assert f"尚未交班（最后一条 {last}）" in zh and "共 1 条，" in zh, zh
    text = run_cli(home, "report", "--date", "2026-02-03").output
    assert "1 entry, every chain whole" in text and "1 entries" not in text
    asyncio.run(write(end=True))
    text = run_cli(home, "report", "--date", "2026-02-03", "--no-verify").output
    assert "still open" not in text and f"| {last} |" in text


def test_the_same_two_signing_in_again_leaves_the_handed_over_shift_closed(tmp_path: Path) -> None:
    """QA: 李四/王五 handed over (F8) and then signed in again (a new, empty shift): the report showed
    the handed-over shift as "still open" because the new one has the same names."""
    import asyncio

    from checkpoint.paths import Home
    from checkpoint.store import Shift
    from tests.test_audit_data import DAY_START, draft

    home = Home(tmp_path / "station").ensure()
    home.config.write_text('[station]\nid = "dafan-east"\n', encoding="utf-8")

    async def write() -> None:
        store = await LogStore.open(home.log_db, "dafan-east")
        async with store:
            await store.start_shift(Shift("李四", "王五"), now=DAY_START)
            await store.append(draft(), now=DAY_START + timedelta(minutes=10))
            opened = await store.open_shift()
            assert opened is not None
            await store.end_shift(opened[0], None, now=DAY_START + timedelta(minutes=20))
            await store.start_shift(Shift("李四", "王五"), now=DAY_START + timedelta(minutes=30))

    asyncio.run(write())
    last = (DAY_START + timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
    text = run_cli(home, "report", "--date", "2026-02-03", "--no-verify").output
    assert "still open" not in text and f"| {last} |" in text, text
