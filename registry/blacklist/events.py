"""What the blacklist tells other aggregates: a listing was decided, became final, ended.

The certificate of a listed member vendor reacts to these (the composition root wires
`registry.certification.listing_cascade`); the blacklist never imports certification
services. Each event carries the certificate trigger its listing's tier asks for
(`registry.blacklist.decisions`), so the reaction needs no knowledge of tiers, and the
actor is always the listing's own decision (`listing:<id>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.certification.machine import Trigger
from registry.events import DomainEvent


@dataclass(frozen=True, slots=True)
class ListingEvent(DomainEvent):
    """A listing of a member vendor changed in a way its certificate must follow."""

    listing_id: int
    vendor_id: int
    trigger: Trigger
    """SUSPEND on publication, REVOKE once a serious listing is final, REINSTATE at its end."""
    reason: str
    """Why, in the words the transition records (no personal data)."""
    principal_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ListingDecided(ListingEvent):
    """A committee decided to list the vendor at a tier that holds its certificate."""


@dataclass(frozen=True, slots=True)
class ListingBecameFinal(ListingEvent):
    """A serious listing can no longer be appealed: the certificate is revoked."""


@dataclass(frozen=True, slots=True)
class ListingEnded(ListingEvent):
    """The listing expired, was retracted on appeal or repaired: its hold is lifted."""


LISTING_EVENTS: tuple[type[ListingEvent], ...] = (ListingDecided, ListingBecameFinal, ListingEnded)
