"""Single attestations that queue for the write lock are written together, each judged alone.

While one transaction holds SQLite's write lock, single-envelope submissions of several
vendors queue up and are then written in one transaction (group commit). Each must get
the answer it would get alone: accepted, the same envelope again (one record), or
refused with nothing written for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from attestations.envelope import Envelope
from registry.certification.attestations import SubmittedAttestation
from registry.certification.models import AttestationRecord, Certification
from registry.certification.signing import attestation_envelope
from registry.db.session import Database, create_engine
from registry.errors import Conflict
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
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


WRITTEN_AGAIN = {
    "alone": "an attestation write met a concurrent write; writing it again",
    "grouped": "a grouped attestation write met a concurrent write; writing one by one",
}


@pytest.mark.parametrize("path", ["alone", "grouped"])
async def test_a_first_certificate_from_two_workers_at_once_is_written_once(
    services: Services,
    association: str,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    """Two workers (two service containers on one database) each accept one of a vendor's
    first attestations at the same moment. On PostgreSQL both transactions read "no
    certificate" and insert one; the loser fails on the unique certificate once the
    winner commits and is written again in a new transaction, which reads the winner's.
    Both answers are accepted, one certificate exists, and the log has a warning, not an
    error with a traceback. A worker writes its first submission alone and, once it knows
    the scheme, groups later ones: both paths are taken. (A table lock holds the inserts
    until both transactions wait, so the race happens every time; on SQLite the write
    lock serialises the two.)"""
    member = await member_vendor(services, association, "two-workers")
    other = Services(replace(services.ctx, db=Database(create_engine(services.ctx.settings))))
    envelopes = [_envelope(member, clock, 90, 60), _envelope(member, clock, 30, 1)]

    async def submit(
        worker: Services, envelope: dict[str, Any], vendor: MemberVendor = member
    ) -> SubmittedAttestation:
        caller = await worker.accounts.authenticate(vendor.token)
        return await worker.attestations.submit(caller, vendor.slug, Envelope.from_dict(envelope))

    if path == "grouped":
        for number, worker in enumerate([services, other]):
            warming = await member_vendor(services, association, f"warming-{number}")
            await submit(worker, _envelope(warming, clock, 90, 60), warming)
    caplog.set_level(logging.WARNING, logger="registry.certification.attestation_writer")
    try:
        if services.ctx.db.dialect == "postgresql":
            async with services.ctx.db.engine.begin() as holder:
                await holder.execute(text("LOCK TABLE certification IN SHARE ROW EXCLUSIVE MODE"))
                tasks = [
                    asyncio.create_task(submit(worker, envelope))
                    for worker, envelope in zip([services, other], envelopes, strict=True)
                ]
                await _until_waiting(other, 2)
            outcomes = await asyncio.gather(*tasks)
        else:
            outcomes = await asyncio.gather(
                submit(services, envelopes[0]), submit(other, envelopes[1])
            )
    finally:
        await other.ctx.db.dispose()

    assert [outcome.created for outcome in outcomes] == [True, True]
    async with services.ctx.db.read() as session:
        vendor_id = await session.scalar(select(Vendor.id).where(Vendor.slug == member.slug))
        certificates = await session.scalar(
            select(func.count()).where(Certification.vendor_id == vendor_id)
        )
        records = await session.scalar(
            select(func.count()).where(AttestationRecord.vendor_id == vendor_id)
        )
    assert (certificates, records) == (1, 2)
    logged = [(r.levelno, r.getMessage(), r.exc_info) for r in caplog.records]
    assert all(level < logging.ERROR for level, _, _ in logged), logged
    if services.ctx.db.dialect == "postgresql":
        assert logged == [(logging.WARNING, WRITTEN_AGAIN[path], None)]


async def _until_waiting(worker: Services, count: int) -> None:
    """Wait until `count` transactions of the test's database wait for a lock: one for the
    certificate table, the other for the first (the transparency log's lock)."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(500):
        async with worker.ctx.db.engine.connect() as connection:
            if (await connection.scalar(waiting)) == count:
                return
        # Waiting for the other transactions, which run in the server; no clock is simulated.
        await asyncio.sleep(0.02)
    raise AssertionError(f"{count} transactions never waited for a lock")
