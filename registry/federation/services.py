"""Associations of the federation."""

from __future__ import annotations

from sqlalchemy import select

from registry.context import RegistryContext
from registry.errors import InvalidInput
from registry.federation.models import Association
from registry.kernel.patterns import SLUG_PATTERN


class FederationService:
    """Creates and lists the federation's associations."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def ensure_association(self, slug: str, name_zh: str, name_en: str) -> Association:
        """Create the association if it does not exist; return it either way."""
        if not SLUG_PATTERN.match(slug):
            raise InvalidInput(f"association slug {slug!r} is not a valid slug")
        async with self.ctx.db.transaction() as session:
            existing = (
                await session.execute(select(Association).where(Association.slug == slug))
            ).scalar_one_or_none()
            if existing is not None:
                return existing
            association = Association(
                slug=slug, name_zh=name_zh, name_en=name_en, created_at=self.ctx.clock.now()
            )
            session.add(association)
            return association

    async def associations(self) -> list[Association]:
        """Every association, by slug."""
        async with self.ctx.db.read() as session:
            rows = await session.execute(select(Association).order_by(Association.slug))
            return list(rows.scalars())
