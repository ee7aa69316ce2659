"""`registry demo` shows the blacklist in every state, about members of both associations
and two unregistered apps, and every demo decision recounts from the logged votes to the
recorded tally."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from registry.blacklist.demo import DEMO_CASES, UNREGISTERED
from registry.blacklist.models import Appeal, BlacklistCase, Listing, Repair
from registry.blacklist.states import AppealState, CaseState, ListingState, RepairState, Tier
from registry.certification.status import CertificationState
from registry.demo import load_demo
from registry.services import Services


@pytest.mark.slow
async def test_the_demo_has_cases_and_listings_in_every_state(services: Services) -> None:
    summary = await load_demo(services, if_empty=False)
    assert f"{DEMO_CASES} blacklist cases" in summary
    async with services.ctx.db.read() as session:
        cases = list((await session.execute(select(BlacklistCase))).scalars())
        listings = list((await session.execute(select(Listing))).scalars())
        appeals = {a.state for a in (await session.execute(select(Appeal))).scalars()}
        repairs = {r.state for r in (await session.execute(select(Repair))).scalars()}
    assert {c.state for c in cases} == set(CaseState)
    assert {c.association_id for c in cases} == {1, 2}
    unregistered = {c.subject_value: c for c in cases if c.vendor_id is None}
    assert set(unregistered) == {app_id for app_id, *_ in UNREGISTERED}
    assert {(c.subject_kind.value, c.governance) for c in unregistered.values()} == {
        ("app_id", "mediating_association")
    }
    assert {c.state for c in unregistered.values()} == {CaseState.AWAITING_ANSWER, CaseState.LISTED}
    assert {listing.state for listing in listings} == set(ListingState)
    assert {listing.tier for listing in listings} == set(Tier)
    assert {AppealState.HEARING, AppealState.OVERTURNED} <= appeals
    assert RepairState.GRANTED in repairs

    states = {}
    for slug in ("jinqiao-loan", "heiyu-data", "qinglan-health", "chenguang-cloud", "xiaoman-shop"):
        status = await services.certification.public_status(slug)
        assert status is not None
        states[slug] = status.state
    assert states == {
        "jinqiao-loan": CertificationState.SUSPENDED,  # general, listed
        "heiyu-data": CertificationState.REVOKED,  # serious, final
        "qinglan-health": CertificationState.ACTIVE,  # overturned on appeal
        "chenguang-cloud": CertificationState.ACTIVE,  # repaired
        "xiaoman-shop": CertificationState.ACTIVE,  # minor: no suspension
    }

    recounts = await services.blacklist_recount.recount_all()
    decided = [c for c in cases if c.state not in {CaseState.AWAITING_ANSWER, CaseState.VOTING}]
    assert len(recounts) >= len(decided)
    assert all(r.agrees for r in recounts), [r for r in recounts if not r.agrees]
