"""The event catalogue, service-level on both databases: every fact the aggregates publish
reaches a subscriber once, in the order it happened, inside the publisher's transaction
(the subscriber's session sees the fact; a separate session does not see it yet)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.events import (
    AppealDecided,
    CaseDecided,
    CaseFact,
    CaseOpened,
    RepairApplied,
    RepairDecided,
)
from registry.blacklist.models import Appeal, BlacklistCase, Repair
from registry.blacklist.states import AppealState, CaseState, RepairState, Tier
from registry.certification.audit_models import AuditRecord
from registry.certification.events import (
    AttestationAccepted,
    AuditRecorded,
    CertificateTransitioned,
)
from registry.certification.models import AttestationRecord, Certification
from registry.certification.signing import attestation_envelope, audit_envelope
from registry.certification.status import CertificationState
from registry.complaints.events import (
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintFiled,
    ComplaintFirstResponded,
    ComplaintForwarded,
    ComplaintRated,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSubstantiated,
    SubstantiationBasis,
)
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.models import Complaint, ComplaintStatus, MediationOutcome
from registry.events import DomainEvent
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.kernel.members import VendorStatus
from registry.membership.events import VendorAdmitted, VendorDomainVerified
from registry.membership.models import Vendor, VendorDomain
from registry.services import Services
from tests.factories import AUDITED_VENDOR_AGE, accredited_auditor, member_vendor
from tests.integration.test_blacklist_figures import blacklist_demo

DAY = timedelta(days=1)

Visible = Callable[[AsyncSession, Any], Awaitable[bool]]


async def _complaint(session: AsyncSession, event: Any) -> Complaint | None:
    return await session.get(Complaint, event.complaint_id, populate_existing=True)


def _complaint_where(test: Callable[[Complaint, Any], bool]) -> Visible:
    async def visible(session: AsyncSession, event: Any) -> bool:
        row = await _complaint(session, event)
        return row is not None and test(row, event)

    return visible


async def _certificate(session: AsyncSession, event: CertificateTransitioned) -> bool:
    row = await session.get(Certification, event.certification_id, populate_existing=True)
    return row is not None and row.state is event.to_state and row.log_index == event.log_index


async def _attestation(session: AsyncSession, event: AttestationAccepted) -> bool:
    return await session.get(AttestationRecord, event.attestation_id) is not None


async def _audit(session: AsyncSession, event: AuditRecorded) -> bool:
    return await session.get(AuditRecord, event.audit_id) is not None


async def _member(session: AsyncSession, event: VendorAdmitted) -> bool:
    row = await session.get(Vendor, event.vendor_id, populate_existing=True)
    return row is not None and row.status is VendorStatus.ACTIVE


async def _domain(session: AsyncSession, event: VendorDomainVerified) -> bool:
    verified = await session.scalar(
        select(VendorDomain.verified_at).where(VendorDomain.domain == event.domain)
    )
    return verified is not None


async def _case_opened(session: AsyncSession, event: CaseOpened) -> bool:
    row = await session.get(BlacklistCase, event.case_id, populate_existing=True)
    return row is not None and row.tier_proposed is event.tier


async def _case_decided(session: AsyncSession, event: CaseDecided) -> bool:
    row = await session.get(BlacklistCase, event.case_id, populate_existing=True)
    return row is not None and row.state is event.outcome and row.decided_at == event.at


async def _appeal_decided(session: AsyncSession, event: AppealDecided) -> bool:
    row = await session.get(Appeal, event.appeal_id, populate_existing=True)
    return row is not None and row.state is event.outcome


async def _repair_applied(session: AsyncSession, event: RepairApplied) -> bool:
    return await session.get(Repair, event.repair_id) is not None


async def _repair_decided(session: AsyncSession, event: RepairDecided) -> bool:
    row = await session.get(Repair, event.repair_id, populate_existing=True)
    return row is not None and row.state is event.outcome


FACTS: dict[type[DomainEvent], Visible] = {
    ComplaintFiled: _complaint_where(lambda row, _: True),
    ComplaintForwarded: _complaint_where(lambda row, _: row.forwarded_at is not None),
    ComplaintFirstResponded: _complaint_where(lambda row, _: row.first_response_at is not None),
    ComplaintResolved: _complaint_where(lambda row, _: row.status is ComplaintStatus.RESOLVED),
    ComplaintRated: _complaint_where(lambda row, event: row.rating == event.score),
    ComplaintEscalated: _complaint_where(lambda row, _: row.status is ComplaintStatus.ESCALATED),
    ComplaintSlaBreached: _complaint_where(lambda row, event: row.breached_clock is event.clock),
    ComplaintClosed: _complaint_where(lambda row, _: row.status is ComplaintStatus.CLOSED),
    ComplaintSubstantiated: _complaint_where(lambda row, _: row.substantiated),
    CertificateTransitioned: _certificate,
    AttestationAccepted: _attestation,
    AuditRecorded: _audit,
    VendorAdmitted: _member,
    VendorDomainVerified: _domain,
    CaseOpened: _case_opened,
    CaseDecided: _case_decided,
    AppealDecided: _appeal_decided,
    RepairApplied: _repair_applied,
    RepairDecided: _repair_decided,
}


def _record_every_event(services: Services) -> list[DomainEvent]:
    """Subscribe one recorder to each event type; it checks that its session sees the
    fact and that a session of its own (what is committed) does not yet."""
    seen: list[DomainEvent] = []
    db = services.ctx.db

    def recorder(visible: Visible) -> Callable[[AsyncSession, Any], Awaitable[None]]:
        async def record(session: AsyncSession, event: Any) -> None:
            assert await visible(session, event), f"{event} not visible in its transaction"
            async with db.read() as outside:
                assert not await visible(outside, event), f"{event} committed before dispatch"
            seen.append(event)

        return record

    for event_type, visible in FACTS.items():
        db.events.subscribe(event_type, recorder(visible), name="test.recorder")
    return seen


def _submission(slug: str, phone: str) -> ComplaintSubmission:
    return ComplaintSubmission(
        vendor=slug,
        product="会员",
        category="quality_below_standard",
        description="视频经常卡顿",
        desired_remedy="退款",
        region="320000",
        occurred_on="2026-11-20",
        contact_name="周敏",
        contact_phone=phone,
        consent_to_share=True,
    )


def _names(events: list[DomainEvent]) -> list[str]:
    return [type(event).__name__ for event in events]


async def test_membership_and_certification_events(
    services: Services, association: str, clock: ManualClock
) -> None:
    seen = _record_every_event(services)
    member = await member_vendor(
        services, association, "evt-cert", applied_before=AUDITED_VENDOR_AGE
    )
    assert _names(seen) == ["VendorAdmitted"]
    admitted = seen[0]
    assert isinstance(admitted, VendorAdmitted)
    assert admitted.application_id == member.application_id

    seen.clear()
    await services.domains.record_demo_proof(member.slug, f"{member.slug}.example.cn")
    assert _names(seen) == ["VendorDomainVerified"]
    assert isinstance(seen[0], VendorDomainVerified)
    assert seen[0].member

    seen.clear()
    vendor = await services.accounts.authenticate(member.token)
    now = clock.now()
    envelope = attestation_envelope(
        member.key, vendor=member.slug, period=(now - 30 * DAY, now - DAY), issued_at=now
    )
    stored = await services.attestations.submit(vendor, member.slug, envelope)
    assert _names(seen) == ["AttestationAccepted", "CertificateTransitioned"]
    accepted, granted = seen
    assert isinstance(accepted, AttestationAccepted)
    assert isinstance(granted, CertificateTransitioned)
    assert accepted.vendor_id == admitted.vendor_id == granted.vendor_id
    assert accepted.attestation_id == stored.record.id
    assert granted.association_id == admitted.association_id
    assert granted.granted
    assert not granted.renewed
    assert not granted.expired
    assert (granted.from_state, granted.to_state, granted.level) == (
        None,
        CertificationState.ACTIVE,
        1,
    )

    seen.clear()
    await services.attestations.submit(vendor, member.slug, envelope)  # a repeat: no event
    assert seen == []

    auditor = await accredited_auditor(services, "evt-audit")
    audit = audit_envelope(
        auditor.key,
        auditor=auditor.slug,
        vendor=member.slug,
        period=(now - 180 * DAY, now - DAY),
        issued_at=now,
        report=b"report",
        passed=False,
    )
    await services.audits.submit(await services.accounts.authenticate(auditor.token), audit)
    assert _names(seen) == ["AuditRecorded", "CertificateTransitioned"]
    recorded, suspended = seen
    assert isinstance(recorded, AuditRecorded)
    assert isinstance(suspended, CertificateTransitioned)
    assert not recorded.passed
    assert len(recorded.major_nonconformities) == 1
    assert suspended.to_state is CertificationState.SUSPENDED

    seen.clear()
    assert granted.valid_until is not None
    clock.set(granted.valid_until)
    await services.certification.expire_due()
    assert _names(seen) == ["CertificateTransitioned"]
    expired = seen[0]
    assert isinstance(expired, CertificateTransitioned)
    assert expired.expired


async def test_complaint_events(services: Services, association: str, clock: ManualClock) -> None:
    seen = _record_every_event(services)
    member = await member_vendor(services, association, "evt-complaints")
    seen.clear()
    vendor = await services.accounts.authenticate(member.token)
    issued = await services.accounts.create_principal_with_token(
        role=Role.MEDIATOR, display_name="mediator", association_slug=association
    )
    mediator = await services.accounts.authenticate(issued.token)

    conceded = await services.complaints.consumers.file(
        _submission(member.slug, "13700000001"), client_ip="192.0.2.1"
    )
    assert conceded.secret is not None
    await services.complaints.vendors.acknowledge(vendor, conceded.tracking_code, "收到")
    await services.complaints.vendors.propose_resolution(
        vendor, conceded.tracking_code, "退款", concede=True
    )
    await services.complaints.consumers.accept(conceded.tracking_code, conceded.secret)
    await services.complaints.consumers.rate(conceded.tracking_code, conceded.secret, 4, "")
    assert _names(seen) == [
        "ComplaintFiled",
        "ComplaintForwarded",
        "ComplaintFirstResponded",
        "ComplaintResolved",
        "ComplaintSubstantiated",
        "ComplaintRated",
    ]
    substantiated = seen[4]
    assert isinstance(substantiated, ComplaintSubstantiated)
    assert substantiated.basis is SubstantiationBasis.VENDOR_CONCEDED
    assert {getattr(e, "tracking_code", None) for e in seen} == {conceded.tracking_code}

    seen.clear()
    upheld = await services.complaints.consumers.file(
        _submission(member.slug, "13700000002"), client_ip="192.0.2.2"
    )
    assert upheld.secret is not None
    await services.complaints.vendors.propose_resolution(
        vendor, upheld.tracking_code, "无", concede=False
    )
    await services.complaints.consumers.reject(upheld.tracking_code, upheld.secret, "不接受")
    await services.complaints.mediators.decide(
        mediator, upheld.tracking_code, MediationOutcome.UPHELD, "成立"
    )
    await services.complaints.mediators.close(mediator, upheld.tracking_code, "")
    assert _names(seen) == [
        "ComplaintFiled",
        "ComplaintForwarded",
        "ComplaintFirstResponded",
        "ComplaintEscalated",
        "ComplaintSubstantiated",
        "ComplaintClosed",
    ]
    escalated, substantiated, closed = seen[3:]
    assert isinstance(escalated, ComplaintEscalated)
    assert escalated.reason == "consumer_rejected_proposal"
    assert isinstance(substantiated, ComplaintSubstantiated)
    assert substantiated.basis is SubstantiationBasis.UPHELD_IN_MEDIATION
    assert isinstance(closed, ComplaintClosed)
    assert closed.reason == "mediated"

    seen.clear()
    late = await services.complaints.consumers.file(
        _submission(member.slug, "13700000003"), client_ip="192.0.2.3"
    )
    forwarded = seen[1]
    assert isinstance(forwarded, ComplaintForwarded)
    assert forwarded.matched_by is None
    complaint = await services.complaints.vendors.view(vendor, late.tracking_code)
    assert complaint.first_response_due_at is not None
    clock.set(complaint.first_response_due_at + DAY)
    seen.clear()
    await services.complaints.clocks.escalate_breaches()
    assert _names(seen) == ["ComplaintSlaBreached", "ComplaintEscalated"]
    breached, escalated = seen
    assert isinstance(breached, ComplaintSlaBreached)
    assert breached.at == complaint.first_response_due_at
    assert isinstance(escalated, ComplaintEscalated)
    assert escalated.reason == "sla_breach"
    assert breached.vendor_id == escalated.vendor_id == vendor.vendor_id


@pytest.mark.slow
async def test_blacklist_case_events(services: Services) -> None:
    """The blacklist demo's stories publish each counted case step once, in order, with
    the governing association and the tier: the proposed one until a listing, the
    listing's after."""
    seen = _record_every_event(services)
    await blacklist_demo(services)
    steps = [event for event in seen if isinstance(event, CaseFact)]
    assert Counter(type(event).__name__ for event in steps) == {
        "CaseOpened": 13,
        "CaseDecided": 10,
        "AppealDecided": 1,
        "RepairApplied": 1,
        "RepairDecided": 1,
    }
    decided = [e for e in steps if isinstance(e, CaseDecided)]
    assert Counter(e.outcome for e in decided) == {
        CaseState.LISTED: 8,
        CaseState.NOT_LISTED: 1,
        CaseState.LAPSED: 1,
    }
    assert Counter(e.tier for e in decided if e.outcome is CaseState.LISTED) == {
        Tier.MINOR: 2,
        Tier.GENERAL: 5,
        Tier.SERIOUS: 1,
    }
    assert all(e.tier is Tier.GENERAL for e in steps if isinstance(e, CaseOpened))
    opened: set[int] = set()
    for event in steps:  # every later step of a case comes after its opening
        if isinstance(event, CaseOpened):
            opened.add(event.case_id)
        else:
            assert event.case_id in opened, event
    (appeal,) = [e for e in steps if isinstance(e, AppealDecided)]
    assert appeal.outcome is AppealState.OVERTURNED
    (repair,) = [e for e in steps if isinstance(e, RepairDecided)]
    assert repair.outcome is RepairState.GRANTED
    assert repair.at - repair.applied_at == timedelta(days=1)
    async with services.ctx.db.read() as session:
        governed = {
            row.id: row.association_id
            for row in await session.execute(select(BlacklistCase.id, BlacklistCase.association_id))
        }
    assert all(governed[e.case_id] == e.association_id for e in steps)
