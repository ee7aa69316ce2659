"""The report rollups equal a full recomputation, whatever happened to the complaints.

Random sequences of complaint events (filed, forwarded, answered, resolved, escalated,
mediated, rated, a vendor attached, a duplicate joined) are applied to real rows and
published as domain events; after each sequence the rollup kept by the subscribers must
equal both the naive GROUP BY over the complaint table and `registry reports rebuild`.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from attestations.keys import SigningKey
from registry.complaints import events as ce
from registry.complaints.models import (
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    MediationOutcome,
    SubjectKind,
)
from registry.context import RegistryContext
from registry.db.session import Database, create_engine
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor, VendorSize
from registry.reports.models import ComplaintFact
from registry.reports.rollups import (
    COMPLAINT_COLUMNS,
    contribution,
    naive_complaint_counts,
    rebuild_complaints,
    rollup_complaint_counts,
)
from registry.services import Services
from registry.settings import Settings
from tests.conftest import TEST_EPOCH, run_in_thread
from tests.factories import member_vendor

REGIONS = ("110000", "110105", "440000", "440300", "440305", "419001", "650000")


@dataclass(frozen=True)
class Op:
    """One thing that happens: `kind` to complaint number `index` (mod how many exist)."""

    kind: str
    index: int
    hours: int
    choice: int
    joins: bool
    """Happens in the previous one's transaction (as an SLA scan escalates many at once)."""


ops = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(
            [
                "file",
                "file",
                "forward",
                "answer",
                "resolve",
                "escalate",
                "mediate",
                "rate",
                "attach",
                "join",
            ]
        ),
        index=st.integers(0, 50),
        hours=st.integers(0, 24 * 420),
        choice=st.integers(0, 1000),
        joins=st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


async def _apply(services: Services, vendor_ids: list[int], sequence: list[Op]) -> None:
    for together in _transactions(sequence):
        async with services.ctx.db.transaction() as session:
            for op in together:
                ids = list(
                    (await session.scalars(select(Complaint.id).order_by(Complaint.id))).all()
                )
                if op.kind == "file" or not ids:
                    vendor_id = vendor_ids[op.choice % len(vendor_ids)] if op.choice % 3 else None
                    association_id = (
                        (await session.get_one(Vendor, vendor_id)).association_id
                        if vendor_id is not None
                        else None
                    )
                    complaint = Complaint(
                        created_at=TEST_EPOCH - timedelta(hours=op.hours),
                        tracking_code=secrets.token_hex(6),
                        secret_hash="0" * 64,
                        association_id=association_id,
                        vendor_id=vendor_id,
                        subject_kind=SubjectKind.VENDOR if vendor_id else SubjectKind.DOMAIN,
                        subject_value="example.cn",
                        product="app",
                        category=list(ComplaintCategory)[op.choice % len(ComplaintCategory)],
                        description="d",
                        desired_remedy="r",
                        region=REGIONS[op.choice % len(REGIONS)],
                        occurred_on=date(2026, 1, 1),
                        language="zh",
                        status=ComplaintStatus.SUBMITTED,
                        ip_fingerprint="0" * 64,
                        consent_to_share=False,
                        vendor_conceded=False,
                        substantiated=False,
                        duplicates_merged=0,
                    )
                    if vendor_id is not None:
                        complaint.forwarded_at = complaint.created_at
                        complaint.first_response_due_at = complaint.created_at + timedelta(hours=24)
                    session.add(complaint)
                    await session.flush()
                    ce.publish_complaint_fact(
                        session,
                        ce.ComplaintFiled,
                        complaint,
                        TEST_EPOCH,
                        category=complaint.category.value,
                        subject_kind=complaint.subject_kind.value,
                    )
                    continue
                complaint = await session.get_one(Complaint, ids[op.index % len(ids)])
                after = timedelta(minutes=op.hours * 7)
                kind: type[ce.ComplaintFact]
                values: dict[str, object]
                if op.kind == "forward":
                    complaint.forwarded_at = complaint.created_at + after / 10
                    complaint.first_response_due_at = complaint.forwarded_at + timedelta(hours=24)
                    kind, values = ce.ComplaintForwarded, {"matched_by": None}
                elif op.kind == "answer":
                    complaint.first_response_at = complaint.created_at + after
                    kind, values = ce.ComplaintFirstResponded, {"due_at": None}
                elif op.kind == "resolve":
                    complaint.resolved_at = complaint.created_at + after
                    complaint.vendor_conceded = bool(op.choice % 2)
                    complaint.substantiated = complaint.vendor_conceded
                    kind, values = (
                        ce.ComplaintResolved,
                        {"vendor_conceded": complaint.vendor_conceded},
                    )
                elif op.kind == "escalate":
                    complaint.escalated_at = complaint.created_at + after
                    kind, values = ce.ComplaintEscalated, {"reason": "sla_breach"}
                elif op.kind == "mediate":
                    outcome = list(MediationOutcome)[op.choice % 2]
                    complaint.mediation_outcome = outcome
                    complaint.substantiated = outcome is MediationOutcome.UPHELD
                    kind, values = ce.ComplaintMediated, {"outcome": outcome.value}
                elif op.kind == "rate":
                    complaint.rating = op.choice % 5 + 1
                    kind, values = ce.ComplaintRated, {"score": complaint.rating}
                elif op.kind == "attach":
                    vendor_id = vendor_ids[op.choice % len(vendor_ids)]
                    complaint.vendor_id = vendor_id
                    complaint.association_id = (
                        await session.get_one(Vendor, vendor_id)
                    ).association_id
                    kind, values = ce.ComplaintForwarded, {"matched_by": "linked by mediator"}
                else:
                    complaint.duplicate_joined_at = complaint.created_at + after
                    kind, values = ce.ComplaintClosed, {"reason": "duplicate_joined"}
                ce.publish_complaint_fact(session, kind, complaint, TEST_EPOCH, **values)


def _transactions(sequence: list[Op]) -> list[list[Op]]:
    """The sequence cut into transactions: an op that joins goes with the one before."""
    cut: list[list[Op]] = []
    for op in sequence:
        if op.joins and cut:
            cut[-1].append(op)
        else:
            cut.append([op])
    return cut


async def _check(database: Settings, vendor_ids: list[int], sequence: list[Op]) -> None:
    ctx = RegistryContext(
        database, Database(create_engine(database)), ManualClock(TEST_EPOCH), SigningKey.generate()
    )
    services = Services(ctx)
    try:
        await _apply(services, vendor_ids, sequence)
        async with ctx.db.read() as session:
            kept = await rollup_complaint_counts(session)
            naive = await naive_complaint_counts(session)
        assert kept == naive
        await rebuild_complaints(ctx.db, lambda done, total: None)
        async with ctx.db.read() as session:
            assert await rollup_complaint_counts(session) == naive
            # The rebuilt facts (SQL) are what the subscriber (Python) computes.
            rows = (await session.execute(select(*COMPLAINT_COLUMNS))).all()
            facts = {f.complaint_id: f for f in await session.scalars(select(ComplaintFact))}
            for row in rows:
                part = contribution(row)
                fact = facts.get(row.id)
                if part is None:
                    assert fact is None
                    continue
                assert fact is not None
                stored = (fact.month, fact.association_id, fact.region, fact.category)
                assert (*stored, fact.vendor_size) == part.key
                assert (fact.flags, fact.response_bucket) == (part.flags, part.response_bucket)
    finally:
        await ctx.db.dispose()


async def test_rollups_equal_a_full_recomputation_after_random_event_sequences(
    services: Services,
) -> None:
    await services.federation.ensure_association("csia", "软件协会", "Software Association")
    await services.federation.ensure_association("cfsa", "金融软件协会", "Fintech Association")
    vendors = [
        await member_vendor(services, "csia", "rollup-a"),
        await member_vendor(services, "cfsa", "rollup-b"),
    ]
    async with services.ctx.db.read() as session:
        vendor_ids = list(
            (
                await session.scalars(
                    select(Vendor.id).where(Vendor.slug.in_([v.slug for v in vendors]))
                )
            ).all()
        )
    # One member declared its size, the other did not: both keys of the dimension.
    async with services.ctx.db.transaction() as session:
        vendor = await session.get(Vendor, vendor_ids[0])
        assert vendor is not None
        vendor.size = VendorSize.MEDIUM
    database = services.ctx.settings

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(sequence=ops)
    def run(sequence: list[Op]) -> None:
        run_in_thread(_check(database, vendor_ids, sequence))

    run()
