"""Server-rendered SVG charts: a trend line (with an optional target line) and bars.

The statistics pages need no JavaScript, so a chart is an SVG document built here. Every
chart is an image with a name and a description (`role="img"`, `aria-labelledby`
pointing at its `<title>` and `<desc>`, WAI-ARIA Graphics) and the page shows it as an
`<img>` (a `data:` URL, which the page's CSP allows) whose `alt` is the title, its
description as the figure's caption and the same numbers as an HTML table
(`Chart.table`), so nobody needs to read the picture. Colours and fonts are presentation
attributes: a picture has no page style. A value that is not shown (a suppressed cell, a
rate over too few complaints) is a gap in the line or a missing bar, never a zero.

The elements are built with ElementTree, so every label is escaped by the serialiser and
the markup is well-formed XML whatever the text.
"""

from __future__ import annotations

import base64
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from markupsafe import Markup

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
WIDTH = 640
HEIGHT = 280
MARGIN_LEFT = 56
MARGIN_RIGHT = 16
MARGIN_TOP = 20
MARGIN_BOTTOM = 48
LEGEND_ROW = 18
MAX_X_LABELS = 8
"""Beyond this many points only every n-th label is written under the axis (the table
has them all)."""
GRID_LINES = 4
ROTATED_EXTRA = 56
"""More room under the axis when category names are too long to stand side by side."""
LABEL_MAX_CHARS = 16
"""Longer category names are shortened in the picture (the table has them whole)."""
INK = "#1c2024"
MUTED = "#4a5058"
GRID = "#cfd5dc"
TARGET_COLOUR = "#b42318"
SERIES_COLOURS = ("#0b4f8a", "#c05600", "#6b3fa0", "#1a7f37")
"""The site's colours (site.css): each keeps 3:1 against white (WCAG 1.4.11), text 4.5:1.
Written as presentation attributes, since an SVG shown as an image has no page style."""
FONT = "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif"


class ChartKind(StrEnum):
    """What a chart draws its values as."""

    LINE = "line"
    BAR = "bar"


@dataclass(frozen=True)
class Series:
    """One named row of values, in the order of the chart's categories; None is not shown."""

    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Target:
    """A programme target drawn as a dashed line across the chart."""

    value: float
    label: str


@dataclass(frozen=True)
class ChartTable:
    """The chart's numbers as the page's table writes them (formatted, in its language)."""

    caption: str
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A chart and everything needed to draw it and to write it out as a table.

    `categories` are the x-axis labels (months, categories); `format_value` writes a value
    as the page's language writes it (a percentage, a count, hours); `not_shown` is the
    word for a value that is withheld."""

    chart_id: str
    kind: ChartKind
    title: str
    description: str
    category_heading: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    format_value: Callable[[float], str]
    not_shown: str
    target: Target | None = None
    y_floor: float = 0.0
    y_ceiling: float | None = None
    """A fixed top of the scale (1.0 for shares); None scales to the data."""
    extra_classes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        """Refuse series whose length does not match the categories."""
        for series in self.series:
            if len(series.values) != len(self.categories):
                raise ValueError(
                    f"chart {self.chart_id}: series {series.name!r} has "
                    f"{len(series.values)} values for {len(self.categories)} categories"
                )

    @property
    def table(self) -> ChartTable:
        """The same numbers as the picture: one row per category, one column per series,
        and the target as a last column when there is one."""
        headings = [self.category_heading, *(s.name for s in self.series)]
        if self.target is not None:
            headings.append(self.target.label)
        rows = []
        for position, category in enumerate(self.categories):
            row = [category]
            row.extend(
                self.not_shown if value is None else self.format_value(value)
                for value in (s.values[position] for s in self.series)
            )
            if self.target is not None:
                row.append(self.format_value(self.target.value))
            rows.append(tuple(row))
        return ChartTable(self.title, tuple(headings), tuple(rows))

    def svg(self) -> Markup:
        """The chart as SVG markup (a document of its own, escaped by ElementTree)."""
        return Markup(ET.tostring(render_svg(self), encoding="unicode"))  # noqa: S704 - built by ElementTree, every text escaped

    def image_source(self) -> str:
        """The chart as a `data:` URL for an `<img>`: the page shows it as one picture
        named by its `alt`, so its lettering is no loose text for assistive technology
        (or for contrast checkers, which cannot see behind an inline SVG's shapes)."""
        encoded = base64.b64encode(str(self.svg()).encode("utf-8")).decode("ascii")
        return "data:image/svg+xml;base64," + encoded

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the picture in CSS pixels (it scales down to fit)."""
        return WIDTH, _Plot(self).height


READABLE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def readable_step(value: float) -> float:
    """The smallest step of READABLE_STEPS × 10ⁿ at or above `value`, at least 1: grid
    lines of a count fall on whole, round numbers."""
    if value <= 1:
        return 1.0
    magnitude: float = 10.0 ** math.floor(math.log10(value))
    return next(step * magnitude for step in READABLE_STEPS if value <= step * magnitude + 1e-9)


def _scale_top(chart: Chart) -> float:
    if chart.y_ceiling is not None:
        return chart.y_ceiling
    shown = [v for s in chart.series for v in s.values if v is not None]
    if chart.target is not None:
        shown.append(chart.target.value)
    return readable_step(max(shown, default=0.0) / GRID_LINES) * GRID_LINES


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class _Plot:
    """Where values and categories land on the canvas."""

    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        legend_rows = len(chart.series) if len(chart.series) > 1 else 0
        self.height = HEIGHT + legend_rows * LEGEND_ROW
        self.left = MARGIN_LEFT
        self.right = WIDTH - MARGIN_RIGHT
        self.top = MARGIN_TOP
        self.rotated = (
            any(text_width(label) > self.slot_width(chart) * 0.95 for label in chart.categories)
            and len(chart.categories) <= MAX_X_LABELS
        )
        self.bottom = HEIGHT - MARGIN_BOTTOM - (ROTATED_EXTRA if self.rotated else 0)
        self.floor = chart.y_floor
        self.ceiling = max(_scale_top(chart), self.floor + 1e-9)
        self.slot = (self.right - self.left) / max(1, len(chart.categories))

    @staticmethod
    def slot_width(chart: Chart) -> float:
        """Horizontal room of one category."""
        return (WIDTH - MARGIN_RIGHT - MARGIN_LEFT) / max(1, len(chart.categories))

    def y(self, value: float) -> float:
        share = (value - self.floor) / (self.ceiling - self.floor)
        return self.bottom - min(1.0, max(0.0, share)) * (self.bottom - self.top)

    def x(self, position: int) -> float:
        """The centre of category `position`'s slot."""
        return self.left + self.slot * (position + 0.5)


def text_width(text: str) -> float:
    """Roughly how wide `text` is at 12 px: CJK characters full width, others about 7 px."""
    return sum(12.0 if ord(ch) >= 0x2E80 else 7.0 for ch in text)


def _shortened(text: str) -> str:
    return text if len(text) <= LABEL_MAX_CHARS else text[: LABEL_MAX_CHARS - 1] + "…"


def render_svg(chart: Chart) -> ET.Element:
    """The chart's SVG element tree (see `Chart.svg`)."""
    plot = _Plot(chart)
    title_id = f"chart-{chart.chart_id}-title"
    desc_id = f"chart-{chart.chart_id}-desc"
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NAMESPACE,
            "viewBox": f"0 0 {WIDTH} {plot.height}",
            "class": " ".join(("chart-svg", f"chart-{chart.kind.value}", *chart.extra_classes)),
            "role": "img",
            "aria-labelledby": f"{title_id} {desc_id}",
            "width": str(WIDTH),
            "height": str(plot.height),
            "font-family": FONT,
            "font-size": "12",
            "fill": INK,
        },
    )
    ET.SubElement(root, "title", {"id": title_id}).text = chart.title
    ET.SubElement(root, "desc", {"id": desc_id}).text = chart.description
    _axes(root, plot)
    if chart.kind is ChartKind.LINE:
        _lines(root, plot)
    else:
        _bars(root, plot)
    if chart.target is not None:
        _target(root, plot, chart.target)
    if len(chart.series) > 1:
        _legend(root, plot)
    return root


def _axes(root: ET.Element, plot: _Plot) -> None:
    chart = plot.chart
    grid = ET.SubElement(root, "g", {"class": "chart-grid", "stroke": GRID})
    for step in range(GRID_LINES + 1):
        value = plot.floor + (plot.ceiling - plot.floor) * step / GRID_LINES
        y = _number(plot.y(value))
        ET.SubElement(grid, "line", {"x1": str(plot.left), "x2": str(plot.right), "y1": y, "y2": y})
        label = ET.SubElement(
            grid,
            "text",
            {
                "x": str(plot.left - 6),
                "y": y,
                "class": "chart-tick",
                "text-anchor": "end",
                "fill": MUTED,
                "stroke": "none",
            },
        )
        label.text = chart.format_value(value)
    labels = ET.SubElement(root, "g", {"class": "chart-categories", "fill": MUTED})
    every = math.ceil(len(chart.categories) / MAX_X_LABELS) if chart.categories else 1
    for position, category in enumerate(chart.categories):
        if position % every:
            continue
        x, y = _number(plot.x(position)), str(plot.bottom + 18)
        attributes = {"x": x, "y": y, "class": "chart-tick", "text-anchor": "middle"}
        if plot.rotated:
            attributes |= {"text-anchor": "end", "transform": f"rotate(-30 {x} {y})"}
        text = ET.SubElement(labels, "text", attributes)
        text.text = _shortened(category) if plot.rotated else category


def _lines(root: ET.Element, plot: _Plot) -> None:
    for index, series in enumerate(plot.chart.series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        group = ET.SubElement(
            root,
            "g",
            {
                "class": f"chart-series chart-series-{index}",
                "stroke": colour,
                "fill": colour,
                "stroke-width": "2.5",
            },
        )
        run: list[str] = []
        for position, value in enumerate(series.values):
            if value is None:
                _polyline(group, run)
                run = []
                continue
            x, y = _number(plot.x(position)), _number(plot.y(value))
            run.append(f"{x},{y}")
            ET.SubElement(group, "circle", {"cx": x, "cy": y, "r": "3", "stroke-width": "1"})
        _polyline(group, run)


def _polyline(group: ET.Element, points: Sequence[str]) -> None:
    """One unbroken stretch of a line; a withheld value breaks it."""
    if len(points) > 1:
        ET.SubElement(group, "polyline", {"points": " ".join(points), "fill": "none"})


def _bars(root: ET.Element, plot: _Plot) -> None:
    count = max(1, len(plot.chart.series))
    width = plot.slot * 0.7 / count
    for index, series in enumerate(plot.chart.series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        group = ET.SubElement(
            root, "g", {"class": f"chart-series chart-series-{index}", "fill": colour}
        )
        for position, value in enumerate(series.values):
            if value is None:
                continue
            x = plot.x(position) - plot.slot * 0.35 + index * width
            top = plot.y(value)
            ET.SubElement(
                group,
                "rect",
                {
                    "x": _number(x),
                    "y": _number(top),
                    "width": _number(max(width - 1, 1)),
                    "height": _number(plot.bottom - top),
                },
            )


def _target(root: ET.Element, plot: _Plot, target: Target) -> None:
    group = ET.SubElement(root, "g", {"class": "chart-target", "fill": TARGET_COLOUR})
    y = _number(plot.y(target.value))
    ET.SubElement(
        group,
        "line",
        {
            "x1": str(plot.left),
            "x2": str(plot.right),
            "y1": y,
            "y2": y,
            "stroke": TARGET_COLOUR,
            "stroke-width": "2",
            "stroke-dasharray": "6 4",
        },
    )
    label = ET.SubElement(
        group,
        "text",
        {
            "x": str(plot.right),
            "y": _number(plot.y(target.value) - 4),
            "text-anchor": "end",
            "font-weight": "600",
        },
    )
    label.text = f"{target.label} {plot.chart.format_value(target.value)}"


def _legend(root: ET.Element, plot: _Plot) -> None:
    group = ET.SubElement(root, "g", {"class": "chart-legend"})
    for index, series in enumerate(plot.chart.series):
        y = HEIGHT - 8 + index * LEGEND_ROW
        ET.SubElement(
            group,
            "rect",
            {
                "x": str(plot.left),
                "y": str(y - 10),
                "width": "12",
                "height": "12",
                "class": f"chart-swatch chart-series-{index}",
                "fill": SERIES_COLOURS[index % len(SERIES_COLOURS)],
            },
        )
        text = ET.SubElement(group, "text", {"x": str(plot.left + 18), "y": str(y)})
        text.text = series.name
