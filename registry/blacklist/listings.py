"""Listing tiers and their limits, as pure functions of a tier and a few instants.

The three publication tiers follow the Chinese credit-listing practice (SAMR 令第44号
2021, NDRC 令第58号 2023, 国办发〔2025〕22号):

| tier | published for | certificate | credit repair from |
| --- | --- | --- | --- |
| 轻微 minor | at most 3 months | untouched, shown on the vendor's own profile | any time |
| 一般 general | 3 to 12 months | suspended while listed | 3 months after publication |
| 严重 serious | 1 to 3 years | suspended while appealable, then revoked | 1 year after publication |

Why a serious listing first *suspends*: a revocation is final in the certificate's state
machine, yet an appeal may still overturn the listing and must then lift its cause. So
the cascade holds the certificate with the listing's own cause (`listing:<id>`) while the
listing can be appealed, and revokes it only once the listing is final (the appeal window
passed without an appeal, or the panel upheld it). Only the listing's own decisions lift
or escalate that cause: its expiry, its retraction on appeal, a granted repair.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from registry.blacklist.states import ListingState, Tier


class CertificateEffect(enum.StrEnum):
    """What a listing of a tier does to the subject's certificate."""

    NONE = "none"
    """Minor: shown on the vendor's own profile only."""
    SUSPEND = "suspend"
    """General: suspended while listed."""
    REVOKE = "revoke"
    """Serious: suspended while appealable, revoked once final."""


@dataclass(frozen=True)
class TierPolicy:
    """The limits of one tier, in calendar months from publication."""

    tier: Tier
    min_months: int
    max_months: int
    default_months: int
    """How long a listing is published when the committee names only the tier."""
    repair_after_months: int
    """Credit repair is open this long after publication (0: at once)."""
    effect: CertificateEffect


TIER_POLICIES: Final[dict[Tier, TierPolicy]] = {
    Tier.MINOR: TierPolicy(Tier.MINOR, 1, 3, 3, 0, CertificateEffect.NONE),
    Tier.GENERAL: TierPolicy(Tier.GENERAL, 3, 12, 6, 3, CertificateEffect.SUSPEND),
    Tier.SERIOUS: TierPolicy(Tier.SERIOUS, 12, 36, 24, 12, CertificateEffect.REVOKE),
}
"""The limits of every tier; the README's "Blacklist tiers" table states them."""

TIER_ORDER: Final[tuple[Tier, ...]] = (Tier.MINOR, Tier.GENERAL, Tier.SERIOUS)
"""Tiers from the mildest to the most severe (the tally picks along this order)."""


class TierLimitExceeded(ValueError):
    """A publication period outside its tier's limits."""


def severity(tier: Tier) -> int:
    """0 for minor, 1 for general, 2 for serious."""
    return TIER_ORDER.index(tier)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months, the day clamped to the month's end (31 Jan + 1 = 28/29
    Feb), which is how a "3-month" publication period is counted."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def publication_until(tier: Tier, published_from: datetime, months: int | None = None) -> datetime:
    """When a listing published from `published_from` ends: `months` (the tier's default
    when None), refused with TierLimitExceeded outside the tier's range."""
    policy = TIER_POLICIES[tier]
    chosen = policy.default_months if months is None else months
    if not policy.min_months <= chosen <= policy.max_months:
        raise TierLimitExceeded(
            f"a {tier.value} listing is published for {policy.min_months} to "
            f"{policy.max_months} months, not {chosen}"
        )
    return add_months(published_from, chosen)


def latest_end(tier: Tier, published_from: datetime) -> datetime:
    """The furthest `published_until` the tier allows."""
    return add_months(published_from, TIER_POLICIES[tier].max_months)


def within_tier(tier: Tier, published_from: datetime, published_until: datetime) -> bool:
    """True when the publication period respects the tier's maximum (and ends after it
    starts)."""
    return published_from < published_until <= latest_end(tier, published_from)


def repair_open_from(tier: Tier, published_from: datetime) -> datetime:
    """The first instant a credit repair may be applied for."""
    return add_months(published_from, TIER_POLICIES[tier].repair_after_months)


def watch_until(delisted_at: datetime, watch_period: timedelta) -> datetime:
    """End of the watch period after a granted repair: a new substantiated breach before
    then opens a case with the shortened answer window."""
    return delisted_at + watch_period


def listing_owner(listing_id: int) -> str:
    """The owner name of the certificate cause a listing raises (`listing:<id>`)."""
    return f"listing:{listing_id}"


ENDED_BY: Final[dict[ListingState, str]] = {
    ListingState.EXPIRED: "expiry",
    ListingState.RETRACTED: "appeal",
    ListingState.REPAIRED: "repair",
}
"""How each end of a listing is named in `Listing.end_ref` (`appeal:<id>`, …)."""


def is_final(
    *,
    appeal_window_ends: datetime,
    appealed: bool,
    appeal_upheld: bool,
    now: datetime,
) -> bool:
    """True when a listing can no longer be overturned: the appeal window passed without
    an appeal, or the panel upheld it."""
    if appealed:
        return appeal_upheld
    return now >= appeal_window_ends
