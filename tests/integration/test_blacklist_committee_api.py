"""The committee's side over HTTP and the `registry blacklist` commands: members appointed
with their key files, the queue, signed votes from the command line that list a vendor
and suspend its badge, an appeal filed by the vendor's key file and heard by the other
association's panel, the federation admin's view of the draw, and a recount from the log."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from attestations.keys import SigningKey
from registry.blacklist.signing import answer_envelope
from registry.certification.signing import attestation_envelope
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, SystemClock
from registry.services import Services
from tests.cli import operator_env, run_cli
from tests.factories import member_vendor
from tests.integration.test_blacklist_cases import conceded_complaints
from tests.integration.test_blacklist_votes import open_case_of


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


async def test_committee_votes_and_an_appeal_over_http_and_the_cli(  # noqa: PLR0917 - fixtures
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    role_tokens: dict[Role, str],
    tmp_path: Path,
) -> None:
    wall = SystemClock().now()
    clock.set(wall - timedelta(days=31))
    vendor = await member_vendor(services, association, "cli-listed")
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.set(wall)
    await services.federation.ensure_association("sipa", "上海市软件行业协会", "SIPA")
    url = ["--url", str(api.base_url)]
    admin = role_tokens[Role.FEDERATION_ADMIN]

    attested = await api.post(
        f"/api/v1/vendors/{vendor.slug}/attestations",
        headers=_auth(vendor.token),
        json=attestation_envelope(
            vendor.key,
            vendor=vendor.slug,
            period=(wall - timedelta(days=30), wall - timedelta(days=1)),
            issued_at=wall,
        ).to_dict(),
    )
    assert attested.status_code == 201, attested.text

    keys: dict[str, list[Path]] = {"csia": [], "sipa": []}
    for association_slug, count in (("csia", 3), ("sipa", 3)):
        for i in range(count):
            path = tmp_path / f"{association_slug}-{i}.key"
            SigningKey.generate().save(path)
            appointed = await _cli(
                [
                    "blacklist",
                    "appoint",
                    association_slug,
                    "--name",
                    f"{association_slug} 委员 {i}",
                    "--public-key",
                    str(path),
                    "--token",
                    admin,
                    *url,
                ]
            )
            assert appointed["key_id"]
            keys[association_slug].append(path)
    refused = await api.post(
        "/api/v1/blacklist/associations/csia/committee/",
        headers=_auth(role_tokens[Role.ASSOCIATION_ADMIN]),
        json={"display_name": "x", "public_key": "bm90IGEga2V5"},
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")

    await conceded_complaints(services, vendor, 5, 3)
    reference = (await open_case_of(services, vendor.slug)).reference
    answered = await api.post(
        f"/api/v1/blacklist/cases/{reference}/answer",
        headers=_auth(vendor.token),
        json=answer_envelope(
            vendor.key, case=reference, vendor=vendor.slug, statement="已退款。", issued_at=wall
        ).to_dict(),
    )
    assert answered.json()["state"] == "voting", answered.text

    queue = await _cli(["blacklist", "queue", "--key", str(keys["csia"][0]), *url])
    assert [item["case"] for item in queue] == [reference]
    assert queue[0]["ballot"].startswith("case:")
    for path, choice in zip(keys["csia"], ["general", "general", None], strict=True):
        extra = ["--choice", "list", "--tier", choice] if choice else ["--choice", "do_not_list"]
        voted = await _cli(
            [
                "blacklist",
                "vote",
                reference,
                "--key",
                str(path),
                *extra,
                "--reason",
                "投诉属实",
                *url,
            ]
        )
        assert voted["log_index"] > 0
    again = await run_cli(
        [
            "blacklist",
            "vote",
            reference,
            "--key",
            str(keys["csia"][0]),
            "--choice",
            "abstain",
            "--reason",
            "再投一次",
            *url,
        ]
    )
    assert again.exit_code == 1

    certificate = (await api.get(f"/api/v1/vendors/{vendor.slug}/certification")).json()
    assert certificate["state"] == "suspended"
    badge = await api.get(f"/badges/{vendor.slug}.json", params={"lang": "en"})
    assert badge.json()["color"] == "b42318"  # the suspended face

    vendor.key.save(tmp_path / "vendor.key")
    appeal = await _cli(
        [
            "blacklist",
            "appeal",
            reference,
            "--key",
            str(tmp_path / "vendor.key"),
            "--vendor",
            vendor.slug,
            "--grounds",
            "扣费系支付渠道故障，已全额退款。",
            *url,
        ]
    )
    assert appeal["state"] == "hearing"
    assert len(appeal["panel"]) == 3
    drawn = await _cli(["blacklist", "panel", str(appeal["id"]), "--token", admin, *url])
    assert drawn["panel_seed"] == appeal["panel_seed"]
    hidden = await api.get(
        f"/api/v1/blacklist/appeals/{appeal['id']}",
        headers=_auth(role_tokens[Role.ASSOCIATION_ADMIN]),
    )
    assert hidden.status_code == 403

    for path in keys["sipa"]:
        heard = await _cli(
            [
                "blacklist",
                "vote",
                reference,
                "--key",
                str(path),
                "--choice",
                "overturn",
                "--reason",
                "证据不足以列入",
                *url,
            ]
        )
        assert heard["ballot"] == f"appeal:{appeal['id']}"
    certificate = (await api.get(f"/api/v1/vendors/{vendor.slug}/certification")).json()
    assert certificate["state"] == "active"

    recounted = await _cli(["blacklist", "recount", reference], operator_env(services))
    assert [r["agrees"] for r in recounted] == [True, True]
