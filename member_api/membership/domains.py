"""/api/v1/vendors/{slug}/domains: a member vendor's domain claims and their proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, PathParameter
from litestar.status_codes import HTTP_200_OK

from member_api.deps import CallerDep, ServicesDep
from registry.accounts.access import opt, roles
from registry.kernel.caller import Role
from registry.membership.domains import proof_url
from registry.membership.models import VendorDomain

VENDOR = roles(Role.VENDOR_ADMIN)
Domain = Annotated[str, PathParameter(title="domain", max_length=253)]


class DomainClaimOut(msgspec.Struct):
    """A listed domain: `pending` until the vendor serves `proof_token` at `proof_url` and
    asks for the check, `verified` after. Only verified domains attach complaints."""

    domain: str
    status: str
    proof_url: str
    proof_token: str
    verified_at: datetime | None
    verification_method: str | None


def claim_out(claim: VendorDomain) -> DomainClaimOut:
    """Shape a domain claim for its own vendor (the token is not public)."""
    return DomainClaimOut(
        domain=claim.domain,
        status="verified" if claim.verified else "pending",
        proof_url=proof_url(claim.domain),
        proof_token=claim.proof_token,
        verified_at=claim.verified_at,
        verification_method=claim.verification_method,
    )


class VendorDomainController(Controller):
    """Domains become a vendor's only after it proves control of them."""

    path = "/api/v1/vendors/{slug:str}/domains"
    tags = ["vendors"]

    @get("/", opt=opt(VENDOR))
    async def list_claims(
        self, services: ServicesDep, caller: CallerDep, slug: FromPath[str]
    ) -> list[DomainClaimOut]:
        """The vendor's domains with their status and the token to serve for each."""
        return [claim_out(c) for c in await services.domains.claims(caller, slug)]

    @post("/{domain:str}/verify", opt=opt(VENDOR), status_code=HTTP_200_OK)
    async def verify(
        self, services: ServicesDep, caller: CallerDep, slug: FromPath[str], domain: Domain
    ) -> DomainClaimOut:
        """Check the vendor's proof of control of one claimed domain.

        The registry fetches `https://<domain>/.well-known/trust-registry.txt` (public
        addresses only, a valid certificate for the domain, no
        redirect) and looks for a line that is exactly the claim's token. On a match the
        domain is verified, logged, and complaints waiting for it are forwarded to you.
        """
        return claim_out(await services.domains.verify(caller, slug, domain))
