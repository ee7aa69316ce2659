"""Property-based tests of a case's decision, its listing and the certificate cascade.

Hypothesis drives a case through any order of votes, deadlines, listing ends and attempts
by others to lift the listing's hold, over the pure decisions the services use and the
real certificate state machine. Whatever the order:

- no listing exists without a quorate decision to list;
- no listing is published beyond its tier's maximum;
- the certificate's blacklist cause is lifted only by the listing's own decision.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from registry.blacklist.decisions import (
    NoDecisionToList,
    ballot_closes,
    cascade_on_end,
    cascade_on_final,
    cascade_on_listing,
    case_result,
    listing_terms,
)
from registry.blacklist.events import HoldAction
from registry.blacklist.listings import (
    TIER_POLICIES,
    CertificateEffect,
    TierLimitExceeded,
    latest_end,
    listing_owner,
)
from registry.blacklist.states import BallotKind, CaseState, MajorityRule, Tier, VoteChoice
from registry.blacklist.tally import CastVote, Tally, VotingRule, tally
from registry.certification.machine import (
    EVIDENCE,
    AttestationFact,
    AuditFact,
    Certificate,
    Facts,
    RefusedTransition,
    Trigger,
    association_admin,
    blacklist_listing,
    decide,
)
from registry.certification.schemes import DEFAULT_SCHEME_DOCUMENT, parse_rules
from registry.certification.signing import GOOD_METRICS
from registry.certification.status import CauseKind
from registry.certification.status import CertificationState as S
from registry.services import LISTING_TRIGGERS

RULES = parse_rules(DEFAULT_SCHEME_DOCUMENT)
T0 = datetime(2026, 3, 2, tzinfo=UTC)
FACTS = Facts(
    [AttestationFact(T0 - timedelta(days=30), T0, True, dict(GOOD_METRICS))],
    [AuditFact(T0, True, None)],
)
LISTING_ID = 7
CHOICES = st.sampled_from(
    [
        (VoteChoice.LIST, Tier.MINOR),
        (VoteChoice.LIST, Tier.GENERAL),
        (VoteChoice.LIST, Tier.SERIOUS),
        (VoteChoice.DO_NOT_LIST, None),
        (VoteChoice.ABSTAIN, None),
    ]
)
OTHERS = st.sampled_from(
    [
        association_admin(1, 10, "lift it"),
        blacklist_listing(LISTING_ID + 1, 30, "another listing"),
        blacklist_listing(LISTING_ID - 1, 30, "an older listing"),
    ]
)


class CaseProcess(RuleBasedStateMachine):
    """One case of a committee of `size`, and the certificate of its subject."""

    @initialize(
        size=st.integers(1, 7),
        quorum=st.sampled_from([Fraction(1, 2), Fraction(2, 3), Fraction(1)]),
        majority=st.sampled_from(list(MajorityRule)),
    )
    def open_voting(self, size: int, quorum: Fraction, majority: MajorityRule) -> None:
        self.size = size
        self.rule = VotingRule(quorum, majority)
        self.now = T0 + timedelta(days=1)
        self.votes: list[CastVote] = []
        self.state = CaseState.VOTING
        self.decided: Tally | None = None
        self.listing: dict[str, object] | None = None
        self.certificate = Certificate(
            S.ACTIVE, 2, T0, T0 + timedelta(days=365 * 4), T0 + timedelta(days=365 * 4)
        )

    # --- the committee ---------------------------------------------------------------

    @precondition(lambda self: self.state is CaseState.VOTING and len(self.votes) < self.size)
    @rule(choice=CHOICES)
    def vote(self, choice: tuple[VoteChoice, Tier | None]) -> None:
        self.votes.append(CastVote(len(self.votes) + 1, *choice))
        self._close(deadline_passed=False)

    @precondition(lambda self: self.state is CaseState.VOTING)
    @rule()
    def deadline_passes(self) -> None:
        self._close(deadline_passed=True)

    def _close(self, *, deadline_passed: bool) -> None:
        count = tally(BallotKind.CASE, self.rule, self.size, self.votes)
        if not ballot_closes(
            count, everyone_voted=len(self.votes) == self.size, deadline_passed=deadline_passed
        ):
            return
        self.state = case_result(count, deadline_passed=deadline_passed)
        self.decided = count

    # --- the listing -----------------------------------------------------------------

    @rule(months=st.one_of(st.none(), st.integers(0, 40)))
    def publish(self, months: int | None) -> None:
        """The service asks for a listing whenever it likes; only a decision yields one."""
        if self.listing is not None:
            return
        if self.decided is None or self.state is not CaseState.LISTED:
            try:
                listing_terms(
                    self.state,
                    self.decided or tally(BallotKind.CASE, self.rule, self.size, self.votes),
                    self.now,
                    months,
                )
            except NoDecisionToList:
                return
            raise AssertionError("a listing without a quorate decision to list")
        try:
            terms = listing_terms(self.state, self.decided, self.now, months)
        except TierLimitExceeded:
            terms = listing_terms(self.state, self.decided, self.now)
        self.listing = {"terms": terms, "ended": False, "final": False}
        trigger = cascade_on_listing(terms.tier)
        if trigger is not None:
            self._cascade(trigger)

    def _cascade(self, action: HoldAction) -> None:
        # As the composition root does: the listing's own decision, and nothing else.
        actor = blacklist_listing(LISTING_ID, 30, "listing")
        trigger = LISTING_TRIGGERS[action]
        decision = decide(self.certificate, trigger, RULES, FACTS, self.now, by=actor)
        if decision is not None:
            self.certificate = decision.certificate

    def _tier(self) -> Tier | None:
        if self.listing is None:
            return None
        return self.listing["terms"].tier  # type: ignore[attr-defined,no-any-return]

    @precondition(lambda self: self.listing is not None and not self.listing["ended"])
    @rule()
    def becomes_final(self) -> None:
        tier = self._tier()
        assert tier is not None
        self.listing["final"] = True  # type: ignore[index]
        trigger = cascade_on_final(tier)
        if trigger is not None and self.certificate.state is not S.REVOKED:
            self._cascade(trigger)

    @precondition(lambda self: self.listing is not None and not self.listing["ended"])
    @rule()
    def ends(self) -> None:
        """Expiry, retraction on appeal or a granted repair: the listing's own decision."""
        tier = self._tier()
        assert tier is not None
        self.listing["ended"] = True  # type: ignore[index]
        trigger = cascade_on_end(tier, revoked=self.certificate.state is S.REVOKED)
        if trigger is not None:
            self._cascade(trigger)

    @rule(other=OTHERS)
    def someone_else_tries_to_lift(self, other: object) -> None:
        before = self._held()
        try:
            decision = decide(self.certificate, Trigger.REINSTATE, RULES, FACTS, self.now, by=other)  # type: ignore[arg-type]
        except RefusedTransition:
            decision = None
        if decision is not None:
            self.certificate = decision.certificate
        assert self._held() == before

    @rule()
    def fresh_evidence_arrives(self) -> None:
        before = self._held()
        decision = decide(self.certificate, Trigger.EVIDENCE, RULES, FACTS, self.now, by=EVIDENCE)
        if decision is not None:
            self.certificate = decision.certificate
        assert self._held() == before

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    # --- invariants ------------------------------------------------------------------

    def _held(self) -> bool:
        return any(
            c.kind is CauseKind.BLACKLIST and c.owner == listing_owner(LISTING_ID)
            for c in self.certificate.causes
        )

    @invariant()
    def no_listing_without_a_quorate_decision(self) -> None:
        if self.listing is not None:
            assert self.decided is not None
            assert self.decided.quorate
            assert self.decided.outcome is VoteChoice.LIST
            assert self.state is CaseState.LISTED

    @invariant()
    def never_published_beyond_the_tier_maximum(self) -> None:
        if self.listing is not None:
            terms = self.listing["terms"]
            assert terms.published_until <= latest_end(terms.tier, terms.published_from)  # type: ignore[attr-defined]

    @invariant()
    def the_hold_follows_the_listing_alone(self) -> None:
        tier = self._tier()
        if self.certificate.state is S.REVOKED:
            assert tier is Tier.SERIOUS
            assert self.listing is not None
            assert self.listing["final"]
            return
        holds = (
            tier is not None
            and TIER_POLICIES[tier].effect is not CertificateEffect.NONE
            and self.listing is not None
            and not self.listing["ended"]
        )
        assert self._held() == holds
        assert (self.certificate.state is S.SUSPENDED) == holds


TestCaseProcess = CaseProcess.TestCase
TestCaseProcess.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
