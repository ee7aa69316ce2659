"""What a certification decision reads, in one statement, on both databases.

`load_decision_inputs` folds three reads into one union; this checks each of its rows
against the ORM's view of the same tables.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from registry.certification.audit_models import AuditRecord, AuditResult
from registry.certification.models import AttestationRecord, Certification
from registry.certification.signing import attestation_envelope, audit_envelope
from registry.certification.transitions import load_decision_inputs
from registry.kernel.clock import ManualClock
from registry.services import Services
from tests.factories import AUDITED_VENDOR_AGE, accredited_auditor, member_vendor

DAY = timedelta(days=1)


async def test_certificate_last_attestations_and_latest_audit(
    services: Services, association: str, clock: ManualClock
) -> None:
    member = await member_vendor(
        services, association, "acme-cloud", applied_before=AUDITED_VENDOR_AGE
    )
    vendor = await services.accounts.authenticate(member.token)
    other = await services.accounts.authenticate(
        (await member_vendor(services, association, "other-cloud")).token
    )
    assert vendor.vendor_id is not None
    assert other.vendor_id is not None
    async with services.ctx.db.read() as session:
        nothing = await load_decision_inputs(session, vendor.vendor_id, 2)
    assert nothing.certificate is None
    assert (list(nothing.facts.attestations), list(nothing.facts.audits)) == ([], [])

    now = clock.now()
    for months_ago in (3, 2, 1):
        end = now - (months_ago - 1) * 30 * DAY - DAY
        await services.attestations.submit(
            vendor,
            "acme-cloud",
            attestation_envelope(
                member.key, vendor="acme-cloud", period=(end - 30 * DAY, end), issued_at=now
            ),
        )
    auditor = await accredited_auditor(services, "zhengxin-audit")
    await services.audits.submit(
        await services.accounts.authenticate(auditor.token),
        audit_envelope(
            auditor.key,
            auditor="zhengxin-audit",
            vendor="acme-cloud",
            period=(now - 180 * DAY, now - DAY),
            issued_at=now,
            report=b"full audit report",
        ),
    )

    async with services.ctx.db.read() as session:
        inputs = await load_decision_inputs(session, vendor.vendor_id, 2)
        certificate, facts = inputs.certificate, inputs.facts
        three = (await load_decision_inputs(session, vendor.vendor_id, 3)).facts
        row = (
            await session.execute(
                select(Certification).where(Certification.vendor_id == vendor.vendor_id)
            )
        ).scalar_one()
        stored = (
            (
                await session.execute(
                    select(AttestationRecord)
                    .where(AttestationRecord.vendor_id == vendor.vendor_id)
                    .order_by(AttestationRecord.period_end.desc())
                )
            )
            .scalars()
            .all()
        )
        audit = (await session.execute(select(AuditRecord))).scalar_one()
        others = (await load_decision_inputs(session, other.vendor_id, 3)).facts

    assert certificate is not None
    assert (certificate.level, certificate.state.value) == (3, "active")
    assert (
        certificate.scheme_id,
        certificate.state,
        certificate.level,
        certificate.certified_since,
        certificate.valid_until,
        certificate.audit_due,
    ) == (
        row.scheme_id,
        row.state,
        row.level,
        row.certified_since,
        row.valid_until,
        row.audit_due,
    )
    expected = [(a.period_start, a.period_end, a.all_met, a.metrics) for a in stored]
    got = [(a.period_start, a.period_end, a.all_met, a.metrics) for a in facts.attestations]
    assert sorted(got, reverse=True, key=lambda a: a[1]) == expected[:2]
    assert sorted([(a.period_start, a.period_end) for a in three.attestations], reverse=True) == [
        (a.period_start, a.period_end) for a in stored
    ]
    assert all(isinstance(m, float) for a in facts.attestations for m in a.metrics.values())
    assert [(a.period_end, a.passed, a.next_audit_due) for a in facts.audits] == [
        (audit.period_end, audit.result is AuditResult.PASS, audit.next_audit_due)
    ]
    assert facts.audits[0].passed
    assert (list(others.attestations), list(others.audits)) == ([], [])
