"""What the blacklist tells other aggregates: a listing was decided, became final, ended;
a case was opened or decided, an appeal decided, a repair applied for or decided.

`BlacklistChanged` says only that the listings in force changed (any subject, any tier):
the blacklist's own snapshot reaction signs a new snapshot in the same transaction.

The certificate of a listed member vendor reacts to these (the composition root wires
the reaction, `certification.follow_listing`); the blacklist imports nothing of
certification. Each event carries what its listing's tier asks of the certificate
(`registry.blacklist.decisions`), so the reaction needs no knowledge of tiers, and the
actor is always the listing's own decision (`listing:<id>`). The case events
(`CASE_EVENTS`, every subject, member or not) feed the blacklist's own figures in the
reports (`reports.blacklist_rollup`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from registry.blacklist.states import AppealState, CaseState, RepairState, Tier
from registry.events import DomainEvent


class HoldAction(enum.StrEnum):
    """What a listing asks of its vendor's certificate, under the listing's own cause."""

    SUSPEND = "suspend"
    """Raise the listing's hold (general and serious listings, on publication)."""
    REVOKE = "revoke"
    """Revoke (a serious listing, once it can no longer be appealed)."""
    REINSTATE = "reinstate"
    """Lift the listing's hold (its end: expiry, retraction, repair)."""


@dataclass(frozen=True, slots=True)
class ListingEvent(DomainEvent):
    """A listing of a member vendor changed in a way its certificate must follow."""

    listing_id: int
    vendor_id: int
    action: HoldAction
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


@dataclass(frozen=True, slots=True)
class BlacklistChanged(DomainEvent):
    """A listing entered the blacklist in force (published) or left it (expired,
    retracted on appeal, repaired), whoever its subject and whatever its tier."""

    listing_id: int
    state: str
    """The listing's state after the change (`listed`, `expired`, `retracted`, `repaired`)."""
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseFact(DomainEvent):
    """The fields every case event carries: which case, which association governs it,
    the tier the event concerns and the registry time of the fact.

    `tier` is the tier the rule proposed until a committee lists, and the listing's own
    tier from then on (a listing, its appeals and its repairs are of the listing's tier).
    The reports count these by association, tier and month without reading the rows.
    """

    case_id: int
    association_id: int
    tier: Tier
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseOpened(CaseFact):
    """A rule opened a case (`tier`: the tier the rule proposes)."""


@dataclass(frozen=True, slots=True)
class CaseDecided(CaseFact):
    """A case's ballot closed: listed (at `tier`), not listed, or lapsed at its deadline."""

    outcome: CaseState
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class AppealDecided(CaseFact):
    """An appeal panel decided (upheld, overturned) or missed its deadline (lapsed)."""

    appeal_id: int
    listing_id: int
    outcome: AppealState


@dataclass(frozen=True, slots=True)
class RepairApplied(CaseFact):
    """A listed vendor applied for credit repair."""

    repair_id: int
    listing_id: int


@dataclass(frozen=True, slots=True)
class RepairDecided(CaseFact):
    """The committee granted (the listing ends at `at`), refused, or missed the deadline."""

    repair_id: int
    listing_id: int
    outcome: RepairState
    applied_at: datetime


CASE_EVENTS: tuple[type[CaseFact], ...] = (
    CaseOpened,
    CaseDecided,
    AppealDecided,
    RepairApplied,
    RepairDecided,
)
"""Every step of a case the reports count."""
