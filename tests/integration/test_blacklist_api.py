"""The blacklist over HTTP and the `registry blacklist` commands: rulebooks and terms in
public, an evaluation that opens a case, the vendor's inbox, its signed answer from the
command line, and a replay that reproduces the digest."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, SystemClock, isoformat
from registry.services import Services
from tests.cli import operator_env, run_cli
from tests.factories import member_vendor
from tests.integration.test_blacklist_cases import conceded_complaints


async def _cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    result = await run_cli(args, env)
    assert result.exit_code == 0, result.output
    return json.loads(
        result.output[
            min(i for i in (result.output.find("{"), result.output.find("[")) if i >= 0) :
        ]
    )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_from_rulebook_to_a_signed_answer_over_http_and_the_cli(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
    tmp_path: Path,
) -> None:
    # The CLI signs with the wall clock; the rulebook was adopted a notice period ago,
    # and the complaints were settled the day before it took effect.
    wall = SystemClock().now()
    clock.set(wall - timedelta(days=31))
    vendor = await member_vendor(services, association, "cli-answerer")
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.set(wall - timedelta(days=2))
    await conceded_complaints(services, vendor, 5, 3)
    clock.set(wall)
    url = ["--url", str(api.base_url)]

    books = (await api.get("/api/v1/blacklist/associations/csia/rulebooks")).json()
    assert [b["version"] for b in books] == [1]
    assert {r["rule_id"] for r in books[0]["rules"]} >= {"complaints-substantiated"}
    shown = await _cli(["blacklist", "rulebook", "show", "csia", "--version", "1", *url])
    assert shown["digest"] == books[0]["digest"]
    changed = await _cli(
        [
            "blacklist",
            "terms",
            "csia",
            "--set",
            "day_counting=calendar",
            "--token",
            role_tokens[Role.ASSOCIATION_ADMIN],
            *url,
        ]
    )
    assert (changed["day_counting"], changed["custom"]) == ("calendar", True)
    refused = await api.put(
        "/api/v1/blacklist/associations/csia/terms",
        headers=_auth(role_tokens[Role.ASSOCIATION_ADMIN]),
        json={"majority": "most"},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")

    env = operator_env(services)
    evaluated = await _cli(["blacklist", "evaluate", "--now", isoformat(clock.now())], env)
    assert len(evaluated["opened"]) == 1
    reference = evaluated["opened"][0]
    again = await _cli(["blacklist", "evaluate", "--now", isoformat(clock.now())], env)
    assert again["opened"] == []

    inbox = (
        await api.get("/api/v1/blacklist/vendors/cli-answerer/cases", headers=_auth(vendor.token))
    ).json()
    assert [item["reference"] for item in inbox["items"]] == [reference]
    assert inbox["items"][0]["state"] == "awaiting_answer"
    case = (
        await api.get(f"/api/v1/blacklist/cases/{reference}", headers=_auth(vendor.token))
    ).json()
    assert case["terms"]["day_counting"] == "calendar"  # the terms when the case opened
    assert case["answer_due_at"]

    vendor.key.save(tmp_path / "vendor.key")
    answered = await _cli(
        [
            "blacklist",
            "answer",
            reference,
            "--key",
            str(tmp_path / "vendor.key"),
            "--vendor",
            "cli-answerer",
            "--statement",
            "已退款并修复计费缺陷。",
            "--remedy",
            "全额退款",
            "--evidence-digest",
            "cd" * 32,
            *url,
        ]
    )
    assert answered["state"] == "voting"
    assert answered["answer"]["remedies"] == ["全额退款"]
    assert [s["kind"] for s in answered["steps"]] == ["opened", "notified", "answered"]
    late = await api.post(
        f"/api/v1/blacklist/cases/{reference}/relayed-answer",
        headers=_auth(role_tokens[Role.MEDIATOR]),
        json={"statement": "代为陈述"},
    )
    assert late.status_code == 409

    replayed = await _cli(["blacklist", "replay", reference], env)
    assert replayed["reproduced"] is True
    assert replayed["recomputed_digest"] == case["evidence_digest"]
    listed = await _cli(
        [
            "blacklist",
            "cases",
            "--association",
            "csia",
            "--state",
            "voting",
            "--token",
            role_tokens[Role.COMMITTEE_MEMBER],
            *url,
        ]
    )
    assert [item["reference"] for item in listed["items"]] == [reference]
