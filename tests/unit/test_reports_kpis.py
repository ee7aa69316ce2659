"""The KPI definitions as data, the README's words for them, and the region code table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.kernel import regions
from registry.reports.blacklist import FIGURES
from registry.reports.kpis import KPIS, PROGRAMME_KPIS, KpiKind, TargetMeasure
from registry.reports.models import COMPLAINT_COUNTERS, VENDOR_COUNTERS
from registry.reports.services import median_from_histogram
from registry.reports.tables import Period

ROOT = Path(__file__).resolve().parents[2]


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Reports and statistics\n", 1)[1].split("\n## ", 1)[0]


BLACKLIST_FIGURES_HEADING = "**The blacklist's own figures.**"


def test_every_kpi_is_defined_in_the_readme_with_its_target() -> None:
    section = _readme_section().split(BLACKLIST_FIGURES_HEADING, 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.MULTILINE))
    assert set(rows) == {kpi.id for kpi in KPIS}
    for kpi in KPIS:
        if kpi.target is None:
            continue
        percent = f"{abs(kpi.target.value) * 100:.0f} %"
        assert percent in rows[kpi.id], (kpi.id, percent)


def test_the_six_programme_kpis_have_targets_and_counters_that_exist() -> None:
    assert len(PROGRAMME_KPIS) == 6
    counters = set(COMPLAINT_COUNTERS) | set(VENDOR_COUNTERS) | {"compliant", "certified"}
    for kpi in KPIS:
        assert set(kpi.numerator) <= counters
        assert kpi.denominator is None or kpi.denominator in counters
        assert (kpi.kind is KpiKind.RATE) == (kpi.denominator is not None)
        assert all((kpi.name_zh, kpi.name_en, kpi.definition_zh, kpi.definition_en))
        if kpi.id in PROGRAMME_KPIS:
            assert kpi.target is not None
    by_id = {kpi.id: kpi for kpi in KPIS}
    assert by_id["satisfaction"].target is not None
    assert by_id["satisfaction"].target.met(0.8)
    assert not by_id["satisfaction"].target.met(0.79)
    leak = by_id["leak_incidents"].target
    assert leak is not None
    assert leak.measure is TargetMeasure.CHANGE_VS_BASELINE
    assert leak.met(-0.31)
    assert not leak.met(-0.2)


def test_the_code_table_has_every_province_and_rolls_counties_up() -> None:
    provinces = regions.provinces()
    assert len(provinces) == 34
    assert {p.code for p in provinces} >= {"110000", "440000", "650000", "710000", "820000"}
    assert len([u for u in regions.prefectures() if u.code.endswith("00")]) >= 333
    assert regions.prefecture_of("440305") == "440300"  # 南山区 -> 深圳市
    assert regions.province_of("440305") == "440000"
    assert regions.prefecture_of("110105") == "110000"  # municipality: the city itself
    assert regions.prefecture_of("419001") == "419001"  # 济源, governed by the province
    assert regions.within("440305", "440000")
    assert not regions.within("440305", "110000")
    assert not regions.is_known("999999")
    assert regions.region("440300") is not None


@pytest.mark.parametrize(
    ("code", "english"),
    [
        ("440300", "Shenzhen"),  # 深圳市: a city is its name alone
        ("610100", "Xi'an"),  # the apostrophe keeps Xi-an apart from Xian
        ("341500", "Lu'an"),  # 六安: read lù in this name, and the apostrophe
        ("140400", "Changzhi"),  # 长治: cháng, not zhǎng
        ("211300", "Chaoyang"),  # 朝阳: cháo, not zhāo
        ("141100", "Lüliang"),
        ("150100", "Hohhot"),  # Mongolian names as English writes them
        ("650100", "Urumqi"),
        ("540100", "Lhasa"),
        ("653100", "Kashgar Prefecture"),  # 地区
        ("152200", "Hinggan League"),  # 盟
        ("222400", "Yanbian Korean Autonomous Prefecture"),
        ("522300", "Qianxinan Bouyei Miao Autonomous Prefecture"),
        ("469029", "Baoting Li Miao Autonomous County"),
        ("429021", "Shennongjia Forestry District"),
        ("110105", "Chaoyang District"),  # a county-level district of Beijing
        ("440000", "Guangdong"),
    ],
)
def test_divisions_have_english_names(code: str, english: str) -> None:
    unit = regions.region(code)
    assert unit is not None
    assert unit.name("en") == english
    assert unit.name("zh") == unit.name_zh


def test_every_prefecture_has_a_romanised_english_name() -> None:
    """No Chinese characters, code or empty name reaches an English reader."""
    for unit in regions.prefectures():
        name = unit.name("en")
        assert name[:1].isupper(), unit
        assert all(not ("\u4e00" <= ch <= "\u9fff") and not ch.isdigit() for ch in name), unit


def test_periods_and_medians() -> None:
    quarter = Period.parse("2026-Q4", granularity="month")
    assert quarter.months() == [202610, 202611, 202612]
    year = Period.parse("2025", "2026", "quarter")
    assert year.buckets()[0] == "2025-Q1"
    assert len(year.buckets()) == 8
    assert year.shifted_years(-1).first == 202401
    # Ten answers: five within the first hour, five between 2 and 4 hours.
    histogram = [5, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]
    assert median_from_histogram(histogram) == 1.0


def test_every_blacklist_figure_is_defined_in_the_readme() -> None:
    """The README's table of the blacklist's own figures names exactly the figures the
    API serves, each with what counts and the timestamp that places it in a period."""
    section = _readme_section().split(BLACKLIST_FIGURES_HEADING, 1)[1].split("\n\n```", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.+) \| (.+) \|$", section, flags=re.MULTILINE)
    assert [name for name, _, _ in rows] == [key for key, _, _ in FIGURES]
    assert all(counts.strip() and when.strip() for _, counts, when in rows)
