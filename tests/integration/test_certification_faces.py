"""Every face of a certificate tells the same story, over HTTP, on both databases.

One vendor's certificate is walked through every state x validity (the moment before,
at and after `valid_until`, and none) x level (none, 1, 2, 3), and for each the four
faces are read as the public reads them: the API's JSON, the profile and verify pages,
the badge image, and the signed badge token. Each must state what the rule below says;
so they all agree with each other. The clock sits on a fraction of a second, so a face
that rounds the time before deciding (as the token once did) is caught at the boundary.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import product

import httpx
import pytest
from sqlalchemy import select, update

from attestations.badge_token import verify_badge_token
from attestations.keys import PublicKey
from registry.certification.models import Certification
from registry.certification.status import CertificationState
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.services import Services
from tests import conftest
from tests.factories import vendor_in_state

STATES = [None, *CertificationState]
"""None: the vendor has no certificate at all."""
VALIDITIES = ["before", "at", "after", "none"]
LEVELS = [None, 1, 2, 3]
VALIDITY_OFFSET = {
    "before": timedelta(milliseconds=300),
    "at": timedelta(0),
    "after": -timedelta(milliseconds=300),
}
"""`valid_until` minus now: now falls before it, exactly on it, or after it."""


@pytest.fixture
def test_database(test_database: conftest.TestDatabase) -> conftest.TestDatabase:
    """The test database with public answers never memoised.

    The walk rewrites the certificate row directly, without the log leaf every real change
    appends, so the cache that follows the log could not know; with no memo, every page
    and badge reads the row as it is.
    """
    settings = replace(test_database.settings, public_cache_max_age=timedelta(0))
    return replace(test_database, settings=settings)


@dataclass(frozen=True)
class Said:
    """What one face states: the kind of verdict, the state in effect and the level."""

    kind: str
    state: str | None
    level: int | None

    @property
    def certified(self) -> bool:
        """The two certified kinds."""
        return self.kind in {"certified", "renewal_due"}


def rule(state: CertificationState | None, validity: str, level: int | None) -> Said:
    """The specification, written out: fail closed, and a validity that ended is expired."""
    if state is None:
        return Said("not_certified", None, None)
    if state is CertificationState.APPLIED:
        return Said("not_certified", "applied", None)
    if not state.certifies:
        return Said(state.value, state.value, None)
    if level is None or validity == "none":
        return Said("not_certified", None, None)
    if validity in {"at", "after"}:
        return Said("expired", "expired", None)
    kind = "certified" if state is CertificationState.ACTIVE else "renewal_due"
    return Said(kind, state.value, level)


STATE_NAMES = {
    "Active": "active",
    "Renewal due": "renewal_due",
    "Suspended": "suspended",
    "Revoked": "revoked",
    "Expired": "expired",
    "Applied, not yet certified": "applied",
    "No certificate": None,
}
LEVEL_NAMES = {
    "L1 · self-attested": 1,
    "L2 · third-party audited": 2,
    "L3 · audited, live service figures within limits": 3,
    "—": None,
}
BADGE_MESSAGES = {
    "suspended": "suspended",
    "revoked": "revoked",
    "expired": "expired",
    "not certified": "not_certified",
}


def _one(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.DOTALL)
    assert found is not None, pattern
    return found.group(1).strip()


def profile_says(html: str) -> Said:
    """The status chip, state and level the profile page shows (English)."""
    chip = _one(r'class="status-line">.*?class="chip chip-([a-z_]+)"', html)
    state = STATE_NAMES[_one(r'data-field="state">(.*?)</dd>', html)]
    level = LEVEL_NAMES[_one(r'data-field="level">(.*?)</dd>', html)]
    return Said(chip, state, level)


def badge_says(svg: str) -> tuple[str, int | None]:
    """The kind and level the badge image's message shows (English)."""
    message = _one(r"<title>Trust Registry: (.*?)</title>", svg)
    certified = re.fullmatch(r"certified L(\d)( · renewal due)?", message)
    if certified is not None:
        kind = "renewal_due" if certified.group(2) else "certified"
        return kind, int(certified.group(1))
    return BADGE_MESSAGES[message], None


async def _set_certificate(
    services: Services,
    slug: str,
    state: CertificationState,
    valid_until: datetime | None,
    level: int | None,
) -> None:
    vendor_id = select(Vendor.id).where(Vendor.slug == slug).scalar_subquery()
    async with services.ctx.db.engine.begin() as connection:
        await connection.execute(
            update(Certification)
            .where(Certification.vendor_id == vendor_id)
            .values(state=state, level=level, valid_until=valid_until)
        )


async def test_every_face_reads_the_one_verdict(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """API, profile and verify pages, badge and token agree on every state x validity x level."""
    certified_slug = await vendor_in_state(services, association, "faces-vendor", "active")
    uncertified_slug = await vendor_in_state(services, association, "faces-nobody", "none")
    clock.set(clock.now() + timedelta(milliseconds=500))
    now = clock.now()
    key = PublicKey.from_base64((await api.get("/api/v1/federation/key")).json()["public_key"])
    api.cookies.clear()

    cases = [(None, "none", None)] + [
        (state, validity, level)
        for state, validity, level in product(CertificationState, VALIDITIES, LEVELS)
    ]
    for state, validity, level in cases:
        case = f"{state} {validity} L{level}"
        slug = uncertified_slug if state is None else certified_slug
        valid_until = now + VALIDITY_OFFSET[validity] if validity != "none" else None
        if state is not None:
            await _set_certificate(services, slug, state, valid_until, level)
        expected = rule(state, validity, level)

        answers = await asyncio.gather(
            api.get(f"/api/v1/vendors/{slug}/certification"),
            api.get(f"/vendors/{slug}", params={"lang": "en"}),
            api.get(f"/verify/{slug}", params={"lang": "en"}),
            api.get(f"/badges/{slug}.svg", params={"lang": "en"}),
            api.get(f"/badges/{slug}/token"),
        )
        assert [a.status_code for a in answers] == [200] * 5, case
        api_json, profile, verify, badge, token = answers

        body = api_json.json()
        assert (body["certified"], body["state"], body["level"]) == (
            expected.certified,
            expected.state,
            expected.level,
        ), case

        assert profile_says(profile.text) == expected, case
        assert _one(r'<section class="verdict verdict-([a-z_]+)"', verify.text) == expected.kind

        assert badge_says(badge.text) == (expected.kind, expected.level), case

        claims = verify_badge_token(token.json()["token"], key, now)
        assert (claims.certified, claims.state, claims.level) == (
            expected.certified,
            expected.state,
            expected.level,
        ), case
        if expected.certified:
            assert valid_until is not None
            assert claims.expires <= valid_until, case
