"""Issuing signed badge tokens (format and verification: `attestations.badge_token`).

A token states the same verdict as the badge image and the API (`verdict.verdict`), signed
by the federation key so anyone can check it offline.
"""

from __future__ import annotations

from datetime import datetime

from attestations.badge_token import BadgeClaims, sign_badge_token
from attestations.keys import SigningKey
from registry.certification.status import PublicCertification
from registry.certification.verdict import verdict
from registry.context import RegistryContext
from registry.settings import Settings


def badge_claims(
    certification: PublicCertification, settings: Settings, key: SigningKey, now: datetime
) -> BadgeClaims:
    """The claims for a vendor at `now`, failing closed like every other face.

    The verdict is taken at `now` itself; only the stated times are cut to whole seconds
    (they are for people and offline tools, not for ordering events), so a token never
    calls certified a moment the badge already calls expired. A certified token never
    outlives its certificate: it expires at the end of the validity when that comes
    before the usual token lifetime.
    """
    decided = verdict(certification, now)
    issued_at = now.replace(microsecond=0)
    expires = issued_at + settings.badge_token_ttl
    if decided.certified and certification.valid_until is not None:
        expires = min(expires, certification.valid_until)
    return BadgeClaims(
        issuer=settings.log_origin,
        key_id=key.key_id,
        vendor=certification.vendor_slug,
        state=decided.state.value if decided.state is not None else None,
        level=decided.level,
        valid_until=certification.valid_until,
        log_index=certification.log_index,
        issued_at=issued_at,
        expires=expires,
    )


def issue_badge_token(
    certification: PublicCertification, ctx: RegistryContext
) -> tuple[str, BadgeClaims]:
    """Sign the vendor's current badge claims with the federation key."""
    claims = badge_claims(certification, ctx.settings, ctx.federation_key, ctx.clock.now())
    return sign_badge_token(claims, ctx.federation_key), claims
