"""Scheduled jobs (APScheduler 3) and the database lock that elects one scheduler.

Every job is `async def job(services) -> None`: it asks `services.ctx.clock` for the time,
scans the database for what is due, and is idempotent, so running it late (after
downtime) or twice catches up instead of doing things twice. `run_jobs_once` runs each
job once (`registry jobs run --now <time>`); `start_scheduler` runs them on intervals in
`registry serve` or `registry scheduler`. Several workers may start a scheduler; only the
holder of the database lock runs jobs (a PostgreSQL session advisory lock, or a lease row
on SQLite), so each due thing is handled by one process.

To add a job, append one `ScheduledJob(...)` line to `JOBS`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.blacklist.jobs import (
    blacklist_snapshot_job,
    close_answer_windows_job,
    close_due_ballots_job,
    end_listings_job,
    evaluate_blacklist_rules_job,
)
from registry.certification.jobs import (
    audit_overdue_job,
    expiry_job,
    renewal_reminder_job,
)
from registry.complaints.jobs import escalate_complaint_breaches_job
from registry.notifications.jobs import deliver_webhooks_job
from registry.rate_limits import forget_expired
from registry.reports.jobs import report_snapshot_job
from registry.scheduling_lease import SchedulerLease
from registry.services import Services
from registry.settings import Settings

logger = logging.getLogger("registry.scheduler")

Job = Callable[[Services], Awaitable[None]]


async def sign_checkpoint_job(services: Services) -> None:
    """Sign a checkpoint when the log grew since the last one."""
    checkpoint = await services.log.sign_checkpoint_if_grown()
    if checkpoint is not None:
        logger.info("signed checkpoint of size %d", checkpoint.size)


async def forget_transient_rows_job(services: Services) -> None:
    """Delete rows that can no longer matter: spent login challenges and rate-limit
    counts older than every window. Anonymous requests make them; nothing else would
    ever remove them."""
    challenges = await services.accounts.forget_spent_challenges()
    counts = await forget_expired(services.ctx.db, services.ctx.settings, services.ctx.clock.now())
    if challenges or counts:
        logger.info("forgot %d login challenges and %d rate-limit counts", challenges, counts)


def _cleanup_interval(settings: Settings) -> int:
    return settings.cleanup_interval_seconds


def _every_job_interval(settings: Settings) -> int:
    return settings.job_interval_seconds


def _blacklist_evaluation_interval(settings: Settings) -> int:
    return settings.blacklist_evaluation_interval_seconds


def _checkpoint_interval(settings: Settings) -> int:
    return settings.checkpoint_interval_seconds


@dataclass(frozen=True)
class ScheduledJob:
    """A job, its stable id and how often it runs (seconds, read from settings)."""

    id: str
    run: Job
    interval: Callable[[Settings], int] = field(default=_every_job_interval)


# Order matters for `jobs run`: state changes first, then their notifications, then the
# checkpoint that covers every leaf the jobs before it appended.
JOBS: list[ScheduledJob] = [
    ScheduledJob("certification-expiry", expiry_job),
    ScheduledJob("certification-renewal-reminders", renewal_reminder_job),
    ScheduledJob("certification-audit-overdue", audit_overdue_job),
    ScheduledJob("complaint-sla-escalation", escalate_complaint_breaches_job),
    ScheduledJob(
        "blacklist-evaluation", evaluate_blacklist_rules_job, _blacklist_evaluation_interval
    ),
    ScheduledJob("blacklist-answer-windows", close_answer_windows_job),
    ScheduledJob("blacklist-ballot-deadlines", close_due_ballots_job),
    ScheduledJob("blacklist-listing-ends", end_listings_job),
    ScheduledJob("blacklist-snapshot", blacklist_snapshot_job, _cleanup_interval),
    ScheduledJob("webhook-delivery", deliver_webhooks_job),
    ScheduledJob("forget-transient-rows", forget_transient_rows_job, _cleanup_interval),
    ScheduledJob("report-snapshot", report_snapshot_job, _cleanup_interval),
    ScheduledJob("sign-checkpoint", sign_checkpoint_job, _checkpoint_interval),
]


async def run_jobs_once(services: Services, jobs: list[ScheduledJob] | None = None) -> list[str]:
    """Run every job once, in order, at the services' clock; returns the ids run."""
    ran: list[str] = []
    for job in jobs if jobs is not None else JOBS:
        await job.run(services)
        ran.append(job.id)
    return ran


class SchedulerLock:
    """One active scheduler per database: advisory lock on PostgreSQL, lease row on SQLite."""

    LEASE_NAME = "scheduler"
    ADVISORY_KEY = 0x7472_7573_7472_6567  # "trustreg": any constant shared by all workers

    def __init__(self, services: Services) -> None:
        self.services = services
        self.holder = secrets.token_hex(8)
        self._connection: AsyncConnection | None = None
        self.held = False

    async def acquire_or_renew(self) -> bool:
        """Take the lock if free, or extend it if held; True while this process holds it."""
        db = self.services.ctx.db
        if db.dialect == "postgresql":
            self.held = await self._advisory()
        else:
            self.held = await self._lease()
        return self.held

    async def _advisory(self) -> bool:
        # A session-level advisory lock lives as long as the connection that took it,
        # so the server frees it by itself if this process dies.
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
            except SQLAlchemyError:  # the connection died, and the lock with it
                logger.warning("lost the scheduler's database connection and its lock")
                await self._connection.invalidate()
                self._connection = None
            else:
                return True
        connection = await self.services.ctx.db.engine.connect()
        taken = (
            await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.ADVISORY_KEY}
            )
        ).scalar_one()
        await connection.commit()
        if taken:
            self._connection = connection
            return True
        await connection.close()
        return False

    async def _lease(self) -> bool:
        ctx = self.services.ctx
        now = ctx.clock.now()
        until = now + timedelta(seconds=ctx.settings.scheduler_lease_seconds)
        async with ctx.db.transaction() as session:
            lease = (
                await session.execute(
                    select(SchedulerLease).where(SchedulerLease.name == self.LEASE_NAME)
                )
            ).scalar_one_or_none()
            if lease is None:
                session.add(
                    SchedulerLease(name=self.LEASE_NAME, holder=self.holder, expires_at=until)
                )
                return True
            if lease.holder != self.holder and lease.expires_at > now:
                return False
            lease.holder = self.holder
            lease.expires_at = until
            return True

    async def release(self) -> None:
        """Give the lock up so another worker can take over at once."""
        if self._connection is not None:
            # Unlock before the connection goes back to the pool, which would keep it held.
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self.ADVISORY_KEY}
            )
            await self._connection.commit()
            await self._connection.close()
            self._connection = None
        elif self.held:
            ctx = self.services.ctx
            async with ctx.db.transaction() as session:
                lease = await session.get(SchedulerLease, self.LEASE_NAME)
                if lease is not None and lease.holder == self.holder:
                    await session.delete(lease)
        self.held = False


@dataclass
class SchedulerRunner:
    """A started scheduler; `stop()` shuts it down and releases the lock."""

    scheduler: AsyncIOScheduler
    lock: SchedulerLock

    async def stop(self) -> None:
        """Stop without waiting for running jobs."""
        self.scheduler.shutdown(wait=False)
        await self.lock.release()


def _guarded(job: ScheduledJob, services: Services, lock: SchedulerLock) -> Job:
    async def run(_services: Services) -> None:
        if not lock.held:
            return
        try:
            await job.run(_services)
        except Exception:  # a failing job must not stop the others; it retries next tick
            logger.exception("scheduled job %s failed", job.id)

    return run


async def start_scheduler(services: Services) -> SchedulerRunner:
    """Start the lock renewal and every job on the running event loop."""
    lock = SchedulerLock(services)
    await lock.acquire_or_renew()
    scheduler = AsyncIOScheduler(timezone="UTC")
    settings = services.ctx.settings

    async def renew(_services: Services) -> None:
        try:
            await lock.acquire_or_renew()
        except Exception:  # the database may be briefly away; try again next tick
            lock.held = False
            logger.exception("could not renew the scheduler lock")

    scheduler.add_job(
        renew,
        "interval",
        seconds=settings.scheduler_renew_seconds,
        args=[services],
        id="scheduler-lock",
        coalesce=True,
        max_instances=1,
    )
    for job in JOBS:
        scheduler.add_job(
            _guarded(job, services, lock),
            "interval",
            seconds=job.interval(settings),
            args=[services],
            id=job.id,
            coalesce=True,
            max_instances=1,
        )
    scheduler.start()
    return SchedulerRunner(scheduler, lock)
