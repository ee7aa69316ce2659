"""An unregistered app through the whole blacklist, over HTTP and the `registry` commands:
consumers' complaints about it, a csia mediator who takes them up and upholds them, the
case that opens at once under csia (the mediating association), the answer, appeal and
credit repair relayed by csia's mediators, votes signed from key files, the appeal heard
by sipa's panel; a sipa mediator reaches none of it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from attestations.keys import SigningKey
from registry.complaints.filing import ComplaintSubmission
from registry.complaints.models import Complaint, MediationOutcome
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, SystemClock
from registry.services import Services
from tests.cli import run_cli
from tests.factories import admin_caller, apply_vendor, new_credit_code

APP_ID = "com.example.unregistered.wallet"
CASES = "/api/v1/blacklist/cases"
MEDIATION = "/api/v1/mediation/complaints"


async def _cli(args: list[str]) -> Any:
    result = await run_cli(args)
    assert result.exit_code == 0, result.output
    return json.loads(
        result.output[
            min(i for i in (result.output.find("{"), result.output.find("[")) if i >= 0) :
        ]
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _file(api: httpx.AsyncClient, services: Services, i: int) -> str:
    """A consumer's complaint about the unregistered app: it awaits triage."""
    answer = await api.post(
        "/api/v1/complaints/",
        json={
            "subject_kind": "app_id",
            "subject_value": APP_ID,
            "product": "钱包 App",
            "category": "billing_refund",
            "description": "应用内订阅取消后仍持续扣款，无法联系到客服。",
            "desired_remedy": "退还扣款",
            "region": "310000",
            "occurred_on": (services.ctx.clock.now() - timedelta(days=3)).date().isoformat(),
            "contact_name": "测试用户",
            "contact_phone": f"1370013{i:04d}",
            "consent_to_share": False,
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "submitted"
    return str(answer.json()["tracking_code"])


async def _leaf(api: httpx.AsyncClient, step: dict[str, Any]) -> dict[str, Any]:
    """The body of a case step's transparency-log leaf."""
    entry = (await api.get(f"/api/v1/log/entries/{step['log_index']}")).json()["entry"]
    body: dict[str, Any] = entry["body"]
    return body


async def _vote(reference: str, key: Path, url: list[str], *choice: str) -> dict[str, Any]:
    voted: dict[str, Any] = await _cli(
        ["blacklist", "vote", reference, "--key", str(key), *choice, "--reason", "经审查", *url]
    )
    return voted


async def test_an_unregistered_app_from_complaints_to_a_relayed_repair(  # noqa: PLR0917 - one story
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
    tmp_path: Path,
) -> None:
    wall = SystemClock().now()  # the CLI signs votes with the wall clock
    clock.set(wall - timedelta(days=40))
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    assert sorted(await services.blacklist_rules.publish_default_rulebooks()) == [
        "csia@1",
        "sipa@1",
    ]
    url = ["--url", str(api.base_url)]
    keys: dict[str, list[Path]] = {"csia": [], "sipa": []}
    for slug, paths in keys.items():
        for i in range(3):
            path = tmp_path / f"{slug}-{i}.key"
            SigningKey.generate().save(path)
            await _cli(
                [
                    "blacklist",
                    "appoint",
                    slug,
                    "--name",
                    f"{slug} 委员 {i}",
                    "--public-key",
                    str(path),
                    "--token",
                    role_tokens[Role.FEDERATION_ADMIN],
                    *url,
                ]
            )
            paths.append(path)
    mediator = role_tokens[Role.MEDIATOR]  # csia's
    outsider = (
        await services.accounts.create_principal_with_token(
            role=Role.MEDIATOR, display_name="sipa mediator", association_slug="sipa"
        )
    ).token

    # Five consumers complain about the app; no member answers for it.
    clock.set(wall - timedelta(days=2))
    codes = [await _file(api, services, i) for i in range(5)]
    early = await api.post(f"{MEDIATION}/{codes[0]}/take-up", headers=_auth(mediator), json={})
    assert early.status_code == 409, early.text  # a member may still be linked for a day
    assert early.headers["content-type"].startswith("application/problem+json")

    # A day on, csia's mediator takes each up and upholds it; sipa's no longer sees them.
    clock.set(wall)
    for code in codes:
        taken = await api.post(
            f"{MEDIATION}/{code}/take-up", headers=_auth(mediator), json={"note": "无会员应答"}
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["status"] == "escalated"
        hidden = await api.get(f"{MEDIATION}/{code}", headers=_auth(outsider))
        assert hidden.status_code == 404
    taken_again = await api.post(
        f"{MEDIATION}/{codes[0]}/take-up", headers=_auth(outsider), json={}
    )
    assert taken_again.status_code == 404
    refused = await api.post(
        f"{MEDIATION}/{codes[0]}/decision",
        headers=_auth(outsider),
        json={"outcome": "upheld", "note": "越权"},
    )
    assert refused.status_code == 404
    for code in codes:
        decided = await api.post(
            f"{MEDIATION}/{code}/decision",
            headers=_auth(mediator),
            json={"outcome": "upheld", "note": "扣款记录与消费者陈述一致，投诉成立。"},
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "mediated"

    # The fifth upheld complaint opened the case at once, governed by csia.
    listed = (
        await api.get("/api/v1/blacklist/associations/csia/cases", headers=_auth(mediator))
    ).json()
    assert len(listed["items"]) == 1
    reference = listed["items"][0]["reference"]
    case = (await api.get(f"{CASES}/{reference}", headers=_auth(mediator))).json()
    assert (case["subject_kind"], case["subject_value"], case["vendor"]) == (
        "app_id",
        APP_ID,
        None,
    )
    assert (case["association"], case["governance"]) == ("csia", "mediating_association")
    assert case["state"] == "awaiting_answer"
    assert {item["ref"] for item in case["evidence"]["items"]} == set(codes)
    assert [s["kind"] for s in case["steps"]] == ["opened", "notified"]
    assert (await _leaf(api, case["steps"][1]))["channel"] == "public"
    assert (await api.get(f"{CASES}/{reference}", headers=_auth(outsider))).status_code == 404
    again = await services.blacklist_rules.evaluate()
    assert again.opened == []

    # The answer, relayed; the outsider cannot.
    foreign = await api.post(
        f"{CASES}/{reference}/relayed-answer", headers=_auth(outsider), json={"statement": "x"}
    )
    assert foreign.status_code == 404
    answered = await _cli(
        [
            "blacklist",
            "relay-answer",
            reference,
            "--statement",
            "开发者称扣款系渠道故障，已开始退款。",
            "--token",
            mediator,
            *url,
        ]
    )
    assert answered["state"] == "voting"
    assert answered["answer"]["channel"] == "mediator"

    # csia's committee lists it (minor), signing from key files.
    for path in keys["csia"]:
        await _vote(reference, path, url, "--choice", "list", "--tier", "minor")
    case = (await api.get(f"{CASES}/{reference}", headers=_auth(mediator))).json()
    assert case["state"] == "listed"

    # The appeal, relayed by csia's mediator, is heard by a panel drawn from sipa.
    foreign = await api.post(
        f"{CASES}/{reference}/relayed-appeal", headers=_auth(outsider), json={"grounds": "x"}
    )
    assert foreign.status_code == 404
    appeal = await _cli(
        [
            "blacklist",
            "relay-appeal",
            reference,
            "--grounds",
            "开发者称已全额退款。",
            "--evidence-digest",
            "ab" * 32,
            "--token",
            mediator,
            *url,
        ]
    )
    assert appeal["state"] == "hearing"
    assert len(appeal["panel"]) == 3
    retried = await api.post(
        f"{CASES}/{reference}/relayed-appeal",
        headers=_auth(mediator),
        json={"grounds": "开发者称已全额退款。", "evidence_digests": ["ab" * 32]},
    )
    assert (retried.status_code, retried.json()["id"]) == (201, appeal["id"])
    for path in keys["sipa"]:
        heard = await _vote(reference, path, url, "--choice", "uphold")
        assert heard["ballot"] == f"appeal:{appeal['id']}"
    decided = await _cli(
        [
            "blacklist",
            "panel",
            str(appeal["id"]),
            "--token",
            role_tokens[Role.FEDERATION_ADMIN],
            *url,
        ]
    )
    assert decided["state"] == "upheld"

    # Credit repair, relayed; csia's committee grants it and the listing ends early.
    foreign = await api.post(
        f"{CASES}/{reference}/relayed-repair",
        headers=_auth(outsider),
        json={"commitment": "x", "changes": "y"},
    )
    assert foreign.status_code == 404
    repair = await _cli(
        [
            "blacklist",
            "relay-repair",
            reference,
            "--commitment",
            "取消订阅即时生效。",
            "--changes",
            "上线一键退订。",
            "--token",
            mediator,
            *url,
        ]
    )
    assert repair["state"] == "applied"
    for path in keys["csia"]:
        granted = await _vote(reference, path, url, "--choice", "grant")
        assert granted["ballot"] == f"repair:{repair['id']}"
    case = (await api.get(f"{CASES}/{reference}", headers=_auth(mediator))).json()
    kinds = [s["kind"] for s in case["steps"]]
    assert "appeal_decided" in kinds
    assert kinds[-1] == "repair_decided"
    appealed = await _leaf(api, next(s for s in case["steps"] if s["kind"] == "appealed"))
    assert appealed["channel"] == "mediator"
    assert "grounds" not in appealed  # the log keeps the text's digest only
    recounted = await services.blacklist_recount.recount_all()
    assert [r.agrees for r in recounted] == [True, True, True]


async def test_a_subject_that_joins_later_keeps_its_case_and_its_taken_up_complaints(
    services: Services, association: str, clock: ManualClock, role_tokens: dict[Role, str]
) -> None:
    """Complaints about a credit code, taken up and upheld, open a case; then a vendor with
    that credit code is admitted. The case keeps its subject, governance and evidence; the
    complaint still awaiting triage goes to the new member, the mediated ones stay put."""
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.advance(timedelta(days=31))
    code = new_credit_code()
    filed = [
        await services.complaints.consumers.file(
            ComplaintSubmission(
                subject_kind="credit_code",
                subject_value=code,
                product="在线课程",
                category="false_advertising",
                description="宣传的课程内容与实际不符，拒绝退款。",
                desired_remedy="退款",
                region="110000",
                occurred_on=(clock.now() - timedelta(days=5)).date().isoformat(),
                contact_name="测试用户",
                contact_phone=f"1360013{i:04d}",
                consent_to_share=False,
            ),
            client_ip=f"203.0.113.{i + 1}",
        )
        for i in range(6)
    ]
    mediator = await services.accounts.authenticate(role_tokens[Role.MEDIATOR])
    clock.advance(timedelta(hours=25))
    for complaint in filed[:5]:
        await services.complaints.mediators.take_up(mediator, complaint.tracking_code, "")
        await services.complaints.mediators.decide(
            mediator, complaint.tracking_code, MediationOutcome.UPHELD, "投诉成立。"
        )
    page = await services.blacklist_notice.association_cases(mediator, "csia", None, 0, 10)
    assert len(page.items) == 1
    before = page.items[0]
    assert (before.subject_kind.value, before.subject_value, before.vendor_id) == (
        "credit_code",
        code,
        None,
    )

    application_id, _key, _code = await apply_vendor(
        services, association, "late-joiner", credit_code=code
    )
    await services.membership.approve(
        await admin_caller(services), application_id, "documents checked"
    )
    view = await services.blacklist_notice.case(mediator, before.reference)
    assert (view.case.vendor_id, view.case.subject_value, view.case.governance) == (
        None,
        code,
        "mediating_association",
    )
    assert view.case.evidence_digest == before.evidence_digest
    assert (await services.blacklist_rules.replay(before.reference)).reproduced
    assert (await services.blacklist_rules.evaluate()).opened == []
    async with services.ctx.db.read() as session:
        result = await session.execute(
            select(Complaint.tracking_code, Complaint.vendor_id).where(
                Complaint.subject_value == code
            )
        )
        rows: dict[str, int | None] = {row.tracking_code: row.vendor_id for row in result}
    assert [rows[f.tracking_code] for f in filed[:5]] == [None] * 5
    assert rows[filed[5].tracking_code] is not None  # attached to the new member
    answered = await services.blacklist_notice.relay_answer(
        mediator, before.reference, "企业入会后经调解员转达陈述。", [], []
    )
    assert answered.case.state.value == "voting"
