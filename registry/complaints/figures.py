"""A member vendor's public complaint figures: aggregates anyone may read, with small
counts suppressed so no figure points at one consumer's complaint."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.actor_service import ComplaintActorService
from registry.complaints.models import Complaint
from registry.errors import NotFound
from registry.kernel.members import member_condition
from registry.membership.models import Vendor

SATISFIED_FROM = 4
"""Ratings of 4 or 5 count as satisfied (the programme's "satisfaction ≥ 80%" KPI)."""


@dataclass(frozen=True)
class ComplaintFigures:
    """A vendor's public complaint figures over the window; None means "fewer than k".

    Only complaints whose clocks have run their course count: a complaint enters the
    figures once the vendor answered it or its first-response deadline passed (and the
    resolved share once it was resolved, escalated, closed or its resolution deadline
    passed). So a burst of fresh filings, which anyone can make anonymously, moves no
    public figure before the vendor had its chance to answer.
    """

    vendor_slug: str
    window_days: int
    min_count: int
    received: int | None
    """Complaints counted: filed in the window and past their first-response clock."""
    answered_on_time_share: float | None
    """Share of counted complaints answered within the first-response clock (24 h default)."""
    median_first_response: timedelta | None
    resolved_share: float | None
    """Share of complaints past their resolution clock that the consumer accepted as resolved."""
    substantiated: int | None
    """Counted complaints upheld in mediation or conceded by the vendor."""
    satisfaction_rate: float | None
    ratings: int | None


def _first_clock_over(row: Any, now: datetime) -> bool:
    """The vendor answered, or its first-response deadline passed (breached or closed)."""
    return (
        row.first_response_at is not None
        or row.breached_at is not None
        or row.closed_at is not None
        or (row.first_response_due_at is not None and row.first_response_due_at <= now)
    )


def _resolution_clock_over(row: Any, now: datetime) -> bool:
    """Resolved, escalated, closed, or past the resolution deadline."""
    return (
        row.resolved_at is not None
        or row.escalated_at is not None
        or row.closed_at is not None
        or (row.resolution_due_at is not None and row.resolution_due_at <= now)
    )


class ComplaintFiguresService(ComplaintActorService):
    """The public complaint figures of member vendors."""

    async def for_vendor(self, slug: str) -> ComplaintFigures:
        """A member vendor's aggregate figures over the window; small counts suppressed."""
        settings = self.ctx.settings
        now = self.ctx.clock.now()
        async with self.ctx.db.read() as session:
            vendor_id = await session.scalar(
                select(Vendor.id).where(Vendor.slug == slug, member_condition(Vendor.status))
            )
            if vendor_id is None:
                raise NotFound(f"no member vendor with slug {slug!r}")
            rows = await _clock_rows(session, vendor_id, now - settings.complaint_figures_window)
        return tally(
            rows,
            now,
            vendor_slug=slug,
            window_days=settings.complaint_figures_window.days,
            min_count=settings.complaint_figures_min_count,
        )


async def _clock_rows(session: AsyncSession, vendor_id: int, since: datetime) -> Sequence[Any]:
    """The clock columns of the vendor's complaints filed since `since` (no contact, no text)."""
    return (
        await session.execute(
            select(
                Complaint.forwarded_at,
                Complaint.first_response_at,
                Complaint.first_response_due_at,
                Complaint.resolution_due_at,
                Complaint.resolved_at,
                Complaint.escalated_at,
                Complaint.breached_at,
                Complaint.closed_at,
                Complaint.substantiated,
                Complaint.rating,
            ).where(Complaint.vendor_id == vendor_id, Complaint.created_at >= since)
        )
    ).all()


def tally(
    rows: Sequence[Any], now: datetime, *, vendor_slug: str, window_days: int, min_count: int
) -> ComplaintFigures:
    """The figures of `rows` at `now`: only complaints whose clocks ran their course count,
    and every count, share or median resting on fewer than `min_count` is None."""
    k = min_count
    counted = [r for r in rows if _first_clock_over(r, now)]
    answered = [r for r in counted if r.first_response_at is not None and r.forwarded_at]
    on_time = [
        r
        for r in answered
        if r.first_response_due_at is None or r.first_response_at <= r.first_response_due_at
    ]
    settled = [r for r in counted if _resolution_clock_over(r, now)]
    ratings = [r.rating for r in counted if r.rating is not None]
    substantiated = sum(1 for r in counted if r.substantiated)

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole >= k else None

    def count(value: int) -> int | None:
        return value if value >= k else None

    median = (
        timedelta(
            seconds=statistics.median(
                (r.first_response_at - r.forwarded_at).total_seconds() for r in answered
            )
        )
        if len(answered) >= k
        else None
    )
    return ComplaintFigures(
        vendor_slug=vendor_slug,
        window_days=window_days,
        min_count=k,
        received=count(len(counted)),
        answered_on_time_share=share(len(on_time), len(counted)),
        median_first_response=median,
        resolved_share=share(sum(1 for r in settled if r.resolved_at), len(settled)),
        substantiated=count(substantiated),
        satisfaction_rate=share(sum(1 for r in ratings if r >= SATISFIED_FROM), len(ratings)),
        ratings=count(len(ratings)),
    )
