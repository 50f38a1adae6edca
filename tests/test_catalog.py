"""One translation catalog in the core: every area in both languages, one word per reason and per
category, read by the screens, the reports, the cards and the command line alike."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from checkpoint import catalog as core
from checkpoint.cards import CATEGORY_LABEL
from checkpoint.catalog import LOCALE, Translator, category_word, error, reason_word, say_error
from checkpoint.models import Category, Reason
from checkpoint.report import _Words

AREAS = sorted({path.name.split(".")[0] for path in LOCALE.glob("*.json")})


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_area_is_there_in_both_languages() -> None:
    assert {"common", "station", "office", "audit", "report", "cli"} <= set(AREAS)
    for area in AREAS:
        en = json.loads((LOCALE / f"{area}.en.json").read_text(encoding="utf-8"))
        zh = json.loads((LOCALE / f"{area}.zh.json").read_text(encoding="utf-8"))
        assert set(en) <= set(zh), (area, set(en) - set(zh))
        for key, text in en.items():  # a Chinese sentence fills in no value the English one lacks
            assert fields(zh[key]) <= fields(text), key
            assert key.startswith(f"{area}.") or area in ("common", "station"), key


def test_the_keys_of_the_areas_do_not_collide() -> None:
    seen: dict[str, str] = {}
    for area in AREAS:
        for key in json.loads((LOCALE / f"{area}.en.json").read_text(encoding="utf-8")):
            assert key not in seen, (key, area, seen.get(key))
            seen[key] = area


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_word_per_reason_and_category(lang: str) -> None:
    t = Translator(lang)
    for reason in Reason:
        word = reason_word(reason, lang)
        assert word == t(f"reason.{reason.value}") == reason_word(reason.value, lang)
        assert word != f"reason.{reason.value}" and word != reason.value
    for category in Category:
        assert category_word(category, lang) == t(f"category.{category.value}")
    assert reason_word("no_such_reason", lang) == "no_such_reason"  # a gap shows, it does not crash


def test_the_words_the_staff_know() -> None:
    assert reason_word(Reason.FEVER, "zh") == "发热"
    assert reason_word(Reason.PLATE_MISMATCH, "zh") == "车证不符"
    assert reason_word(Reason.NO_PASS, "zh") == "无通行证"
    assert reason_word(Reason.OVERRIDE, "zh") == "特批放行"
    assert [category_word(c, "zh") for c in Category] == ["应急车辆", "公务人员", "医护人员"]


def test_cards_and_reports_read_the_catalog_words() -> None:
    for category in Category:
        assert CATEGORY_LABEL[category] == (category_word(category, "zh"), category_word(category, "en"))
    for lang in ("en", "zh"):
        words = _Words(None, lang)  # type: ignore[arg-type]  # (the words need no report)
        for category in Category:
            assert words.category(category.value) == category_word(category, lang)
        assert words("title") == Translator(lang)("report.title")


def test_the_screens_use_the_core_catalog() -> None:
    from tui import i18n

    assert i18n.Translator is core.Translator and i18n.catalog is core.catalog


def test_a_catalog_error_is_english_and_says_itself_in_chinese() -> None:
    exc = error("cli.time.not_a_day", text="someday")
    assert exc.message == "'someday' is not a date; write it as 2026-02-03, today or yesterday."
    assert say_error(exc, "zh") == "'someday' 不是日期；请写成 2026-02-03、today 或 yesterday。"
    assert exc.exit_code == 2


def test_plural_counts() -> None:
    t = Translator("en")
    assert t.count("cli.count.entries", 1) == "1 entry"
    assert t.count("cli.count.entries", 2) == "2 entries"
    assert t.count("cli.count.entries", 0) == "0 entries"
    assert Translator("zh").count("cli.count.entries", 1) == "1 条记录"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_key_rotation_warning_keeps_its_date_on_one_line(lang: str) -> None:
    """The Chinese warning broke "（至 2027-01-04" / "03:17）" across two lines of the dialog."""
    from textual.content import Content

    until = "2027-01-04 03:17"
    text = Translator(lang)("office.rotate.warning", days=30, until=until)
    for width in range(50, 101):  # the dialog's text is 70 cells wide (76 less border and padding)
        lines = [line.plain for line in Content(text).wrap(width)]
        assert any(until in line for line in lines), (width, lines)


def test_log_verify_counts_one_entry_as_one(tmp_path: Path) -> None:
    from checkpoint.loadgen import build_log
    from checkpoint.paths import Home
    from tests.conftest import run_cli

    home = Home(tmp_path / "h").ensure()
    build_log(home.log_db, 1, stations=1, seed=3)
    result = run_cli(home, "log", "verify")
    assert result.exit_code == 0, result.output
    assert ": OK — 1 entry, 1 seal, sealed up to entry 1." in result.stdout, result.stdout
    assert "1 entries" not in result.stdout


_USED_KEY = re.compile(r"""(?:\berror|\bt|ctx\.t|t\.count|ctx\.t\.count)\(\s*"((?:cli|errors)\.[a-z_.]+)\"""")


def test_every_key_the_command_line_and_the_core_name_is_there_in_both_languages() -> None:
    """A key written in the code (`error("errors.trust.no_keys", …)`, `ctx.t("cli.keys.none")`) that one
    catalog lacks would show the key itself to the user: every one is in English and in Chinese."""
    root = Path(core.__file__).parent
    used = {key for path in root.rglob("*.py") for key in _USED_KEY.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 100  # the pattern finds them (the CLI's and the core's refusals)
    for lang in ("en", "zh"):
        have = core.catalog(lang)
        counted = {key for key in used if f"{key}.one" in have and f"{key}.many" in have}
        assert used - counted <= set(have), (lang, sorted(used - counted - set(have)))


@pytest.mark.parametrize(("area", "lang"), [(area, "zh") for area in ("cli", "errors")])
def test_the_chinese_command_line_writes_chinese_punctuation(area: str, lang: str) -> None:
    """Township staff read full-width punctuation: no ASCII `;` or `:` between Chinese words, and a
    Chinese sentence ends with `。` (or a full-width bracket or colon), not a `.`."""
    for key, text in json.loads((LOCALE / f"{area}.{lang}.json").read_text(encoding="utf-8")).items():
        assert not re.search(r"[\u4e00-\u9fff][;:,]|[;:,][\u4e00-\u9fff]", text), (key, text)
        assert not re.search(r"[\u4e00-\u9fff]\.$", text), (key, text)
