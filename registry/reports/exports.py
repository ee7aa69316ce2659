"""A report as data (JSON), CSV (UTF-8 with BOM) and XLSX (openpyxl).

Every format carries what is needed to read the figures without the registry: the KPI
definitions with their versions, the period and baseline, the scope, the audience's
threshold and the suppression rule's version. Suppressed cells carry their status and
no figure in every format, so a download reveals nothing the page would not.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from attestations.canonical import canonicalize
from registry.kernel.clock import isoformat
from registry.reports.suppression import MIN_RATE_DENOMINATOR, CellStatus
from registry.reports.tables import Cell, Label, Report, ReportTable

STATUS_MARKS = {
    CellStatus.SHOWN: "",
    CellStatus.SUPPRESSED_PRIMARY: "S1",
    CellStatus.SUPPRESSED_SECONDARY: "S2",
    CellStatus.NOT_APPLICABLE: "NA",
}
"""How a withheld cell reads in CSV and XLSX (the legend says what each means)."""
LEGEND = {
    "zh": {
        "S1": "小样本抑制（计数小于阈值 k，或比率分母小于 30）",
        "S2": "补充抑制（防止由合计反推被抑制的单元格）",
        "NA": "不适用",
    },
    "en": {
        "S1": "suppressed: small cell (count below k, or a rate over fewer than 30)",
        "S2": "suppressed: complementary (so no suppressed cell follows from the totals)",
        "NA": "not applicable",
    },
}
TOTAL_KEY = "total"


def cell_data(cell: Cell) -> dict[str, Any]:
    """A cell as JSON: its status, and its figure only when shown."""
    data: dict[str, Any] = {"status": cell.status.value}
    if cell.shown:
        data["value"] = _number(cell.value)
        if cell.low is not None:
            data["low"] = _number(cell.low)
            data["high"] = _number(cell.high)
    return data


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _label(label: Label) -> dict[str, Any]:
    return {"key": label.key, "name": {"zh": label.name_zh, "en": label.name_en}}


def table_data(table: ReportTable) -> dict[str, Any]:
    """One table as JSON; a snapshot signs the SHA-256 of its RFC 8785 form."""
    return {
        "kpi": table.kpi,
        "kpi_version": table.kpi_version,
        "rows_by": table.rows_by.value,
        "columns_by": table.columns_by.value if table.columns_by else None,
        "rows": [_label(label) for label in table.rows],
        "columns": [_label(label) for label in table.columns],
        "cells": [[cell_data(cell) for cell in row] for row in table.cells],
        "row_totals": [cell_data(cell) for cell in table.row_totals],
        "column_totals": [cell_data(cell) for cell in table.column_totals],
        "total": cell_data(table.total),
        "extra": {name: cell_data(cell) for name, cell in sorted(table.extra.items())},
        "target_met": table.target_met,
    }


def table_digest(data: dict[str, Any]) -> str:
    """Hex SHA-256 of the table's canonical JSON (RFC 8785)."""
    return hashlib.sha256(canonicalize(data)).hexdigest()


def header_data(report: Report) -> dict[str, Any]:
    """What every format states before its figures."""
    return {
        "audience": report.audience.value,
        "period": report.period.as_data(),
        "baseline": report.baseline.as_data() if report.baseline else None,
        "scope": report.scope.as_data(),
        "suppression": {
            "version": report.suppression_version,
            "threshold": report.threshold,
            "min_rate_denominator": MIN_RATE_DENOMINATOR,
            "zero_shown": True,
        },
        "generated_at": isoformat(report.generated_at),
    }


def report_data(report: Report) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    return {
        "report": header_data(report),
        "kpis": list(report.kpis),
        "tables": [table_data(table) for table in report.tables],
    }


def _text(cell: Cell) -> str:
    if not cell.shown:
        return STATUS_MARKS[cell.status]
    value = _number(cell.value)
    return "" if value is None else str(value)


def _rows_of(table: ReportTable, language: str) -> list[list[str]]:
    """The table wide: a heading row, a row per label with its total, the totals row."""
    total = "合计" if language == "zh" else "total"
    heading = [table.rows_by.value, *(c.name(language) for c in table.columns), total]
    body = [
        [label.name(language), *(_text(c) for c in row), _text(row_total)]
        for label, row, row_total in zip(table.rows, table.cells, table.row_totals, strict=True)
    ]
    footer = [total, *(_text(c) for c in table.column_totals), _text(table.total)]
    return [heading, *body, footer]


def _metadata_rows(report: Report, language: str) -> list[list[str]]:
    header = header_data(report)
    rows = [
        ["audience", header["audience"]],
        ["period", report.period.label(), report.period.granularity.value],
        ["baseline", report.baseline.label() if report.baseline else ""],
        ["scope.regions", " ".join(header["scope"]["regions"]) or "all"],
        ["scope.associations", " ".join(str(a) for a in header["scope"]["associations"]) or "all"],
        ["suppression.version", report.suppression_version],
        ["suppression.threshold_k", str(report.threshold)],
        ["suppression.min_rate_denominator", str(MIN_RATE_DENOMINATOR)],
        ["generated_at", header["generated_at"]],
    ]
    for kpi in report.kpis:
        names: Any = kpi["name"]
        definition: Any = kpi["definition"]
        rows.append(
            [
                f"kpi.{kpi['id']}",
                f"v{kpi['version']}",
                names[language],
                definition[language],
            ]
        )
    rows.extend([f"legend.{mark}", text] for mark, text in LEGEND[language].items())
    return rows


def report_csv(report: Report, language: str = "zh") -> bytes:
    """The report as CSV in UTF-8 with a BOM (so Excel reads the Chinese right): metadata
    lines starting with "#", then each table wide, separated by a blank line."""
    language = "en" if language.startswith("en") else "zh"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _metadata_rows(report, language):
        writer.writerow([f"# {row[0]}", *row[1:]])
    for table in report.tables:
        writer.writerow([])
        kpi = next(k for k in report.kpis if k["id"] == table.kpi)
        names: Any = kpi["name"]
        writer.writerow([f"# table {table.kpi} v{table.kpi_version}", names[language]])
        writer.writerows(_rows_of(table, language))
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def report_xlsx(report: Report, language: str = "zh") -> bytes:
    """The report as an XLSX workbook: an "about" sheet (definitions, period, scope,
    suppression version, legend), then one sheet per table."""
    from openpyxl import Workbook

    language = "en" if language.startswith("en") else "zh"
    workbook = Workbook(write_only=True)
    about = workbook.create_sheet("about" if language == "en" else "说明")
    for row in _metadata_rows(report, language):
        about.append(row)
    for index, table in enumerate(report.tables, start=1):
        sheet = workbook.create_sheet(f"{index:02d} {table.kpi}"[:31])
        for row in _rows_of(table, language):
            sheet.append([_cell_value(text) for text in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell_value(text: str) -> str | int | float:
    """Numbers as numbers (so a spreadsheet can sum them), marks and names as text."""
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number
