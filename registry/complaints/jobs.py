"""The complaint SLA scan, run by the scheduler (and `registry jobs run`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.services import Services

logger = logging.getLogger("registry.complaints")


async def escalate_complaint_breaches_job(services: Services) -> None:
    """Escalate complaints whose first-response or resolution clock ran out."""
    result = await services.complaints.clocks.escalate_breaches()
    if result.escalated:
        # Counts only: tracking codes and contacts stay out of the logs.
        logger.info(
            "escalated %d complaints (%d first-response, %d resolution breaches)",
            result.escalated,
            result.first_response_breaches,
            result.resolution_breaches,
        )
