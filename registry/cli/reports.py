"""`registry reports …`: rebuild the rollups, freeze and verify signed snapshots, export.

Part of the composition root: in-process commands build the same `Services` the web app
uses; `verify` is offline and needs only the snapshot file and the federation's public key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from registry.cli.running import fail, federation_public_key, guarded, run_with_services

if TYPE_CHECKING:
    from registry.services import Services


@click.group("reports")
def reports() -> None:
    """Government and public reports: rollups, exports, signed monthly snapshots."""


@reports.command("rebuild")
def reports_rebuild() -> None:
    """Recompute the report rollups from the complaints, certificates, audits and blacklist
    cases (after an upgrade that adds a rollup, or to check)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from registry.reports.rollups import rebuild_blacklist, rebuild_complaints, rebuild_vendors

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("complaints", total=None)
        cases = progress.add_task("blacklist case steps", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        def advance_cases(done: int, total: int) -> None:
            progress.update(cases, completed=done, total=total)

        async def work(services: Services) -> tuple[int, int, int]:
            complaints = await rebuild_complaints(services.ctx.db, advance)
            history = await rebuild_vendors(services.ctx.db)
            steps = await rebuild_blacklist(services.ctx.db, advance_cases)
            return complaints, history, steps

        complaints, history, steps = guarded(lambda: run_with_services(work))
    click.echo(
        f"rebuilt the rollups from {complaints} complaints, {history} certificate "
        f"transitions and audits, and {steps} blacklist case steps",
        err=True,
    )


@reports.command("export")
@click.option("--kpi", "kpis", multiple=True, required=True, help="KPI id; repeatable")
@click.option("--period", required=True, help="2026-11, 2026-Q4 or 2026")
@click.option("--until", default=None, help="last month, quarter or year (default: --period)")
@click.option("--granularity", type=click.Choice(["month", "quarter", "year"]), default="month")
@click.option("--by", "dimensions", multiple=True, required=True, help="one or two dimensions")
@click.option("--region", "regions", multiple=True, help="limit to a GB/T 2260 code")
@click.option(
    "--audience", type=click.Choice(["public", "federation"]), default="public", show_default=True
)
@click.option("--format", "output", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="default: stdout")
def reports_export(
    *,
    kpis: tuple[str, ...],
    period: str,
    until: str | None,
    granularity: str,
    dimensions: tuple[str, ...],
    regions: tuple[str, ...],
    audience: str,
    output: str,
    lang: str,
    out_path: Path | None,
) -> None:
    """Compute a report from the rollups and write it as JSON, CSV or XLSX."""
    from registry.reports.exports import report_csv, report_data, report_xlsx
    from registry.reports.tables import Audience, Dimension, Period, Scope

    async def work(services: Services) -> bytes:
        report = await services.reports.report(
            scope=Scope(regions=frozenset(regions)),
            kpis=list(kpis),
            period=Period.parse(period, until, granularity),
            dimensions=[_dimension(d) for d in dimensions],
            audience=Audience(audience),
        )
        if output == "csv":
            return report_csv(report, lang)
        if output == "xlsx":
            return report_xlsx(report, lang)
        return json.dumps(report_data(report), ensure_ascii=False, indent=2).encode("utf-8")

    def _dimension(raw: str) -> Dimension:
        try:
            return Dimension(raw)
        except ValueError:
            fail(f"--by {raw!r}: one of " + ", ".join(d.value for d in Dimension))

    data = guarded(lambda: run_with_services(work))
    if out_path is None:
        sys.stdout.buffer.write(data)
    else:
        out_path.write_bytes(data)


@reports.command("freeze")
@click.option("--period", required=True, help="the month to freeze, e.g. 2026-11")
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="also save the document")
def reports_freeze(period: str, out_path: Path | None) -> None:
    """Freeze and sign one ended month now (the scheduled job does this on the 1st)."""
    from registry.reports.tables import Period

    async def work(services: Services) -> dict[str, Any]:
        month = Period.parse(period).first
        info = await services.report_snapshots.freeze(month)
        return {"serial": info.serial, "period": info.period, "log_index": info.log_index}

    result = guarded(lambda: run_with_services(work))
    if out_path is not None:

        async def document(services: Services) -> dict[str, Any]:
            return await services.report_snapshots.document(result["period"])

        out_path.write_text(
            json.dumps(guarded(lambda: run_with_services(document)), ensure_ascii=False),
            encoding="utf-8",
        )
    click.echo(json.dumps(result))


@reports.command("verify")
@click.argument("snapshot", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    "public_key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the federation's public key (a key file, or the saved GET /api/v1/federation/key)",
)
def reports_verify(snapshot: Path, public_key_path: Path) -> None:
    """Check a snapshot offline: the federation's signature and every table's digest."""
    from registry.reports.snapshots import SnapshotInvalid, verify_snapshot

    key = federation_public_key(public_key_path)
    try:
        verified = verify_snapshot(snapshot.read_bytes(), key)
    except SnapshotInvalid as exc:
        fail(f"snapshot does NOT verify: {exc.reason}")
    click.echo(
        f"OK: snapshot {verified.serial} of {verified.period}, {verified.tables} tables, "
        f"signed by {verified.key_id}; suppression {verified.suppression_version}; "
        f"next update {verified.next_update}"
    )
