"""Single attestations that queue for the write lock are written together, each judged alone.

While one transaction holds SQLite's write lock, single-envelope submissions of several
vendors queue up and are then written in one transaction (group commit). Each must get
the answer it would get alone: accepted, the same envelope again (one record), or
refused with nothing written for it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from attestations.envelope import Envelope
from registry.certification.attestations import SubmittedAttestation
from registry.certification.models import AttestationRecord
from registry.certification.signing import attestation_envelope
from registry.errors import Conflict
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.transparency.entries import EntryType
from registry.transparency.models import LogEntry
from tests.factories import MemberVendor, member_vendor

DAY = timedelta(days=1)
VENDORS = 4


def _envelope(member: MemberVendor, clock: ManualClock, first: int, last: int) -> dict[str, Any]:
    now = clock.now()
    return attestation_envelope(
        member.key, vendor=member.slug, period=(now - first * DAY, now - last * DAY), issued_at=now
    ).to_dict()


async def _stored(services: Services) -> tuple[int, int]:
    async with services.ctx.db.read() as session:
        records = await session.scalar(select(func.count()).select_from(AttestationRecord))
        leaves = await session.scalar(
            select(func.count())
            .select_from(LogEntry)
            .where(LogEntry.entry_type == EntryType.ATTESTATION.value)
        )
    return records or 0, leaves or 0


async def test_queued_single_attestations_share_a_transaction_and_keep_their_own_answers(
    services: Services, association: str, clock: ManualClock
) -> None:
    members = [await member_vendor(services, association, f"group-{i}") for i in range(VENDORS)]
    callers = {m.slug: await services.accounts.authenticate(m.token) for m in members}
    for member in members:
        primed = await services.attestations.submit(
            callers[member.slug], member.slug, Envelope.from_dict(_envelope(member, clock, 90, 60))
        )
        assert primed.created
    before = await _stored(services)

    # Per vendor: a new period, the same envelope again, and one overlapping the primed period.
    submissions = []
    for member in members:
        fresh = _envelope(member, clock, 30, 1)
        submissions += [
            (member, fresh),
            (member, fresh),
            (member, _envelope(member, clock, 70, 50)),
        ]

    async def submit(member: MemberVendor, envelope: dict[str, Any]) -> SubmittedAttestation:
        return await services.attestations.submit(
            callers[member.slug], member.slug, Envelope.from_dict(envelope)
        )

    queue = services.attestations._writer._queue  # observing the group form
    async with services.ctx.db.transaction():
        # Holding the write lock (SQLite) lets every submission reach the queue first; the
        # first one's writer waits for the lock with the rest queued behind it.
        tasks = [asyncio.create_task(submit(m, e)) for m, e in submissions]
        for _ in range(10_000):
            if len(queue) >= len(submissions) - 1 or all(t.done() for t in tasks):
                break
            await asyncio.sleep(0)
        if services.ctx.db.dialect == "sqlite":
            assert len(queue) >= len(submissions) - 1
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    for number in range(VENDORS):
        fresh, again, overlapping = outcomes[3 * number : 3 * number + 3]
        assert isinstance(fresh, SubmittedAttestation)
        assert isinstance(again, SubmittedAttestation)
        assert sorted([fresh.created, again.created]) == [False, True]
        assert fresh.record.id == again.record.id
        assert isinstance(overlapping, Conflict)
        assert "overlaps an accepted attestation" in str(overlapping)
    assert await _stored(services) == (before[0] + VENDORS, before[1] + VENDORS)
