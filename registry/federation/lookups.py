"""Reading an association by its public handle: every aggregate scopes its routes by
association slug, so the one lookup (and its refusal) lives beside the row."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.errors import NotFound
from registry.federation.models import Association


async def association_by_slug(session: AsyncSession, slug: str) -> Association:
    """The association with this slug, or NotFound naming the slug."""
    association = (
        await session.execute(select(Association).where(Association.slug == slug))
    ).scalar_one_or_none()
    if association is None:
        raise NotFound(f"no association with slug {slug!r}")
    return association
