"""The demo's complaint history keeps the complaint model's clocks and shows a real
picture: seasons, one association improving and one not."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from registry.complaints.models import ActorKind, ComplaintStatus, SlaClock
from registry.demo_history import (
    IMPROVING,
    STEADY,
    HistoryVendor,
    PlannedComplaint,
    plan_history,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ADMITTED = NOW - timedelta(days=800)


def vendors() -> list[HistoryVendor]:
    return [
        HistoryVendor(
            vendor_id=index + 1,
            slug=f"vendor-{index}",
            association_id=1 if index % 2 == 0 else 2,
            admitted_at=ADMITTED,
            first_response=timedelta(hours=24),
            resolution=timedelta(days=7),
            performance=IMPROVING if index % 2 == 0 else STEADY,
        )
        for index in range(6)
    ]


def history(count: int = 6000) -> list[PlannedComplaint]:
    return list(plan_history(random.Random(7), count, NOW, vendors()))


def test_every_story_follows_its_clocks_and_stops_today() -> None:
    for planned in history(3000):
        times = [step.at for step in planned.steps]
        assert times == sorted(times)
        assert times[-1] <= NOW
        assert planned.status is planned.steps[-1].to
        assert planned.filed_at > planned.vendor.admitted_at
        if planned.first_response_at is not None:
            assert planned.first_response_at < planned.first_response_due_at
        if planned.breached_clock is not None:
            assert planned.breached_clock is SlaClock.FIRST_RESPONSE
            assert planned.breached_at == planned.first_response_due_at
            assert planned.first_response_at is None
        system_escalations = [
            s
            for s in planned.steps
            if s.to is ComplaintStatus.ESCALATED and s.actor is ActorKind.SYSTEM
        ]
        assert len(system_escalations) == (planned.breached_at is not None)
        for step in planned.steps:
            if step.to is ComplaintStatus.RESOLUTION_PROPOSED:
                assert step.at < planned.resolution_due_at
        if planned.sla_due_at is not None:
            # A clock still running is due in the future: the SLA scan has nothing to catch up.
            assert planned.sla_due_at > NOW
            assert planned.status in {ComplaintStatus.FORWARDED, ComplaintStatus.ACKNOWLEDGED}
        elif planned.status in {ComplaintStatus.FORWARDED, ComplaintStatus.ACKNOWLEDGED}:
            raise AssertionError(f"an open complaint without a running clock: {planned}")
        if planned.rating is not None:
            assert planned.closed_at is not None
            assert planned.rated_at is not None
            assert planned.closed_at < planned.rated_at <= NOW
        if planned.status is ComplaintStatus.RESOLVED:
            assert planned.substantiated is planned.conceded


def test_double_eleven_brings_more_complaints_than_the_spring_festival() -> None:
    by_month: dict[int, int] = {}
    for planned in history():
        by_month[planned.filed_at.month] = by_month.get(planned.filed_at.month, 0) + 1
    assert by_month[11] > 1.6 * by_month[2]
    assert by_month[6] > by_month[2]


def _on_time_share(complaints: list[PlannedComplaint]) -> float:
    answered = [p for p in complaints if p.first_response_at or p.breached_at]
    return sum(p.first_response_at is not None for p in answered) / len(answered)


def test_one_association_improves_and_the_other_does_not() -> None:
    planned = history()
    first_half_year = NOW - timedelta(days=700)
    last_half_year = NOW - timedelta(days=200)
    for association, change in ((1, "improves"), (2, "steady")):
        mine = [p for p in planned if p.vendor.association_id == association]
        early = _on_time_share([p for p in mine if p.filed_at < first_half_year])
        late = _on_time_share([p for p in mine if p.filed_at > last_half_year])
        if change == "improves":
            assert late - early > 0.2, (early, late)
        else:
            assert abs(late - early) < 0.1, (early, late)


def test_the_same_seed_gives_the_same_history() -> None:
    first = [(p.filed_at, p.category, p.region, p.status) for p in history(500)]
    again = [(p.filed_at, p.category, p.region, p.status) for p in history(500)]
    assert first == again


def test_months_before_the_vendors_were_admitted_take_none_and_the_count_is_kept() -> None:
    """`registry demo --months 36` reaches back past the vendors' admission (800 days):
    every complaint still comes, all of them after the vendors were admitted."""
    planned = list(plan_history(random.Random(7), 2000, NOW, vendors(), months=36))
    assert len(planned) == 2000
    assert min(p.filed_at for p in planned) > ADMITTED
    assert list(plan_history(random.Random(7), 10, ADMITTED, vendors())) == []
