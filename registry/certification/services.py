"""Certificates: public status, history and every transition of the state machine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select

from registry.certification.audit_models import Auditor, AuditRecord
from registry.certification.events import RenewalReminderDue
from registry.certification.machine import RefusedTransition, Trigger, association_admin
from registry.certification.models import (
    Certification,
    CertificationTransition,
    Scheme,
    TransitionCause,
)
from registry.certification.status import (
    WRITTEN_LANGUAGES,
    AuditSummary,
    CertificationState,
    PublicCertification,
    TransitionView,
    causes_of,
    written_language,
)
from registry.certification.transitions import Cause, reevaluate, rules_of
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.kernel.caller import Caller
from registry.kernel.members import VENDOR, VendorStatus, is_member, member_vendor, vendor_by_slug

_CERTIFIED = (CertificationState.ACTIVE, CertificationState.RENEWAL_DUE)
_GRANTED = (*_CERTIFIED, CertificationState.SUSPENDED)


def _deadline_ref(row: Certification, now: datetime) -> str:
    """Which deadline a scan acted on, for the transition's cause."""
    if row.valid_until is not None and row.valid_until <= now:
        return "deadline:expiry"
    if row.audit_due is not None and row.audit_due <= now:
        return "deadline:audit"
    return "deadline:renewal"


class CertificationService:
    """Reads and changes vendors' certificates."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def public_status(self, slug: str) -> PublicCertification | None:
        """What anyone may know of a member vendor's certificate; None for no such member."""
        async with self.ctx.db.read() as session:
            vendor = await vendor_by_slug(session, slug)
            if vendor is None or not is_member(vendor.status):
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
            causes=causes_of(certification.causes),
            scheme_title_zh=scheme.title_zh,
            scheme_title_en=scheme.title_en,
            audit_due=certification.audit_due if certified else None,
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
                    causes_raised=causes_of(t.causes_raised),
                    causes_cleared=causes_of(t.causes_cleared),
                    reason_lang=t.reason_lang,
                )
                for t in rows
            ]

    async def expire_due(self) -> int:
        """Expire certificates whose validity ended; returns how many moved."""
        now = self.ctx.clock.now()
        return await self._deadline_scan(
            Certification.state.in_(_GRANTED) & (Certification.valid_until <= now)
        )

    async def remind_renewals(self) -> int:
        """Open renewal windows and send each renewal reminder (60/30/7 days) once."""
        now = self.ctx.clock.now()
        horizon = now + timedelta(days=self.ctx.settings.renewal_reminder_horizon_days)
        moved = await self._deadline_scan(
            Certification.state.in_(_CERTIFIED) & (Certification.valid_until <= horizon)
        )
        return moved + await self._send_reminders(now, horizon)

    async def suspend_overdue_audits(self) -> int:
        """Suspend audited certificates whose audit is overdue beyond the scheme's grace."""
        now = self.ctx.clock.now()
        return await self._deadline_scan(
            Certification.state.in_(_CERTIFIED) & (Certification.audit_due <= now)
        )

    async def _deadline_scan(self, due: ColumnElement[bool]) -> int:
        """Run the machine's deadline rules over due certificates, a batch per transaction.

        Keyset paging by id means a certificate the machine leaves as it is (still in its
        grace period) is looked at once per run, and the scan always ends.
        """
        now = self.ctx.clock.now()
        batch = self.ctx.settings.deadline_scan_batch
        moved = 0
        after = 0
        while True:
            async with self.ctx.db.transaction() as session:
                rows = list(
                    (
                        await session.execute(
                            select(
                                Certification,
                                VENDOR.c.id,
                                VENDOR.c.slug,
                                VENDOR.c.association_id,
                            )
                            .join(VENDOR, VENDOR.c.id == Certification.vendor_id)
                            .where(due, Certification.id > after)
                            .order_by(Certification.id)
                            .limit(batch)
                        )
                    ).all()
                )
                for row, *vendor in rows:
                    transition = await reevaluate(
                        session,
                        MemberVendorRef(*vendor),
                        Trigger.DEADLINE,
                        Cause(TransitionCause.DEADLINE, ref=_deadline_ref(row, now)),
                        now,
                        row=row,
                    )
                    moved += transition is not None
            if len(rows) < batch:
                return moved
            after = rows[-1][0].id

    async def _send_reminders(self, now: datetime, horizon: datetime) -> int:
        sent = 0
        async with self.ctx.db.transaction() as session:
            rows = (
                await session.execute(
                    select(Certification, Scheme)
                    .join(Scheme, Scheme.id == Certification.scheme_id)
                    .where(
                        Certification.state.in_(_CERTIFIED),
                        Certification.valid_until <= horizon,
                    )
                    .order_by(Certification.id)
                    .limit(self.ctx.settings.deadline_scan_batch)
                )
            ).all()
            for row, scheme in rows:
                assert row.valid_until is not None  # noqa: S101 - certified implies validity
                due = [
                    days
                    for days in rules_of(scheme).reminder_days
                    if row.valid_until - timedelta(days=days) <= now
                ]
                if not due or (row.reminded_days is not None and row.reminded_days <= min(due)):
                    continue
                row.reminded_days = min(due)
                publish(
                    session,
                    RenewalReminderDue(
                        certification_id=row.id,
                        vendor_id=row.vendor_id,
                        scheme_label=scheme.label,
                        valid_until=row.valid_until,
                        days_left=max(0, (row.valid_until - now).days),
                        at=now,
                    ),
                )
                sent += 1
        return sent

    async def decide_by_admin(
        self,
        caller: Caller,
        slug: str,
        action: Trigger,
        reason: str,
        reason_lang: str | None = None,
    ) -> CertificationTransition:
        """Suspend, reinstate or revoke with a reason (the vendor's association admins).

        The admins act for the vendor's association, which owns the cause a suspension
        raises: only a reinstatement by it lifts that cause, and any other cause in force
        (a failed audit, a listing) still holds the certificate.

        The reason is kept in the language it was written in (`reason_lang`, else told
        from its script), so the public site can mark it and say so to readers of the
        other language instead of passing it off as a translation.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidInput("an admin decision needs a reason", fields={"reason": "required"})
        if reason_lang is not None and reason_lang not in WRITTEN_LANGUAGES:
            raise InvalidInput(
                f"reason_lang must be one of {', '.join(WRITTEN_LANGUAGES)}",
                fields={"reason_lang": "zh or en"},
            )
        if action not in {Trigger.SUSPEND, Trigger.REINSTATE, Trigger.REVOKE}:
            raise InvalidInput(f"{action} is not an admin action")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            vendor = await member_vendor(session, slug)
            if not caller.administers_association(vendor.association_id):
                raise PermissionDenied("only the vendor's association admins may decide this")
            row = (
                await session.execute(
                    select(Certification).where(Certification.vendor_id == vendor.id)
                )
            ).scalar_one_or_none()
            if row is None:
                raise Conflict(f"{slug} has no certificate")
            try:
                transition = await reevaluate(
                    session,
                    vendor,
                    action,
                    Cause(
                        TransitionCause.ADMIN,
                        ref=f"admin:{action.value}",
                        reason=reason,
                        reason_lang=reason_lang or written_language(reason),
                        decided_by=caller.principal_id,
                    ),
                    now,
                    row=row,
                    by=association_admin(vendor.association_id, caller.principal_id, reason),
                )
            except RefusedTransition as exc:
                raise Conflict(str(exc)) from exc
            assert transition is not None  # noqa: S101 - admin decisions always change state
            return transition

    async def audit_summaries(self, slug: str) -> list[AuditSummary]:
        """A member vendor's accepted audits, newest first (digest of the report only)."""
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            rows = await session.execute(
                select(AuditRecord, Auditor.slug, Auditor.name_zh, Auditor.name_en)
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
                    auditor_name_zh=name_zh,
                    auditor_name_en=name_en,
                )
                for audit, auditor_slug, name_zh, name_en in rows
            ]


@dataclass(frozen=True)
class MemberVendorRef:
    """The columns of a member vendor that submission paths need, read without the ORM."""

    id: int
    slug: str
    association_id: int


def member_vendor_ref_of(row: tuple[int, int, VendorStatus] | None, slug: str) -> MemberVendorRef:
    """`member_vendor` as plain columns, from (id, association id, status) already read
    (None: no such vendor); the same refusal."""
    if row is None or not is_member(row[2]):
        raise NotFound(f"no member vendor with slug {slug!r}")
    return MemberVendorRef(row[0], slug, row[1])
