"""What every per-actor complaint service shares: the context, the PII vault, the
thread's text rule, a page of complaints and the recorded opening of a contact."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.complaints.filing import checked_text
from registry.complaints.forwarding import record_event
from registry.complaints.messages import ComplaintInvalid
from registry.complaints.models import ActorKind, Complaint, EventKind
from registry.complaints.pii import Contact, PiiVault, load_or_create_pii_key
from registry.context import RegistryContext
from registry.errors import NotFound
from registry.kernel.caller import Caller
from registry.pagination import Page


class ComplaintActorService:
    """Base of the consumer, vendor, mediator, clock and figure services."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    @cached_property
    def vault(self) -> PiiVault:
        """The PII vault; the key is loaded (or created, 0600) on first use."""
        return PiiVault(load_or_create_pii_key(self.ctx.settings))

    def message_text(self, body: str, *, field: str = "body", required: bool = True) -> str:
        """The trimmed text of a thread entry, refused when empty (if required) or too long."""
        limit = self.ctx.settings.complaint_text_max_chars
        text, problem = checked_text(field, body, limit, required=required)
        if problem is not None:
            raise ComplaintInvalid({field: problem})
        return text

    async def page(self, conditions: list[Any], offset: int, limit: int) -> Page[Complaint]:
        """The complaints matching `conditions`, newest first, with their total."""
        async with self.ctx.db.read() as session:
            total = await session.scalar(
                select(func.count()).select_from(Complaint).where(*conditions)
            )
            items = (
                await session.execute(
                    select(Complaint)
                    .where(*conditions)
                    .options(selectinload(Complaint.vendor))
                    .order_by(Complaint.created_at.desc(), Complaint.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).scalars()
            return Page(list(items), total or 0, offset, limit)

    def disclose_contact(
        self,
        session: AsyncSession,
        complaint: Complaint,
        caller: Caller,
        actor: ActorKind,
        now: datetime,
    ) -> Contact:
        """Open the sealed contact and record the opening on the thread."""
        if complaint.contact_sealed is None:
            raise NotFound("the consumer's contact was erased after closure")
        contact = self.vault.open(complaint.contact_sealed)
        record_event(
            session,
            complaint,
            now,
            EventKind.CONTACT_REVEALED,
            actor,
            principal_id=caller.principal_id,
        )
        return contact
