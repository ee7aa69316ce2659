"""Applying, deciding, logging in, rotating and revoking keys over HTTP, on both databases."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from attestations.envelope import Envelope, EnvelopeSignature, sign_envelope
from attestations.keys import SigningKey
from registry.client import application_envelope, rotation_envelope
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.keys.models import SigningKeyRecord
from registry.membership.models import Vendor, VendorApplication
from registry.services import Services
from tests.factories import member_vendor, new_credit_code


def _application(key: SigningKey, clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "association": "csia",
        "credit_code": new_credit_code(),
        "slug": "acme-cloud",
        "name_zh": "艾克米云计算有限公司",
        "name_en": "Acme Cloud Co., Ltd.",
        "domains": ["acme-cloud.cn"],
        "issued_at": clock.now(),
    }
    fields.update(overrides)
    return application_envelope(key, **fields).to_dict()


async def _counts(services: Services) -> tuple[int, int, int, int]:
    async with services.ctx.db.read() as session:
        return (
            await session.scalar(select(func.count()).select_from(Vendor)) or 0,
            await session.scalar(select(func.count()).select_from(VendorApplication)) or 0,
            await session.scalar(select(func.count()).select_from(SigningKeyRecord)) or 0,
            await services.log.size(session),
        )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _login(api: httpx.AsyncClient, key: SigningKey) -> httpx.Response:
    challenge = (await api.post("/api/v1/auth/challenge", json={"key_id": key.key_id})).json()
    envelope = sign_envelope(
        base64.b64decode(challenge["payload"]), [key], payload_type=challenge["payload_type"]
    )
    return await api.post("/api/v1/auth/token", json={"envelope": envelope.to_dict()})


async def test_apply_approve_login_rotate_revoke(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """The whole life of a vendor's membership and keys, as the README walks it."""
    key = SigningKey.generate()
    body = _application(key, clock, size="small")
    created = await api.post("/api/v1/applications/", json=body)
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["status"] == "pending"
    assert application["key_id"] == key.key_id
    assert application["log_index"] == 0

    again = await api.post("/api/v1/applications/", json=body)
    assert again.status_code == 200
    assert again.json()["id"] == application["id"]

    # Applicants are not public and cannot log in yet.
    assert (await api.get("/api/v1/vendors/acme-cloud")).status_code == 404
    pending = await api.post("/api/v1/auth/challenge", json={"key_id": key.key_id})
    assert pending.status_code == 404
    assert "not been approved" in pending.json()["detail"]

    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    listed = (await api.get("/api/v1/applications/?status=pending", headers=admin)).json()
    assert [a["id"] for a in listed["items"]] == [application["id"]]
    approved = await api.post(
        f"/api/v1/applications/{application['id']}/approve",
        json={"reason": "documents checked"},
        headers=admin,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["decision_log_index"] == 1
    twice = await api.post(
        f"/api/v1/applications/{application['id']}/approve", json={}, headers=admin
    )
    assert twice.status_code == 409

    vendor = (await api.get("/api/v1/vendors/acme-cloud")).json()
    assert vendor["status"] == "active"
    assert vendor["size"] == "small"  # as the application declared it
    assert vendor["domains"] == []  # listed, not yet proven: not shown as the vendor's

    login = await _login(api, key)
    assert login.status_code == 200, login.text
    token = login.json()
    assert token["role"] == "vendor_admin"
    assert token["vendor"] == "acme-cloud"
    whoami = (await api.get("/api/v1/auth/whoami", headers=_auth(token["token"]))).json()
    assert whoami["role"] == "vendor_admin"

    new_key = SigningKey.generate()
    rotation = rotation_envelope(key, new_key, vendor="acme-cloud", issued_at=clock.now())
    rotated = await api.post(
        "/api/v1/vendors/acme-cloud/keys/", json=rotation.to_dict(), headers=_auth(token["token"])
    )
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["authorised_by_key_id"] == key.key_id
    assert rotated.json()["log_index"] == 2

    clock.advance(timedelta(minutes=1))
    revoked = await api.post(
        f"/api/v1/keys/{key.key_id}/revoke",
        json={"reason": "laptop lost"},
        headers=_auth(token["token"]),
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revocation_log_index"] == 3

    keys = (await api.get("/api/v1/vendors/acme-cloud/keys/")).json()
    assert {k["key_id"]: (k["status"], k["log_index"]) for k in keys} == {
        key.key_id: ("revoked", 1),
        new_key.key_id: ("active", 2),
    }
    # The revoked key can neither log in, nor keep the token it logged in for, nor
    # authorise another rotation.
    late_login = await api.post("/api/v1/auth/challenge", json={"key_id": key.key_id})
    assert late_login.status_code == 404
    assert "was revoked" in late_login.json()["detail"]
    assert "laptop lost" in late_login.json()["detail"]
    assert (await api.get("/api/v1/auth/whoami", headers=_auth(token["token"]))).status_code == 401
    current = await _login(api, new_key)
    assert current.status_code == 200
    third = SigningKey.generate()
    late = rotation_envelope(key, third, vendor="acme-cloud", issued_at=clock.now())
    refused = await api.post(
        "/api/v1/vendors/acme-cloud/keys/",
        json=late.to_dict(),
        headers=_auth(current.json()["token"]),
    )
    assert refused.status_code == 422
    assert "revoked" in refused.json()["detail"]
    # Every decision is in the log: application, approval, rotation, revocation.
    async with services.ctx.db.read() as session:
        assert await services.log.size(session) == 4


@pytest.mark.parametrize(
    ("overrides", "status", "needle"),
    [
        ({"credit_code": "91350100M000100Y44"}, 422, "check character"),
        ({"credit_code": "9135010OM000100Y43"}, 422, "not allowed"),
        ({"credit_code": "123"}, 422, "18 characters"),
        ({"association": "nope"}, 422, "no association"),
        ({"slug": "Bad Slug!"}, 422, "slug"),
        ({"domains": ["not a domain"]}, 422, "host name"),
        ({"name_zh": "  "}, 422, "name_zh"),
        ({"size": "huge"}, 422, "size must be one of micro, small, medium, large"),
    ],
)
async def test_invalid_applications_write_nothing(
    *,
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    overrides: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    """Each bad field gets a 4xx problem naming it, and nothing is stored or logged."""
    before = await _counts(services)
    response = await api.post(
        "/api/v1/applications/", json=_application(SigningKey.generate(), clock, **overrides)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert needle in response.json()["detail"]
    assert await _counts(services) == before


async def test_signature_problems_write_nothing(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """Tampered payloads, foreign signers and stale or future statements are refused."""
    before = await _counts(services)
    key = SigningKey.generate()
    good = Envelope.from_dict(_application(key, clock))
    tampered = Envelope(good.payload_type, good.payload + b" ", good.signatures)
    other = SigningKey.generate()
    foreign = sign_envelope(good.payload, [other])
    bad_sig = Envelope(good.payload_type, good.payload, (EnvelopeSignature(key.key_id, bytes(64)),))
    stale = _application(key, clock, issued_at=clock.now() - timedelta(days=30))
    future = _application(key, clock, issued_at=clock.now() + timedelta(hours=2))
    cases = [
        (tampered.to_dict(), "does not verify"),
        (foreign.to_dict(), "not signed by any key"),
        (bad_sig.to_dict(), "does not verify"),
        (stale, "older than"),
        (future, "future"),
    ]
    for body, needle in cases:
        response = await api.post("/api/v1/applications/", json=body)
        assert response.status_code == 422, response.text
        assert needle in response.json()["detail"], response.json()
    assert await _counts(services) == before


async def test_malformed_and_oversize_bodies(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Broken JSON, wrong shapes and bodies over the cap get 4xx problems, nothing else."""
    before = await _counts(services)
    broken = await api.post(
        "/api/v1/applications/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["type"].endswith("/malformed-request")
    for deep in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000):
        nested = await api.post(
            "/api/v1/applications/", content=deep, headers={"content-type": "application/json"}
        )
        assert nested.status_code == 400, nested.text
        assert "too deeply" in nested.json()["detail"]
    wrong_shape = await api.post("/api/v1/applications/", json={"payload": 1})
    assert wrong_shape.status_code == 400
    assert "payloadType" in wrong_shape.text or "payload" in wrong_shape.json()["detail"]
    huge = await api.post(
        "/api/v1/applications/",
        content=b'{"payload": "' + b"A" * (services.ctx.settings.max_body_bytes + 10) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["type"].endswith("/body-too-large")
    unknown_route = await api.get("/api/v1/nothing-here")
    assert unknown_route.status_code == 404
    assert unknown_route.headers["content-type"].startswith("application/problem+json")
    assert await _counts(services) == before


async def test_conflicting_applications(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """A member's credit code, a taken slug, a taken domain or a reused key are conflicts."""
    member = await member_vendor(services, association, "taken")
    # A domain is another vendor's once proven (a pending claim blocks nobody).
    await services.domains.record_demo_proof("taken", "taken.example.cn")
    before = await _counts(services)
    async with services.ctx.db.read() as session:
        code = await session.scalar(select(Vendor.credit_code).where(Vendor.slug == "taken"))
    cases = [
        (_application(SigningKey.generate(), clock, credit_code=code, slug="fresh"), "member"),
        (_application(SigningKey.generate(), clock, slug="taken"), "slug"),
        (_application(SigningKey.generate(), clock, domains=["taken.example.cn"]), "domain"),
        (_application(member.key, clock, slug="fresh-two"), "already registered"),
    ]
    for body, needle in cases:
        response = await api.post("/api/v1/applications/", json=body)
        assert response.status_code == 409, response.text
        assert needle in response.json()["detail"]
    assert await _counts(services) == before


async def test_rejection_needs_reason_and_frees_reapplication(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """A rejection is logged with its reason; the vendor may apply again with a new key."""
    code = new_credit_code()
    first = await api.post(
        "/api/v1/applications/",
        json=_application(SigningKey.generate(), clock, credit_code=code),
    )
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    app_id = first.json()["id"]
    no_reason = await api.post(f"/api/v1/applications/{app_id}/reject", json={}, headers=admin)
    assert no_reason.status_code == 422
    rejected = await api.post(
        f"/api/v1/applications/{app_id}/reject",
        json={"reason": "credit code does not match the licence"},
        headers=admin,
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "credit code does not match the licence"
    second = await api.post(
        "/api/v1/applications/",
        json=_application(SigningKey.generate(), clock, credit_code=code),
    )
    assert second.status_code == 201, second.text


async def test_admins_see_only_their_association(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """An admin of another association can neither list nor decide this one's applications."""
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "Shanghai SIA")
    other = await services.accounts.create_principal_with_token(
        role=Role.ASSOCIATION_ADMIN, display_name="sipa admin", association_slug="sipa"
    )
    created = await api.post(
        "/api/v1/applications/", json=_application(SigningKey.generate(), clock)
    )
    app_id = created.json()["id"]
    listed = (await api.get("/api/v1/applications/", headers=_auth(other.token))).json()
    assert listed["items"] == []
    denied = await api.post(
        f"/api/v1/applications/{app_id}/approve", json={}, headers=_auth(other.token)
    )
    assert denied.status_code == 403
    federation = _auth(role_tokens[Role.FEDERATION_ADMIN])
    assert (await api.get(f"/api/v1/applications/{app_id}", headers=federation)).status_code == 200


async def test_challenges_are_single_use_and_expire(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """A replayed or late signed challenge is refused; a foreign signature too."""
    member = await member_vendor(services, association, "login-vendor")
    challenge = (
        await api.post("/api/v1/auth/challenge", json={"key_id": member.key.key_id})
    ).json()
    payload = base64.b64decode(challenge["payload"])
    signed = sign_envelope(payload, [member.key], payload_type=challenge["payload_type"])
    first = await api.post("/api/v1/auth/token", json={"envelope": signed.to_dict()})
    assert first.status_code == 200
    replay = await api.post("/api/v1/auth/token", json={"envelope": signed.to_dict()})
    assert replay.status_code == 409
    assert "already used" in replay.json()["detail"]

    challenge = (
        await api.post("/api/v1/auth/challenge", json={"key_id": member.key.key_id})
    ).json()
    payload = base64.b64decode(challenge["payload"])
    impostor = SigningKey.generate()
    forged = Envelope(
        challenge["payload_type"],
        payload,
        (
            EnvelopeSignature(
                member.key.key_id,
                impostor.sign(
                    sign_envelope(payload, [impostor], challenge["payload_type"]).payload
                ),
            ),
        ),
    )
    refused = await api.post("/api/v1/auth/token", json={"envelope": forged.to_dict()})
    assert refused.status_code == 422
    clock.advance(services.ctx.settings.challenge_ttl + timedelta(seconds=1))
    late = sign_envelope(payload, [member.key], payload_type=challenge["payload_type"])
    expired = await api.post("/api/v1/auth/token", json={"envelope": late.to_dict()})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    unknown = await api.post("/api/v1/auth/challenge", json={"key_id": "ab" * 32})
    assert unknown.status_code == 404


async def test_directory_search_and_paging(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """q matches either name, the credit code or a proven domain; pages are bounded."""
    alpha = await member_vendor(services, association, "alpha-soft")
    await member_vendor(services, association, "beta-soft")
    await services.domains.record_demo_proof("beta-soft", "beta-soft.example.cn")
    unproven = (await api.get("/api/v1/vendors/", params={"q": "alpha-soft.example"})).json()
    assert unproven["items"] == []
    by_zh = (await api.get("/api/v1/vendors/", params={"q": "alpha-soft科技"})).json()
    assert [v["slug"] for v in by_zh["items"]] == ["alpha-soft"]
    by_en = (await api.get("/api/v1/vendors/", params={"q": "BETA-SOFT tech"})).json()
    assert [v["slug"] for v in by_en["items"]] == ["beta-soft"]
    by_code = (await api.get("/api/v1/vendors/", params={"q": alpha.credit_code})).json()
    assert [v["slug"] for v in by_code["items"]] == ["alpha-soft"]
    by_domain = (await api.get("/api/v1/vendors/", params={"q": "beta-soft.example"})).json()
    assert [v["slug"] for v in by_domain["items"]] == ["beta-soft"]
    paged = (await api.get("/api/v1/vendors/", params={"page_size": 1, "page": 2})).json()
    assert paged["page"] == {"page": 2, "page_size": 1, "total": 2}
    assert len(paged["items"]) == 1
    too_big = await api.get("/api/v1/vendors/", params={"page_size": 1000})
    assert too_big.status_code == 400
    assert "page_size" in too_big.json()["detail"]


async def test_federation_key_and_openapi(api: httpx.AsyncClient, services: Services) -> None:
    """The federation key is published with its key id and C2SP verifier key; docs are served."""
    key = (await api.get("/api/v1/federation/key")).json()
    public = services.ctx.federation_key.public_key
    assert key["public_key"] == public.to_base64()
    assert key["key_id"] == public.key_id
    assert key["verifier_key"].startswith(services.ctx.settings.log_origin + "+")
    docs = await api.get("/api/docs")
    assert docs.status_code == 200
    schema = (await api.get("/api/docs/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/applications" in schema["paths"]
    # Every operation says who may call it; restricted ones name the bearer scheme.
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
    ]
    assert len(operations) > 40
    for path, method, operation in operations:
        description = operation.get("description", "")
        assert "**Who may call:**" in description, (method, path)
        restricted = "Bearer token with role" in description
        assert (operation.get("security") == [{"BearerToken": []}]) is restricted, (method, path)
    accredit = schema["paths"]["/api/v1/auditors"]["post"]["description"]
    assert accredit.endswith("Bearer token with role federation_admin.")
    # Errors are documented as what they are: problem+json.
    responses = schema["paths"]["/api/v1/applications"]["post"]["responses"]
    for status in ("400", "409", "413", "415", "422"):
        content = responses[status]["content"]
        assert list(content) == ["application/problem+json"], status
        assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")


async def test_envelopes_are_read_as_strictly_as_the_library_reads_them(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """Unknown members (in the envelope or a signature) and duplicate keys are refused
    over HTTP as `Envelope.from_json` refuses them, on single and batch routes alike;
    nothing is stored. The same envelope, clean, is accepted."""
    vendor = await member_vendor(services, association, "strict-batch")
    key = SigningKey.generate()
    body = _application(key, clock)
    before = await _counts(services)
    unknown = await api.post("/api/v1/applications/", json={**body, "comment": "ignored?"})
    assert unknown.status_code == 400
    assert "comment" in unknown.text
    signature = {**body["signatures"][0], "note": "x"}
    in_signature = await api.post("/api/v1/applications/", json={**body, "signatures": [signature]})
    assert in_signature.status_code == 400
    assert "note" in in_signature.text
    twice = json.dumps(body).replace('"payload": ', '"payload": "eA==", "payload": ', 1)
    duplicate = await api.post(
        "/api/v1/applications/", content=twice, headers={"Content-Type": "application/json"}
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"] == {"body": "duplicate key 'payload' in JSON object"}
    batch = await api.post(
        f"/api/v1/vendors/{vendor.slug}/attestations/batch",
        content='{"envelopes": [' + twice + "]}",
        headers={"Content-Type": "application/json", **_auth(vendor.token)},
    )
    assert batch.status_code == 400
    assert "duplicate key 'payload'" in batch.text
    assert await _counts(services) == before
    assert (await api.post("/api/v1/applications/", json=body)).status_code == 201
