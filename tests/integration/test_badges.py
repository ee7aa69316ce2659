"""Badges over HTTP on both databases: faces by state, fail-closed, ETags, shields JSON,
signed tokens that verify offline, and cache invalidation by the log."""

from __future__ import annotations

import asyncio
import time

import httpx

from attestations.badge_token import verify_badge_token
from attestations.keys import PublicKey
from public_site.reads import PublicReads
from registry.certification.machine import Trigger
from registry.context import RegistryContext
from registry.db.session import Database, create_engine
from registry.public_cache import LogWatchedCache
from registry.services import Services
from registry.settings import Settings
from tests.factories import admin_caller, vendor_in_state

FACES = {
    "active": ("已认证 L1", "certified L1", "1a7f37"),
    "suspended": ("已暂停", "suspended", "b42318"),
    "revoked": ("已撤销", "revoked", "7a1212"),
    "expired": ("已过期", "expired", "6b3fa0"),
    "none": ("未认证", "not certified", "57606a"),
}


async def test_badge_face_follows_the_certificate(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """SVG and shields JSON say what the certificate says, in Chinese by default."""
    for state, (zh_text, en_text, colour) in FACES.items():
        slug = await vendor_in_state(services, association, f"vendor-{state}", state)
        svg = await api.get(f"/badges/{slug}.svg")
        assert svg.status_code == 200
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert zh_text in svg.text, state
        assert f"#{colour}" in svg.text
        assert en_text in (await api.get(f"/badges/{slug}.svg", params={"lang": "en"})).text
        shields = (await api.get(f"/badges/{slug}.json", params={"lang": "en"})).json()
        assert shields["schemaVersion"] == 1
        assert shields["message"] == en_text
        assert shields["color"] == colour
        assert shields["isError"] is (state != "active")


async def test_unknown_vendors_get_the_neutral_badge(api: httpx.AsyncClient) -> None:
    """Never an error image: unknown or malformed slugs read "not certified"."""
    for slug in ["no-such-vendor", "UPPER", "a" * 80, "..", "x%00y"]:
        answer = await api.get(f"/badges/{slug}.svg")
        assert answer.status_code == 200, slug
        assert "未认证" in answer.text
        assert answer.headers["access-control-allow-origin"] == "*"


async def test_strong_etag_and_short_cache(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """If-None-Match with the ETag answers 304; the ETag changes with the face."""
    slug = await vendor_in_state(services, association, "etag-vendor", "none")
    first = await api.get(f"/badges/{slug}.svg")
    etag = first.headers["etag"]
    assert not etag.startswith("W/")
    assert "max-age=10" in first.headers["cache-control"]
    assert "content-encoding" not in first.headers
    again = await api.get(f"/badges/{slug}.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    english = await api.get(f"/badges/{slug}.svg", params={"lang": "en"})
    assert english.headers["etag"] != etag
    other = await api.get(f"/badges/{slug}.svg", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


async def test_wrong_extension_is_a_problem(api: httpx.AsyncClient) -> None:
    """Only .svg and .json are badges; anything else is an API-style 404."""
    answer = await api.get("/badges/someone.png")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_token_verifies_offline_and_states_the_certificate(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """The token verifies with the published federation key and carries the log index."""
    slug = await vendor_in_state(services, association, "token-vendor", "active")
    answer = await api.get(f"/badges/{slug}/token")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    key = PublicKey.from_base64((await api.get("/api/v1/federation/key")).json()["public_key"])
    claims = verify_badge_token(body["token"], key, services.ctx.clock.now())
    status = await services.certification.public_status(slug)
    assert status is not None
    assert claims.vendor == slug
    assert claims.certified
    assert (claims.state, claims.level) == ("active", 1)
    assert claims.log_index == status.log_index
    assert claims.valid_until == status.valid_until
    assert (claims.expires - claims.issued_at).total_seconds() == 24 * 3600
    assert body["claims"]["certified"] is True


async def test_token_of_suspended_vendor_says_not_certified(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """A genuine token can still say "not certified"; unknown vendors get a 404 problem."""
    slug = await vendor_in_state(services, association, "held-vendor", "suspended")
    body = (await api.get(f"/badges/{slug}/token")).json()
    assert body["claims"]["state"] == "suspended"
    assert body["claims"]["certified"] is False
    missing = await api.get("/badges/nobody-here/token")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404


async def test_suspension_reaches_the_badge_through_the_log(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """The cached certified badge turns to suspended once the transition is logged."""
    slug = await vendor_in_state(services, association, "live-vendor", "active")
    assert "已认证 L1" in (await api.get(f"/badges/{slug}.svg")).text  # now cached
    await services.certification.decide_by_admin(
        await admin_caller(services), slug, Trigger.SUSPEND, "missed audit"
    )
    deadline = time.monotonic() + 2.0
    text = ""
    while time.monotonic() < deadline:
        text = (await api.get(f"/badges/{slug}.svg")).text
        if "已暂停" in text:
            break
        await asyncio.sleep(0.05)
    assert "已暂停" in text


async def test_database_failure_reads_not_certified(ctx: RegistryContext) -> None:
    """With the database unreachable the badge fails closed, not open and not as an error."""
    broken_settings = Settings(database_url="sqlite+aiosqlite:////nonexistent/dir/registry.db")
    broken = RegistryContext(
        settings=broken_settings,
        db=Database(create_engine(broken_settings)),
        clock=ctx.clock,
        federation_key=ctx.federation_key,
    )
    reads = PublicReads(Services(broken), LogWatchedCache(max_entries=10, max_age_seconds=60))
    try:
        decided = await reads.verdict("yunzhan-cloud")
    finally:
        await broken.db.dispose()
    assert not decided.certified
    assert decided.kind == "not_certified"
