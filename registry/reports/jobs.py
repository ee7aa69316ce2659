"""The monthly report snapshot, run by the scheduler (and `registry jobs run`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.services import Services

logger = logging.getLogger("registry.reports")


async def report_snapshot_job(services: Services) -> None:
    """On or after the snapshot day, freeze and sign last month's public reports."""
    snapshot = await services.report_snapshots.freeze_previous_month()
    if snapshot is not None:
        logger.info("signed report snapshot %d for %s", snapshot.serial, snapshot.period)
