"""What happens to a complaint that other aggregates may react to (`registry.events`).

Each event names the complaint by id only: a subscriber runs in the same transaction, so
it reads the complaint as the publisher left it.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ComplaintEvent(DomainEvent):
    """Base of the complaint events: which complaint changed."""

    complaint_id: int


@dataclass(frozen=True, slots=True)
class ComplaintFiled(ComplaintEvent):
    """A consumer filed a complaint (forwarded at once when it names a member vendor)."""


@dataclass(frozen=True, slots=True)
class ComplaintForwarded(ComplaintEvent):
    """A waiting complaint reached its vendor (the vendor was admitted): the
    first-response clock started."""


@dataclass(frozen=True, slots=True)
class ComplaintAnswered(ComplaintEvent):
    """The vendor's first response (acknowledgement or proposal) arrived."""


@dataclass(frozen=True, slots=True)
class ComplaintResolved(ComplaintEvent):
    """The consumer accepted the vendor's proposal."""


@dataclass(frozen=True, slots=True)
class ComplaintEscalated(ComplaintEvent):
    """The complaint went to the association's mediation (rejected proposal or a breach)."""


@dataclass(frozen=True, slots=True)
class ComplaintMediated(ComplaintEvent):
    """A mediator decided: upheld or not upheld."""


@dataclass(frozen=True, slots=True)
class ComplaintRated(ComplaintEvent):
    """The consumer rated the handling 1-5."""


@dataclass(frozen=True, slots=True)
class ComplaintVendorAttached(ComplaintEvent):
    """A complaint about an unregistered subject was linked to the member vendor it is."""


@dataclass(frozen=True, slots=True)
class ComplaintDuplicateJoined(ComplaintEvent):
    """A mediator joined this complaint into an earlier one by the same consumer."""


COMPLAINT_EVENTS: tuple[type[ComplaintEvent], ...] = (
    ComplaintFiled,
    ComplaintForwarded,
    ComplaintAnswered,
    ComplaintResolved,
    ComplaintEscalated,
    ComplaintMediated,
    ComplaintRated,
    ComplaintVendorAttached,
    ComplaintDuplicateJoined,
)
"""Every complaint event, for subscribers that react to any change of a complaint."""
