"""Proof that a member vendor controls a domain it lists.

A listed domain is a claim. It becomes the vendor's - attaching complaints filed against
it, whose contacts the vendor then reads, and shown in the directory - only once the
vendor serves its registry-issued token at `https://<domain>/.well-known/trust-registry.txt`
and asks the registry to check. The registry fetches the file through `registry.outbound`
(public addresses only, the certificate checked against the domain, no redirects), so the
check cannot be aimed inside the operator's network either.

Only HTTPS is offered: it needs no resolver library beyond the system's, goes through the
same outbound guard as webhooks, and proves control of the very host consumers use. A
DNS TXT record would prove control of the zone as well, and is a later addition.

A verification is a registry decision: it is a transparency-log leaf, written in the same
transaction as the waiting complaints it attaches.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound
from registry.events import publish
from registry.kernel.caller import Caller
from registry.kernel.clock import isoformat
from registry.kernel.members import VendorStatus, is_member
from registry.membership.events import VendorDomainVerified
from registry.membership.models import Vendor, VendorDomain
from registry.outbound import OutboundRefused, outbound_client, parse_target, send
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

WELL_KNOWN_PATH = "/.well-known/trust-registry.txt"
logger = logging.getLogger("registry.domains")


def proof_url(domain: str) -> str:
    """Where the vendor serves the token for `domain`."""
    return f"https://{domain}{WELL_KNOWN_PATH}"


def proof_found(body: bytes, token: str) -> bool:
    """The file proves the claim when one of its lines is exactly the token."""
    text = body.decode("utf-8", errors="replace")
    return any(line.strip() == token for line in text.splitlines())


class DomainProofService:
    """A member vendor's domain claims, their tokens, and the check that proves one."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def claims(self, caller: Caller, slug: str) -> list[VendorDomain]:
        """The caller's vendor's domains, pending and verified, with their tokens."""
        async with self.ctx.db.read() as session:
            vendor = await _own_vendor(session, caller, slug)
            return await _claims_of(session, vendor)

    async def verify(self, caller: Caller, slug: str, domain: str) -> VendorDomain:
        """Fetch the proof file for one of the caller's pending claims; on a match the
        domain is verified and complaints waiting for it are attached."""
        async with self.ctx.db.read() as session:
            vendor = await _own_vendor(session, caller, slug)
            claim = await _claim(session, vendor, domain)
        if claim.verified:
            return claim
        if not await self._fetch_proof(claim.domain, claim.proof_token):
            raise InvalidInput(
                f"the registry did not find this domain's token at {proof_url(claim.domain)}; "
                "serve it there as text (HTTPS with a valid certificate, status 200, no "
                "redirect) and ask again",
                fields={"domain": "proof not found"},
            )
        return await self._mark_verified(slug, claim.domain, "https")

    async def record_demo_proof(self, slug: str, domain: str) -> VendorDomain:
        """Demo data only: the demo's own vendors' made-up domains, recorded as verified
        by the demo (method `demo` in the log leaf), since nothing serves their files."""
        return await self._mark_verified(slug, domain, "demo")

    async def _fetch_proof(self, domain: str, token: str) -> bool:
        settings = self.ctx.settings
        try:
            target = parse_target(proof_url(domain), settings)
            async with (
                outbound_client(settings, settings.domain_proof_timeout_seconds) as client,
                asyncio.timeout(settings.domain_proof_timeout_seconds),
            ):
                response, body = await send(
                    client, "GET", target, settings, max_body_bytes=settings.domain_proof_max_bytes
                )
        except (OutboundRefused, httpx.HTTPError, TimeoutError) as exc:
            # One answer to the vendor whatever failed, so the check is no network probe.
            detail = exc.reason if isinstance(exc, OutboundRefused) else repr(exc)
            logger.info("domain proof for %s not fetched: %s", domain, detail)
            return False
        return response.status_code == 200 and proof_found(body, token)

    async def _mark_verified(self, slug: str, domain: str, method: str) -> VendorDomain:
        try:
            return await self._record_proof(slug, domain, method)
        except IntegrityError as exc:
            # Two vendors proved one domain at the same instant: both saw no holder, and
            # the unique index on verified domains let only the first commit through.
            raise _proven_by_another(domain) from exc

    async def _record_proof(self, slug: str, domain: str, method: str) -> VendorDomain:
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            vendor = (
                await session.execute(select(Vendor).where(Vendor.slug == slug))
            ).scalar_one_or_none()
            if vendor is None or not is_member(vendor.status):
                raise NotFound(f"no member vendor {slug!r}")
            claim = await _claim(session, vendor, domain, for_update=True)
            if claim.verified:
                return claim
            holder = await session.scalar(
                select(Vendor.slug)
                .join(VendorDomain, VendorDomain.vendor_id == Vendor.id)
                .where(VendorDomain.domain == claim.domain, VendorDomain.verified_at.is_not(None))
            )
            if holder is not None:
                raise _proven_by_another(claim.domain)
            claim.verified_at = now
            claim.verification_method = method
            await session.flush()
            await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.DOMAIN_VERIFIED,
                    {
                        "domain": claim.domain,
                        "method": method,
                        "proof_url": proof_url(claim.domain),
                        "verified_at": isoformat(now),
                    },
                    vendor_id=vendor.id,
                    vendor_slug=vendor.slug,
                )
            )
            publish(
                session,
                VendorDomainVerified(
                    vendor_id=vendor.id,
                    domain=claim.domain,
                    member=vendor.status is VendorStatus.ACTIVE,
                    at=now,
                ),
            )
            return claim


def _proven_by_another(domain: str) -> Conflict:
    return Conflict(
        f"{domain} was already proven by another vendor",
        fields={"domain": "verified by another vendor"},
    )


async def _own_vendor(session: AsyncSession, caller: Caller, slug: str) -> Vendor:
    """The member vendor `slug`, if the caller speaks for it; others learn nothing."""
    vendor = (await session.execute(select(Vendor).where(Vendor.slug == slug))).scalar_one_or_none()
    if vendor is None or not is_member(vendor.status) or not caller.speaks_for_vendor(vendor.id):
        raise NotFound(f"no vendor {slug!r} that you administer")
    return vendor


async def _claims_of(session: AsyncSession, vendor: Vendor) -> list[VendorDomain]:
    rows = await session.execute(
        select(VendorDomain)
        .where(VendorDomain.vendor_id == vendor.id)
        .order_by(VendorDomain.domain)
    )
    return list(rows.scalars())


async def _claim(
    session: AsyncSession, vendor: Vendor, domain: str, *, for_update: bool = False
) -> VendorDomain:
    statement = select(VendorDomain).where(
        VendorDomain.vendor_id == vendor.id,
        VendorDomain.domain == domain.strip().lower().rstrip("."),
    )
    if for_update:
        statement = statement.with_for_update()
    claim = (await session.execute(statement)).scalar_one_or_none()
    if claim is None:
        raise NotFound(f"{vendor.slug} does not list the domain {domain!r}")
    return claim
