"""Revoking a key ends its power at once, over HTTP, on both databases.

The tokens it logged in for die with it; nothing it signs is accepted once the server's
clock has passed the revocation, whatever time the statement claims; what it signed
before stays valid and verifiable; and a revocation for compromise lists (and flags
publicly) exactly what the key signed from the compromise on.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from attestations.canonical import canonicalize
from attestations.envelope import sign_envelope
from attestations.keys import SigningKey
from registry.accounts.models import ApiToken
from registry.certification.models import AttestationRecord
from registry.certification.signing import attestation_envelope
from registry.client import rotation_envelope
from registry.db.migrate import alembic_config, upgrade
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, isoformat
from registry.keys.models import KeyStatus, SigningKeyRecord
from registry.services import Services
from registry.transparency.offline import verify_entry_bundle
from tests.cli import run_cli
from tests.factories import MemberVendor, member_vendor

DAY = timedelta(days=1)
REVISION = "0009"
"""The migration that gave revocation its power."""
PROBLEM_JSON = "application/problem+json"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _challenge(api: httpx.AsyncClient, key: SigningKey) -> dict[str, Any]:
    response = await api.post("/api/v1/auth/challenge", json={"key_id": key.key_id})
    assert response.status_code == 200, response.text
    challenge: dict[str, Any] = response.json()
    return challenge


async def _answer(
    api: httpx.AsyncClient, key: SigningKey, challenge: dict[str, Any], payload: bytes
) -> httpx.Response:
    envelope = sign_envelope(payload, [key], payload_type=challenge["payload_type"])
    return await api.post("/api/v1/auth/token", json={"envelope": envelope.to_dict()})


async def _login(api: httpx.AsyncClient, key: SigningKey) -> str:
    challenge = await _challenge(api, key)
    response = await _answer(api, key, challenge, base64.b64decode(challenge["payload"]))
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def _counts(services: Services) -> tuple[int, int, int, int]:
    """Keys, attestations, revoked tokens and log leaves: what a refusal must not change."""
    async with services.ctx.db.read() as session:
        return (
            await session.scalar(select(func.count()).select_from(SigningKeyRecord)) or 0,
            await session.scalar(select(func.count()).select_from(AttestationRecord)) or 0,
            await session.scalar(select(func.count()).where(ApiToken.revoked_at.is_not(None))) or 0,
            await services.log.size(session),
        )


def _attest(
    member: MemberVendor, period: tuple[datetime, datetime], issued_at: datetime
) -> dict[str, Any]:
    return attestation_envelope(
        member.key, vendor=member.slug, period=period, issued_at=issued_at
    ).to_dict()


async def _revoke(
    api: httpx.AsyncClient, token: str, key: SigningKey, **body: Any
) -> httpx.Response:
    return await api.post(
        f"/api/v1/keys/{key.key_id}/revoke",
        json={"reason": "key file found on a public share", **body},
        headers=_auth(token),
    )


async def test_token_from_key_login_stops_working_when_the_key_is_revoked(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """The revocation revokes every token the key logged in for, in its own transaction."""
    vendor = await member_vendor(services, association, "acme-cloud")
    first, second = await _login(api, vendor.key), await _login(api, vendor.key)
    assert (await api.get("/api/v1/auth/whoami", headers=_auth(first))).status_code == 200

    clock.advance(timedelta(minutes=1))
    revoked = await _revoke(api, role_tokens[Role.ASSOCIATION_ADMIN], vendor.key)
    assert revoked.status_code == 200, revoked.text

    for token in (first, second):
        refused = await api.get("/api/v1/auth/whoami", headers=_auth(token))
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert "revoked" in refused.json()["detail"]
        attempt = await api.post(
            "/api/v1/vendors/acme-cloud/attestations",
            json=_attest(vendor, (clock.now() - 30 * DAY, clock.now() - DAY), clock.now()),
            headers=_auth(token),
        )
        assert attempt.status_code == 401
    # A token that no key obtained (the operator's) is not the key's to take away.
    whoami = await api.get("/api/v1/auth/whoami", headers=_auth(vendor.token))
    assert whoami.status_code == 200


async def test_token_minted_while_its_key_was_being_revoked_is_refused(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """A login that read the key before a revocation committed and minted its token after
    it leaves a token the revocation did not see; the key's own state still refuses it."""
    vendor = await member_vendor(services, association, "acme-cloud")
    token = await _login(api, vendor.key)
    # The state that race leaves behind: the key revoked, its token not.
    async with services.ctx.db.transaction() as session:
        await session.execute(
            update(SigningKeyRecord)
            .where(SigningKeyRecord.key_id == vendor.key.key_id)
            .values(status=KeyStatus.REVOKED, revoked_at=clock.now())
        )
    refused = await api.get("/api/v1/auth/whoami", headers=_auth(token))
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert "key this token was obtained with has been revoked" in refused.json()["detail"]


async def test_revoked_key_cannot_sign_back_dated_statements(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """After the revocation the receive time decides: a rotation, an attestation and a
    batch dated before the revocation are refused with problem+json and write nothing."""
    vendor = await member_vendor(services, association, "acme-cloud")
    revoked_at = clock.now()
    assert (await _revoke(api, role_tokens[Role.ASSOCIATION_ADMIN], vendor.key)).status_code == 200
    clock.advance(timedelta(minutes=5))
    back_dated = revoked_at - timedelta(hours=1)
    before = await _counts(services)

    attacker = SigningKey.generate()
    rotation = rotation_envelope(vendor.key, attacker, vendor="acme-cloud", issued_at=back_dated)
    refused = await api.post(
        "/api/v1/vendors/acme-cloud/keys/", json=rotation.to_dict(), headers=_auth(vendor.token)
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert "revoked" in refused.json()["detail"]
    assert "whatever time the statement claims" in refused.json()["detail"]

    period = (revoked_at - 30 * DAY, revoked_at - DAY)
    single = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, period, back_dated),
        headers=_auth(vendor.token),
    )
    assert single.status_code == 422, single.text
    assert single.headers["content-type"].startswith(PROBLEM_JSON)
    assert "revoked" in single.json()["detail"]
    batch = await api.post(
        "/api/v1/vendors/acme-cloud/attestations/batch",
        json={"envelopes": [_attest(vendor, period, back_dated)]},
        headers=_auth(vendor.token),
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["rejected"] == 1
    assert "revoked" in batch.json()["items"][0]["problem"]["detail"]

    assert await _counts(services) == before
    keys = (await api.get("/api/v1/vendors/acme-cloud/keys/")).json()
    assert attacker.key_id not in {k["key_id"] for k in keys}


async def test_attestation_accepted_before_revocation_stays_valid_and_verifiable(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """What the key signed before it was revoked stays listed and verifies offline against
    the log, while the same key's new statements are refused."""
    vendor = await member_vendor(services, association, "acme-cloud")
    envelope = _attest(vendor, (clock.now() - 30 * DAY, clock.now() - DAY), clock.now())
    accepted = await api.post(
        "/api/v1/vendors/acme-cloud/attestations", json=envelope, headers=_auth(vendor.token)
    )
    assert accepted.status_code == 201, accepted.text
    record = accepted.json()

    clock.advance(DAY)
    revocation_time = clock.now()
    admin = role_tokens[Role.ASSOCIATION_ADMIN]
    assert (await _revoke(api, admin, vendor.key)).status_code == 200
    clock.advance(timedelta(minutes=1))

    listed = await api.get("/api/v1/vendors/acme-cloud/attestations", headers=_auth(admin))
    assert [a["id"] for a in listed.json()["items"]] == [record["id"]]
    again = await api.post(
        "/api/v1/vendors/acme-cloud/attestations", json=envelope, headers=_auth(vendor.token)
    )
    assert again.status_code == 200
    assert again.json()["id"] == record["id"]

    bundle = (await api.get(f"/api/v1/log/entries/{record['log_index']}")).json()
    verifier = (await api.get("/api/v1/federation/key")).json()["verifier_key"]
    verified = verify_entry_bundle(bundle, verifier, signer_keys=[vendor.key.public_key])
    assert verified.envelope_signers == (vendor.key.key_id,)

    late = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, (revocation_time - DAY, revocation_time), revocation_time - DAY),
        headers=_auth(vendor.token),
    )
    assert late.status_code == 422
    assert "revoked" in late.json()["detail"]


async def test_compromised_since_lists_exactly_the_later_records(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """Records signed or received from `compromised_since` on are listed (API and CLI)
    for the vendor, its association's admins and the federation admin, and flagged on
    the vendor's public page in Chinese and English; earlier ones are not."""
    vendor = await member_vendor(services, association, "acme-cloud")
    start = clock.now()
    posted = []

    async def attest(period: tuple[datetime, datetime], issued_at: datetime) -> dict[str, Any]:
        response = await api.post(
            "/api/v1/vendors/acme-cloud/attestations",
            json=_attest(vendor, period, issued_at),
            headers=_auth(vendor.token),
        )
        assert response.status_code == 201, response.text
        posted.append(response.json())
        return posted[-1]

    before = await attest((start - 30 * DAY, start - DAY), start)
    clock.advance(2 * DAY)
    compromised = clock.now()
    clock.advance(DAY)
    after = await attest((start - DAY, start + 2 * DAY), clock.now())
    clock.advance(DAY)
    # Received after the compromise but dated before it: the receive time catches it.
    back_dated = await attest((start + 2 * DAY, start + 3 * DAY), compromised - DAY)
    attacker = SigningKey.generate()
    rotated = await api.post(
        "/api/v1/vendors/acme-cloud/keys/",
        json=rotation_envelope(
            vendor.key, attacker, vendor="acme-cloud", issued_at=clock.now()
        ).to_dict(),
        headers=_auth(vendor.token),
    )
    assert rotated.status_code == 201, rotated.text
    clock.advance(DAY)

    admin = role_tokens[Role.ASSOCIATION_ADMIN]
    unchanged = await _counts(services)
    for wrong, needle in [
        (isoformat(clock.now() + DAY), "future"),
        (isoformat(start - DAY), "registered"),
        ("yesterday", "ISO 8601"),
    ]:
        refused = await _revoke(api, admin, vendor.key, compromised_since=wrong)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert needle in refused.json()["detail"]
    assert await _counts(services) == unchanged

    revoked = await _revoke(api, admin, vendor.key, compromised_since=isoformat(compromised))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["compromised_since"] == isoformat(compromised)

    expected = [
        ("attestation", f"attestation:{after['id']}", after["log_index"]),
        ("attestation", f"attestation:{back_dated['id']}", back_dated["log_index"]),
        ("key_rotation", f"key:{attacker.key_id}", rotated.json()["log_index"]),
    ]
    path = f"/api/v1/keys/{vendor.key.key_id}/compromised-records"
    for token in (admin, role_tokens[Role.FEDERATION_ADMIN], vendor.token):
        response = await api.get(path, headers=_auth(token))
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["compromised_since"] == isoformat(compromised)
        assert [(r["kind"], r["ref"], r["log_index"]) for r in report["records"]] == expected
    assert f"attestation:{before['id']}" not in str(report)

    # Deny by default: another vendor, another association's admin, other roles, no one.
    other = await member_vendor(services, association, "other-vendor")
    await services.federation.ensure_association(
        "cesa", "中国电子商会", "China Electronics Chamber"
    )
    foreign_admin = await services.accounts.create_principal_with_token(
        role=Role.ASSOCIATION_ADMIN, display_name="cesa admin", association_slug="cesa"
    )
    for token in (
        other.token,
        foreign_admin.token,
        role_tokens[Role.AUDITOR],
        role_tokens[Role.GOVERNMENT_PARTNER],
    ):
        denied = await api.get(path, headers=_auth(token))
        assert denied.status_code == 403, denied.text
        assert denied.headers["content-type"].startswith(PROBLEM_JSON)
    assert (await api.get(path)).status_code == 401

    cli = await run_cli(
        ["keys", "compromised", vendor.key.key_id, "--url", str(api.base_url)],
        {"REGISTRY_TOKEN": admin},
    )
    assert cli.exit_code == 0, cli.output
    listed = json.loads(cli.stdout)
    assert [(r["kind"], r["ref"], r["log_index"]) for r in listed["records"]] == expected

    zh = (await api.get("/vendors/acme-cloud")).text
    en = (await api.get("/vendors/acme-cloud?lang=en")).text
    assert "以已泄露密钥签署的记录" in zh
    assert "Records signed with a compromised key" in en
    for page in (zh, en):
        flagged = page.split('id="compromised-title"', 1)[1].split("</section>", 1)[0]
        for _, _, log_index in expected:
            assert f'href="/api/v1/log/entries/{log_index}"' in flagged
        assert f'href="/api/v1/log/entries/{before["log_index"]}"' not in flagged


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("audience", "https://registry.attacker.example"),
        ("purpose", "trust-registry-delete-account"),
        ("expires_at", "2020-01-01T00:00:00Z"),
    ],
)
async def test_login_challenge_is_checked_whole(
    api: httpx.AsyncClient, services: Services, association: str, field: str, value: str
) -> None:
    """A signed challenge with the right nonce and key id but another audience, purpose
    or expiry is refused; the challenge as issued still logs in afterwards."""
    vendor = await member_vendor(services, association, "acme-cloud")
    challenge = await _challenge(api, vendor.key)
    issued = json.loads(base64.b64decode(challenge["payload"]))
    altered = canonicalize({**issued, field: value})

    refused = await _answer(api, vendor.key, challenge, altered)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert field in refused.json()["detail"]

    accepted = await _answer(api, vendor.key, challenge, base64.b64decode(challenge["payload"]))
    assert accepted.status_code == 200, accepted.text


async def test_migration_revokes_tokens_of_keys_revoked_before_it(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """Upgrading a database where a key was revoked under the old rule (its login tokens
    left alive) revokes those tokens, as the new rule would have."""
    vendor = await member_vendor(services, association, "acme-cloud")
    token = await _login(api, vendor.key)
    # What the old revocation left: the key revoked, the token it logged in for not.
    async with services.ctx.db.transaction() as session:
        await session.execute(
            update(SigningKeyRecord)
            .where(SigningKeyRecord.key_id == vendor.key.key_id)
            .values(status=KeyStatus.REVOKED, revoked_at=clock.now())
        )
    before = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION).down_revision
    assert isinstance(before, str)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, before)

    async with services.ctx.db.engine.begin() as connection:
        await connection.run_sync(downgrade)
    await upgrade(services.ctx.db)

    async with services.ctx.db.read() as session:
        revoked_at = await session.scalar(
            select(ApiToken.revoked_at).where(ApiToken.via_key_id == vendor.key.key_id)
        )
    assert revoked_at == clock.now()
    # The operator's token, obtained without a key, is untouched.
    assert (await api.get("/api/v1/auth/whoami", headers=_auth(vendor.token))).status_code == 200
    assert (await api.get("/api/v1/auth/whoami", headers=_auth(token))).status_code == 401
