"""Build real data through the real services: signed applications, approvals, tokens."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import timedelta

from attestations.keys import SigningKey
from registry.accounts.demo import demo_admin
from registry.client import application_envelope
from registry.demo import demo_credit_code
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.services import Services

_rng = random.Random(7)
ACCREDITED_BEFORE = timedelta(days=730)
"""How far back a test auditor's accreditation reaches: over every audited test period."""
AUDITED_VENDOR_AGE = timedelta(days=400)
"""How long before now a vendor that gets audited in a test applied."""


@dataclass(frozen=True)
class MemberVendor:
    """An approved vendor, its key and a vendor_admin token."""

    slug: str
    key: SigningKey
    credit_code: str
    token: str
    application_id: int


def new_credit_code() -> str:
    """A valid, random unified social credit code."""
    return demo_credit_code(_rng, "110108")


async def apply_vendor(
    services: Services,
    association: str,
    slug: str,
    *,
    key: SigningKey | None = None,
    credit_code: str | None = None,
    domains: list[str] | None = None,
) -> tuple[int, SigningKey, str]:
    """Submit a signed application; returns (application id, key, credit code)."""
    key = key or SigningKey.generate()
    credit_code = credit_code or new_credit_code()
    envelope = application_envelope(
        key,
        association=association,
        credit_code=credit_code,
        slug=slug,
        name_zh=f"{slug}科技有限公司",
        name_en=f"{slug.title()} Technology Co., Ltd.",
        domains=[f"{slug}.example.cn"] if domains is None else domains,
        issued_at=services.ctx.clock.now() - timedelta(seconds=5),
    )
    result = await services.membership.submit_application(envelope)
    return result.application.id, key, credit_code


async def admin_caller(services: Services) -> Caller:
    """A federation admin acting in-process."""
    return await demo_admin(services)


async def member_vendor(
    services: Services, association: str, slug: str, *, applied_before: timedelta | None = None
) -> MemberVendor:
    """Apply, approve, and mint a vendor_admin token; `applied_before` dates the
    application and admission that long before now (an audit may not cover earlier time)."""
    then = services
    if applied_before is not None:
        earlier = services.ctx.clock.now() - applied_before
        then = Services(replace(services.ctx, clock=ManualClock(earlier)))
    application_id, key, credit_code = await apply_vendor(then, association, slug)
    await then.membership.approve(await admin_caller(then), application_id, "ok")
    issued = await services.accounts.create_principal_with_token(
        role=Role.VENDOR_ADMIN, display_name=slug, vendor_slug=slug
    )
    return MemberVendor(slug, key, credit_code, issued.token, application_id)


@dataclass(frozen=True)
class AccreditedAuditor:
    """An accredited auditor organisation, its key and a token its key logged in for."""

    slug: str
    key: SigningKey
    token: str


async def accredited_auditor(
    services: Services,
    slug: str,
    scope: tuple[str, ...] = ("csia",),
    *,
    valid_for: timedelta = timedelta(days=730),
) -> AccreditedAuditor:
    """Accredit an auditor from now for `valid_for` and log in with its key (challenge)."""
    from attestations.envelope import sign_envelope
    from registry.certification.audits import Accreditation

    key = SigningKey.generate()
    now = services.ctx.clock.now()
    await services.audits.accredit(
        await admin_caller(services),
        Accreditation(
            slug=slug,
            name_zh=f"{slug}认证有限公司",
            name_en=f"{slug.title()} Certification Ltd.",
            public_keys=[key.public_key.to_base64()],
            scope=scope,
            accredited_from=now - ACCREDITED_BEFORE,
            accredited_until=now + valid_for,
        ),
    )
    challenge = await services.accounts.issue_challenge(key.key_id)
    issued = await services.accounts.login(
        sign_envelope(challenge.payload, [key], payload_type=challenge.payload_type)
    )
    return AccreditedAuditor(slug, key, issued.token)


async def vendor_in_state(services: Services, association: str, slug: str, state: str) -> str:
    """A member vendor whose certificate is `state` ("none", "active", "suspended",
    "revoked" or "expired"), reached through the real attestation and admin paths."""
    from registry.certification.machine import Trigger
    from registry.certification.signing import attestation_envelope

    member = await member_vendor(services, association, slug)
    if state == "none":
        return slug
    now = services.ctx.clock.now()
    envelope = attestation_envelope(
        member.key,
        vendor=slug,
        period=(now - timedelta(days=30), now - timedelta(days=1)),
        issued_at=now,
    )
    vendor_caller = await services.accounts.authenticate(member.token)
    await services.attestations.submit(vendor_caller, slug, envelope)
    admin = await admin_caller(services)
    if state == "suspended":
        await services.certification.decide_by_admin(admin, slug, Trigger.SUSPEND, "test")
    elif state == "revoked":
        await services.certification.decide_by_admin(admin, slug, Trigger.REVOKE, "test")
    elif state == "expired":
        status = await services.certification.public_status(slug)
        assert status is not None
        assert status.valid_until is not None
        clock = services.ctx.clock
        assert hasattr(clock, "set")
        clock.set(status.valid_until)
        await services.certification.expire_due()
        clock.set(now)
    return slug
