"""Scheduled jobs driven by the clock (no sleeps) and the one-active-scheduler lock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from registry.certification.signing import attestation_envelope, audit_envelope
from registry.certification.verdict import verdict
from registry.kernel.clock import ManualClock
from registry.notifications.models import OutboxMessage
from registry.scheduling import JOBS, SchedulerLock, run_jobs_once, start_scheduler
from registry.services import Services
from tests.factories import AUDITED_VENDOR_AGE, accredited_auditor, member_vendor

DAY = timedelta(days=1)


async def _events(services: Services, event: str) -> list[dict[str, object]]:
    async with services.ctx.db.read() as session:
        rows = await session.execute(
            select(OutboxMessage.data)
            .where(OutboxMessage.event == event)
            .order_by(OutboxMessage.id)
        )
        return [dict(d) for d in rows.scalars()]


async def _certify(services: Services, association: str, slug: str, *, audited: bool) -> None:
    vendor = await member_vendor(services, association, slug, applied_before=AUDITED_VENDOR_AGE)
    now = services.ctx.clock.now()
    caller = await services.accounts.authenticate(vendor.token)
    await services.attestations.submit(
        caller,
        slug,
        attestation_envelope(vendor.key, vendor=slug, period=(now - 30 * DAY, now), issued_at=now),
    )
    if audited:
        auditor = await accredited_auditor(services, f"{slug}-auditor")
        await services.audits.submit(
            await services.accounts.authenticate(auditor.token),
            audit_envelope(
                auditor.key,
                auditor=auditor.slug,
                vendor=slug,
                period=(now - 180 * DAY, now),
                issued_at=now,
                report=b"report",
            ),
        )


async def test_jobs_catch_up_renewal_reminders_and_expiry_idempotently(
    services: Services, association: str, clock: ManualClock
) -> None:
    await _certify(services, association, "acme-cloud", audited=False)
    start = clock.now()
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.valid_until == start + 365 * DAY

    # Downtime: the first run after 310 days sends only the 60-day reminder and opens renewal.
    clock.set(start + 310 * DAY)
    await run_jobs_once(services)
    await run_jobs_once(services)
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.state is not None
    assert status.state.value == "renewal_due"
    assert verdict(status, clock.now()).certified
    reminders = await _events(services, "certification.renewal_reminder")
    assert [r["days_left"] for r in reminders] == [55]

    clock.set(start + 340 * DAY)
    await run_jobs_once(services)
    clock.set(start + 360 * DAY)
    await run_jobs_once(services)
    await run_jobs_once(services)
    reminders = await _events(services, "certification.renewal_reminder")
    assert [r["days_left"] for r in reminders] == [55, 25, 5]

    clock.set(start + 365 * DAY)
    await run_jobs_once(services)
    await run_jobs_once(services)
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.state is not None
    assert status.state.value == "expired"
    assert not verdict(status, clock.now()).certified
    history = await services.certification.history("acme-cloud")
    assert [(t.to_state, t.cause) for t in history] == [
        ("active", "attestation"),
        ("renewal_due", "deadline"),
        ("expired", "deadline"),
    ]


async def test_renewal_before_expiry_extends_without_a_gap(
    services: Services, association: str, clock: ManualClock
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    caller = await services.accounts.authenticate(vendor.token)
    start = clock.now()
    await services.attestations.submit(
        caller,
        "acme-cloud",
        attestation_envelope(
            vendor.key, vendor="acme-cloud", period=(start - 30 * DAY, start), issued_at=start
        ),
    )
    clock.set(start + 320 * DAY)
    await run_jobs_once(services)
    now = clock.now()
    await services.attestations.submit(
        caller,
        "acme-cloud",
        attestation_envelope(
            vendor.key, vendor="acme-cloud", period=(now - 30 * DAY, now), issued_at=now
        ),
    )
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.valid_until == start + 730 * DAY
    assert status.state is not None
    assert status.state.value == "active"


async def test_missed_audit_suspends_only_after_grace(
    services: Services, association: str, clock: ManualClock
) -> None:
    await _certify(services, association, "acme-cloud", audited=True)
    start = clock.now()
    clock.set(start + (182 + 29) * DAY)
    await run_jobs_once(services)
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.level == 2
    clock.set(start + (182 + 30) * DAY)
    await run_jobs_once(services)
    status = await services.certification.public_status("acme-cloud")
    assert status is not None
    assert status.state is not None
    assert status.state.value == "suspended"
    assert status.level is None  # not certified: no level is shown


async def test_one_scheduler_holds_the_lock(services: Services, clock: ManualClock) -> None:
    first, second = SchedulerLock(services), SchedulerLock(services)
    assert await first.acquire_or_renew()
    assert not await second.acquire_or_renew()
    assert await first.acquire_or_renew()  # renewing keeps it
    if services.ctx.db.dialect == "sqlite":
        # A holder that stops renewing loses the lease once it lapses.
        clock.advance(timedelta(seconds=services.ctx.settings.scheduler_lease_seconds + 1))
        assert await second.acquire_or_renew()
        assert not await first.acquire_or_renew()
        await second.release()
    else:
        await first.release()
    third = SchedulerLock(services)
    assert await third.acquire_or_renew()
    await third.release()


async def test_started_scheduler_registers_every_job_and_releases_on_stop(
    services: Services,
) -> None:
    quiet = Services(replace(services.ctx, settings=replace(services.ctx.settings)))
    runner = await start_scheduler(quiet)
    try:
        assert runner.lock.held
        ids = {job.id for job in runner.scheduler.get_jobs()}
        assert ids == {job.id for job in JOBS} | {"scheduler-lock"}
        rival = SchedulerLock(services)
        assert not await rival.acquire_or_renew()
    finally:
        await runner.stop()
    successor = SchedulerLock(services)
    assert await successor.acquire_or_renew()
    await successor.release()
