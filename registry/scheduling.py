"""Scheduled jobs (APScheduler 3) running inside `registry serve` or `registry scheduler`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from registry.services import Services

logger = logging.getLogger("registry.scheduler")


async def sign_checkpoint_job(services: Services) -> None:
    """Sign a checkpoint when the log grew since the last one."""
    checkpoint = await services.log.sign_checkpoint_if_grown()
    if checkpoint is not None:
        logger.info("signed checkpoint of size %d", checkpoint.size)


@dataclass
class SchedulerRunner:
    """A started scheduler; `stop()` shuts it down."""

    scheduler: AsyncIOScheduler

    async def stop(self) -> None:
        """Stop without waiting for running jobs."""
        self.scheduler.shutdown(wait=False)


async def start_scheduler(services: Services) -> SchedulerRunner:
    """Start the jobs on the running event loop."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sign_checkpoint_job,
        "interval",
        seconds=services.ctx.settings.checkpoint_interval_seconds,
        args=[services],
        id="sign-checkpoint",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    return SchedulerRunner(scheduler)
