"""Attestations, audits and the certificate over HTTP, on both databases.

Every rejection checks the problem+json answer and that nothing was written: no
attestation or audit row, no transition, no log leaf, no outbox message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from attestations.envelope import PAYLOAD_TYPE_INTOTO, Envelope, EnvelopeSignature, sign_envelope
from attestations.keys import SigningKey
from registry.certification.audit_models import AuditRecord
from registry.certification.models import AttestationRecord, CertificationTransition
from registry.certification.signing import attestation_envelope, audit_envelope
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.notifications.models import OutboxMessage
from registry.services import Services
from tests.factories import AUDITED_VENDOR_AGE, MemberVendor, accredited_auditor, member_vendor

DAY = timedelta(days=1)
PROBLEM = "https://trust-registry.dev/problems/"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _counts(services: Services) -> tuple[int, ...]:
    async with services.ctx.db.read() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model)) or 0
                for model in (
                    AttestationRecord,
                    AuditRecord,
                    CertificationTransition,
                    OutboxMessage,
                )
            ]
            + [await services.log.size(session)]
        )


def _attest(member: MemberVendor, clock: ManualClock, **overrides: Any) -> dict[str, Any]:
    now = clock.now()
    fields: dict[str, Any] = {
        "vendor": member.slug,
        "period": (now - 30 * DAY, now - DAY),
        "issued_at": now,
    }
    fields.update(overrides)
    key = fields.pop("key", member.key)
    return attestation_envelope(key, **fields).to_dict()


async def test_attest_then_audit_to_l2_with_logged_transitions(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    vendor = await member_vendor(
        services, association, "acme-cloud", applied_before=AUDITED_VENDOR_AGE
    )
    none_yet = (await api.get("/api/v1/vendors/acme-cloud/certification")).json()
    assert none_yet["state"] is None
    assert none_yet["certified"] is False

    envelope = _attest(vendor, clock)
    first = await api.post(
        "/api/v1/vendors/acme-cloud/attestations", json=envelope, headers=_auth(vendor.token)
    )
    assert first.status_code == 201, first.text
    assert first.json()["all_met"] is True
    assert first.json()["scheme"] == "consumer-protection@1"
    again = await api.post(
        "/api/v1/vendors/acme-cloud/attestations", json=envelope, headers=_auth(vendor.token)
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]

    status = (await api.get("/api/v1/vendors/acme-cloud/certification")).json()
    assert status["state"] == "active"
    assert status["level"] == 1
    assert status["certified"] is True
    assert status["scheme"] == "consumer-protection@1"

    auditor = await accredited_auditor(services, "zhengxin-audit")
    audit = audit_envelope(
        auditor.key,
        auditor="zhengxin-audit",
        vendor="acme-cloud",
        period=(clock.now() - 180 * DAY, clock.now() - DAY),
        issued_at=clock.now(),
        report=b"full audit report",
    )
    submitted = await api.post("/api/v1/audits", json=audit.to_dict(), headers=_auth(auditor.token))
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["gap_before"] is False
    status = (await api.get("/api/v1/vendors/acme-cloud/certification")).json()
    assert status["level"] == 2

    history = (await api.get("/api/v1/vendors/acme-cloud/certification/history")).json()
    assert [(t["from_state"], t["to_state"], t["level"], t["cause"]) for t in history] == [
        (None, "active", 1, "attestation"),
        ("active", "active", 2, "audit"),
    ]
    assert status["log_index"] == history[-1]["log_index"]
    entry = (await api.get(f"/api/v1/log/entries/{status['log_index']}")).json()
    assert "certification.transition" in str(entry)
    audits = (await api.get("/api/v1/vendors/acme-cloud/certification/audits")).json()
    assert audits[0]["auditor"] == "zhengxin-audit"
    listed = await api.get("/api/v1/vendors/acme-cloud/attestations", headers=_auth(vendor.token))
    assert listed.json()["page"]["total"] == 1


def _bad_signature(vendor: MemberVendor, clock: ManualClock) -> dict[str, Any]:
    good = Envelope.from_dict(_attest(vendor, clock))
    forged = Envelope(
        good.payload_type,
        good.payload,
        (EnvelopeSignature(vendor.key.key_id, b"\x00" * 64),),
    )
    return forged.to_dict()


def _deeply_nested(vendor: MemberVendor) -> dict[str, Any]:
    """Signed by the vendor's key, but the statement is arrays inside arrays, deeper than
    the parser goes."""
    payload = b"[" * 100_000 + b"]" * 100_000
    return sign_envelope(payload, [vendor.key], payload_type=PAYLOAD_TYPE_INTOTO).to_dict()


REJECTIONS: list[tuple[str, Callable[..., dict[str, Any]], int, str]] = [
    (
        "unknown key",
        lambda v, c, o: _attest(v, c, key=SigningKey.generate()),
        422,
        "invalid-signature",
    ),
    ("key of another vendor", lambda v, c, o: _attest(v, c, key=o.key), 422, "invalid-signature"),
    ("forged signature", lambda v, c, o: _bad_signature(v, c), 422, "invalid-signature"),
    (
        "wrong scheme version",
        lambda v, c, o: _attest(v, c, scheme="consumer-protection@7"),
        422,
        "invalid-input",
    ),
    (
        "issued too long ago",
        lambda v, c, o: _attest(v, c, issued_at=c.now() - 8 * DAY),
        422,
        "invalid-input",
    ),
    (
        "issued in the future",
        lambda v, c, o: _attest(v, c, issued_at=c.now() + timedelta(hours=1)),
        422,
        "invalid-input",
    ),
    (
        "missing criteria",
        lambda v, c, o: _attest(v, c, criteria=("complaint-channel",)),
        422,
        "invalid-input",
    ),
    (
        "evidence URL longer than 2,048 characters",
        lambda v, c, o: _attest(v, c, evidence_base_url="https://evidence.example/" + "x" * 2048),
        422,
        "invalid-input",
    ),
    (
        "names another vendor",
        lambda v, c, o: _attest(v, c, vendor=o.slug),
        422,
        "invalid-input",
    ),
    (
        "period not over yet",
        lambda v, c, o: _attest(v, c, period=(c.now() - DAY, c.now() + 30 * DAY)),
        422,
        "invalid-input",
    ),
    ("statement nested too deeply", lambda v, c, o: _deeply_nested(v), 422, "invalid-input"),
]


@pytest.mark.parametrize(
    ("case", "build", "status", "code"), REJECTIONS, ids=[r[0] for r in REJECTIONS]
)
async def test_rejected_attestations_write_nothing(  # noqa: PLR0917 - fixtures and parameters
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    case: str,
    build: Callable[..., dict[str, Any]],
    status: int,
    code: str,
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    other = await member_vendor(services, association, "other-soft")
    before = await _counts(services)
    answer = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=build(vendor, clock, other),
        headers=_auth(vendor.token),
    )
    assert answer.status_code == status, (case, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == PROBLEM + code
    assert answer.json()["detail"]
    assert await _counts(services) == before


async def test_revoked_key_overlap_and_wrong_caller_write_nothing(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    other = await member_vendor(services, association, "other-soft")
    accepted = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    assert accepted.status_code == 201
    before = await _counts(services)

    # acme-cloud's stored envelope posted by other-soft for itself: checked as new and
    # refused (it names another vendor), never answered with acme-cloud's record.
    borrowed = await api.post(
        "/api/v1/vendors/other-soft/attestations",
        json=_attest(vendor, clock),
        headers=_auth(other.token),
    )
    assert borrowed.status_code == 422, borrowed.text
    assert "acme-cloud" in borrowed.json()["detail"]
    assert await _counts(services) == before

    overlap = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock, period=(clock.now() - 10 * DAY, clock.now())),
        headers=_auth(vendor.token),
    )
    assert overlap.status_code == 409
    assert overlap.json()["type"] == PROBLEM + "conflict"

    foreign = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(other.token),
    )
    assert foreign.status_code == 403

    admin = role_tokens[Role.FEDERATION_ADMIN]
    revoked = await api.post(
        f"/api/v1/keys/{vendor.key.key_id}/revoke",
        json={"reason": "laptop stolen"},
        headers=_auth(admin),
    )
    assert revoked.status_code == 200
    before = await _counts(services)
    clock.advance(timedelta(minutes=1))
    late = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock, period=(clock.now() - 60 * DAY, clock.now() - 31 * DAY)),
        headers=_auth(vendor.token),
    )
    assert late.status_code == 422
    assert "revoked" in late.json()["detail"]
    assert await _counts(services) == before


@pytest.mark.parametrize(
    ("start_day", "end_day", "status"),
    [
        (-70, -55, 409),  # ends inside the earliest accepted period
        (-55, -35, 409),  # spans the gap between two accepted periods
        (-58, -57, 409),  # lies inside an accepted period
        (-45, -25, 409),  # contains a whole accepted period
        (-22, -18, 409),  # starts inside the latest accepted period
        (-80, -60, 201),  # ends where the earliest accepted period starts (half-open)
        (-50, -40, 201),  # fills the gap exactly
        (-20, -15, 201),  # starts where the latest accepted period ends
    ],
)
async def test_overlap_is_found_on_either_side_of_the_history(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    start_day: int,
    end_day: int,
    status: int,
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    now = clock.now()
    for start, end in [(-60, -50), (-40, -30), (-30, -20)]:
        accepted = await api.post(
            "/api/v1/vendors/acme-cloud/attestations",
            json=_attest(vendor, clock, period=(now + start * DAY, now + end * DAY)),
            headers=_auth(vendor.token),
        )
        assert accepted.status_code == 201, accepted.text
    before = await _counts(services)
    answer = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock, period=(now + start_day * DAY, now + end_day * DAY)),
        headers=_auth(vendor.token),
    )
    assert answer.status_code == status, answer.text
    if status == 409:
        assert answer.json()["type"] == PROBLEM + "conflict"
        assert await _counts(services) == before


async def test_batch_accepts_and_rejects_each_envelope_on_its_own(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    now = clock.now()
    good = [
        _attest(vendor, clock, period=(now - (i + 1) * 30 * DAY, now - i * 30 * DAY))
        for i in range(1, 4)
    ]
    stale = _attest(vendor, clock, issued_at=now - 30 * DAY)
    overlapping = _attest(vendor, clock, period=(now - 40 * DAY, now - 35 * DAY))
    body = {"envelopes": [*good, good[0], stale, {"payload": "x"}, overlapping]}
    answer = await api.post(
        "/api/v1/vendors/acme-cloud/attestations/batch", json=body, headers=_auth(vendor.token)
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert [i["status"] for i in result["items"]] == [
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (3, 1, 3)
    assert result["items"][3]["attestation"]["id"] == result["items"][0]["attestation"]["id"]
    assert result["items"][4]["problem"]["type"] == PROBLEM + "invalid-input"
    assert result["items"][6]["problem"]["type"] == PROBLEM + "conflict"
    # The whole batch again: every envelope is a duplicate or rejected, nothing new written.
    before = await _counts(services)
    again = await api.post(
        "/api/v1/vendors/acme-cloud/attestations/batch", json=body, headers=_auth(vendor.token)
    )
    assert again.json()["accepted"] == 0
    assert await _counts(services) == before

    too_many = await api.post(
        "/api/v1/vendors/acme-cloud/attestations/batch",
        json={"envelopes": [good[0]] * 501},
        headers=_auth(vendor.token),
    )
    assert too_many.status_code == 422
    assert await _counts(services) == before


MALFORMED_ENVELOPES: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("no payloadType", lambda good: {k: v for k, v in good.items() if k != "payloadType"}),
    ("payload not base64", lambda good: {**good, "payload": "not base64!"}),
    ("signatures not an array", lambda good: {**good, "signatures": "signed"}),
    ("an unknown member", lambda good: {**good, "comment": "trust me"}),
    (
        "a signature without its keyid",
        lambda good: {**good, "signatures": [{"sig": good["signatures"][0]["sig"]}]},
    ),
]


async def test_a_malformed_envelope_gets_one_answer_on_both_routes_and_writes_nothing(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """Single and batch submissions parse envelopes in one place: the same malformed
    envelope is the same problem alone (422) as within a batch (rejected on its own)."""
    vendor = await member_vendor(services, association, "acme-cloud")
    good = _attest(vendor, clock)
    malformed = [build(good) for _, build in MALFORMED_ENVELOPES]
    before = await _counts(services)
    batch = await api.post(
        "/api/v1/vendors/acme-cloud/attestations/batch",
        json={"envelopes": malformed},
        headers=_auth(vendor.token),
    )
    assert batch.status_code == 200, batch.text
    assert (batch.json()["accepted"], batch.json()["rejected"]) == (0, len(malformed))
    for (case, _), envelope, item in zip(
        MALFORMED_ENVELOPES, malformed, batch.json()["items"], strict=True
    ):
        single = await api.post(
            "/api/v1/vendors/acme-cloud/attestations", json=envelope, headers=_auth(vendor.token)
        )
        assert single.status_code == 422, (case, single.text)
        assert single.headers["content-type"].startswith("application/problem+json")
        problem = single.json()
        assert problem["type"] == PROBLEM + "invalid-input", case
        assert problem["detail"].startswith("envelope: "), (case, problem)
        assert item["status"] == "rejected", case
        assert (item["problem"]["type"], item["problem"]["detail"]) == (
            problem["type"],
            problem["detail"],
        ), case
    assert await _counts(services) == before
    # The well-formed original is still accepted: nothing above left a trace.
    accepted = await api.post(
        "/api/v1/vendors/acme-cloud/attestations", json=good, headers=_auth(vendor.token)
    )
    assert accepted.status_code == 201, accepted.text


async def test_audit_rejections_write_nothing_and_gaps_are_flagged(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    vendor = await member_vendor(
        services, association, "acme-cloud", applied_before=AUDITED_VENDOR_AGE
    )
    await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    auditor = await accredited_auditor(services, "zhengxin-audit")
    outsider = await accredited_auditor(services, "haipai-audit", scope=("sipa",))
    expiring = await accredited_auditor(services, "shortlived-audit", valid_for=10 * DAY)
    now = clock.now()

    def audit(who: Any, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "auditor": who.slug,
            "vendor": "acme-cloud",
            "period": (now - 180 * DAY, now - 90 * DAY),
            "issued_at": clock.now(),
            "report": b"report",
        }
        fields.update(overrides)
        return audit_envelope(who.key, **fields).to_dict()

    before = await _counts(services)
    out_of_scope = await api.post(
        "/api/v1/audits", json=audit(outsider), headers=_auth(outsider.token)
    )
    assert out_of_scope.status_code == 403
    assert "not accredited for members of csia" in out_of_scope.json()["detail"]
    impostor = await api.post(
        "/api/v1/audits", json=audit(auditor, auditor="haipai-audit"), headers=_auth(auditor.token)
    )
    assert impostor.status_code == 422
    inconsistent = await api.post(
        "/api/v1/audits",
        json=audit(
            auditor,
            outcomes={
                **dict.fromkeys(
                    [
                        c["id"]
                        for c in (await api.get("/api/v1/associations/csia/schemes")).json()[0][
                            "document"
                        ]["criteria"]
                    ],
                    "conformity",
                ),
                "complaint-channel": "major_nonconformity",
            },
        ),
        headers=_auth(auditor.token),
    )
    assert inconsistent.status_code == 422
    assert await _counts(services) == before

    first = await api.post("/api/v1/audits", json=audit(auditor), headers=_auth(auditor.token))
    assert first.status_code == 201
    overlap = await api.post(
        "/api/v1/audits",
        json=audit(auditor, period=(now - 100 * DAY, now - 50 * DAY)),
        headers=_auth(auditor.token),
    )
    assert overlap.status_code == 409
    gap = await api.post(
        "/api/v1/audits",
        json=audit(auditor, period=(now - 60 * DAY, now - DAY)),
        headers=_auth(auditor.token),
    )
    assert gap.status_code == 201
    assert gap.json()["gap_before"] is True
    resent = await api.post("/api/v1/audits", json=audit(auditor), headers=_auth(auditor.token))
    assert resent.status_code == 200
    assert resent.json()["id"] == first.json()["id"]
    own = (await api.get("/api/v1/audits", headers=_auth(auditor.token))).json()
    assert own["page"]["total"] == 2
    assert {a["vendor"] for a in own["items"]} == {"acme-cloud"}

    clock.advance(20 * DAY)
    before = await _counts(services)
    lapsed = await api.post(
        "/api/v1/audits",
        json=audit(expiring, period=(now - DAY, now + 10 * DAY), issued_at=clock.now()),
        headers=_auth(expiring.token),
    )
    assert lapsed.status_code in {401, 403}
    assert await _counts(services) == before


async def test_an_audit_period_lies_within_accreditation_and_after_the_application(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """An auditor cannot vouch for time before its accreditation, nor for time before the
    vendor applied; a period inside both is accepted. Refusals write nothing."""
    await member_vendor(services, association, "acme-cloud", applied_before=400 * DAY)
    auditor = await accredited_auditor(services, "zhengxin-audit")
    now = clock.now()

    def audit(start_days_ago: int, end_days_ago: int) -> dict[str, Any]:
        return audit_envelope(
            auditor.key,
            auditor=auditor.slug,
            vendor="acme-cloud",
            period=(now - start_days_ago * DAY, now - end_days_ago * DAY),
            issued_at=now,
            report=b"report",
        ).to_dict()

    before = await _counts(services)
    unaccredited = await api.post(
        "/api/v1/audits", json=audit(800, 700), headers=_auth(auditor.token)
    )
    assert unaccredited.status_code == 422
    assert unaccredited.json()["errors"] == {"period": "outside the auditor's accreditation"}
    before_applying = await api.post(
        "/api/v1/audits", json=audit(500, 300), headers=_auth(auditor.token)
    )
    assert before_applying.status_code == 422
    assert before_applying.json()["errors"] == {"period_start": "before the vendor's application"}
    assert await _counts(services) == before
    inside = await api.post("/api/v1/audits", json=audit(390, 200), headers=_auth(auditor.token))
    assert inside.status_code == 201, inside.text


async def test_admin_suspend_reinstate_revoke_need_reasons(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    base = "/api/v1/vendors/acme-cloud/certification"
    before = await _counts(services)
    no_reason = await api.post(f"{base}/suspend", json={"reason": " "}, headers=admin)
    assert no_reason.status_code == 422
    not_suspended = await api.post(f"{base}/reinstate", json={"reason": "x"}, headers=admin)
    assert not_suspended.status_code == 409
    assert await _counts(services) == before

    suspended = await api.post(f"{base}/suspend", json={"reason": "misleading ads"}, headers=admin)
    assert suspended.json()["to_state"] == "suspended"
    assert (await api.get(base)).json()["certified"] is False
    back = await api.post(f"{base}/reinstate", json={"reason": "ads withdrawn"}, headers=admin)
    assert back.json()["to_state"] == "active"
    revoked = await api.post(f"{base}/revoke", json={"reason": "data leak"}, headers=admin)
    assert revoked.json()["to_state"] == "revoked"
    final = await api.post(f"{base}/reinstate", json={"reason": "please"}, headers=admin)
    assert final.status_code == 409
    history = (await api.get(f"{base}/history")).json()
    assert [t["reason"] for t in history[-3:]] == ["misleading ads", "ads withdrawn", "data leak"]
    assert {t["cause"] for t in history[-3:]} == {"admin"}


async def test_admin_reasons_keep_their_language_on_public_pages(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
) -> None:
    """A reason is stored in the language it was written in (given, or told from its
    script); a page in the other language shows it as written, marked and labelled,
    while the registry's own reasons read in the page's language."""
    vendor = await member_vendor(services, association, "acme-cloud")
    await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    admin = _auth(role_tokens[Role.ASSOCIATION_ADMIN])
    base = "/api/v1/vendors/acme-cloud/certification"
    wrong = await api.post(
        f"{base}/suspend", json={"reason": "x", "reason_lang": "fr"}, headers=admin
    )
    assert wrong.status_code == 400
    assert wrong.headers["content-type"].startswith("application/problem+json")
    await api.post(f"{base}/suspend", json={"reason": "misleading ads"}, headers=admin)
    await api.post(
        f"{base}/reinstate", json={"reason": "广告已撤回", "reason_lang": "zh"}, headers=admin
    )
    async with services.ctx.db.read() as session:
        stored = (
            await session.execute(
                select(CertificationTransition.reason, CertificationTransition.reason_lang)
                .join(Vendor, Vendor.id == CertificationTransition.vendor_id)
                .where(Vendor.slug == "acme-cloud")
                .order_by(CertificationTransition.id)
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        ("granted at level 1", None),
        ("misleading ads", "en"),
        ("广告已撤回", "zh"),
    ]
    zh = (await api.get("/vendors/acme-cloud", params={"lang": "zh"})).text
    assert "授予 1 级认证" in zh
    assert '<q lang="en">misleading ads</q> <span class="original-label">（英文原文）</span>' in zh
    assert "广告已撤回</span>" in zh
    en = (await api.get("/vendors/acme-cloud", params={"lang": "en"})).text
    assert "granted at level 1" in en
    assert '<q lang="zh-CN">广告已撤回</q>' in en
    assert "(original in Chinese)" in en
