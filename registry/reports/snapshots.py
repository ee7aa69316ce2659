"""Signed monthly snapshots: last month's public reports, frozen, signed, logged.

On the `report_snapshot_day` of each month the scheduled job freezes the previous month:
it computes the public tables (`SNAPSHOT_TABLES`), writes each as RFC 8785 JSON, and signs
a statement of their SHA-256 digests together with a strictly increasing `serial`, the
`period`, `issued_at`, `next_update` (when the next snapshot is due), the KPI versions and
the suppression rule's version, as a DSSE envelope by the federation key. The envelope is
a transparency-log leaf, so a snapshot can be neither rewritten nor quietly withdrawn.

The snapshot document is `{"envelope": <DSSE>, "tables": [<table>, ...]}`.
`verify_snapshot` (and `registry reports verify SNAPSHOT --public-key KEY`) checks it
offline: the signature over the payload, then every table against its signed digest, in
order and in number; a changed figure, a dropped or added table fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from attestations.canonical import canonicalize, parse_json
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.context import RegistryContext
from registry.errors import InvalidInput, NotFound
from registry.kernel.clock import isoformat
from registry.reports.blacklist import snapshot_table
from registry.reports.exports import report_data, table_digest
from registry.reports.kpis import KPIS, PROGRAMME_KPIS, kpi_versions
from registry.reports.models import ReportSnapshot
from registry.reports.services import ReportService
from registry.reports.suppression import RULE_VERSION
from registry.reports.tables import (
    Audience,
    Dimension,
    Period,
    Scope,
    add_months,
    month_key,
    month_label,
)
from registry.signed_statements import SnapshotInvalid, open_by_federation, sign_by_federation
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

SNAPSHOT_PAYLOAD_TYPE = "application/vnd.trust-registry.report-snapshot+json"
SNAPSHOT_TYPE = "https://trust-registry.example/report-snapshot/v1"
ALL_KPIS = tuple(kpi.id for kpi in KPIS)
SNAPSHOT_TABLES: tuple[tuple[tuple[str, ...], tuple[Dimension, ...]], ...] = (
    (ALL_KPIS, (Dimension.PROVINCE,)),
    (("complaints",), (Dimension.PROVINCE, Dimension.CATEGORY)),
    (ALL_KPIS, (Dimension.ASSOCIATION,)),
    (ALL_KPIS, (Dimension.CATEGORY,)),
)
"""What a monthly snapshot freezes: every KPI by province, by association and by
category, and complaints by province × category, as the public sees them; then the
blacklist's own figures (`registry.reports.blacklist.snapshot_table`)."""


@dataclass(frozen=True, slots=True)
class VerifiedSnapshot:
    """What an offline verification established."""

    serial: int
    period: str
    next_update: str
    key_id: str
    tables: int
    kpi_versions: dict[str, int]
    suppression_version: str


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    """A stored snapshot, for listings."""

    serial: int
    period: str
    issued_at: datetime
    next_update: datetime
    log_index: int | None
    envelope_digest: str


class SnapshotService:
    """Freezes, signs, logs and serves the monthly report snapshots."""

    def __init__(self, ctx: RegistryContext, reports: ReportService) -> None:
        self.ctx = ctx
        self.reports = reports

    async def freeze_previous_month(self) -> SnapshotInfo | None:
        """The job: on or after the snapshot day, freeze last month unless it is frozen
        already (idempotent; catches up after downtime)."""
        now = self.ctx.clock.now().astimezone(UTC)
        if now.day < self.ctx.settings.report_snapshot_day:
            return None
        month = add_months(month_key(now), -1)
        async with self.ctx.db.read() as session:
            done = await session.scalar(
                select(ReportSnapshot.id).where(ReportSnapshot.period == month_label(month))
            )
        if done is not None:
            return None
        return await self.freeze(month)

    async def freeze(self, month: int) -> SnapshotInfo:
        """Freeze the public reports of `month` (yyyymm) as a signed, logged snapshot."""
        now = self.ctx.clock.now()
        if month >= month_key(now):
            raise InvalidInput("only a month that has ended can be frozen")
        period = Period(month, month)
        tables: list[dict[str, Any]] = []
        for kpis, dimensions in SNAPSHOT_TABLES:
            report = await self.reports.report(
                scope=Scope(),
                kpis=kpis,
                period=period,
                dimensions=dimensions,
                audience=Audience.PUBLIC,
            )
            tables.extend(report_data(report)["tables"])
        tables.append(snapshot_table(await self.reports.blacklist_figures(period)))
        next_month = add_months(month, 2)
        next_update = datetime(
            next_month // 100,
            next_month % 100,
            self.ctx.settings.report_snapshot_day,
            tzinfo=UTC,
        )
        async with self.ctx.db.transaction() as session:
            serial = int(await session.scalar(select(func.max(ReportSnapshot.serial))) or 0) + 1
            statement = {
                "_type": SNAPSHOT_TYPE,
                "serial": serial,
                "period": month_label(month),
                "issued_at": isoformat(now),
                "next_update": isoformat(next_update),
                "audience": Audience.PUBLIC.value,
                "threshold": self.reports.threshold(Audience.PUBLIC),
                "kpi_versions": kpi_versions(list(ALL_KPIS)),
                "suppression_version": RULE_VERSION,
                "tables": [
                    {
                        "kpi": table["kpi"],
                        "rows_by": table["rows_by"],
                        "columns_by": table["columns_by"],
                        "sha256": table_digest(table),
                    }
                    for table in tables
                ],
            }
            signed = sign_by_federation(statement, self.ctx.federation_key, SNAPSHOT_PAYLOAD_TYPE)
            index = await LogAppender(session, now).append(
                PendingLeaf(EntryType.REPORT_SNAPSHOT, signed.log_body())
            )
            record = ReportSnapshot(
                serial=serial,
                period=month_label(month),
                issued_at=now,
                next_update=next_update,
                envelope=signed.envelope_bytes,
                envelope_digest=signed.envelope_digest,
                log_index=index,
                tables=canonicalize({"tables": tables}).decode("utf-8"),
            )
            session.add(record)
        return _info(record)

    async def list(self) -> list[SnapshotInfo]:
        """Every snapshot, newest first."""
        async with self.ctx.db.read() as session:
            rows = await session.scalars(
                select(ReportSnapshot).order_by(ReportSnapshot.serial.desc())
            )
            return [_info(row) for row in rows]

    async def document(self, period: str) -> dict[str, Any]:
        """The snapshot document of `period` (yyyy-mm): envelope and tables."""
        async with self.ctx.db.read() as session:
            record = await session.scalar(
                select(ReportSnapshot).where(ReportSnapshot.period == period)
            )
        if record is None:
            raise NotFound(f"no report snapshot for {period!r}")
        tables = parse_json(record.tables.encode("utf-8"))["tables"]
        return {"envelope": parse_json(record.envelope), "tables": tables}


def _info(record: ReportSnapshot) -> SnapshotInfo:
    return SnapshotInfo(
        serial=record.serial,
        period=record.period,
        issued_at=record.issued_at,
        next_update=record.next_update,
        log_index=record.log_index,
        envelope_digest=record.envelope_digest,
    )


def verify_snapshot(document: bytes, public_key: PublicKey) -> VerifiedSnapshot:
    """Check a snapshot document offline against the federation's public key."""
    try:
        data = parse_json(document)
        envelope_json = data["envelope"]
    except (AttestationError, KeyError, TypeError) as exc:
        raise SnapshotInvalid(f"not a report snapshot document: {exc}") from exc
    _, statement = open_by_federation(
        envelope_json, public_key, SNAPSHOT_PAYLOAD_TYPE, "report snapshot"
    )
    if statement.get("_type") != SNAPSHOT_TYPE:
        raise SnapshotInvalid("the signed payload is not a report snapshot statement")
    signed = statement["tables"]
    tables = data.get("tables")
    if not isinstance(tables, list) or len(tables) != len(signed):
        raise SnapshotInvalid(
            f"the document has {len(tables) if isinstance(tables, list) else 0} tables, "
            f"the signature covers {len(signed)}"
        )
    for number, (table, entry) in enumerate(zip(tables, signed, strict=True), start=1):
        if table_digest(table) != entry["sha256"]:
            raise SnapshotInvalid(
                f"table {number} ({entry['kpi']} by {entry['rows_by']}) does not match its "
                "signed digest: it was changed after signing"
            )
    return VerifiedSnapshot(
        serial=int(statement["serial"]),
        period=str(statement["period"]),
        next_update=str(statement["next_update"]),
        key_id=public_key.key_id,
        tables=len(tables),
        kpi_versions=dict(statement["kpi_versions"]),
        suppression_version=str(statement["suppression_version"]),
    )


__all__ = [
    "PROGRAMME_KPIS",
    "SNAPSHOT_PAYLOAD_TYPE",
    "SnapshotInvalid",
    "SnapshotService",
    "verify_snapshot",
]
