"""A blacklist listing's hold on its vendor's certificate, run as a domain-event reaction.

The composition root subscribes `follow_listing` to the blacklist's listing events. The
actor is always the listing's own decision (`blacklist_listing`), so the certificate
machine lets nothing else lift the cause it raises. A vendor without a certificate has
nothing to hold; a revoked certificate stays revoked (revocation is final); a hold
is raised once and lifted only where it is in force, so a repeated event is harmless.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.events import ListingEvent
from registry.certification.machine import Trigger, blacklist_listing
from registry.certification.models import Certification, TransitionCause
from registry.certification.status import CertificationState, written_language
from registry.certification.transitions import Cause, reevaluate
from registry.membership.models import Vendor


async def follow_listing(session: AsyncSession, event: ListingEvent) -> None:
    """Raise, escalate or lift the listing's cause on the vendor's certificate."""
    row = (
        await session.execute(
            select(Certification).where(Certification.vendor_id == event.vendor_id)
        )
    ).scalar_one_or_none()
    if row is None or row.state is CertificationState.REVOKED:
        return
    owner = f"listing:{event.listing_id}"
    held = any(c.get("owner") == owner for c in row.causes or ())
    if (event.trigger is Trigger.REINSTATE and not held) or (
        event.trigger is Trigger.SUSPEND and held
    ):
        # Nothing to lift (the vendor had no certificate when it was listed), or already
        # held: a replayed event changes nothing.
        return
    vendor = await session.get(Vendor, event.vendor_id)
    assert vendor is not None  # noqa: S101 - foreign key
    await reevaluate(
        session,
        vendor,
        event.trigger,
        Cause(
            TransitionCause.BLACKLIST,
            ref=owner,
            reason=event.reason,
            reason_lang=written_language(event.reason),
            decided_by=event.principal_id,
        ),
        event.at,
        row=row,
        by=blacklist_listing(event.listing_id, event.principal_id, event.reason),
    )
