"""A domain is a vendor's only once it proves control, and never a public suffix.

A vendor that lists a domain it does not control is admitted, but complaints filed
against that domain stay in triage and their contacts stay sealed; the registry attaches
them only after it finds the vendor's token at https://<domain>/.well-known/
trust-registry.txt (served here by a local HTTPS server with a test CA)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import func, select

from attestations.keys import SigningKey
from registry.app import create_app
from registry.errors import Conflict
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
from registry.services import Services
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.models import LogEntry
from tests.cli import run_cli
from tests.factories import admin_caller, apply_vendor
from tests.integration.test_complaints_api import file_complaint
from tests.integration.test_membership_api import _application
from tests.local_https import Recorder, make_certificates, proof_settings, serving

QUEUE = "/api/v1/mediation/complaints/"
INBOX = "/api/v1/inbox/complaints/"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def _registry(services: Services, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The registry over HTTP, on this test's database, with `settings`."""
    app = create_app(context=replace(services.ctx, settings=settings), run_scheduler=False)
    async with (
        serving(app, lifespan="on") as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        yield client


async def test_a_public_suffix_is_never_a_vendors_domain(
    api: httpx.AsyncClient, association: str, clock: ManualClock
) -> None:
    """`com.cn`, `github.io` or any other public suffix cannot be listed: 422 naming the suffix."""
    for suffix in ("com.cn", "github.io", "gov.cn", "Com.Cn.", "s3.amazonaws.com"):
        body = _application(SigningKey.generate(), clock, domains=["acme-cloud.cn", suffix])
        refused = await api.post("/api/v1/applications/", json=body)
        assert refused.status_code == 422, (suffix, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "public suffix" in refused.json()["detail"]
    accepted = await api.post(
        "/api/v1/applications/",
        json=_application(SigningKey.generate(), clock, domains=["shop.acme-cloud.com.cn"]),
    )
    assert accepted.status_code == 201, accepted.text


async def test_an_unproven_domain_attaches_nothing_until_its_proof_is_served(
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """A vendor listing someone else's domain is admitted, but the complaint about that
    domain stays in triage and its contact sealed; a wrong token or no file proves
    nothing; the vendor's own token at the well-known URL verifies the domain, logs the
    decision, forwards the waiting complaint and opens its contact to the vendor."""
    domain = "some-retailer.com.cn"
    certificates = make_certificates(tmp_path / "tls", [domain])
    well_known = Recorder(status=404)
    async with serving(well_known, certificates) as tls_port:
        settings = proof_settings(services.ctx.settings, certificates, tls_port, [domain])
        async with _registry(services, settings) as api:
            filed = await file_complaint(
                api,
                "",
                subject_kind="domain",
                subject_value=f"shop.{domain}",
                contact_phone="13900000123",
            )
            code = filed["tracking_code"]
            application_id, _key, _ = await apply_vendor(
                services, association, "claimant", domains=[domain]
            )
            await services.membership.approve(await admin_caller(services), application_id, "ok")
            issued = await services.accounts.create_principal_with_token(
                role=Role.VENDOR_ADMIN, display_name="claimant", vendor_slug="claimant"
            )
            vendor = _auth(issued.token)

            # Admitted, but the domain is only claimed: nothing reaches the vendor.
            inbox = (await api.get(INBOX, headers=vendor)).json()
            assert inbox["page"]["total"] == 0
            assert (await api.get(f"{INBOX}{code}/contact", headers=vendor)).status_code == 404
            queue = (await api.get(QUEUE, headers=_auth(role_tokens[Role.MEDIATOR]))).json()
            assert [item["tracking_code"] for item in queue["items"]] == [code]
            public = (await api.get("/api/v1/vendors/claimant")).json()
            assert public["domains"] == []
            (claim,) = (await api.get("/api/v1/vendors/claimant/domains", headers=vendor)).json()
            assert claim["status"] == "pending"
            assert claim["proof_url"] == f"https://{domain}/.well-known/trust-registry.txt"
            token = claim["proof_token"]
            assert len(token) >= 32

            # No file, then someone else's token: still pending, one actionable answer.
            verify = f"/api/v1/vendors/claimant/domains/{domain}/verify"
            for status, body in ((404, b""), (200, b"some-other-vendors-token\n")):
                well_known.status, well_known.body = status, body
                refused = await api.post(verify, headers=vendor)
                assert refused.status_code == 422, refused.text
                assert "did not find" in refused.json()["detail"]
            assert (await api.get(INBOX, headers=vendor)).json()["page"]["total"] == 0

            # The vendor serves its own token and asks (here with the CLI): verified,
            # logged, forwarded, contact open.
            well_known.status, well_known.body = 200, f"{token}\n".encode()
            cli = ["--url", str(api.base_url).rstrip("/"), "--token", issued.token]
            listed = await run_cli(["domains", "list", "claimant", *cli])
            assert listed.exit_code == 0, listed.output
            assert json.loads(listed.stdout)[0]["proof_token"] == token
            verified = await run_cli(["domains", "verify", "claimant", domain, *cli])
            assert verified.exit_code == 0, verified.output
            claim = json.loads(verified.stdout)
            assert claim["status"] == "verified"
            assert claim["verification_method"] == "https"
            path, headers, _ = well_known.received[-1]
            assert path == "/.well-known/trust-registry.txt"
            assert headers["host"] == domain
            inbox = (await api.get(INBOX, headers=vendor)).json()
            assert [item["tracking_code"] for item in inbox["items"]] == [code]
            contact = await api.get(f"{INBOX}{code}/contact", headers=vendor)
            assert contact.status_code == 200, contact.text
            assert contact.json()["phone"] == "13900000123"
            public = (await api.get("/api/v1/vendors/claimant")).json()
            assert public["domains"] == [domain]
    async with services.ctx.db.read() as session:
        types = list(
            (await session.execute(select(LogEntry.entry_type).order_by(LogEntry.index))).scalars()
        )
    assert types[-2:] == ["vendor.domain.verified", "complaint.attached"]


async def test_only_one_vendor_proves_a_domain_and_a_claim_blocks_nobody(
    services: Services, association: str, tmp_path: Path
) -> None:
    """An applicant listing a domain first does not stop its owner from listing it; once
    the owner has proven it, the domain is the owner's and another proof is a conflict."""
    domain = "contested.com.cn"
    certificates = make_certificates(tmp_path / "tls", [domain])
    well_known = Recorder(status=200)
    admin = await admin_caller(services)
    slugs = ("early-squatter", "real-owner")
    tokens = {}
    for slug in slugs:
        application_id, _key, _ = await apply_vendor(services, association, slug, domains=[domain])
        await services.membership.approve(admin, application_id, "ok")
        tokens[slug] = (
            await services.accounts.create_principal_with_token(
                role=Role.VENDOR_ADMIN, display_name=slug, vendor_slug=slug
            )
        ).token
    async with serving(well_known, certificates) as tls_port:
        settings = proof_settings(services.ctx.settings, certificates, tls_port, [domain])
        async with _registry(services, settings) as api:
            proofs = {}
            for slug in slugs:
                claims = await api.get(
                    f"/api/v1/vendors/{slug}/domains", headers=_auth(tokens[slug])
                )
                proofs[slug] = claims.json()[0]["proof_token"]
            assert proofs["early-squatter"] != proofs["real-owner"]
            well_known.body = proofs["real-owner"].encode()
            owner = await api.post(
                f"/api/v1/vendors/real-owner/domains/{domain}/verify",
                headers=_auth(tokens["real-owner"]),
            )
            assert owner.status_code == 200, owner.text
            well_known.body = proofs["early-squatter"].encode()
            other = await api.post(
                f"/api/v1/vendors/early-squatter/domains/{domain}/verify",
                headers=_auth(tokens["early-squatter"]),
            )
            assert other.status_code == 409, other.text
            assert "another vendor" in other.json()["detail"]


async def test_vendors_proving_one_domain_at_once_get_one_winner_and_clean_conflicts(
    services: Services, association: str
) -> None:
    """Proofs racing for one domain: exactly one vendor holds it, every other gets the
    same 409 a later proof gets (never a database error), and one leaf is logged."""
    domain = "raced.com.cn"
    admin = await admin_caller(services)
    slugs = [f"racer-{n}" for n in range(4)]
    for slug in slugs:
        application_id, _key, _ = await apply_vendor(services, association, slug, domains=[domain])
        await services.membership.approve(admin, application_id, "ok")
    outcomes = await asyncio.gather(
        *(services.domains.record_demo_proof(slug, domain) for slug in slugs),
        return_exceptions=True,
    )
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(o, Conflict) and "another vendor" in str(o) for o in losers), losers
    async with services.ctx.db.read() as session:
        leaves = await session.scalar(
            select(func.count())
            .select_from(LogEntry)
            .where(LogEntry.entry_type == EntryType.DOMAIN_VERIFIED.value)
        )
    assert leaves == 1
