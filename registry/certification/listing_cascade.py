"""A blacklist listing's hold on its vendor's certificate.

The composition root calls `follow_listing` when the blacklist publishes a listing event
(it knows both; certification imports nothing of the blacklist). The actor is always the
listing's own decision (`blacklist_listing`), so the certificate
machine lets nothing else lift the cause it raises. A vendor without a certificate has
nothing to hold; a revoked certificate stays revoked (revocation is final); a hold
is raised once and lifted only where it is in force, so a repeated event is harmless.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.certification.machine import Trigger, blacklist_listing
from registry.certification.models import Certification, TransitionCause
from registry.certification.status import CertificationState, written_language
from registry.certification.transitions import Cause, reevaluate
from registry.membership.models import Vendor


async def follow_listing(
    session: AsyncSession,
    *,
    listing_id: int,
    vendor_id: int,
    trigger: Trigger,
    reason: str,
    principal_id: int | None,
    at: datetime,
) -> None:
    """Raise (SUSPEND), escalate (REVOKE) or lift (REINSTATE) the listing's cause on the
    vendor's certificate."""
    row = (
        await session.execute(select(Certification).where(Certification.vendor_id == vendor_id))
    ).scalar_one_or_none()
    if row is None or row.state is CertificationState.REVOKED:
        return
    owner = f"listing:{listing_id}"
    held = any(c.get("owner") == owner for c in row.causes or ())
    if (trigger is Trigger.REINSTATE and not held) or (trigger is Trigger.SUSPEND and held):
        # Nothing to lift (the vendor had no certificate when it was listed), or already
        # held: a replayed event changes nothing.
        return
    vendor = await session.get(Vendor, vendor_id)
    assert vendor is not None  # noqa: S101 - foreign key
    await reevaluate(
        session,
        vendor,
        trigger,
        Cause(
            TransitionCause.BLACKLIST,
            ref=owner,
            reason=reason,
            reason_lang=written_language(reason),
            decided_by=principal_id,
        ),
        at,
        row=row,
        by=blacklist_listing(listing_id, principal_id, reason),
    )
