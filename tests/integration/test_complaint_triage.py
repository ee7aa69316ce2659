"""Unregistered subjects' complaints: triage by every association's mediators, attachment
when the vendor joins (or a mediator or admin links it), clocks from attachment; and the
mediators' notification feed for triage and escalations, references only."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from registry.complaints.jobs import escalate_complaint_breaches_job
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, isoformat
from registry.membership.models import VendorDomain
from registry.notifications.models import OutboxMessage
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import admin_caller, apply_vendor, member_vendor, new_credit_code
from tests.integration.test_complaints_api import SECRET_HEADER, file_complaint
from tests.local_https import Recorder, make_certificates, proof_settings, serving

MEDIATOR_FEED = "/api/v1/mediation/notifications/"
QUEUE = "/api/v1/mediation/complaints/"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _outbox(services: Services) -> list[OutboxMessage]:
    async with services.ctx.db.read() as session:
        return list(
            (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
        )


async def _log_types(services: Services) -> list[str]:
    async with services.ctx.db.read() as session:
        return list(
            (await session.execute(select(LogEntry.entry_type).order_by(LogEntry.index))).scalars()
        )


async def test_unregistered_complaint_waits_in_triage_then_reaches_the_vendor_that_joins(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """Filed against a domain and a credit code before the vendor joins: both sit in the
    mediators' queue; admission attaches and forwards the credit code's, proof of the
    domain (its token at the well-known URL) the domain's, and the 24 h clock starts then."""
    credit_code = new_credit_code()
    by_domain = await file_complaint(
        api, "", subject_kind="domain", subject_value="Shop.Late-Joiner.example.cn"
    )
    by_code = await file_complaint(
        api,
        "",
        subject_kind="credit_code",
        subject_value=credit_code,
        contact_phone="13900000077",
    )
    unrelated = await file_complaint(
        api,
        "",
        subject_kind="domain",
        subject_value="elsewhere.example.com",
        contact_phone="13900000078",
    )
    mediator = _auth(role_tokens[Role.MEDIATOR])

    queue = (await api.get(QUEUE, headers=mediator)).json()
    assert queue["page"]["total"] == 3
    assert {item["status"] for item in queue["items"]} == {"submitted"}
    triage_only = (await api.get(QUEUE, headers=mediator, params={"status": "submitted"})).json()
    assert triage_only["page"]["total"] == 3
    one = await api.get(f"{QUEUE}{by_domain['tracking_code']}", headers=mediator)
    assert one.status_code == 200, one.text
    assert one.json()["vendor"] is None

    # Every association's mediators were told, by reference only.
    feed = (await api.get(MEDIATOR_FEED, headers=mediator)).json()
    assert [item["type"] for item in feed["items"]] == ["complaint.awaiting_triage"] * 3
    assert {item["data"]["tracking_code"] for item in feed["items"]} == {
        by_domain["tracking_code"],
        by_code["tracking_code"],
        unrelated["tracking_code"],
    }
    assert all(set(item["data"]) == {"tracking_code", "reason"} for item in feed["items"])

    clock.advance(timedelta(days=3))  # the clock must start at attachment, not at filing
    application_id, _key, _ = await apply_vendor(
        services, association, "late-joiner", credit_code=credit_code
    )
    assert not [m for m in await _outbox(services) if m.vendor_id is not None]
    joined_at = clock.now()
    await services.membership.approve(await admin_caller(services), application_id, "ok")
    assert (await _log_types(services))[-2:] == [
        "vendor.application.approved",
        "complaint.attached",
    ]
    domain = "late-joiner.example.cn"
    certificates = make_certificates(tmp_path / "tls", [domain])
    async with services.ctx.db.read() as session:
        token = await session.scalar(
            select(VendorDomain.proof_token).where(VendorDomain.domain == domain)
        )
    async with serving(Recorder(status=200, body=f"{token}\n".encode()), certificates) as port:
        proving = Services(
            replace(
                services.ctx,
                settings=proof_settings(services.ctx.settings, certificates, port, [domain]),
            )
        )
        await proving.domains.verify(
            await services.accounts.authenticate(
                (
                    await services.accounts.create_principal_with_token(
                        role=Role.VENDOR_ADMIN, display_name="late", vendor_slug="late-joiner"
                    )
                ).token
            ),
            "late-joiner",
            domain,
        )

    assert (await _log_types(services))[-3:] == [
        "complaint.attached",
        "vendor.domain.verified",
        "complaint.attached",
    ]
    for filed, matched in ((by_domain, "domain"), (by_code, "credit_code")):
        view = (
            await api.get(
                f"/api/v1/complaints/{filed['tracking_code']}",
                headers={SECRET_HEADER: filed["secret"]},
            )
        ).json()
        assert view["status"] == "forwarded"
        assert view["vendor"] == "late-joiner"
        assert view["first_response_due_at"] == isoformat(joined_at + timedelta(hours=24))
        attached = [e for e in view["thread"] if e["kind"] == "vendor_attached"]
        assert attached[0]["actor"] == "system"
        assert attached[0]["body"] == f"late-joiner ({matched})"
        assert attached[0]["at"] == isoformat(joined_at)
        assert view["thread"][-1]["to_status"] == "forwarded"
    still = (await api.get(QUEUE, headers=mediator)).json()
    assert [item["tracking_code"] for item in still["items"]] == [unrelated["tracking_code"]]
    webhooks = [m for m in await _outbox(services) if m.vendor_id is not None]
    assert [m.event for m in webhooks] == ["complaint.forwarded", "complaint.forwarded"]

    # The vendor now sees them in its inbox; unanswered, they escalate 24 h after joining.
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    await escalate_complaint_breaches_job(services)
    assert (await api.get(QUEUE, headers=mediator, params={"status": "escalated"})).json()["page"][
        "total"
    ] == 0
    clock.advance(timedelta(seconds=2))
    await escalate_complaint_breaches_job(services)
    escalated = (await api.get(QUEUE, headers=mediator, params={"status": "escalated"})).json()
    assert escalated["page"]["total"] == 2


async def test_mediator_or_admin_links_an_app_id_complaint(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """App ids are matched by people: a mediator links the complaint to a member vendor of
    its association; it is forwarded at once and the step is on the thread and in the log."""
    vendor = await member_vendor(services, association, "app-maker")
    filed = await file_complaint(
        api, "", subject_kind="app_id", subject_value="com.appmaker.wallet"
    )
    code = filed["tracking_code"]
    mediator = _auth(role_tokens[Role.MEDIATOR])
    clock.advance(timedelta(hours=5))

    unknown = await api.post(f"{QUEUE}{code}/vendor", headers=mediator, json={"vendor": "nobody"})
    assert unknown.status_code == 422
    assert "nobody" in unknown.json()["detail"]
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    outsider = await services.accounts.create_principal_with_token(
        role=Role.ASSOCIATION_ADMIN, display_name="sipa admin", association_slug="sipa"
    )
    refused = await api.post(
        f"{QUEUE}{code}/vendor", headers=_auth(outsider.token), json={"vendor": vendor.slug}
    )
    assert refused.status_code == 403
    assert "another association" in refused.json()["detail"]
    log_before = len(await _log_types(services))

    linked = await api.post(f"{QUEUE}{code}/vendor", headers=mediator, json={"vendor": vendor.slug})
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["status"] == "forwarded"
    assert body["vendor"] == vendor.slug
    assert body["first_response_due_at"] == isoformat(clock.now() + timedelta(hours=24))
    attached = next(e for e in body["thread"] if e["kind"] == "vendor_attached")
    assert attached["actor"] == "mediator"
    assert attached["at"] == isoformat(clock.now())
    assert (await _log_types(services))[log_before:] == ["complaint.attached"]
    inbox = (await api.get("/api/v1/inbox/complaints/", headers=_auth(vendor.token))).json()
    assert [item["tracking_code"] for item in inbox["items"]] == [code]

    again = await api.post(
        f"{QUEUE}{code}/vendor",
        headers=_auth(role_tokens[Role.FEDERATION_ADMIN]),
        json={"vendor": vendor.slug},
    )
    assert again.status_code == 409
    # Attached, it has left the triage queue and the mediator no longer sees it.
    assert (await api.get(f"{QUEUE}{code}", headers=mediator)).status_code == 404


async def test_mediators_are_notified_of_escalations_by_reference(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """An SLA breach and a consumer's rejection each reach the association's mediators'
    feed (and only theirs), carrying the tracking code and the reason, nothing personal."""
    vendor = await member_vendor(services, association, "notify-vendor")
    breached = await file_complaint(api, vendor.slug)
    rejected = await file_complaint(api, vendor.slug, contact_phone="13900000099")
    await api.post(
        f"/api/v1/inbox/complaints/{rejected['tracking_code']}/proposal",
        headers=_auth(vendor.token),
        json={"proposal": "赠送一个月会员", "concede": False},
    )
    reject = await api.post(
        f"/api/v1/complaints/{rejected['tracking_code']}/reject",
        headers={SECRET_HEADER: rejected["secret"]},
        json={"reason": "没有退款"},
    )
    assert reject.status_code == 200, reject.text
    clock.advance(timedelta(hours=25))
    await escalate_complaint_breaches_job(services)

    mediator = _auth(role_tokens[Role.MEDIATOR])
    feed = (await api.get(MEDIATOR_FEED, headers=mediator)).json()
    assert [(item["type"], item["data"]) for item in feed["items"]] == [
        (
            "complaint.escalated",
            {"tracking_code": breached["tracking_code"], "reason": "sla_breach"},
        ),
        (
            "complaint.escalated",
            {"tracking_code": rejected["tracking_code"], "reason": "consumer_rejected_proposal"},
        ),
    ]
    newest = int(feed["items"][0]["id"].removeprefix("msg_"))
    assert (await api.get(MEDIATOR_FEED, headers=mediator, params={"after": newest})).json()[
        "items"
    ] == []
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    outsider = await services.accounts.create_principal_with_token(
        role=Role.MEDIATOR, display_name="sipa mediator", association_slug="sipa"
    )
    assert (await api.get(MEDIATOR_FEED, headers=_auth(outsider.token))).json()["items"] == []

    # Mediator messages are dispatched like vendor messages but create no webhook delivery.
    assert await services.notifications.dispatch_outbox() >= 2
    assert all(m.dispatched_at is not None for m in await _outbox(services))


async def test_the_demo_leaves_unregistered_subjects_awaiting_triage(
    api: httpx.AsyncClient, services: Services, role_tokens: dict[Role, str]
) -> None:
    """`registry demo` files complaints about a domain, an app id and a credit code that no
    member holds, so a mediator opening the demo finds a triage queue to work on."""
    from registry.complaints.demo import load_complaints_demo

    assert await load_complaints_demo(services, []) == 3
    queue = await api.get(
        QUEUE, headers=_auth(role_tokens[Role.MEDIATOR]), params={"status": "submitted"}
    )
    assert queue.status_code == 200, queue.text
    items = queue.json()["items"]
    assert [(item["vendor"], item["status"]) for item in items] == [(None, "submitted")] * 3
    kinds = []
    for item in items:
        one = await api.get(
            f"{QUEUE}{item['tracking_code']}", headers=_auth(role_tokens[Role.MEDIATOR])
        )
        kinds.append(one.json()["subject_kind"])
    assert sorted(kinds) == ["app_id", "credit_code", "domain"]


async def test_the_feed_takes_back_the_ids_it_prints(
    api: httpx.AsyncClient, role_tokens: dict[Role, str]
) -> None:
    """A poller passes the last id it saw as `?after=`, as the feed printed it (`msg_<n>`):
    it gets only what is newer; an id of another shape is refused naming the field."""
    for phone, app in (("13900000091", "com.first.app"), ("13900000092", "com.second.app")):
        await file_complaint(api, "", subject_kind="app_id", subject_value=app, contact_phone=phone)
    mediator = _auth(role_tokens[Role.MEDIATOR])
    feed = (await api.get(MEDIATOR_FEED, headers=mediator)).json()
    newest, older = (item["id"] for item in feed["items"][:2])
    assert newest.startswith("msg_")

    after_older = await api.get(MEDIATOR_FEED, headers=mediator, params={"after": older})
    assert after_older.status_code == 200, after_older.text
    assert [item["id"] for item in after_older.json()["items"]] == [newest]
    after_newest = await api.get(MEDIATOR_FEED, headers=mediator, params={"after": newest})
    assert after_newest.json()["items"] == []

    refused = await api.get(MEDIATOR_FEED, headers=mediator, params={"after": "msg_x"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert "msg_42" in problem["detail"]
    assert "after" in problem["errors"]
