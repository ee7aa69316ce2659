"""Complaints over HTTP on both databases: filing, the thread, SLA escalation, mediation,
the survey, abuse limits, bilingual errors, and contact data that never leaks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, inspect, select, text

from registry.complaints.consumers import ConsumerComplaintService
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.jobs import escalate_complaint_breaches_job
from registry.complaints.messages import ComplaintRateLimited
from registry.complaints.models import Complaint, ComplaintEvent, MediationOutcome
from registry.db.base import Base
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.notifications.models import OutboxMessage
from registry.scheduling import JOBS, run_jobs_once
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import member_vendor

SECRET_HEADER = "X-Complaint-Secret"
CONTACT_NAME = "张晓梅测试"
CONTACT_PHONE = "+86 139 1234 8765"
CONTACT_EMAIL = "xiaomei.zhang.leakcheck@example.cn"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def complaint_body(vendor: str, **overrides: Any) -> dict[str, Any]:
    """A complete, valid filing in Chinese."""
    body: dict[str, Any] = {
        "vendor": vendor,
        "product": "云存储会员",
        "category": "billing_refund",
        "description": "取消订阅后仍被连续扣费三个月，客服不予退款。",
        "desired_remedy": "退还多扣的费用",
        "region": "110000",
        "occurred_on": "2026-11-01",
        "contact_name": "李华",
        "contact_phone": "13800138000",
        "consent_to_share": True,
    }
    body.update(overrides)
    return body


async def file_complaint(api: httpx.AsyncClient, vendor: str, **overrides: Any) -> dict[str, Any]:
    """File through the public API and return the answer (code and secret)."""
    response = await api.post("/api/v1/complaints/", json=complaint_body(vendor, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _count(services: Services, model: type[Base]) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def test_file_answer_accept_and_rate(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """The happy path: filed in Chinese, forwarded, answered, resolved, rated once."""
    vendor = await member_vendor(services, association, "yunpan")
    filed = await file_complaint(api, vendor.slug)
    assert filed["status"] == "forwarded"
    assert filed["secret"]
    assert "查询码" in filed["message"]
    code, secret = filed["tracking_code"], {SECRET_HEADER: filed["secret"]}

    inbox = (await api.get("/api/v1/inbox/complaints/", headers=_auth(vendor.token))).json()
    assert [item["tracking_code"] for item in inbox["items"]] == [code]
    assert inbox["items"][0]["sla_clock"] == "first_response"

    answer = await api.post(
        f"/api/v1/inbox/complaints/{code}/acknowledge",
        headers=_auth(vendor.token),
        json={"body": "已收到，正在核实扣费记录。"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "acknowledged"
    proposal = await api.post(
        f"/api/v1/inbox/complaints/{code}/proposal",
        headers=_auth(vendor.token),
        json={"proposal": "全额退还三个月费用", "concede": True},
    )
    assert proposal.json()["status"] == "resolution_proposed"

    mine = (await api.get(f"/api/v1/complaints/{code}", headers=secret)).json()
    assert mine["proposal"] == "全额退还三个月费用"
    assert [e["to_status"] for e in mine["thread"] if e["kind"] == "transition"] == [
        "submitted",
        "forwarded",
        "acknowledged",
        "resolution_proposed",
    ]
    assert all(e["at"] for e in mine["thread"])

    accepted = await api.post(f"/api/v1/complaints/{code}/accept", headers=secret)
    assert accepted.json()["status"] == "resolved"
    assert accepted.json()["substantiated"] is True  # the vendor conceded
    rated = await api.post(
        f"/api/v1/complaints/{code}/rating", headers=secret, json={"score": 5, "comment": "满意"}
    )
    assert rated.json()["rating"] == 5
    again = await api.post(f"/api/v1/complaints/{code}/rating", headers=secret, json={"score": 1})
    assert again.status_code == 409
    assert again.json()["detail"] == "该投诉已评价过"
    assert (await api.get(f"/api/v1/complaints/{code}", headers=secret)).json()["rating"] == 5

    async with services.ctx.db.read() as session:
        webhooks = (await session.execute(select(OutboxMessage.event, OutboxMessage.data))).all()
    # The vendor hears of each step by reference only: no contact, no description.
    assert [event for event, _ in webhooks] == ["complaint.forwarded", "complaint.resolved"]
    assert all(set(data) == {"tracking_code", "status"} for _, data in webhooks)
    figures = (await api.get(f"/api/v1/vendors/{vendor.slug}/complaint-figures")).json()
    assert figures["received"] is None  # one complaint: "fewer than 5"
    assert figures["min_count"] == 5


async def test_unanswered_complaint_escalates_after_24_hours(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """The scheduler job escalates at the deadline, not before, records the breach, and the
    public on-time share counts it."""
    vendor = await member_vendor(services, association, "slow-vendor")
    codes = [
        (await file_complaint(api, vendor.slug, contact_phone=f"1390000000{i}"))["tracking_code"]
        for i in range(5)
    ]
    log_before = await _count(services, LogEntry)
    clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    await escalate_complaint_breaches_job(services)
    mediator = _auth(role_tokens[Role.MEDIATOR])
    queue = (await api.get("/api/v1/mediation/complaints/", headers=mediator)).json()
    assert queue["page"]["total"] == 0

    clock.advance(timedelta(seconds=2))
    sla_jobs = [job for job in JOBS if job.id == "complaint-sla-escalation"]
    assert await run_jobs_once(services, sla_jobs) == ["complaint-sla-escalation"]
    queue = (await api.get("/api/v1/mediation/complaints/", headers=mediator)).json()
    assert sorted(item["tracking_code"] for item in queue["items"]) == sorted(codes)
    assert {item["breached_clock"] for item in queue["items"]} == {"first_response"}
    one = (await api.get(f"/api/v1/mediation/complaints/{codes[0]}", headers=mediator)).json()
    assert one["status"] == "escalated"
    assert one["breached_at"] == one["first_response_due_at"]
    assert one["thread"][-1]["actor"] == "system"
    assert await _count(services, LogEntry) == log_before + 5  # each breach is logged

    # Idempotent: a second scan finds nothing more.
    result = await services.complaints.clocks.escalate_breaches()
    assert result.escalated == 0
    figures = (await api.get(f"/api/v1/vendors/{vendor.slug}/complaint-figures")).json()
    assert figures["received"] == 5
    assert figures["answered_on_time_share"] == 0.0


async def test_resolution_clock_and_mediation(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
) -> None:
    """Acknowledged but unresolved after 7 days escalates; a consumer's rejection too; the
    mediator upholds, closes, and the consumer rates and erases the contact."""
    vendor = await member_vendor(services, association, "mediated-vendor")
    late = await file_complaint(api, vendor.slug)
    disputed = await file_complaint(api, vendor.slug, category="unfair_terms")
    for filed in (late, disputed):
        await api.post(
            f"/api/v1/inbox/complaints/{filed['tracking_code']}/messages",
            headers=_auth(vendor.token),
            json={"body": "我们正在处理"},
        )
    await api.post(
        f"/api/v1/inbox/complaints/{disputed['tracking_code']}/proposal",
        headers=_auth(vendor.token),
        json={"proposal": "赠送一个月会员"},
    )
    secret = {SECRET_HEADER: disputed["secret"]}
    rejected = await api.post(
        f"/api/v1/complaints/{disputed['tracking_code']}/reject",
        headers=secret,
        json={"reason": "我需要的是退款"},
    )
    assert rejected.json()["status"] == "escalated"

    clock.advance(timedelta(days=7, seconds=1))
    result = await services.complaints.clocks.escalate_breaches()
    assert (result.first_response_breaches, result.resolution_breaches) == (0, 1)

    mediator = _auth(role_tokens[Role.MEDIATOR])
    code = disputed["tracking_code"]
    contact = await api.get(f"/api/v1/mediation/complaints/{code}/contact", headers=mediator)
    assert contact.json() == {"name": "李华", "phone": "13800138000", "email": None}
    decided = await api.post(
        f"/api/v1/mediation/complaints/{code}/decision",
        headers=mediator,
        json={"outcome": "upheld", "note": "条款显失公平"},
    )
    assert decided.json()["substantiated"] is True
    early = await api.post(f"/api/v1/complaints/{code}/rating", headers=secret, json={"score": 2})
    assert early.status_code == 409
    closed = await api.post(f"/api/v1/mediation/complaints/{code}/close", headers=mediator, json={})
    assert closed.json()["status"] == "closed"
    assert (
        await api.post(f"/api/v1/complaints/{code}/rating", headers=secret, json={"score": 2})
    ).json()["rating"] == 2
    erased = await api.post(f"/api/v1/complaints/{code}/erase-contact", headers=secret)
    assert erased.json()["contact_on_file"] is False
    gone = await api.get(f"/api/v1/mediation/complaints/{code}/contact", headers=mediator)
    assert gone.status_code == 404
    async with services.ctx.db.read() as session:
        row = (
            await session.execute(select(Complaint).where(Complaint.tracking_code == code))
        ).scalar_one()
    assert row.contact_sealed is None
    assert row.contact_fingerprint is None
    assert row.description  # the complaint stays for the statistics


async def test_invalid_filings_name_fields_in_the_consumers_language(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Chinese by default, English on request; every bad field named; nothing written."""
    vendor = await member_vendor(services, association, "strict-vendor")
    bad = complaint_body(
        vendor.slug,
        description="",
        region="999999",
        occurred_on="2099-01-01",
        contact_phone="",
        category="rudeness",
    )
    zh = await api.post("/api/v1/complaints/", json=bad)
    assert zh.status_code == 422
    assert zh.headers["content-type"].startswith("application/problem+json")
    errors = zh.json()["errors"]
    assert errors["description"] == "问题描述：必填"
    assert errors["region"].startswith("所在地区")
    assert errors["occurred_on"].startswith("问题发生日期")
    assert errors["category"].startswith("投诉类别")
    assert errors["contact_phone"].startswith("联系电话")
    en = await api.post("/api/v1/complaints/?lang=en", json=bad)
    assert en.json()["errors"]["description"] == "description: required"
    by_header = await api.post(
        "/api/v1/complaints/", json=bad, headers={"Accept-Language": "en-GB,en;q=0.8"}
    )
    assert by_header.json()["errors"]["region"].startswith("region:")
    unknown = await api.post("/api/v1/complaints/", json=complaint_body("no-such-vendor"))
    assert unknown.json()["errors"]["vendor"].startswith("被投诉企业")
    malformed = await api.post(
        "/api/v1/complaints/?lang=en", json=complaint_body(vendor.slug, product=42)
    )
    assert malformed.status_code == 400
    assert "product" in malformed.json()["errors"]
    wrong_secret = await api.get(
        "/api/v1/complaints/AAAA-BBBB-CCCC", headers={SECRET_HEADER: "guess"}
    )
    assert wrong_secret.status_code == 404
    assert wrong_secret.json()["detail"] == "查询码或查询密码不正确"
    assert await _count(services, Complaint) == 0


async def test_unregistered_subject_is_recorded_without_clocks(
    api: httpx.AsyncClient, services: Services
) -> None:
    """A complaint about a non-member domain stays `submitted`, with no vendor and no clock."""
    filed = await file_complaint(
        api, "", subject_kind="domain", subject_value="Shady-Shop.example.COM"
    )
    assert filed["status"] == "submitted"
    assert filed["first_response_due_at"] is None
    view = await api.get(
        f"/api/v1/complaints/{filed['tracking_code']}", headers={SECRET_HEADER: filed["secret"]}
    )
    assert view.json()["subject"] == "shady-shop.example.com"
    assert view.json()["vendor"] is None


async def test_a_repeat_filing_reveals_nothing_of_the_earlier_complaint(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Someone who knows a consumer's phone files the same vendor and category: the answer
    is a fresh filing (own code and secret, same fields and status), and the earlier
    consumer's thread stays untouched; each side sees only its own complaint."""
    vendor = await member_vendor(services, association, "victim-vendor")
    victim = await file_complaint(api, vendor.slug)
    response = await api.post(
        "/api/v1/complaints/",
        json=complaint_body(vendor.slug, description="攻击者写入的文字", contact_name="冒名"),
    )
    assert response.status_code == 201
    intruder = response.json()
    assert intruder.keys() == victim.keys()
    assert intruder["tracking_code"] != victim["tracking_code"]
    assert intruder["secret"] != victim["secret"]
    assert intruder["status"] == victim["status"] == "forwarded"
    assert intruder["message"] == victim["message"]
    assert victim["tracking_code"] not in response.text
    own = await api.get(
        f"/api/v1/complaints/{intruder['tracking_code']}",
        headers={SECRET_HEADER: intruder["secret"]},
    )
    assert own.json()["description"] == "攻击者写入的文字"
    assert victim["tracking_code"] not in own.text
    assert [e["kind"] for e in own.json()["thread"]] == ["transition", "transition"]
    earlier = await api.get(
        f"/api/v1/complaints/{victim['tracking_code']}", headers={SECRET_HEADER: victim["secret"]}
    )
    assert "攻击者" not in earlier.text
    assert earlier.json()["duplicates_merged"] == 0
    assert [e["kind"] for e in earlier.json()["thread"]] == ["transition", "transition"]
    cannot = await api.get(
        f"/api/v1/complaints/{victim['tracking_code']}",
        headers={SECRET_HEADER: intruder["secret"]},
    )
    assert cannot.status_code == 404


async def test_repeat_filings_count_against_the_rate_limits(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """A contact filing too often is refused (429), repeats of one complaint included, and
    a refused filing writes nothing, not even onto the earlier thread."""
    vendor = await member_vendor(services, association, "busy-vendor")
    limit = services.ctx.settings.complaint_contact_limit
    first = await file_complaint(api, vendor.slug)
    for _ in range(limit - 1):
        await file_complaint(api, vendor.slug)
    assert await _count(services, Complaint) == limit
    events_before = await _count(services, ComplaintEvent)
    limited = await api.post("/api/v1/complaints/?lang=en", json=complaint_body(vendor.slug))
    assert limited.status_code == 429
    assert "too many" in limited.json()["detail"]
    assert first["tracking_code"] not in limited.text
    assert await _count(services, Complaint) == limit
    assert await _count(services, ComplaintEvent) == events_before


async def test_a_mediator_joins_a_repeat_filing_into_the_earlier_one(
    api: httpx.AsyncClient, services: Services, association: str, role_tokens: dict[Role, str]
) -> None:
    """The repeat waits in the mediation queue linked to the earlier complaint; only the
    mediator's join puts its text on the earlier thread (and closes the repeat)."""
    vendor = await member_vendor(services, association, "repeat-vendor")
    first = await file_complaint(api, vendor.slug)
    repeat = await file_complaint(api, vendor.slug, description="补充：又扣了一次费")
    mediator = _auth(role_tokens[Role.MEDIATOR])
    queue = (await api.get("/api/v1/mediation/complaints/", headers=mediator)).json()
    assert [item["tracking_code"] for item in queue["items"]] == [repeat["tracking_code"]]
    view = await api.get(
        f"/api/v1/mediation/complaints/{repeat['tracking_code']}", headers=mediator
    )
    assert view.json()["duplicate_of"] == first["tracking_code"]
    assert view.json()["duplicates"] == []
    vendor_view = await api.get(
        f"/api/v1/inbox/complaints/{repeat['tracking_code']}", headers=_auth(vendor.token)
    )
    assert "duplicate_of" not in vendor_view.json()
    joined = await api.post(
        f"/api/v1/mediation/complaints/{repeat['tracking_code']}/join",
        headers=mediator,
        json={"note": "同一消费者的重复投诉"},
    )
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "closed"
    again = await api.post(
        f"/api/v1/mediation/complaints/{repeat['tracking_code']}/join", headers=mediator, json={}
    )
    assert again.status_code == 404
    earlier = (
        await api.get(
            f"/api/v1/complaints/{first['tracking_code']}",
            headers={SECRET_HEADER: first["secret"]},
        )
    ).json()
    assert earlier["duplicates_merged"] == 1
    assert earlier["thread"][-1]["kind"] == "duplicate_merged"
    assert earlier["thread"][-1]["body"] == "补充：又扣了一次费"
    repeat_view = await api.get(
        f"/api/v1/complaints/{repeat['tracking_code']}", headers={SECRET_HEADER: repeat["secret"]}
    )
    assert first["tracking_code"] not in repeat_view.text
    vendor_token = _auth(vendor.token)
    assert (
        await api.post(
            f"/api/v1/mediation/complaints/{first['tracking_code']}/join",
            headers=vendor_token,
            json={},
        )
    ).status_code in {401, 403}


async def test_filing_after_closure_starts_a_new_complaint(
    api: httpx.AsyncClient, services: Services, association: str, role_tokens: dict[Role, str]
) -> None:
    """Once a complaint is closed, the same contact filing the same subject and category
    again starts a new complaint, not a repeat linked to the closed one."""
    vendor = await member_vendor(services, association, "closed-vendor")
    first = await file_complaint(api, vendor.slug)
    code, secret = first["tracking_code"], {SECRET_HEADER: first["secret"]}
    await api.post(
        f"/api/v1/inbox/complaints/{code}/proposal",
        headers=_auth(vendor.token),
        json={"proposal": "全额退款"},
    )
    accepted = await api.post(f"/api/v1/complaints/{code}/accept", headers=secret)
    assert accepted.json()["closed_at"] is not None
    anew = await file_complaint(api, vendor.slug)
    mediator = _auth(role_tokens[Role.MEDIATOR])
    queue = (await api.get("/api/v1/mediation/complaints/", headers=mediator)).json()
    assert queue["page"]["total"] == 0
    async with services.ctx.db.read() as session:
        linked = await session.scalar(
            select(Complaint.duplicate_of_id).where(
                Complaint.tracking_code == anew["tracking_code"]
            )
        )
    assert linked is None


async def test_filing_after_a_mediator_closed_the_complaint_starts_anew(
    services: Services, association: str, role_tokens: dict[Role, str]
) -> None:
    """The other way a complaint closes (mediated, then closed by the mediator) frees the
    contact too: filing again is a new complaint, not a repeat awaiting a join, while a
    filing made before the closure stays linked."""
    vendor = await member_vendor(services, association, "mediated-vendor")
    vendor_caller = await services.accounts.authenticate(vendor.token)
    mediator = await services.accounts.authenticate(role_tokens[Role.MEDIATOR])
    form = ComplaintSubmission(**complaint_body(vendor.slug))  # type: ignore[arg-type]
    first = await services.complaints.consumers.file(form, client_ip="198.51.100.1")
    repeat = await services.complaints.consumers.file(form, client_ip="198.51.100.1")
    code = first.tracking_code
    await services.complaints.vendors.propose_resolution(
        vendor_caller, code, "部分退款", concede=False
    )
    await services.complaints.consumers.reject(code, first.secret, "只退了一部分")
    await services.complaints.mediators.decide(mediator, code, MediationOutcome.UPHELD, "应退")
    closed = await services.complaints.mediators.close(mediator, code, "")
    assert closed.closed_at is not None
    anew = await services.complaints.consumers.file(form, client_ip="198.51.100.1")
    async with services.ctx.db.read() as session:
        rows = await session.execute(
            select(Complaint.tracking_code, Complaint.duplicate_of_id).where(
                Complaint.tracking_code.in_([repeat.tracking_code, anew.tracking_code])
            )
        )
        links = {row.tracking_code: row.duplicate_of_id for row in rows}
        first_id = await session.scalar(select(Complaint.id).where(Complaint.tracking_code == code))
    assert links == {repeat.tracking_code: first_id, anew.tracking_code: None}


async def test_per_ip_limit(services: Services, association: str) -> None:
    """Different contacts from one address are capped per window."""
    vendor = await member_vendor(services, association, "ip-vendor")
    strict = ConsumerComplaintService(
        replace(services.ctx, settings=replace(services.ctx.settings, complaint_ip_limit=2))
    )
    form = ComplaintSubmission(**complaint_body(vendor.slug))  # type: ignore[arg-type]
    for phone in ("13900000001", "13900000002"):
        await strict.file(replace(form, contact_phone=phone), client_ip="203.0.113.9")
    with pytest.raises(ComplaintRateLimited):
        await strict.file(replace(form, contact_phone="13900000003"), client_ip="203.0.113.9")
    await strict.file(replace(form, contact_phone="13900000003"), client_ip="203.0.113.10")
    assert await _count(services, Complaint) == 3


async def test_vendors_and_mediators_see_only_their_own(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
) -> None:
    """Another vendor gets 404; a mediator sees nothing until escalation; no consent, no
    contact; another association's mediator sees nothing."""
    owner = await member_vendor(services, association, "owner-vendor")
    other = await member_vendor(services, association, "other-vendor")
    filed = await file_complaint(api, owner.slug, consent_to_share=False)
    code = filed["tracking_code"]
    assert (
        await api.get(f"/api/v1/inbox/complaints/{code}", headers=_auth(other.token))
    ).status_code == 404
    assert (
        await api.post(
            f"/api/v1/inbox/complaints/{code}/acknowledge", headers=_auth(other.token), json={}
        )
    ).status_code == 404
    denied = await api.get(f"/api/v1/inbox/complaints/{code}/contact", headers=_auth(owner.token))
    assert denied.status_code == 403
    mediator = _auth(role_tokens[Role.MEDIATOR])
    assert (
        await api.get(f"/api/v1/mediation/complaints/{code}", headers=mediator)
    ).status_code == 404
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    outsider = await services.accounts.create_principal_with_token(
        role=Role.MEDIATOR, display_name="sipa mediator", association_slug="sipa"
    )
    queue = await api.get("/api/v1/mediation/complaints/", headers=_auth(outsider.token))
    assert queue.json()["page"]["total"] == 0
    empty = await api.get("/api/v1/inbox/complaints/", headers=_auth(other.token))
    assert empty.json()["page"]["total"] == 0


async def test_association_sets_its_clocks(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
) -> None:
    """An association's own first-response clock applies to complaints forwarded after it."""
    assert (await api.get(f"/api/v1/associations/{association}/complaint-sla")).json()[
        "first_response_hours"
    ] == 24
    changed = await api.put(
        f"/api/v1/associations/{association}/complaint-sla",
        headers=_auth(role_tokens[Role.ASSOCIATION_ADMIN]),
        json={"first_response_hours": 12, "resolution_hours": 72},
    )
    assert changed.json()["custom"] is True
    for bad in (
        {"first_response_hours": 0, "resolution_hours": 1},
        {"first_response_hours": 48, "resolution_hours": 24},
        {"first_response_hours": 10**12, "resolution_hours": 10**12},
    ):
        refused = await api.put(
            f"/api/v1/associations/{association}/complaint-sla",
            headers=_auth(role_tokens[Role.ASSOCIATION_ADMIN]),
            json=bad,
        )
        assert refused.status_code in {400, 422}, refused.text
    assert (await api.get(f"/api/v1/associations/{association}/complaint-sla")).json()[
        "first_response_hours"
    ] == 12
    vendor = await member_vendor(services, association, "fast-vendor")
    filed = await file_complaint(api, vendor.slug)
    view = (
        await api.get(
            f"/api/v1/inbox/complaints/{filed['tracking_code']}", headers=_auth(vendor.token)
        )
    ).json()
    assert view["first_response_due_at"] == "2026-11-28T21:00:00Z"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log record of the run (registry, SQL with parameters, server) at DEBUG."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    names = ["", "registry", "sqlalchemy.engine", "uvicorn", "litestar", "httpx", "httpcore"]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    logging.getLogger("registry").addHandler(handler)
    yield buffer
    logging.getLogger().removeHandler(handler)
    logging.getLogger("registry").removeHandler(handler)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


async def test_contact_data_is_not_readable_in_database_or_logs(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
    captured_logs: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """File, reveal to the vendor, escalate, mediate; file against an unregistered domain,
    triage it, reveal to a mediator, link it: then grep the DB and every log (notifications
    to vendors and mediators included)."""
    vendor = await member_vendor(services, association, "private-vendor")
    mediator = _auth(role_tokens[Role.MEDIATOR])
    unregistered = await file_complaint(
        api,
        "",
        subject_kind="domain",
        subject_value="private-vendor.example.net",
        contact_name=CONTACT_NAME,
        contact_phone=CONTACT_PHONE,
        contact_email=CONTACT_EMAIL,
    )
    triaged = unregistered["tracking_code"]
    assert (
        await api.get(f"/api/v1/mediation/complaints/{triaged}/contact", headers=mediator)
    ).json()["phone"]
    linked = await api.post(
        f"/api/v1/mediation/complaints/{triaged}/vendor",
        headers=mediator,
        json={"vendor": vendor.slug},
    )
    assert linked.status_code == 200, linked.text
    filed = await file_complaint(
        api,
        vendor.slug,
        contact_name=CONTACT_NAME,
        contact_phone=CONTACT_PHONE,
        contact_email=CONTACT_EMAIL,
    )
    code = filed["tracking_code"]
    revealed = await api.get(
        f"/api/v1/inbox/complaints/{code}/contact", headers=_auth(vendor.token)
    )
    assert revealed.json()["email"] == CONTACT_EMAIL  # the vendor concerned may read it
    clock.advance(timedelta(hours=25))
    await run_jobs_once(services)  # escalation, webhook fan-out and delivery, checkpoint
    assert (await api.get(f"/api/v1/mediation/complaints/{code}/contact", headers=mediator)).json()[
        "name"
    ] == CONTACT_NAME
    feed = (await api.get("/api/v1/mediation/notifications/", headers=mediator)).json()
    assert {item["type"] for item in feed["items"]} == {
        "complaint.awaiting_triage",
        "complaint.escalated",
    }
    await services.ctx.db.dispose()  # checkpoint WAL pages into the file

    needles = [CONTACT_NAME, CONTACT_PHONE, "13912348765", CONTACT_EMAIL, "leakcheck"]
    dumped = await _dump_every_table(services)
    logs = captured_logs.getvalue() + "".join(capfd.readouterr())
    assert "SELECT" in captured_logs.getvalue()  # SQL with parameters was really captured
    for needle in needles:
        assert needle not in dumped, f"{needle!r} is readable in the database"
        assert needle not in logs, f"{needle!r} appears in the logs"
    data_dir = services.ctx.settings.data_dir
    for path in data_dir.glob("registry.db*"):
        raw = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in raw, f"{needle!r} is in {path.name}"


async def _dump_every_table(services: Services) -> str:
    """Every row of every table as text (works on SQLite and PostgreSQL)."""
    chunks: list[str] = []
    async with services.ctx.db.read() as session:
        tables = await session.run_sync(lambda sync: inspect(sync.connection()).get_table_names())
        for table in tables:
            rows = await session.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
            for row in rows:
                for value in row:
                    if isinstance(value, bytes):
                        chunks.append(value.decode("utf-8", "replace"))
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


async def test_an_erased_contact_survives_nowhere_in_the_database_files(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """After erase-contact neither the sealed contact, its fingerprint nor the plain phone
    and name are in registry.db, its WAL or shared-memory file: the old page images are
    zeroed (secure_delete) and the WAL is truncated, without closing the database."""
    vendor = await member_vendor(services, association, "erasing-vendor")
    filed = await file_complaint(
        api, vendor.slug, contact_name=CONTACT_NAME, contact_phone=CONTACT_PHONE
    )
    code, secret = filed["tracking_code"], {SECRET_HEADER: filed["secret"]}
    revealed = await api.get(
        f"/api/v1/inbox/complaints/{code}/contact", headers=_auth(vendor.token)
    )
    assert revealed.json()["phone"] == CONTACT_PHONE
    await api.post(
        f"/api/v1/inbox/complaints/{code}/proposal",
        headers=_auth(vendor.token),
        json={"proposal": "全额退款"},
    )
    assert (await api.post(f"/api/v1/complaints/{code}/accept", headers=secret)).status_code == 200
    async with services.ctx.db.read() as session:
        row = (
            await session.execute(select(Complaint).where(Complaint.tracking_code == code))
        ).scalar_one()
    sealed, fingerprint = row.contact_sealed, row.contact_fingerprint
    assert sealed is not None
    assert fingerprint is not None
    assert services.complaints.consumers.vault.open(sealed).phone == CONTACT_PHONE
    erased = await api.post(f"/api/v1/complaints/{code}/erase-contact", headers=secret)
    assert erased.json()["contact_on_file"] is False
    dumped = await _dump_every_table(services)
    assert fingerprint not in dumped
    assert sealed.hex() not in dumped
    if services.ctx.db.dialect != "sqlite":
        return  # PostgreSQL keeps dead row versions until VACUUM (README, "Security")
    needles = [sealed, sealed[24:56], fingerprint.encode(), CONTACT_NAME.encode(), b"87654"]
    files = sorted(services.ctx.settings.data_dir.glob("registry.db*"))
    assert [path.name for path in files][:1] == ["registry.db"]
    for path in files:
        raw = path.read_bytes()
        for needle in needles:
            assert needle not in raw, f"{needle!r} survives in {path.name}"


async def test_a_missing_secret_header_is_named(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Without X-Complaint-Secret the problem names that header (in both languages), not
    the message body, on reads and on writes with a body."""
    vendor = await member_vendor(services, association, "header-vendor")
    code = (await file_complaint(api, vendor.slug))["tracking_code"]
    read = await api.get(f"/api/v1/complaints/{code}?lang=en")
    assert read.status_code == 400
    assert list(read.json()["errors"]) == [SECRET_HEADER]
    assert "X-Complaint-Secret header is missing" in read.json()["detail"]
    write = await api.post(f"/api/v1/complaints/{code}/messages", json={"body": "你好"})
    assert write.status_code == 400
    assert "缺少请求头 X-Complaint-Secret" in write.json()["detail"]
    assert "留言内容" not in write.json()["detail"]
