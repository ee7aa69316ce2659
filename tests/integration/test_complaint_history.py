"""The demo history, written in bulk, is indistinguishable from live traffic to the rest
of the registry: sealed contacts open, threads match, the SLA scan finds nothing to catch
up, decisions are in the log, and live filing goes on after it (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from registry.complaints.filing import ComplaintSubmission
from registry.complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from registry.demo_history import load_complaint_history
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import member_vendor

TRACKING_CODE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")


async def test_history_keeps_the_complaint_invariants(services: Services, association: str) -> None:
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    await member_vendor(services, association, "history-a", applied_before=timedelta(days=800))
    await member_vendor(services, "sipa", "history-b", applied_before=timedelta(days=800))

    written = await load_complaint_history(
        services.ctx, services.complaints.consumers.vault, 400, improving_association=association
    )

    assert written == 400
    async with services.ctx.db.read() as session:
        complaints = list((await session.execute(select(Complaint))).scalars())
        events = await session.scalar(select(func.count()).select_from(ComplaintEvent))
        leaves = await session.scalar(select(func.count()).select_from(LogEntry))
    assert len(complaints) == 400
    assert len({c.tracking_code for c in complaints}) == 400
    assert all(TRACKING_CODE.match(c.tracking_code) for c in complaints)
    for complaint in complaints[:20]:
        assert complaint.contact_sealed is not None
        assert services.complaints.consumers.vault.open(complaint.contact_sealed).name
    assert events is not None
    assert events >= 2 * 400
    breached = sum(c.breached_at is not None for c in complaints)
    mediated = sum(c.mediation_outcome is not None for c in complaints)
    assert breached > 0
    assert mediated > 0
    assert leaves is not None
    assert leaves >= breached + mediated

    # The clocks are consistent: nothing is overdue, so the scan escalates nothing.
    scan = await services.complaints.clocks.escalate_breaches()
    assert scan.escalated == 0

    # Live filing continues after the bulk ids (on PostgreSQL the sequence moved on).
    filed = await services.complaints.consumers.file(
        ComplaintSubmission(
            vendor="history-a",
            product="云存储会员",
            category="billing_refund",
            description="取消订阅后仍被连续扣费三个月，客服不予退款。",
            desired_remedy="退还多扣的费用",
            region="110000",
            occurred_on=(services.ctx.clock.now().date() - timedelta(days=3)).isoformat(),
            contact_name="李华",
            contact_phone="13800138000",
            consent_to_share=True,
        ),
        client_ip="203.0.113.50",
    )
    assert filed.status is ComplaintStatus.FORWARDED
