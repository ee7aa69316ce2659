"""Issuing signed badge tokens (format and verification: `attestations.badge_token`)."""

from __future__ import annotations

from datetime import datetime

from attestations.badge_token import BadgeClaims, sign_badge_token
from public_site.badges.rendering import verdict
from registry.certification.status import PublicCertification
from registry.context import RegistryContext


def badge_claims(
    certification: PublicCertification, ctx: RegistryContext, now: datetime
) -> BadgeClaims:
    """The claims for a vendor at `now`, failing closed like the badge image.

    A certified token never outlives its certificate: it expires at the end of the
    validity when that comes before the usual token lifetime.
    """
    decided = verdict(certification, now)
    expires = now + ctx.settings.badge_token_ttl
    if decided.certified and certification.valid_until is not None:
        expires = min(expires, certification.valid_until)
    return BadgeClaims(
        issuer=ctx.settings.log_origin,
        key_id=ctx.federation_key.key_id,
        vendor=certification.vendor_slug,
        state=decided.state.value if decided.state is not None else None,
        level=decided.level if decided.certified else None,
        valid_until=certification.valid_until,
        log_index=certification.log_index,
        issued_at=now,
        expires=expires,
    )


def issue_badge_token(
    certification: PublicCertification, ctx: RegistryContext
) -> tuple[str, BadgeClaims]:
    """Sign the vendor's current badge claims with the federation key."""
    # Whole seconds: the claims are for people and offline tools, not for ordering events.
    claims = badge_claims(certification, ctx, ctx.clock.now().replace(microsecond=0))
    return sign_badge_token(claims, ctx.federation_key), claims
