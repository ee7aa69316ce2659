"""Anonymous writes are bounded: what reaches the public log is capped and checked, each
client and credit code gets a limited number of applications and challenges, a refused
application frees what it claimed, a competing application is flagged rather than
refused, and spent transient rows are cleaned up by a scheduled job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from attestations.keys import SigningKey
from registry.accounts.models import LoginChallenge
from registry.client import application_envelope
from registry.db.base import Base
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor, VendorDomain
from registry.rate_limits import ClientAction
from registry.scheduling import forget_transient_rows_job
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import member_vendor, new_credit_code


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _application(
    clock: ManualClock,
    association: str,
    slug: str,
    *,
    key: SigningKey | None = None,
    credit_code: str | None = None,
    domains: tuple[str, ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    return application_envelope(
        key or SigningKey.generate(),
        association=association,
        credit_code=credit_code or new_credit_code(),
        slug=slug,
        name_zh=f"{slug}科技有限公司",
        name_en=f"{slug.title()} Technology Co., Ltd.",
        domains=list(domains) or [f"{slug}.example.cn"],
        issued_at=clock.now() - timedelta(seconds=5),
        **fields,
    ).to_dict()


async def _count(services: Services, model: type[Base]) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_free_text_that_would_reach_the_log_is_checked_and_capped(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    before = await _count(services, LogEntry)
    refused = {
        "a 700 KB website": {"website": "https://x.example/" + "a" * 700_000},
        "a website over 300 characters": {"website": "https://x.example/" + "a" * 300},
        "a website that is no http(s) URL": {"website": "javascript:alert(1)"},
        "a website with credentials": {"website": "https://user:pw@x.example/"},
        "a malformed e-mail": {"contact_email": "not an address"},
        "an e-mail over 254 characters": {"contact_email": "a" * 60 + "@" + "b" * 200 + ".cn"},
    }
    for n, (what, fields) in enumerate(refused.items()):
        answer = await api.post(
            "/api/v1/applications/", json=_application(clock, association, f"bad-{n}", **fields)
        )
        assert answer.status_code == 422, (what, answer.text[:300])
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"], what
    assert await _count(services, LogEntry) == before
    accepted = await api.post(
        "/api/v1/applications/",
        json=_application(
            clock,
            association,
            "good",
            website="https://www.good.example.cn/about",
            contact_email="service@good.example.cn",
        ),
    )
    assert accepted.status_code == 201, accepted.text


async def test_applications_are_limited_per_client(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    limit = services.ctx.settings.application_client_limit
    for n in range(limit):
        answer = await api.post(
            "/api/v1/applications/", json=_application(clock, association, f"burst-{n}")
        )
        assert answer.status_code == 201, answer.text
    entries = await _count(services, LogEntry)
    limited = await api.post(
        "/api/v1/applications/", json=_application(clock, association, "one-too-many")
    )
    assert limited.status_code == 429, limited.text
    assert limited.json()["type"].endswith("/rate-limited")
    assert "this address" in limited.json()["detail"]
    assert await _count(services, LogEntry) == entries
    clock.advance(services.ctx.settings.application_client_window)
    later = await api.post(
        "/api/v1/applications/", json=_application(clock, association, "one-too-many")
    )
    assert later.status_code == 201, later.text


async def test_applications_are_limited_per_credit_code(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    credit_code = new_credit_code()
    for n in range(services.ctx.settings.application_credit_code_limit):
        answer = await api.post(
            "/api/v1/applications/",
            json=_application(clock, association, f"same-code-{n}", credit_code=credit_code),
        )
        assert answer.status_code == 201, answer.text
    limited = await api.post(
        "/api/v1/applications/",
        json=_application(clock, association, "same-code-again", credit_code=credit_code),
    )
    assert limited.status_code == 429, limited.text
    assert "this credit code" in limited.json()["detail"]
    other_code = await api.post(
        "/api/v1/applications/", json=_application(clock, association, "another-code")
    )
    assert other_code.status_code == 201, other_code.text


async def test_a_competing_application_is_flagged_and_a_refusal_frees_what_it_claimed(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    credit_code = new_credit_code()
    domains = ("acme.example.cn", "shop.acme.example.cn")
    # Someone else applies first with the company's credit code and domains.
    squatter = await api.post(
        "/api/v1/applications/",
        json=_application(clock, association, "acme", credit_code=credit_code, domains=domains),
    )
    assert squatter.status_code == 201, squatter.text
    # The real company is not blocked: its application is accepted and both are flagged.
    real = await api.post(
        "/api/v1/applications/",
        json=_application(
            clock, association, "acme-cloud", credit_code=credit_code, domains=domains
        ),
    )
    assert real.status_code == 201, real.text
    squatter_id, real_id = squatter.json()["id"], real.json()["id"]
    listed = await api.get("/api/v1/applications/?status=pending", headers=admin)
    flags = {a["id"]: (a["vendor"], a["competing_applications"]) for a in listed.json()["items"]}
    assert flags == {squatter_id: ("acme", [real_id]), real_id: ("acme-cloud", [squatter_id])}
    # A third company claiming one of the domains is not blocked by pending claims either.
    other = await api.post(
        "/api/v1/applications/",
        json=_application(clock, association, "acme-fake", domains=("acme.example.cn",)),
    )
    assert other.status_code == 201, other.text

    refused = await api.post(
        f"/api/v1/applications/{squatter_id}/reject",
        json={"reason": "not the company"},
        headers=admin,
    )
    assert refused.status_code == 200, refused.text
    shown = await api.get(f"/api/v1/applications/{real_id}", headers=admin)
    assert shown.json()["competing_applications"] == []
    approved = await api.post(
        f"/api/v1/applications/{real_id}/approve", json={"reason": "checked"}, headers=admin
    )
    assert approved.status_code == 200, approved.text
    vendor = await api.get("/api/v1/vendors/acme-cloud")
    assert vendor.status_code == 200, vendor.text
    assert vendor.json()["credit_code"] == credit_code
    assert sorted(await _claimed_domains(services, "acme-cloud")) == sorted(domains)
    # Claims are not ownership: the third company may claim too, and only a proof of
    # control makes a domain anyone's (tests/integration/test_domain_proof.py).
    fake = await api.post(
        f"/api/v1/applications/{other.json()['id']}/approve", json={}, headers=admin
    )
    assert fake.status_code == 200, fake.text
    assert await _claimed_domains(services, "acme-fake") == ["acme.example.cn"]


async def _claimed_domains(services: Services, slug: str) -> list[str]:
    """The domains a vendor claims, proven or pending (the public record shows only the
    proven ones)."""
    async with services.ctx.db.read() as session:
        rows = await session.scalars(
            select(VendorDomain.domain)
            .join(Vendor, Vendor.id == VendorDomain.vendor_id)
            .where(Vendor.slug == slug)
            .order_by(VendorDomain.domain)
        )
        return list(rows)


async def test_approving_one_of_competing_applications_refuses_the_others(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    credit_code = new_credit_code()
    ids = []
    for slug in ("first-claim", "second-claim"):
        answer = await api.post(
            "/api/v1/applications/",
            json=_application(clock, association, slug, credit_code=credit_code),
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    entries = await _count(services, LogEntry)
    approved = await api.post(f"/api/v1/applications/{ids[1]}/approve", json={}, headers=admin)
    assert approved.status_code == 200, approved.text
    other = (await api.get(f"/api/v1/applications/{ids[0]}", headers=admin)).json()
    assert other["status"] == "rejected"
    assert f"application {ids[1]}" in other["reason"]
    # Each decision is its own leaf, in one consistent log.
    assert await _count(services, LogEntry) == entries + 2
    assert await _claimed_domains(services, "second-claim") == ["second-claim.example.cn"]
    assert (await api.get("/api/v1/vendors/first-claim")).status_code == 404
    proof = await api.get(
        "/api/v1/log/consistency", params={"first": entries, "second": entries + 2}
    )
    assert proof.status_code == 200, proof.text


async def test_a_refused_applicant_frees_its_slug_and_domains_for_another_company(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    first = await api.post(
        "/api/v1/applications/",
        json=_application(clock, association, "brand", domains=("brand.example.cn",)),
    )
    assert first.status_code == 201, first.text
    refused = await api.post(
        f"/api/v1/applications/{first.json()['id']}/reject",
        json={"reason": "not the brand owner"},
        headers=admin,
    )
    assert refused.status_code == 200, refused.text
    second = await api.post(
        "/api/v1/applications/",
        json=_application(clock, association, "brand", domains=("brand.example.cn",)),
    )
    assert second.status_code == 201, second.text
    approved = await api.post(
        f"/api/v1/applications/{second.json()['id']}/approve", json={}, headers=admin
    )
    assert approved.status_code == 200, approved.text
    assert (await api.get("/api/v1/vendors/brand")).status_code == 200
    assert await _claimed_domains(services, "brand") == ["brand.example.cn"]


async def test_challenges_are_limited_per_client_and_spent_rows_are_cleaned_up(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    member = await member_vendor(services, association, "login-vendor")
    settings = services.ctx.settings
    body = {"key_id": member.key.key_id}
    for _ in range(settings.challenge_client_limit):
        answer = await api.post("/api/v1/auth/challenge", json=body)
        assert answer.status_code == 200, answer.text
    limited = await api.post("/api/v1/auth/challenge", json=body)
    assert limited.status_code == 429, limited.text
    assert limited.json()["type"].endswith("/rate-limited")
    assert await _count(services, LoginChallenge) == settings.challenge_client_limit
    assert await _count(services, ClientAction) > 0

    # Nothing is due yet: the challenges are live and the counts within their windows.
    await forget_transient_rows_job(services)
    assert await _count(services, LoginChallenge) == settings.challenge_client_limit
    clock.advance(settings.challenge_client_window)
    fresh = await api.post("/api/v1/auth/challenge", json=body)
    assert fresh.status_code == 200, fresh.text
    await forget_transient_rows_job(services)
    # The expired challenges are gone; the one just issued stays usable.
    assert await _count(services, LoginChallenge) == 1
    clock.advance(settings.application_credit_code_window)
    await forget_transient_rows_job(services)
    assert await _count(services, LoginChallenge) == 0
    assert await _count(services, ClientAction) == 0
