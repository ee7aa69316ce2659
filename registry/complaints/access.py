"""Which complaint each actor may reach, and in which states they may act on it.

A consumer reaches a complaint by its tracking code plus the secret shown once at
filing; a vendor only its own complaints; a mediator only its association's escalations
(and complaints awaiting triage or a join). To anyone else a complaint does not exist,
so every refusal here is a 404 that names nothing it should not.
"""

from __future__ import annotations

import hmac

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.complaints.messages import (
    NOT_FOUND,
    STATUS_NAMES,
    WRONG_STATE,
    ComplaintNotFound,
    ComplaintStateConflict,
    Text,
)
from registry.complaints.models import Complaint, ComplaintStatus
from registry.errors import NotFound
from registry.kernel.caller import Caller
from registry.kernel.ids import hash_token

FINISHED = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED})
VENDOR_OPEN = frozenset(
    {
        ComplaintStatus.FORWARDED,
        ComplaintStatus.ACKNOWLEDGED,
        ComplaintStatus.RESOLUTION_PROPOSED,
        ComplaintStatus.ESCALATED,
        ComplaintStatus.MEDIATED,
    }
)
MEDIATION_STATES = frozenset(
    {ComplaintStatus.ESCALATED, ComplaintStatus.MEDIATED, ComplaintStatus.CLOSED}
)


def normalise_tracking_code(raw: str) -> str:
    """Upper-case, trimmed; what consumers type back in."""
    return raw.strip().upper()


def complaint_query(tracking_code: str) -> Select[Complaint]:
    """The complaint with its thread and vendor, by tracking code."""
    return (
        select(Complaint)
        .where(Complaint.tracking_code == normalise_tracking_code(tracking_code))
        .options(selectinload(Complaint.events), selectinload(Complaint.vendor))
    )


async def consumer_complaint(session: AsyncSession, tracking_code: str, secret: str) -> Complaint:
    """The complaint if the secret matches; a wrong code and a wrong secret look the same."""
    complaint = (await session.execute(complaint_query(tracking_code))).scalar_one_or_none()
    presented = hash_token(secret.strip())
    if complaint is None or not hmac.compare_digest(presented, complaint.secret_hash):
        raise ComplaintNotFound(NOT_FOUND, {"secret": NOT_FOUND})
    return complaint


async def vendor_complaint(session: AsyncSession, caller: Caller, tracking_code: str) -> Complaint:
    """Only the vendor concerned sees it; to anyone else it does not exist."""
    complaint = (await session.execute(complaint_query(tracking_code))).scalar_one_or_none()
    if complaint is None or caller.vendor_id is None or complaint.vendor_id != caller.vendor_id:
        raise NotFound(f"your vendor has no complaint {normalise_tracking_code(tracking_code)}")
    return complaint


async def mediator_complaint(
    session: AsyncSession, caller: Caller, tracking_code: str
) -> Complaint:
    """Escalated complaints of the mediator's own association, and complaints awaiting
    triage (an unregistered subject, no vendor yet), which every association's mediators see."""
    complaint = (await session.execute(complaint_query(tracking_code))).scalar_one_or_none()
    triage = (
        complaint is not None
        and complaint.vendor_id is None
        and complaint.status is ComplaintStatus.SUBMITTED
    )
    if complaint is None or caller.association_id is None:
        raise NotFound(
            f"your association has no escalated complaint {normalise_tracking_code(tracking_code)}"
        )
    own = complaint.association_id == caller.association_id
    linked = (
        complaint.duplicate_of_id is not None
        and complaint.duplicate_joined_at is None
        and complaint.status is not ComplaintStatus.CLOSED
    )
    if not triage and not (own and (complaint.escalated_at is not None or linked)):
        raise NotFound(
            f"your association has no escalated complaint {normalise_tracking_code(tracking_code)}"
        )
    return complaint


def awaiting_join(caller: Caller) -> ColumnElement[bool]:
    """A duplicate filing against the caller's association that no mediator joined yet."""
    return and_(
        Complaint.association_id == caller.association_id,
        Complaint.duplicate_of_id.is_not(None),
        Complaint.duplicate_joined_at.is_(None),
        Complaint.status != ComplaintStatus.CLOSED,
    )


UNREGISTERED_OPEN = frozenset(
    {ComplaintStatus.SUBMITTED, ComplaintStatus.ESCALATED, ComplaintStatus.MEDIATED}
)
"""An unregistered subject's complaint takes messages while it awaits triage and while a
mediator who took it up decides it."""


def open_states(complaint: Complaint) -> set[ComplaintStatus]:
    """The states in which the thread takes messages: a vendor's open states, or an
    unregistered subject's (awaiting triage, then in mediation)."""
    return set(VENDOR_OPEN if complaint.vendor_id is not None else UNREGISTERED_OPEN)


def require_state(
    complaint: Complaint, allowed: set[ComplaintStatus] | frozenset[ComplaintStatus]
) -> None:
    """Refuse, naming the complaint's state in both languages, unless it is `allowed`."""
    if complaint.status not in allowed:
        name = STATUS_NAMES[complaint.status.value]
        raise ComplaintStateConflict(
            Text(WRONG_STATE.zh.format(status=name.zh), WRONG_STATE.en.format(status=name.en))
        )
