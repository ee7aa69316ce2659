"""The README's new-vendor walkthrough, command for command, against a live server.

`registry keys generate` → `registry apply` → `registry admin create-token` and
`registry applications approve` → `registry login` → `registry keys rotate` and
`registry keys revoke`, each through the CLI the README shows, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from click.testing import Result

from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock, SystemClock, isoformat
from registry.services import Services
from tests.cli import operator_env, run_cli

CREDIT_CODE = "91110108MA01XY7K2P"


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_new_vendor_walkthrough(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    # The CLI signs with the wall clock, so the server's clock starts there too.
    clock.set(SystemClock().now())
    url = ["--url", str(api.base_url)]
    first, second = tmp_path / "acme.key", tmp_path / "acme-2.key"

    generated = await run_cli(["keys", "generate", "--out", str(first)])
    assert generated.exit_code == 0, generated.output
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    first_id = generated.stdout.split()[2]
    assert len(first_id) == 64

    applied = _json(
        await run_cli(
            [
                "apply",
                "--key",
                str(first),
                "--association",
                association,
                "--credit-code",
                CREDIT_CODE,
                "--slug",
                "acme-cloud",
                "--name-zh",
                "艾克米云",
                "--name-en",
                "Acme Cloud",
                "--domain",
                "acme.example.cn",
                *url,
            ]
        )
    )
    assert (applied["status"], applied["key_id"]) == ("pending", first_id)
    # Not a member yet: its key cannot log in, and the login says why.
    early = await run_cli(["login", "--key", str(first), *url])
    assert early.exit_code == 1
    assert "not been approved" in early.output

    minted = await run_cli(
        ["admin", "create-token", "--role", "association_admin", "--association", association],
        operator_env(services),
    )
    assert minted.exit_code == 0, minted.output
    admin_token = minted.stdout.strip()
    assert admin_token.startswith("trt_")
    assert admin_token not in minted.stderr
    admin = {"REGISTRY_TOKEN": admin_token}

    pending = _json(await run_cli(["applications", "list", "--status", "pending", *url], admin))
    assert [a["vendor"] for a in pending["items"]] == ["acme-cloud"]
    approved = _json(
        await run_cli(
            ["applications", "approve", str(applied["id"]), "--reason", "documents checked", *url],
            admin,
        )
    )
    assert approved["status"] == "approved"

    vendor_token = await run_cli(["login", "--key", str(first), "--token-only", *url])
    assert vendor_token.exit_code == 0, vendor_token.output
    whoami = await api.get(
        "/api/v1/auth/whoami", headers={"Authorization": f"Bearer {vendor_token.stdout.strip()}"}
    )
    assert whoami.json()["role"] == "vendor_admin"

    await run_cli(["keys", "generate", "--out", str(second)])
    rotated = _json(
        await run_cli(
            [
                "keys",
                "rotate",
                "--vendor",
                "acme-cloud",
                "--key",
                str(first),
                "--new-key",
                str(second),
                *url,
            ]
        )
    )
    assert (rotated["status"], rotated["authorised_by_key_id"]) == ("active", first_id)

    new_token = (await run_cli(["login", "--key", str(second), "--token-only", *url])).stdout
    revoked = _json(
        await run_cli(
            ["keys", "revoke", first_id, "--reason", "rotated to the new key", *url],
            {"REGISTRY_TOKEN": new_token.strip()},
        )
    )
    assert revoked["status"] == "revoked"
    refused = await run_cli(["login", "--key", str(first), *url])
    assert refused.exit_code == 1
    assert "was revoked" in refused.output

    history = (await api.get("/api/v1/log/entries", params={"vendor": "acme-cloud"})).json()
    assert [item["entry"]["type"] for item in history["items"]] == [
        "vendor.application",
        "vendor.application.approved",
        "key.rotated",
        "key.revoked",
    ]


async def test_auditor_accreditation_from_the_cli(
    api: httpx.AsyncClient,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """A federation admin accredits an auditor by its public key file; others cannot."""
    clock.set(SystemClock().now())
    url = ["--url", str(api.base_url)]
    key = tmp_path / "auditor.key"
    assert (await run_cli(["keys", "generate", "--out", str(key)])).exit_code == 0
    now = clock.now()
    accredit = [
        "auditors",
        "accredit",
        "--slug",
        "huaan-audit",
        "--name-zh",
        "华安认证",
        "--name-en",
        "Huaan Certification",
        "--public-key",
        str(tmp_path / "auditor.pub.json"),
        "--scope",
        association,
        "--from",
        isoformat(now - timedelta(days=1)),
        "--until",
        isoformat(now + timedelta(days=365)),
        *url,
    ]
    refused = await run_cli(accredit, {"REGISTRY_TOKEN": role_tokens[Role.ASSOCIATION_ADMIN]})
    assert refused.exit_code == 1
    assert "may not call this endpoint" in refused.output
    assert (await api.get("/api/v1/auditors/")).json() == []

    granted = _json(await run_cli(accredit, {"REGISTRY_TOKEN": role_tokens[Role.FEDERATION_ADMIN]}))
    assert (granted["slug"], granted["scope"]) == ("huaan-audit", [association])
    listed = _json(await run_cli(["auditors", "list", *url]))
    assert [a["slug"] for a in listed] == ["huaan-audit"]
    # Its key now logs in as the auditor organisation.
    login = _json(await run_cli(["login", "--key", str(key), *url]))
    assert login["role"] == "auditor"
