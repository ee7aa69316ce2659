"""Object-level authorization, proven as a table: every route that names an object.

`test_access_matrix.py` proves the guard: a role a route does not name is refused. This
file proves the next step, where the role is right but the object is not the caller's:
a vendor admin acting on another vendor, an association admin or mediator acting on
another association's application, vendor, key or complaint, a consumer holding the
secret of another complaint. Each must be answered 403 or 404, and nothing may be
written (every table's row count and the log's size stay as they were).

The routes come from the app itself. A route with a path parameter that is in neither
`PROBES` nor `PUBLIC_RECORDS` fails the test by name, so a route added later must be
placed in the table: probed, or stated to be a public record.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

import httpx
from litestar.routes import HTTPRoute
from sqlalchemy import func, select

from attestations.envelope import sign_envelope
from attestations.keys import SigningKey
from public_site.form_token import FormTokens
from registry.app import create_app
from registry.blacklist.remedies import appeal_envelope, repair_envelope
from registry.blacklist.signing import answer_envelope
from registry.blacklist.states import VoteChoice
from registry.blacklist.votes import vote_envelope
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT
from registry.certification.signing import attestation_envelope
from registry.client import rotation_envelope
from registry.db.base import Base
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.settings import Settings
from tests.factories import MemberVendor, admin_caller, apply_vendor, member_vendor

SECRET_HEADER: Final = "X-Complaint-Secret"
OTHER_ASSOCIATION: Final = "sipa"


@dataclass(frozen=True)
class World:
    """The victim's objects (association `csia`) and the callers who must not touch them."""

    victim: MemberVendor
    """A member of csia with a key, a webhook endpoint and complaints against it."""
    other_vendor: MemberVendor
    """Another member of the same association: same role, same association, other vendor."""
    other_admin: str
    """Association admin of sipa."""
    other_mediator: str
    """Mediator of sipa."""
    application_id: int
    """A pending application to csia."""
    endpoint_id: int
    complaint: str
    """Escalated to csia's mediators, so only the association decides who sees it."""
    other_secret: str
    """The secret of a complaint of someone else (against the other vendor)."""
    form_token: str
    clock_now: Any
    blacklist_case: str
    """A blacklist case against the victim, awaiting its answer."""
    other_member: str
    """A committee member of sipa, logged in with its vote key."""
    other_member_key: SigningKey


@dataclass(frozen=True)
class Probe:
    """One request an outsider sends at the victim's object."""

    path: str
    token: str | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    form: dict[str, str] | None = None


def _vendor(world: World, path: str, json: Any = None) -> list[Probe]:
    return [Probe(path, world.other_vendor.token, json)]


def _admin(world: World, path: str, json: Any = None) -> list[Probe]:
    return [Probe(path, world.other_admin, json)]


def _consumer(world: World, path: str, json: Any = None) -> list[Probe]:
    return [Probe(path, json=json, headers={SECRET_HEADER: world.other_secret})]


def _attestation(world: World) -> dict[str, Any]:
    """Well-formed, signed by the outsider's own key, about the victim."""
    now = world.clock_now
    return attestation_envelope(
        world.other_vendor.key,
        vendor=world.victim.slug,
        period=(now - timedelta(days=30), now - timedelta(days=1)),
        issued_at=now,
    ).to_dict()


def _rotation(world: World) -> dict[str, Any]:
    return rotation_envelope(
        world.other_vendor.key,
        SigningKey.generate(),
        vendor=world.victim.slug,
        issued_at=world.clock_now,
    ).to_dict()


def _scheme() -> dict[str, Any]:
    return {
        "slug": "consumer-protection",
        "title_zh": "另一个协会的方案",
        "title_en": "Another association's scheme",
        "document": copy.deepcopy(DEFAULT_SCHEME_DOCUMENT),
    }


VENDOR: Final = "/api/v1/vendors/{slug}"
APPLICATION: Final = "/api/v1/applications/{application_id}"
CONSUMER: Final = "/api/v1/complaints/{tracking_code}"
INBOX: Final = "/api/v1/inbox/complaints/{tracking_code}"
MEDIATION: Final = "/api/v1/mediation/complaints/{tracking_code}"
BLACKLIST: Final = "/api/v1/blacklist"
BLACKLIST_CASE: Final = f"{BLACKLIST}/cases/{{reference}}"
BLACKLIST_ASSOCIATION: Final = f"{BLACKLIST}/associations/{{association}}"


def _vote(world: World) -> dict[str, Any]:
    """A well-formed vote by sipa's committee member on csia's case."""
    return vote_envelope(
        world.other_member_key,
        ballot="case:1",
        case_reference=world.blacklist_case,
        evidence_digest="0" * 64,
        choice=VoteChoice.ABSTAIN,
        reason="越权投票",
        issued_at=world.clock_now,
    ).to_dict()


def _answer(world: World) -> dict[str, Any]:
    """Well-formed, signed by the outsider's own key, answering the victim's case."""
    return answer_envelope(
        world.other_vendor.key,
        case=world.blacklist_case,
        vendor=world.victim.slug,
        statement="不是我们的问题",
        issued_at=world.clock_now,
    ).to_dict()


def _rule(minimum: int) -> dict[str, Any]:
    return {
        "rule_id": "complaints-substantiated",
        "kind": "substantiated_complaints",
        "title_zh": "投诉经查属实",
        "title_en": "Substantiated complaints",
        "text_zh": "投诉经查属实。",
        "text_en": "Substantiated complaints.",
        "parameters": {
            "min_complaints": minimum,
            "min_distinct_complainants": 1,
            "window_days": 90,
        },
        "tier_proposed": "minor",
    }


PROBES: Final[dict[tuple[str, str], Callable[[World], list[Probe]]]] = {
    # Applications: an admin of another association.
    ("GET", APPLICATION): lambda w: _admin(w, f"/api/v1/applications/{w.application_id}"),
    ("POST", f"{APPLICATION}/approve"): lambda w: _admin(
        w, f"/api/v1/applications/{w.application_id}/approve", {"reason": "ok"}
    ),
    ("POST", f"{APPLICATION}/reject"): lambda w: _admin(
        w, f"/api/v1/applications/{w.application_id}/reject", {"reason": "no"}
    ),
    # Keys: the other vendor rotates or revokes; another association's admin revokes.
    ("POST", f"{VENDOR}/keys"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/keys", _rotation(w)
    ),
    ("POST", "/api/v1/keys/{key_id}/revoke"): lambda w: [
        Probe(f"/api/v1/keys/{w.victim.key.key_id}/revoke", token, {"reason": "compromised"})
        for token in (w.other_vendor.token, w.other_admin)
    ],
    ("GET", "/api/v1/keys/{key_id}/compromised-records"): lambda w: [
        Probe(f"/api/v1/keys/{w.victim.key.key_id}/compromised-records", token)
        for token in (w.other_vendor.token, w.other_admin)
    ],
    # Domain claims and their proof: the other vendor; another association's admin.
    ("GET", f"{VENDOR}/domains"): lambda w: [
        Probe(f"/api/v1/vendors/{w.victim.slug}/domains", token)
        for token in (w.other_vendor.token, w.other_admin)
    ],
    ("POST", f"{VENDOR}/domains/{{domain}}/verify"): lambda w: [
        Probe(f"/api/v1/vendors/{w.victim.slug}/domains/{w.victim.slug}.example.cn/verify", token)
        for token in (w.other_vendor.token, w.other_admin)
    ],
    # Certification decisions: another association's admin.
    **{
        ("POST", f"{VENDOR}/certification/{verb}"): (
            lambda w, verb=verb: _admin(
                w, f"/api/v1/vendors/{w.victim.slug}/certification/{verb}", {"reason": "x"}
            )
        )
        for verb in ("suspend", "reinstate", "revoke")
    },
    # Attestations: the other vendor submits or lists; another association's admin lists.
    ("POST", f"{VENDOR}/attestations"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/attestations", _attestation(w)
    ),
    ("POST", f"{VENDOR}/attestations/batch"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/attestations/batch", {"envelopes": [_attestation(w)]}
    ),
    ("GET", f"{VENDOR}/attestations"): lambda w: [
        Probe(f"/api/v1/vendors/{w.victim.slug}/attestations", token)
        for token in (w.other_vendor.token, w.other_admin)
    ],
    # Schemes and complaint clocks of csia: another association's admin.
    ("POST", "/api/v1/associations/{association}/schemes"): lambda w: _admin(
        w, "/api/v1/associations/csia/schemes", _scheme()
    ),
    ("PUT", "/api/v1/associations/{slug}/complaint-sla"): lambda w: _admin(
        w,
        "/api/v1/associations/csia/complaint-sla",
        {"first_response_hours": 48, "resolution_hours": 240},
    ),
    # Webhooks: the other vendor.
    ("GET", f"{VENDOR}/webhooks"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/webhooks"
    ),
    ("POST", f"{VENDOR}/webhooks"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/webhooks", {"url": "https://hooks.example.com/x"}
    ),
    ("DELETE", f"{VENDOR}/webhooks/{{endpoint_id}}"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/webhooks/{w.endpoint_id}"
    ),
    ("GET", f"{VENDOR}/webhooks/deliveries"): lambda w: _vendor(
        w, f"/api/v1/vendors/{w.victim.slug}/webhooks/deliveries"
    ),
    # A complaint, as its consumer: someone holding another complaint's secret.
    ("GET", CONSUMER): lambda w: _consumer(w, f"/api/v1/complaints/{w.complaint}"),
    ("POST", f"{CONSUMER}/messages"): lambda w: _consumer(
        w, f"/api/v1/complaints/{w.complaint}/messages", {"body": "我是别人"}
    ),
    ("POST", f"{CONSUMER}/accept"): lambda w: _consumer(
        w, f"/api/v1/complaints/{w.complaint}/accept"
    ),
    ("POST", f"{CONSUMER}/reject"): lambda w: _consumer(
        w, f"/api/v1/complaints/{w.complaint}/reject", {"reason": "不接受"}
    ),
    ("POST", f"{CONSUMER}/rating"): lambda w: _consumer(
        w, f"/api/v1/complaints/{w.complaint}/rating", {"score": 1}
    ),
    ("POST", f"{CONSUMER}/erase-contact"): lambda w: _consumer(
        w, f"/api/v1/complaints/{w.complaint}/erase-contact"
    ),
    ("POST", "/complaints/track/{action}"): lambda w: [
        Probe(
            f"/complaints/track/{action}",
            form={
                "tracking_code": w.complaint,
                "secret": w.other_secret,
                "csrf_token": w.form_token,
                "body": "我是别人",
                "reason": "不接受",
                "score": "1",
            },
        )
        for action in ("message", "accept", "reject", "rate", "erase")
    ],
    # A government partner's report tables, with the session cookie of someone who is
    # not a partner (each holds a valid token of another role).
    ("GET", "/partners/data/{name}"): lambda w: [
        Probe(
            "/partners/data/complaints-by-category.csv",
            headers={"Cookie": f"partner_session={token}"},
        )
        for token in (w.other_vendor.token, w.other_admin, w.other_mediator)
    ],
    # A complaint, as its vendor: the other vendor.
    ("GET", INBOX): lambda w: _vendor(w, f"/api/v1/inbox/complaints/{w.complaint}"),
    ("GET", f"{INBOX}/contact"): lambda w: _vendor(
        w, f"/api/v1/inbox/complaints/{w.complaint}/contact"
    ),
    ("POST", f"{INBOX}/acknowledge"): lambda w: _vendor(
        w, f"/api/v1/inbox/complaints/{w.complaint}/acknowledge", {"body": "收到"}
    ),
    ("POST", f"{INBOX}/messages"): lambda w: _vendor(
        w, f"/api/v1/inbox/complaints/{w.complaint}/messages", {"body": "收到"}
    ),
    ("POST", f"{INBOX}/proposal"): lambda w: _vendor(
        w, f"/api/v1/inbox/complaints/{w.complaint}/proposal", {"proposal": "退款"}
    ),
    # A complaint in mediation: another association's mediator (and admin, to link).
    ("GET", MEDIATION): lambda w: [
        Probe(f"/api/v1/mediation/complaints/{w.complaint}", w.other_mediator)
    ],
    ("GET", f"{MEDIATION}/contact"): lambda w: [
        Probe(f"/api/v1/mediation/complaints/{w.complaint}/contact", w.other_mediator)
    ],
    ("POST", f"{MEDIATION}/messages"): lambda w: [
        Probe(
            f"/api/v1/mediation/complaints/{w.complaint}/messages", w.other_mediator, {"body": "x"}
        )
    ],
    ("POST", f"{MEDIATION}/decision"): lambda w: [
        Probe(
            f"/api/v1/mediation/complaints/{w.complaint}/decision",
            w.other_mediator,
            {"outcome": "upheld", "note": "x"},
        )
    ],
    ("POST", f"{MEDIATION}/join"): lambda w: [
        Probe(f"/api/v1/mediation/complaints/{w.complaint}/join", w.other_mediator, {"note": "x"})
    ],
    ("POST", f"{MEDIATION}/close"): lambda w: [
        Probe(f"/api/v1/mediation/complaints/{w.complaint}/close", w.other_mediator, {"note": "x"})
    ],
    ("POST", f"{MEDIATION}/take-up"): lambda w: [
        Probe(f"/api/v1/mediation/complaints/{w.complaint}/take-up", w.other_mediator, {})
    ],
    ("POST", f"{MEDIATION}/vendor"): lambda w: [
        Probe(
            f"/api/v1/mediation/complaints/{w.complaint}/vendor",
            token,
            {"vendor": w.other_vendor.slug},
        )
        for token in (w.other_mediator, w.other_admin)
    ],
    # Blacklist: the victim's case, its inbox, csia's terms, rulebooks and case list.
    ("GET", BLACKLIST_CASE): lambda w: [
        Probe(f"{BLACKLIST}/cases/{w.blacklist_case}", token)
        for token in (w.other_vendor.token, w.other_admin, w.other_mediator)
    ],
    ("POST", f"{BLACKLIST_CASE}/answer"): lambda w: _vendor(
        w, f"{BLACKLIST}/cases/{w.blacklist_case}/answer", _answer(w)
    ),
    ("POST", f"{BLACKLIST_CASE}/relayed-answer"): lambda w: [
        Probe(
            f"{BLACKLIST}/cases/{w.blacklist_case}/relayed-answer",
            w.other_mediator,
            {"statement": "代为陈述"},
        )
    ],
    ("POST", f"{BLACKLIST_CASE}/relayed-appeal"): lambda w: [
        Probe(
            f"{BLACKLIST}/cases/{w.blacklist_case}/relayed-appeal",
            w.other_mediator,
            {"grounds": "代为申诉"},
        )
    ],
    ("POST", f"{BLACKLIST_CASE}/relayed-repair"): lambda w: [
        Probe(
            f"{BLACKLIST}/cases/{w.blacklist_case}/relayed-repair",
            w.other_mediator,
            {"commitment": "承诺整改", "changes": "已整改"},
        )
    ],
    ("GET", f"{BLACKLIST}/vendors/{{slug}}/cases"): lambda w: [
        Probe(f"{BLACKLIST}/vendors/{w.victim.slug}/cases", token)
        for token in (w.other_vendor.token, w.other_admin)
    ],
    ("GET", f"{BLACKLIST_ASSOCIATION}/cases"): lambda w: [
        Probe(f"{BLACKLIST}/associations/csia/cases", token)
        for token in (w.other_admin, w.other_mediator)
    ],
    ("PUT", f"{BLACKLIST_ASSOCIATION}/terms"): lambda w: _admin(
        w, f"{BLACKLIST}/associations/csia/terms", {"answer_window_days": 1}
    ),
    # The committee side: another association's member, admin or vendor on csia's case.
    ("POST", f"{BLACKLIST_CASE}/votes"): lambda w: [
        Probe(f"{BLACKLIST}/cases/{w.blacklist_case}/votes", w.other_member, _vote(w))
    ],
    ("POST", f"{BLACKLIST_CASE}/recusals"): lambda w: [
        Probe(
            f"{BLACKLIST}/cases/{w.blacklist_case}/recusals",
            w.other_member,
            {"ballot": "case:1", "reason": "voluntary", "detail": "与本案无关"},
        )
    ],
    ("POST", f"{BLACKLIST_CASE}/extension"): lambda w: _admin(
        w, f"{BLACKLIST}/cases/{w.blacklist_case}/extension", {"reason": "需要更多时间"}
    ),
    ("POST", f"{BLACKLIST_CASE}/appeal"): lambda w: _vendor(
        w,
        f"{BLACKLIST}/cases/{w.blacklist_case}/appeal",
        appeal_envelope(
            w.other_vendor.key,
            case=w.blacklist_case,
            vendor=w.victim.slug,
            grounds="不服",
            issued_at=w.clock_now,
        ).to_dict(),
    ),
    ("POST", f"{BLACKLIST_CASE}/repair"): lambda w: _vendor(
        w,
        f"{BLACKLIST}/cases/{w.blacklist_case}/repair",
        repair_envelope(
            w.other_vendor.key,
            case=w.blacklist_case,
            vendor=w.victim.slug,
            commitment="承诺整改",
            changes="已整改",
            issued_at=w.clock_now,
        ).to_dict(),
    ),
    ("POST", f"{BLACKLIST_ASSOCIATION}/committee"): lambda w: _admin(
        w,
        f"{BLACKLIST}/associations/csia/committee",
        {"display_name": "冒名委员", "public_key": SigningKey.generate().public_key.to_base64()},
    ),
    ("GET", f"{BLACKLIST}/appeals/{{appeal_id}}"): lambda w: _admin(w, f"{BLACKLIST}/appeals/1"),
    ("POST", f"{BLACKLIST}/appeals/{{appeal_id}}/panel"): lambda w: _admin(
        w, f"{BLACKLIST}/appeals/1/panel"
    ),
    ("POST", f"{BLACKLIST_ASSOCIATION}/rulebooks"): lambda w: _admin(
        w,
        f"{BLACKLIST}/associations/csia/rulebooks",
        {"effective_from": "2027-06-01T00:00:00Z", "rules": [_rule(1)]},
    ),
}
"""(method, route) -> the outsiders' requests at the victim's object."""

PUBLIC_RECORDS: Final = {
    ("GET", VENDOR),
    ("GET", f"{VENDOR}/keys"),
    ("GET", f"{VENDOR}/certification"),
    ("GET", f"{VENDOR}/certification/history"),
    ("GET", f"{VENDOR}/certification/audits"),
    ("GET", f"{VENDOR}/complaint-figures"),
    ("GET", "/api/v1/associations/{association}/schemes"),
    ("GET", "/api/v1/associations/{slug}/complaint-sla"),
    ("GET", "/api/v1/log/entries/{index}"),
    ("GET", f"{BLACKLIST_ASSOCIATION}/terms"),
    ("GET", f"{BLACKLIST_ASSOCIATION}/rulebooks"),
    ("GET", f"{BLACKLIST_ASSOCIATION}/rulebooks/{{version}}"),
    ("GET", "/api/v1/reports/snapshots/{period}"),
    ("GET", "/transparency/entries/{index}"),
    ("GET", "/statistics/data/{name}"),
    ("GET", "/blacklist/{reference}"),
    ("GET", "/blacklist/notices/{reference}"),
    ("GET", "/vendors/{slug}"),
    ("GET", "/verify/{slug}"),
    ("GET", "/badges/{name}"),
    ("GET", "/badges/{slug}/token"),
    ("GET", "/static/{file_path}"),
    ("GET", "/api/docs/{path}"),
    ("GET", "/api/docs/assets/{name}"),
}
"""Routes that name an object but only read what the registry publishes to everyone:
the directory, keys, certificates and their history, schemes, clocks, blacklist rulebooks
and terms, the log, badges, the monthly report snapshots, the public statistics' open
data, blacklist listings and non-members' notices (a member's case before it is listed
reads as absent: tests/integration/test_blacklist_pages.py), and the site's own files.
(The blacklist snapshots and changes feed name theirs by query, not path:
`test_access_matrix` checks every caller gets the same answer.)"""


def routes_naming_objects() -> set[tuple[str, str]]:
    """(method, route) of every handler with a path parameter."""
    app = create_app(Settings(), run_scheduler=False)
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_parameters:
            for handler in route.route_handlers:
                found |= {
                    (method, route.path_format)
                    for method in handler.http_methods
                    if method not in {"HEAD", "OPTIONS"}
                }
    return found


def test_every_route_naming_an_object_is_in_the_table() -> None:
    """A new route with a path parameter must be probed here or called a public record."""
    routes = routes_naming_objects()
    missing = sorted(routes - set(PROBES) - PUBLIC_RECORDS)
    assert missing == [], f"routes naming an object that the table does not cover: {missing}"
    stale = sorted((set(PROBES) | PUBLIC_RECORDS) - routes)
    assert stale == [], f"the table names routes the app does not have: {stale}"
    assert not set(PROBES) & PUBLIC_RECORDS


async def _footprint(services: Services) -> dict[str, int]:
    """Row count of every table, and the log's size: what a refused request must not move."""
    counts: dict[str, int] = {}
    async with services.ctx.db.read() as session:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = await session.scalar(select(func.count()).select_from(table)) or 0
        counts["log size"] = await services.log.size(session)
    return counts


async def _file(api: httpx.AsyncClient, vendor: str, contact_phone: str) -> dict[str, Any]:
    body = {
        "vendor": vendor,
        "product": "云存储会员",
        "category": "billing_refund",
        "description": "取消订阅后仍被连续扣费三个月，客服不予退款。",
        "desired_remedy": "退还多扣的费用",
        "region": "110000",
        "occurred_on": "2026-11-01",
        "contact_name": "李华",
        "contact_phone": contact_phone,
        "consent_to_share": True,
    }
    answer = await api.post("/api/v1/complaints/", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _world(api: httpx.AsyncClient, services: Services, association: str) -> World:
    """Two vendors of csia, outsiders of sipa, and the victim's objects, built for real."""
    await services.federation.ensure_association(OTHER_ASSOCIATION, "上海市软件行业协会", "SIPA")
    victim = await member_vendor(services, association, "victim-vendor")
    other_vendor = await member_vendor(services, association, "other-vendor")
    outsiders = {
        role: (
            await services.accounts.create_principal_with_token(
                role=role, display_name=f"sipa {role.value}", association_slug=OTHER_ASSOCIATION
            )
        ).token
        for role in (Role.ASSOCIATION_ADMIN, Role.MEDIATOR)
    }
    application_id, _key, _code = await apply_vendor(services, association, "pending-vendor")
    victim_caller = await services.accounts.authenticate(victim.token)
    endpoint = await services.notifications.add_endpoint(
        victim_caller, victim.slug, "https://hooks.victim-vendor.example.cn/events", None
    )
    # The victim's complaint goes to mediation: answered, proposed, rejected.
    filed = await _file(api, victim.slug, "13800138000")
    code = filed["tracking_code"]
    auth = {"Authorization": f"Bearer {victim.token}"}
    await api.post(f"/api/v1/inbox/complaints/{code}/messages", headers=auth, json={"body": "收到"})
    await api.post(
        f"/api/v1/inbox/complaints/{code}/proposal", headers=auth, json={"proposal": "赠送会员"}
    )
    rejected = await api.post(
        f"/api/v1/complaints/{code}/reject",
        headers={SECRET_HEADER: filed["secret"]},
        json={"reason": "我需要的是退款"},
    )
    assert rejected.json()["status"] == "escalated", rejected.text
    others = await _file(api, other_vendor.slug, "13900139000")
    blacklist_case = await _blacklist_case(api, services, victim)
    member_key = SigningKey.generate()
    await services.blacklist_committee.appoint(
        await admin_caller(services),
        OTHER_ASSOCIATION,
        display_name="sipa committee member",
        public_key=member_key.public_key,
    )
    challenge = await services.accounts.issue_challenge(member_key.key_id)
    other_member = (
        await services.accounts.login(
            sign_envelope(challenge.payload, [member_key], payload_type=challenge.payload_type)
        )
    ).token
    return World(
        victim=victim,
        other_vendor=other_vendor,
        other_admin=outsiders[Role.ASSOCIATION_ADMIN],
        other_mediator=outsiders[Role.MEDIATOR],
        application_id=application_id,
        endpoint_id=endpoint.id,
        complaint=code,
        other_secret=others["secret"],
        form_token=FormTokens(services.ctx).issue().value,
        clock_now=services.ctx.clock.now(),
        blacklist_case=blacklist_case,
        other_member=other_member,
        other_member_key=member_key,
    )


async def _blacklist_case(api: httpx.AsyncClient, services: Services, victim: MemberVendor) -> str:
    """A rulebook published a notice period ago; one complaint the victim concedes opens
    a case against it when its consumer accepts (the substantiation's reaction)."""
    now = services.ctx.clock.now()
    earlier = Services(replace(services.ctx, clock=ManualClock(now - timedelta(days=31))))
    admin = await admin_caller(earlier)
    await earlier.blacklist_rules.publish(admin, "csia", [_rule(1)], now - timedelta(hours=1))
    filed = await _file(api, victim.slug, "13700137000")
    auth = {"Authorization": f"Bearer {victim.token}"}
    await api.post(
        f"/api/v1/inbox/complaints/{filed['tracking_code']}/proposal",
        headers=auth,
        json={"proposal": "全额退款", "concede": True},
    )
    accepted = await api.post(
        f"/api/v1/complaints/{filed['tracking_code']}/accept",
        headers={SECRET_HEADER: filed["secret"]},
    )
    assert accepted.status_code == 200, accepted.text
    assert (await services.blacklist_rules.evaluate()).opened == []  # opened on accepting
    inbox = await api.get(f"/api/v1/blacklist/vendors/{victim.slug}/cases", headers=auth)
    (case,) = inbox.json()["items"]
    return str(case["reference"])


async def _send(api: httpx.AsyncClient, method: str, probe: Probe) -> httpx.Response:
    headers = dict(probe.headers or {})
    if probe.token:
        headers["Authorization"] = f"Bearer {probe.token}"
    if probe.form is not None:
        return await api.request(
            method,
            probe.path,
            data=probe.form,
            headers={**headers, "Cookie": f"complaint_csrf={probe.form['csrf_token']}"},
        )
    return await api.request(method, probe.path, json=probe.json, headers=headers)


async def test_outsiders_are_refused_every_object_and_write_nothing(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """For every probed route: 403 or 404, and every table and the log unchanged."""
    world = await _world(api, services, association)
    before = await _footprint(services)
    assert before["log size"] > 0
    assert before["complaint"] == 3
    assert before["blacklist_case"] == 1
    refused: list[str] = []
    wrote: list[str] = []
    sent = 0
    for (method, route), probes_of in sorted(PROBES.items()):
        for probe in probes_of(world):
            answer = await _send(api, method, probe)
            sent += 1
            where = f"{method} {route} as {probe.path} ({answer.status_code})"
            if answer.status_code not in {403, 404}:
                refused.append(f"{where}: {answer.text[:300]}")
            after = await _footprint(services)
            if after != before:
                moved = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
                wrote.append(f"{where} wrote {moved}")
                before = after
    assert refused == [], "outsiders were not refused:\n" + "\n".join(refused)
    assert wrote == [], "refused requests wrote:\n" + "\n".join(wrote)
    assert sent >= len(PROBES)

    # The bulk check names its objects in the body, not the path: it answers every member
    # principal with what the registry publishes (listings in force) and says nothing of
    # the case still open against the victim, and writes nothing.
    victim = [
        {"kind": "vendor", "value": world.victim.slug},
        {"kind": "credit_code", "value": world.victim.credit_code},
    ]
    for token in (world.other_vendor.token, world.other_mediator, world.other_member):
        answer = await api.post(
            "/api/v1/blacklist/check",
            headers={"Authorization": f"Bearer {token}"},
            json={"identifiers": victim},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"] == [{**item, "listed": False} for item in victim]
        assert await _footprint(services) == before
