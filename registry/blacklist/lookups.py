"""Reading a case, an association or a vendor slug by its public name: shared by every
blacklist service, so none of them imports another's service module. The association
lookup is the federation's own (`registry.federation.lookups`), re-exported here."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.models import BlacklistCase
from registry.errors import NotFound
from registry.federation.lookups import association_by_slug
from registry.kernel.members import VENDOR

__all__ = ["association_by_slug", "case_by_reference", "vendor_slug_of"]


async def case_by_reference(session: AsyncSession, reference: str) -> BlacklistCase:
    """A case by its public reference, or NotFound."""
    case = (
        await session.execute(
            select(BlacklistCase).where(BlacklistCase.reference == reference.strip().upper())
        )
    ).scalar_one_or_none()
    if case is None:
        raise NotFound(f"no blacklist case {reference!r}")
    return case


async def vendor_slug_of(session: AsyncSession, vendor_id: int | None) -> str | None:
    """The slug of a vendor id (None for none)."""
    if vendor_id is None:
        return None
    return await session.scalar(select(VENDOR.c.slug).where(VENDOR.c.id == vendor_id))
