"""Scheme versions: publishing never changes an existing grant; superseded versions are refused."""

from __future__ import annotations

import copy

import httpx
from sqlalchemy import func, select

from registry.certification.models import Scheme
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT
from registry.certification.signing import audit_envelope
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from tests.factories import member_vendor
from tests.integration.test_certification_api import DAY, PROBLEM, _attest, _auth, _counts


async def test_a_new_version_leaves_existing_grants_alone(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    first = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    assert first.status_code == 201
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    base = f"/api/v1/associations/{association}/schemes"

    broken = copy.deepcopy(DEFAULT_SCHEME_DOCUMENT)
    broken["criteria"] = []
    refused = await api.post(
        base,
        json={"slug": "consumer-protection", "title_zh": "x", "title_en": "x", "document": broken},
        headers=admin,
    )
    assert refused.status_code == 422
    vendor_refused = await api.post(
        base,
        json={"slug": "consumer-protection", "title_zh": "x", "title_en": "x", "document": {}},
        headers=_auth(vendor.token),
    )
    assert vendor_refused.status_code == 403

    stricter = copy.deepcopy(DEFAULT_SCHEME_DOCUMENT)
    stricter["metrics"]["satisfaction_rate"] = {"min": 0.85}
    published = await api.post(
        base,
        json={
            "slug": "consumer-protection",
            "title_zh": "消费者权益保护自律认证（第二版）",
            "title_en": "Consumer Protection Certification, 2nd edition",
            "document": stricter,
        },
        headers=admin,
    )
    assert published.status_code == 201, published.text
    assert published.json()["scheme"] == "consumer-protection@2"
    listed = (await api.get(base)).json()
    assert [s["scheme"] for s in listed] == ["consumer-protection@2", "consumer-protection@1"]

    status = (await api.get("/api/v1/vendors/acme-cloud/certification")).json()
    assert status["scheme"] == "consumer-protection@1"

    before = await _counts(services)
    superseded = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock, period=(clock.now() - 60 * DAY, clock.now() - 31 * DAY)),
        headers=_auth(vendor.token),
    )
    assert superseded.status_code == 422
    assert superseded.json()["type"] == PROBLEM + "invalid-input"
    assert "superseded" in superseded.json()["detail"]
    assert await _counts(services) == before

    current = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(
            vendor,
            clock,
            period=(clock.now() - 60 * DAY, clock.now() - 31 * DAY),
            scheme="consumer-protection@2",
        ),
        headers=_auth(vendor.token),
    )
    assert current.status_code == 201
    status = (await api.get("/api/v1/vendors/acme-cloud/certification")).json()
    assert status["scheme"] == "consumer-protection@1"
    async with services.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Scheme)) == 2


async def test_an_unaccredited_auditor_account_writes_nothing(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    before = await _counts(services)
    envelope = audit_envelope(
        vendor.key,
        auditor="self-made-audit",
        vendor="acme-cloud",
        period=(clock.now() - 90 * DAY, clock.now()),
        issued_at=clock.now(),
        report=b"report",
    )
    answer = await api.post(
        "/api/v1/audits", json=envelope.to_dict(), headers=_auth(role_tokens[Role.AUDITOR])
    )
    assert answer.status_code == 403
    assert answer.json()["type"] == PROBLEM + "forbidden"
    assert await _counts(services) == before
