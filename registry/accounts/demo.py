"""The principal the demo data and the test factories act as."""

from __future__ import annotations

from sqlalchemy import select

from registry.accounts.models import Principal
from registry.kernel.caller import Caller, Role
from registry.services import Services


async def demo_admin(services: Services) -> Caller:
    """A federation admin principal that the demo acts as."""
    async with services.ctx.db.transaction() as session:
        principal = (
            await session.execute(
                select(Principal).where(
                    Principal.role == Role.FEDERATION_ADMIN,
                    Principal.display_name == "demo federation admin",
                )
            )
        ).scalar_one_or_none()
        if principal is None:
            principal = Principal(
                role=Role.FEDERATION_ADMIN,
                display_name="demo federation admin",
                created_at=services.ctx.clock.now(),
            )
            session.add(principal)
            await session.flush()
        return Caller(principal_id=principal.id, role=Role.FEDERATION_ADMIN)
