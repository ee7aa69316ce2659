"""The README's certification walkthrough, command for command, against a live server.

A vendor goes from applied to L2 with `registry attest` and `registry audit submit`,
then misses its next audit: `registry jobs run --now <after the grace period>` suspends
it, and `registry certificate --history` shows why.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from registry.kernel.clock import ManualClock, SystemClock, isoformat, parse_iso
from registry.services import Services
from tests.cli import operator_env, run_cli
from tests.factories import AUDITED_VENDOR_AGE, accredited_auditor, member_vendor

DAY = timedelta(days=1)


async def _cli(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    result = await run_cli(args, env)
    assert result.exit_code == 0, result.output
    text = result.output
    return json.loads(text[text.index("{") :]) if "{" in text else {"output": text}


async def test_walkthrough_applied_to_l2_then_suspended_after_missed_audit(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    # The CLI signs with the wall clock, so the server's clock starts there too.
    clock.set(SystemClock().now())
    vendor = await member_vendor(
        services, association, "shanhe-health", applied_before=AUDITED_VENDOR_AGE
    )
    auditor = await accredited_auditor(services, "zhengxin-audit")
    vendor.key.save(tmp_path / "shanhe-health.key")
    auditor.key.save(tmp_path / "auditor.key")
    (tmp_path / "report.pdf").write_bytes(b"%PDF- audit report of shanhe-health")
    url = ["--url", str(api.base_url)]
    now = clock.now()

    def period(start: timedelta, end: timedelta) -> list[str]:
        return ["--period-start", isoformat(now - start), "--period-end", isoformat(now - end)]

    key = ["--key", str(tmp_path / "shanhe-health.key"), "--vendor", "shanhe-health"]
    applied = await _cli(
        ["attest", *key, *period(61 * DAY, 31 * DAY), "--unmet", "legal-training", *url]
    )
    assert applied["state"] == "applied"
    assert applied["certified"] is False

    l1 = await _cli(["attest", *key, *period(30 * DAY, timedelta(0)), *url])
    assert (l1["state"], l1["level"]) == ("active", 1)

    l2 = await _cli(
        [
            "audit",
            "submit",
            "--key",
            str(tmp_path / "auditor.key"),
            "--auditor",
            "zhengxin-audit",
            "--vendor",
            "shanhe-health",
            *period(180 * DAY, timedelta(0)),
            "--report",
            str(tmp_path / "report.pdf"),
            *url,
        ]
    )
    assert (l2["state"], l2["level"], l2["certified"]) == ("active", 2, True)

    # Next audit due 182 days after the audited period, 30 days' grace: day 213 is too late.
    env = operator_env(services)
    within_grace = isoformat(now + 211 * DAY)
    await _cli(["jobs", "run", "--now", within_grace], env)
    still = await _cli(["certificate", "shanhe-health", *url])
    assert still["state"] == "active"

    late = isoformat(now + 213 * DAY)
    ran = await _cli(["jobs", "run", "--now", late], env)
    assert "certification-audit-overdue" in ran["output"]
    suspended = await _cli(["certificate", "shanhe-health", "--history", *url])
    assert suspended["state"] == "suspended"
    assert suspended["certified"] is False
    last = suspended["history"][-1]
    assert (last["from_state"], last["to_state"], last["cause"]) == (
        "active",
        "suspended",
        "deadline",
    )
    assert "audit is overdue" in last["reason"]
    assert parse_iso(last["at"]) == parse_iso(late)
    # Running the same jobs again at the same time changes nothing (idempotent).
    await _cli(["jobs", "run", "--now", late], env)
    again = await _cli(["certificate", "shanhe-health", "--history", *url])
    assert len(again["history"]) == len(suspended["history"])
