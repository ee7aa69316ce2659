"""What a count decides, and what a listing does to a certificate, as pure functions.

The services call these with what they read in their transaction; the property tests
call them with whatever Hypothesis draws. Three invariants hold by construction and are
tested (tests/unit/test_blacklist_process.py):

- no listing without a quorate decision to list (`listing_terms` refuses anything else);
- no `published_until` beyond the tier's maximum (`publication_until` refuses it);
- a listing's certificate cause is raised and lifted only by that listing's own decisions
  (the composition root acts on `HoldAction`s as `blacklist_listing(<id>)` alone, and the
  certificate machine lets no other actor lift a `listing:<id>` cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.blacklist.events import HoldAction
from registry.blacklist.listings import (
    TIER_POLICIES,
    CertificateEffect,
    publication_until,
)
from registry.blacklist.states import (
    AppealState,
    CaseState,
    ListingState,
    RepairState,
    Tier,
    VoteChoice,
)
from registry.blacklist.tally import Tally
from registry.errors import Conflict


def ballot_closes(tally: Tally, *, everyone_voted: bool, deadline_passed: bool) -> bool:
    """A ballot is counted once every eligible member has voted (or recused), or at its
    deadline; never earlier, so a quorum reached early does not silence the rest."""
    return deadline_passed or (everyone_voted and tally.eligible > 0)


def case_result(tally: Tally, *, deadline_passed: bool) -> CaseState:
    """Where a case goes when its ballot closes: listed or not listed on a quorate
    decision, lapsed (closed without listing, and saying so) otherwise."""
    if tally.outcome is VoteChoice.LIST:
        return CaseState.LISTED
    if tally.outcome is VoteChoice.DO_NOT_LIST:
        return CaseState.NOT_LISTED
    if not deadline_passed:
        raise Conflict("the ballot has no quorum yet and its deadline has not passed")
    return CaseState.LAPSED


def appeal_result(tally: Tally) -> AppealState:
    """An appeal's end: overturned on a quorate majority to overturn, upheld on a quorate
    decision otherwise, lapsed without a quorum (the listing then stands)."""
    if tally.outcome is VoteChoice.OVERTURN:
        return AppealState.OVERTURNED
    if tally.outcome is VoteChoice.UPHOLD:
        return AppealState.UPHELD
    return AppealState.LAPSED


def repair_result(tally: Tally) -> RepairState:
    """A repair's end: granted on a quorate majority to grant, refused on a quorate
    decision otherwise, lapsed without a quorum (not granted; the subject may reapply)."""
    if tally.outcome is VoteChoice.GRANT:
        return RepairState.GRANTED
    if tally.outcome is VoteChoice.REFUSE:
        return RepairState.REFUSED
    return RepairState.LAPSED


@dataclass(frozen=True)
class ListingTerms:
    """What a decision to list publishes."""

    tier: Tier
    decided_at: datetime
    published_from: datetime
    published_until: datetime


class NoDecisionToList(Conflict):
    """A listing was asked for without a quorate decision to list."""

    code = "no-decision-to-list"


def listing_terms(
    case_state: CaseState, tally: Tally, decided_at: datetime, months: int | None = None
) -> ListingTerms:
    """The listing a closed ballot decides, published from the decision for the tier's
    period; NoDecisionToList unless the case was decided (`listed`) by a quorate decision
    to list — a quorum reached while the ballot is still open decides nothing yet."""
    if (
        case_state is not CaseState.LISTED
        or not tally.quorate
        or tally.outcome is not VoteChoice.LIST
        or tally.tier is None
    ):
        raise NoDecisionToList("only a quorate committee decision to list creates a listing")
    until = publication_until(tally.tier, decided_at, months)
    return ListingTerms(tally.tier, decided_at, decided_at, until)


def cascade_on_listing(tier: Tier) -> HoldAction | None:
    """What publishing a listing of `tier` asks of the certificate: general and serious
    suspend (a serious one is revoked only once final), minor leaves it alone."""
    effect = TIER_POLICIES[tier].effect
    return None if effect is CertificateEffect.NONE else HoldAction.SUSPEND


def cascade_on_final(tier: Tier) -> HoldAction | None:
    """What a listing that can no longer be appealed asks: serious revokes."""
    return HoldAction.REVOKE if TIER_POLICIES[tier].effect is CertificateEffect.REVOKE else None


def cascade_on_end(tier: Tier, *, revoked: bool) -> HoldAction | None:
    """What a listing's end (expiry, retraction, repair) asks: its hold is lifted, unless
    the tier never held the certificate or the revocation already took effect."""
    if TIER_POLICIES[tier].effect is CertificateEffect.NONE or revoked:
        return None
    return HoldAction.REINSTATE


LISTING_ENDS: frozenset[ListingState] = frozenset(
    {ListingState.EXPIRED, ListingState.RETRACTED, ListingState.REPAIRED}
)
