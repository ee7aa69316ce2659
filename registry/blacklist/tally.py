"""Counting a ballot: quorum, majority and tier, from votes anyone can read in the log.

The rule, per association (`BlacklistTerms`, copied onto each case when it opens):

- **Eligible** members are the ballot's electorate (the governing committee, or an appeal's
  panel) less those recused. **Quorum**: at least ⌈quorum × eligible⌉ votes (never fewer
  than one), abstentions included — an abstention is presence without a side.
- **Majority** of the votes cast for a side (abstentions excluded): more than half
  (`simple`), or at least two thirds (`two_thirds`).
- A **case** is listed when a majority votes `list`; its tier is the most severe tier T
  for which the votes to list at T *or more severely* are still a majority. So a tier is
  never more severe than a majority wanted, and a split between tiers lists at the tier
  the majority shares. Otherwise the case is not listed.
- An **appeal** overturns the listing when a majority votes `overturn`, else it is upheld;
  a **repair** is granted when a majority votes `grant`, else refused.
- Without a quorum there is no decision: at its deadline a case closes without listing,
  an appeal leaves the listing as it stands, and a repair is not granted.

`tally` is pure; `recount` rebuilds the same tally from the vote envelopes as logged,
checking every signature, so anyone holding the log can confirm a decision.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Final

from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.blacklist.listings import TIER_ORDER, severity
from registry.blacklist.states import BallotKind, MajorityRule, Tier, VoteChoice
from registry.blacklist.votes import read_vote

DEFAULT_QUORUM: Final = Fraction(2, 3)

_FOR: Final[dict[BallotKind, VoteChoice]] = {
    BallotKind.CASE: VoteChoice.LIST,
    BallotKind.APPEAL: VoteChoice.OVERTURN,
    BallotKind.REPAIR: VoteChoice.GRANT,
}
_AGAINST: Final[dict[BallotKind, VoteChoice]] = {
    BallotKind.CASE: VoteChoice.DO_NOT_LIST,
    BallotKind.APPEAL: VoteChoice.UPHOLD,
    BallotKind.REPAIR: VoteChoice.REFUSE,
}


@dataclass(frozen=True)
class VotingRule:
    """Quorum (a share of the eligible members) and the majority a side needs."""

    quorum: Fraction = DEFAULT_QUORUM
    majority: MajorityRule = MajorityRule.SIMPLE

    def __post_init__(self) -> None:
        if not 0 < self.quorum <= 1:
            raise ValueError(f"a quorum is a share in (0, 1], not {self.quorum}")

    def quorum_of(self, eligible: int) -> int:
        """Votes needed for a quorum of `eligible` members (at least one)."""
        return max(1, math.ceil(self.quorum * eligible))

    def carries(self, count: int, decisive: int) -> bool:
        """True when `count` of `decisive` votes (abstentions excluded) are a majority."""
        if decisive == 0:
            return False
        if self.majority is MajorityRule.TWO_THIRDS:
            return 3 * count >= 2 * decisive
        return 2 * count > decisive

    def to_json(self) -> dict[str, Any]:
        """The rule as recorded with every tally."""
        return {
            "quorum": f"{self.quorum.numerator}/{self.quorum.denominator}",
            "majority": self.majority.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VotingRule:
        """The inverse of `to_json`."""
        return cls(Fraction(data["quorum"]), MajorityRule(data["majority"]))


@dataclass(frozen=True)
class CastVote:
    """One member's admitted vote, as counted."""

    member_id: int
    choice: VoteChoice
    tier: Tier | None = None


@dataclass(frozen=True)
class Tally:
    """The count of one ballot and what it decides."""

    kind: BallotKind
    rule: VotingRule
    eligible: int
    quorum_needed: int
    cast: int
    counts: dict[str, int] = field(default_factory=dict)
    """Votes per choice; `list:<tier>` for votes to list."""
    quorate: bool = False
    outcome: VoteChoice | None = None
    """The side that carries (`list`, `do_not_list`, `overturn`, …); None without quorum."""
    tier: Tier | None = None
    """The tier a decision to list carries."""

    @property
    def decided(self) -> bool:
        """True when the count decides the ballot (a quorum was reached)."""
        return self.outcome is not None

    def to_json(self) -> dict[str, Any]:
        """The tally as stored on the case, listing, appeal or repair and in log leaves."""
        return {
            "kind": self.kind.value,
            "rule": self.rule.to_json(),
            "eligible": self.eligible,
            "quorum_needed": self.quorum_needed,
            "cast": self.cast,
            "counts": dict(sorted(self.counts.items())),
            "quorate": self.quorate,
            "outcome": self.outcome.value if self.outcome else None,
            "tier": self.tier.value if self.tier else None,
        }


class TallyError(ValueError):
    """Votes that cannot be counted together (a member twice, a choice of another ballot)."""


def _label(vote: CastVote) -> str:
    if vote.choice is VoteChoice.LIST:
        if vote.tier is None:
            raise TallyError("a vote to list names its tier")
        return f"list:{vote.tier.value}"
    return vote.choice.value


def tally(kind: BallotKind, rule: VotingRule, eligible: int, votes: Sequence[CastVote]) -> Tally:
    """Count `votes` on a ballot of `kind` with `eligible` members who may vote."""
    members = Counter(v.member_id for v in votes)
    twice = sorted(m for m, n in members.items() if n > 1)
    if twice:
        raise TallyError(f"member(s) {twice} voted more than once")
    if len(votes) > eligible:
        raise TallyError(f"{len(votes)} votes from {eligible} eligible members")
    allowed = {_FOR[kind], _AGAINST[kind], VoteChoice.ABSTAIN}
    if any(v.choice not in allowed for v in votes):
        raise TallyError(f"a vote's choice does not belong on a {kind.value} ballot")
    counts = Counter(_label(v) for v in votes)
    needed = rule.quorum_of(eligible)
    base = Tally(kind, rule, eligible, needed, len(votes), dict(counts))
    if eligible == 0 or len(votes) < needed:
        return base
    sides = [v for v in votes if v.choice is not VoteChoice.ABSTAIN]
    in_favour = [v for v in sides if v.choice is _FOR[kind]]
    if not rule.carries(len(in_favour), len(sides)):
        return replace(base, quorate=True, outcome=_AGAINST[kind])
    tier = _carried_tier(rule, in_favour, len(sides)) if kind is BallotKind.CASE else None
    return replace(base, quorate=True, outcome=_FOR[kind], tier=tier)


def _carried_tier(rule: VotingRule, in_favour: Sequence[CastVote], decisive: int) -> Tier:
    """The most severe tier that a majority voted for, at that tier or a more severe one
    (the mildest always qualifies: every vote to list names a tier at least that)."""
    carried = TIER_ORDER[0]
    for tier in TIER_ORDER:
        at_least = sum(1 for v in in_favour if v.tier and severity(v.tier) >= severity(tier))
        if rule.carries(at_least, decisive):
            carried = tier
    return carried


@dataclass(frozen=True)
class LoggedVote:
    """A vote as its log leaf holds it: the member it was counted for and the envelope."""

    member_id: int
    envelope: Envelope


def recount(
    kind: BallotKind,
    ballot: str,
    *,
    rule: VotingRule,
    eligible: int,
    logged: Iterable[LoggedVote],
    member_keys: Mapping[int, PublicKey],
) -> Tally:
    """The tally of `ballot` rebuilt from its logged vote envelopes.

    Each envelope must verify under the key registered for its member and name this
    ballot; any that does not is an error, never silently skipped, because a recount
    that drops a vote would confirm a different decision.
    """
    votes: list[CastVote] = []
    for entry in logged:
        key = member_keys.get(entry.member_id)
        if key is None:
            raise TallyError(f"no key is known for member {entry.member_id}")
        try:
            verify_envelope(entry.envelope, {key.key_id: key}, require=[key.key_id])
        except AttestationError as exc:
            raise TallyError(f"vote of member {entry.member_id}: {exc.reason}") from exc
        predicate = read_vote(entry.envelope)
        if predicate.ballot != ballot:
            raise TallyError(f"a vote for {predicate.ballot} is logged under {ballot}")
        choice = VoteChoice(predicate.choice)
        tier = Tier(predicate.tier) if predicate.tier else None
        votes.append(CastVote(entry.member_id, choice, tier))
    return tally(kind, rule, eligible, votes)
