"""A suspension is lifted only by whoever owns its cause, over HTTP on both databases.

The attack that outside testing found: an association admin suspends a vendor for a
confirmed personal-data leak, and the vendor's next attestation, moments later, used to
reinstate it at L3 with a badge reading "certified" again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlalchemy.engine import Connection

from attestations.envelope import sign_envelope
from registry.certification.machine import Trigger, blacklist_listing
from registry.certification.models import TransitionCause
from registry.certification.signing import attestation_envelope, audit_envelope
from registry.certification.transitions import Cause, reevaluate
from registry.certification.verdict import verdict
from registry.db.migrate import alembic_config, upgrade
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.services import Services
from tests.cli import run_cli
from tests.factories import (
    AUDITED_VENDOR_AGE,
    AccreditedAuditor,
    MemberVendor,
    accredited_auditor,
    admin_caller,
    member_vendor,
)

DAY = timedelta(days=1)
LEAK = "confirmed personal-data leak"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _attest(
    api: httpx.AsyncClient, vendor: MemberVendor, clock: ManualClock, start: int, end: int
) -> None:
    """An attestation meeting every criterion for the days `start`..`end` before now."""
    now = clock.now()
    envelope = attestation_envelope(
        vendor.key, vendor=vendor.slug, period=(now - start * DAY, now - end * DAY), issued_at=now
    )
    answer = await api.post(
        f"/api/v1/vendors/{vendor.slug}/attestations",
        json=envelope.to_dict(),
        headers=_auth(vendor.token),
    )
    assert answer.status_code == 201, answer.text


async def _audit(
    api: httpx.AsyncClient,
    services: Services,
    auditor: AccreditedAuditor,
    vendor: MemberVendor,
    clock: ManualClock,
    *,
    days: int = 9,
    passed: bool = True,
) -> None:
    """A passing (or failed) audit of `days` up to yesterday, signed and sent now; the auditor
    logs in afresh, as its login token lives an hour and the tests move the clock."""
    challenge = await services.accounts.issue_challenge(auditor.key.key_id)
    issued = await services.accounts.login(
        sign_envelope(challenge.payload, [auditor.key], payload_type=challenge.payload_type)
    )
    now = clock.now()
    envelope = audit_envelope(
        auditor.key,
        auditor=auditor.slug,
        vendor=vendor.slug,
        period=(now - days * DAY, now - DAY),
        issued_at=now,
        report=f"audit report {now.isoformat()}".encode(),
        passed=passed,
    )
    answer = await api.post("/api/v1/audits", json=envelope.to_dict(), headers=_auth(issued.token))
    assert answer.status_code == 201, answer.text


async def _status(api: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    return (await api.get(f"/api/v1/vendors/{slug}/certification")).json()


async def _admin(
    api: httpx.AsyncClient, token: str, slug: str, action: str, reason: str
) -> httpx.Response:
    return await api.post(
        f"/api/v1/vendors/{slug}/certification/{action}",
        json={"reason": reason},
        headers=_auth(token),
    )


async def _l3_vendor(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> tuple[MemberVendor, AccreditedAuditor]:
    vendor = await member_vendor(
        services, association, "acme-cloud", applied_before=AUDITED_VENDOR_AGE
    )
    auditor = await accredited_auditor(services, "zhengxin-audit")
    await _attest(api, vendor, clock, 61, 31)
    await _attest(api, vendor, clock, 30, 1)
    await _audit(api, services, auditor, vendor, clock, days=90)
    status = await _status(api, vendor.slug)
    assert (status["state"], status["level"], status["causes"]) == ("active", 3, [])
    return vendor, auditor


async def test_fresh_evidence_does_not_lift_an_admin_suspension(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor, _ = await _l3_vendor(api, services, association, clock)
    admin = role_tokens[Role.ASSOCIATION_ADMIN]
    suspended = await _admin(api, admin, vendor.slug, "suspend", LEAK)
    assert suspended.status_code == 200, suspended.text
    raised = suspended.json()["causes_raised"]
    assert [(c["kind"], c["reason"]) for c in raised] == [("admin", LEAK)]
    association_id = await _association_id(services, vendor.slug)
    assert raised[0]["owner"] == f"association:{association_id}"
    assert raised[0]["log_index"] == suspended.json()["log_index"]

    # The vendor attests again, with everything met, for the next period.
    clock.advance(DAY)
    await _attest(api, vendor, clock, 1, 0)
    status = await _status(api, vendor.slug)
    assert (status["state"], status["certified"], status["level"]) == ("suspended", False, None)
    assert [(c["kind"], c["owner"], c["reason"]) for c in status["causes"]] == [
        ("admin", f"association:{association_id}", LEAK)
    ]
    token = (await api.get(f"/badges/{vendor.slug}/token")).json()
    assert token["claims"]["certified"] is False
    assert "已暂停" in (await api.get(f"/badges/{vendor.slug}.svg")).text
    page = (await api.get(f"/vendors/{vendor.slug}")).text
    assert "协会决定暂停" in page
    assert LEAK in page
    assert "只有协会可以解除" in page
    english = (await api.get(f"/vendors/{vendor.slug}", params={"lang": "en"})).text
    assert "Suspended by the association" in english

    # The signed leaf of the suspension names the cause it raised.
    leaf = (await api.get(f"/api/v1/log/entries/{suspended.json()['log_index']}")).json()
    assert '"causes_raised"' in json.dumps(leaf)
    assert LEAK in json.dumps(leaf, ensure_ascii=False)

    reinstated = await _admin(api, admin, vendor.slug, "reinstate", "leak remedied, audited")
    assert reinstated.status_code == 200, reinstated.text
    assert [c["kind"] for c in reinstated.json()["causes_cleared"]] == ["admin"]
    status = await _status(api, vendor.slug)
    assert (status["state"], status["certified"], status["level"]) == ("active", True, 3)
    assert status["causes"] == []

    result = await run_cli(["certificate", vendor.slug, "--history", "--url", str(api.base_url)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output[result.output.index("{") :])
    moved = [
        ([c["kind"] for c in t["causes_raised"]], [c["kind"] for c in t["causes_cleared"]])
        for t in shown["history"]
    ]
    assert moved[-2:] == [(["admin"], []), ([], ["admin"])]


async def test_the_vendor_cannot_lift_its_own_suspension(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor, _ = await _l3_vendor(api, services, association, clock)
    admin = role_tokens[Role.ASSOCIATION_ADMIN]
    assert (await _admin(api, admin, vendor.slug, "suspend", LEAK)).status_code == 200
    # A vendor admin is not an association admin at all.
    refused = await _admin(api, vendor.token, vendor.slug, "reinstate", "we fixed it")
    assert refused.status_code in {401, 403}
    assert (await _status(api, vendor.slug))["state"] == "suspended"


async def _association_id(services: Services, slug: str) -> int:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(Vendor.association_id).where(Vendor.slug == slug))
        ).scalar_one()


async def test_overdue_audit_suspension_is_cleared_by_a_new_audit(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    vendor, auditor = await _l3_vendor(api, services, association, clock)
    clock.advance((182 + 30) * DAY)
    assert await services.certification.suspend_overdue_audits() == 1
    status = await _status(api, vendor.slug)
    assert status["state"] == "suspended"
    assert [(c["kind"], c["owner"]) for c in status["causes"]] == [("audit_overdue", None)]
    await _audit(api, services, auditor, vendor, clock)
    status = await _status(api, vendor.slug)
    assert (status["state"], status["level"], status["causes"]) == ("active", 3, [])


async def test_curing_the_evidence_leaves_the_admin_cause_in_force(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor, auditor = await _l3_vendor(api, services, association, clock)
    admin = role_tokens[Role.ASSOCIATION_ADMIN]
    clock.advance(10 * DAY)
    await _audit(api, services, auditor, vendor, clock, passed=False)
    assert [c["kind"] for c in (await _status(api, vendor.slug))["causes"]] == ["audit_failed"]
    clock.advance(DAY)
    assert (await _admin(api, admin, vendor.slug, "suspend", LEAK)).status_code == 200
    assert [c["kind"] for c in (await _status(api, vendor.slug))["causes"]] == [
        "audit_failed",
        "admin",
    ]
    clock.advance(10 * DAY)
    await _audit(api, services, auditor, vendor, clock)
    status = await _status(api, vendor.slug)
    assert (status["state"], status["certified"]) == ("suspended", False)
    assert [c["kind"] for c in status["causes"]] == ["admin"]
    history = (await api.get(f"/api/v1/vendors/{vendor.slug}/certification/history")).json()
    last = history[-1]
    assert (last["from_state"], last["to_state"], last["cause"]) == (
        "suspended",
        "suspended",
        "audit",
    )
    assert [c["kind"] for c in last["causes_cleared"]] == ["audit_failed"]

    assert (await _admin(api, admin, vendor.slug, "reinstate", "leak remedied")).status_code == 200
    status = await _status(api, vendor.slug)
    assert (status["state"], status["certified"], status["causes"]) == ("active", True, [])


async def test_a_listing_cause_is_lifted_by_its_listing_alone(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    """The blacklist raises and lifts its own cause through the same machine; neither an
    admin's reinstatement nor fresh evidence removes it."""
    vendor, _ = await _l3_vendor(api, services, association, clock)
    listing = blacklist_listing(41, None, "一般: repeated unresolved complaints")

    async def by_listing(trigger: Trigger) -> None:
        async with services.ctx.db.transaction() as session:
            ref = (
                await session.execute(select(Vendor).where(Vendor.slug == vendor.slug))
            ).scalar_one()
            await reevaluate(
                session,
                ref,
                trigger,
                Cause(TransitionCause.BLACKLIST, ref="listing:41", reason=listing.reason),
                clock.now(),
                by=listing,
            )

    await by_listing(Trigger.SUSPEND)
    status = await _status(api, vendor.slug)
    assert [(c["kind"], c["owner"]) for c in status["causes"]] == [("blacklist", "listing:41")]
    refused = await _admin(api, role_tokens[Role.ASSOCIATION_ADMIN], vendor.slug, "reinstate", "x")
    assert refused.status_code == 409
    clock.advance(DAY)
    await _attest(api, vendor, clock, 1, 0)
    assert (await _status(api, vendor.slug))["state"] == "suspended"
    await by_listing(Trigger.REINSTATE)
    status = await _status(api, vendor.slug)
    assert (status["state"], status["certified"], status["causes"]) == ("active", True, [])


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_upgrading_keeps_an_existing_admin_suspension_in_force(
    services: Services, association: str, clock: ManualClock
) -> None:
    """Migration 0008 gives a certificate suspended before it the cause its suspending
    transition names, the same cause the machine writes now; so the vendor's next
    attestation after the upgrade does not lift it either."""
    vendor = await member_vendor(
        services, association, "held-vendor", applied_before=AUDITED_VENDOR_AGE
    )
    caller = await services.accounts.authenticate(vendor.token)
    now = clock.now()
    await services.attestations.submit(
        caller,
        vendor.slug,
        attestation_envelope(
            vendor.key, vendor=vendor.slug, period=(now - 30 * DAY, now - DAY), issued_at=now
        ),
    )
    await services.certification.decide_by_admin(
        await admin_caller(services), vendor.slug, Trigger.SUSPEND, LEAK
    )
    live = await services.certification.public_status(vendor.slug)
    assert live is not None
    assert [(c.kind.value, c.reason) for c in live.causes] == [("admin", LEAK)]

    before_causes = ScriptDirectory.from_config(alembic_config()).get_revision("0008")
    assert isinstance(before_causes.down_revision, str)
    async with services.ctx.db.engine.begin() as connection:
        await connection.run_sync(_downgrade, before_causes.down_revision)
    await upgrade(services.ctx.db)
    backfilled = await services.certification.public_status(vendor.slug)
    assert backfilled is not None
    assert backfilled.causes == live.causes

    clock.advance(DAY)
    now = clock.now()
    await services.attestations.submit(
        caller,
        vendor.slug,
        attestation_envelope(
            vendor.key, vendor=vendor.slug, period=(now - DAY, now), issued_at=now
        ),
    )
    after = await services.certification.public_status(vendor.slug)
    assert after is not None
    assert after.state is not None
    assert (after.state.value, verdict(after, now).certified) == ("suspended", False)
