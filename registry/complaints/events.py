"""What happens to a complaint, published for the aggregates that react to it.

Every event names the complaint by its id and tracking code and carries the vendor and
association it concerned at that moment (None while an unregistered subject's complaint
awaits triage) and the registry time of the fact, so a subscriber (counting, the
blacklist rules) needs no second read for the common case. Published by
`registry.complaints`; subscribers are wired in `registry.services` only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.models import Complaint, SlaClock
from registry.events import DomainEvent, publish

__all__ = [
    "ComplaintClosed",
    "ComplaintEscalated",
    "ComplaintFact",
    "ComplaintFiled",
    "ComplaintFirstResponded",
    "ComplaintForwarded",
    "ComplaintMediated",
    "ComplaintRated",
    "ComplaintResolved",
    "ComplaintSlaBreached",
    "ComplaintSubstantiated",
    "SubstantiationBasis",
    "publish_complaint_fact",
]


@dataclass(frozen=True, slots=True)
class ComplaintFact(DomainEvent):
    """The fields every complaint event carries."""

    complaint_id: int
    tracking_code: str
    vendor_id: int | None
    association_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ComplaintFiled(ComplaintFact):
    """A consumer filed a complaint (forwarded at once when its subject is a member)."""

    category: str
    subject_kind: str


@dataclass(frozen=True, slots=True)
class ComplaintForwarded(ComplaintFact):
    """The complaint reached its vendor and the vendor's clocks started."""

    matched_by: str | None
    """None when forwarded at filing; how an awaiting complaint was attached otherwise
    (`credit_code` or `domain` at admission, `linked by <role>` by hand)."""


@dataclass(frozen=True, slots=True)
class ComplaintFirstResponded(ComplaintFact):
    """The vendor's first response (acknowledgement, message or proposal)."""

    due_at: datetime | None
    """The first-response deadline the response stopped."""


@dataclass(frozen=True, slots=True)
class ComplaintResolved(ComplaintFact):
    """The consumer accepted the vendor's proposal."""

    vendor_conceded: bool


@dataclass(frozen=True, slots=True)
class ComplaintRated(ComplaintFact):
    """The consumer answered the satisfaction survey (1 to 5)."""

    score: int


@dataclass(frozen=True, slots=True)
class ComplaintEscalated(ComplaintFact):
    """The complaint went to the association's mediators."""

    reason: str
    """`consumer_rejected_proposal`, `sla_breach`, or `unregistered_subject` (a mediator
    took up a complaint about a subject that is no member)."""


@dataclass(frozen=True, slots=True)
class ComplaintSlaBreached(ComplaintFact):
    """A vendor clock ran out (the complaint is escalated in the same transaction).

    `at` is the missed deadline, not the time of the scan that noticed it."""

    clock: SlaClock


@dataclass(frozen=True, slots=True)
class ComplaintClosed(ComplaintFact):
    """A mediator closed the complaint."""

    reason: str
    """`mediated` or `duplicate_joined`."""


@dataclass(frozen=True, slots=True)
class ComplaintMediated(ComplaintFact):
    """A mediator found the escalated complaint upheld or not upheld (the report rollups
    count mediations whatever the outcome; `ComplaintSubstantiated` follows when it
    counts against the vendor)."""

    outcome: str
    """`upheld` or `not_upheld`."""


class SubstantiationBasis(enum.StrEnum):
    """Why a complaint counts as substantiated against its vendor."""

    UPHELD_IN_MEDIATION = "upheld_in_mediation"
    VENDOR_CONCEDED = "vendor_conceded"


@dataclass(frozen=True, slots=True)
class ComplaintSubstantiated(ComplaintFact):
    """The complaint now counts against its vendor (at most once per complaint)."""

    basis: SubstantiationBasis


FactT = TypeVar("FactT", bound=ComplaintFact)


def publish_complaint_fact(
    session: AsyncSession,
    event_type: type[FactT],
    complaint: Complaint,
    at: datetime,
    **values: Any,
) -> None:
    """Publish `event_type` about `complaint` with the common fields read off the row
    (which must have its id: flushed)."""
    publish(
        session,
        event_type(
            complaint_id=complaint.id,
            tracking_code=complaint.tracking_code,
            vendor_id=complaint.vendor_id,
            association_id=complaint.association_id,
            at=at,
            **values,
        ),
    )
