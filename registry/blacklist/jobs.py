"""The blacklist's scheduled jobs (also `registry jobs run` and `registry blacklist …`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.services import Services

logger = logging.getLogger("registry.blacklist")


async def evaluate_blacklist_rules_job(services: Services) -> None:
    """Evaluate every rulebook in force; opens cases, never lists."""
    result = await services.blacklist_rules.evaluate()
    if result.opened:
        logger.info(
            "blacklist evaluation: %d subjects, %d rules held, %d cases opened",
            result.subjects,
            result.holding,
            len(result.opened),
        )


async def close_answer_windows_job(services: Services) -> None:
    """Move cases whose answer window ended to voting."""
    moved = await services.blacklist_notice.close_answer_windows()
    if moved:
        logger.info("%d blacklist cases moved to voting when their answer window ended", moved)


async def close_due_ballots_job(services: Services) -> None:
    """Count the ballots (cases, appeals, repairs) whose deadline passed."""
    closed = await services.blacklist_committee.close_due_ballots()
    if closed:
        logger.info("%d blacklist ballots closed at their deadline", closed)


async def end_listings_job(services: Services) -> None:
    """End listings whose publication period is over; revoke for final serious ones."""
    expired = await services.blacklist_remedies.expire_listings()
    final = await services.blacklist_remedies.finalise_listings()
    if expired or final:
        logger.info("%d blacklist listings expired, %d serious listings final", expired, final)


async def blacklist_snapshot_job(services: Services) -> None:
    """Sign a blacklist snapshot when the latest is about to be due (at least daily)."""
    head = await services.blacklist_snapshots.ensure_daily()
    if head is not None:
        logger.info("signed blacklist snapshot %d (daily)", head.serial)
