"""Statistics charts: well-formed, named and described SVG whose marks and table carry the
same numbers; a withheld value is a gap, never a zero."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from public_site.charts import GRID_LINES, Chart, ChartKind, Series, Target, readable_step
from public_site.plugin import template_environment

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05")


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def trend(values: tuple[float | None, ...], *, title: str = "及时答复率") -> Chart:
    return Chart(
        chart_id="timeliness",
        kind=ChartKind.LINE,
        title=title,
        description="按月统计的首次答复及时率，虚线为目标 80%。",
        category_heading="月份",
        categories=MONTHS,
        series=(Series("全国", values),),
        format_value=percent,
        not_shown="不显示",
        target=Target(0.8, "目标"),
        y_ceiling=1.0,
    )


def parse(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg()))  # noqa: S314 - our own output, under test


def test_a_chart_is_an_image_named_and_described_by_its_title_and_desc() -> None:
    root = parse(trend((0.5, 0.6, 0.7, 0.75, 0.85)))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert title.text == "及时答复率"
    assert desc is not None
    assert desc.text is not None
    assert "目标 80%" in desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # No script and no style sheet: a picture carries its colours as attributes.
    assert not root.findall(f".//{SVG}script")
    assert not root.findall(f".//{SVG}style")
    assert all("style" not in element.attrib for element in root.iter())


def test_a_line_chart_marks_every_shown_value_and_draws_the_target() -> None:
    root = parse(trend((0.5, 0.6, 0.7, 0.75, 0.85)))
    series = root.find(f".//{SVG}g[@class='chart-series chart-series-0']")
    assert series is not None
    points = series.findall(f"{SVG}circle")
    assert len(points) == 5
    heights = [float(p.get("cy", "0")) for p in points]
    assert heights == sorted(heights, reverse=True)  # rising values climb the canvas
    (line,) = series.findall(f"{SVG}polyline")
    assert len(line.get("points", "").split()) == 5
    target = root.find(f".//{SVG}g[@class='chart-target']")
    assert target is not None
    target_line = target.find(f"{SVG}line")
    assert target_line is not None
    # 80% of a 0-100% scale sits below the 85% point and above the 75% one.
    assert heights[4] < float(target_line.get("y1", "0")) < heights[3]
    label = target.find(f"{SVG}text")
    assert label is not None
    assert label.text == "目标 80%"


def test_a_withheld_value_breaks_the_line_and_reads_not_shown_in_the_table() -> None:
    chart = trend((0.5, 0.6, None, 0.75, 0.85))
    root = parse(chart)
    series = root.find(f".//{SVG}g[@class='chart-series chart-series-0']")
    assert series is not None
    assert len(series.findall(f"{SVG}circle")) == 4
    assert [len(p.get("points", "").split()) for p in series.findall(f"{SVG}polyline")] == [2, 2]
    rows = chart.table.rows
    assert rows[2] == ("2025-03", "不显示", "80%")
    assert rows[0] == ("2025-01", "50%", "80%")
    assert chart.table.headings == ("月份", "全国", "目标")


def test_bars_are_as_tall_as_their_values_and_grouped_by_series() -> None:
    chart = Chart(
        chart_id="categories",
        kind=ChartKind.BAR,
        title="Complaints by category",
        description="Complaints filed in 2025 by category and association.",
        category_heading="Category",
        categories=("Billing", "Quality", "Leak"),
        series=(Series("CSIA", (40.0, 20.0, 10.0)), Series("SIPA", (30.0, None, 5.0))),
        format_value=lambda v: f"{v:.0f}",
        not_shown="not shown",
    )
    root = parse(chart)
    first = root.findall(f".//{SVG}g[@class='chart-series chart-series-0']/{SVG}rect")
    second = root.findall(f".//{SVG}g[@class='chart-series chart-series-1']/{SVG}rect")
    assert len(first) == 3
    assert len(second) == 2
    tall = [float(r.get("height", "0")) for r in first]
    assert tall[0] == pytest.approx(2 * tall[1])
    assert tall[1] == pytest.approx(2 * tall[2])
    legend = [t.text for t in root.findall(f".//{SVG}g[@class='chart-legend']/{SVG}text")]
    assert legend == ["CSIA", "SIPA"]
    assert chart.table.rows[1] == ("Quality", "20", "not shown")


def test_labels_are_escaped_so_any_text_stays_well_formed() -> None:
    root = parse(trend((0.1, 0.2, 0.3, 0.4, 0.5), title='<script>"x" & y</script>'))
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == '<script>"x" & y</script>'
    assert not root.findall(f".//{SVG}script")


def test_a_series_must_have_one_value_per_category() -> None:
    with pytest.raises(ValueError, match="3 values for 5 categories"):
        trend((0.1, 0.2, 0.3))


@pytest.mark.parametrize(
    ("largest", "top"), [(0, 4), (3, 4), (7, 8), (12, 12), (230, 240), (440, 600), (4999, 6000)]
)
def test_count_scales_end_on_round_grid_lines(largest: float, top: float) -> None:
    assert readable_step(largest / GRID_LINES) * GRID_LINES == pytest.approx(top)


def test_many_months_label_only_some_ticks_but_the_table_has_them_all() -> None:
    months = tuple(f"2024-{m:02d}" for m in range(1, 13)) + tuple(
        f"2025-{m:02d}" for m in range(1, 13)
    )
    chart = Chart(
        chart_id="monthly",
        kind=ChartKind.BAR,
        title="Complaints by month",
        description="Two years of complaints.",
        category_heading="Month",
        categories=months,
        series=(Series("All", tuple(float(i) for i in range(24))),),
        format_value=lambda v: f"{v:.0f}",
        not_shown="not shown",
    )
    root = parse(chart)
    ticks = root.findall(f".//{SVG}g[@class='chart-categories']/{SVG}text")
    assert 1 < len(ticks) <= 8
    assert len(chart.table.rows) == 24


def test_the_figure_macro_shows_the_picture_and_its_table() -> None:
    macro = template_environment().get_template("_charts.html").module.chart_figure  # type: ignore[attr-defined]
    chart = trend((0.5, None, 0.7, 0.75, 0.85))
    html = str(macro(chart))
    figure = ET.fromstring(html)  # noqa: S314 - our own output, under test
    image = figure.find(".//img")
    assert image is not None
    assert image.get("alt") == "及时答复率"
    source = image.get("src", "")
    assert source.startswith("data:image/svg+xml;base64,")
    picture = ET.fromstring(base64.b64decode(source.split(",", 1)[1]))  # noqa: S314 - ours
    assert picture.get("role") == "img"
    assert picture.find(f"{SVG}title") is not None
    caption = figure.find("figcaption")
    assert caption is not None
    assert caption.text == chart.description
    table = figure.find(".//table")
    assert table is not None
    table_caption = table.find("caption")
    assert table_caption is not None
    assert table_caption.text == "及时答复率"
    cells = [td.text for td in table.findall("./tbody/tr[2]/td")]
    assert cells == ["不显示", "80%"]


def test_long_category_names_lean_and_are_shortened_only_in_the_picture() -> None:
    names = (
        "personal-information leak",
        "quality below standard",
        "false advertising",
        "missing after-sales service",
        "billing and refunds",
        "unfair terms",
        "other",
    )
    chart = Chart(
        chart_id="by-category",
        kind=ChartKind.BAR,
        title="Complaints by category",
        description="Complaints by category.",
        category_heading="Category",
        categories=names,
        series=(Series("All", (12.0, 30.0, 4.0, 9.0, 40.0, 3.0, 5.0)),),
        format_value=lambda v: f"{v:.0f}",
        not_shown="not shown",
    )
    ticks = parse(chart).findall(f".//{SVG}g[@class='chart-categories']/{SVG}text")
    assert all(t.get("transform", "").startswith("rotate(-30") for t in ticks)
    assert ticks[0].text == "personal-inform…"
    assert [row[0] for row in chart.table.rows] == list(names)
