"""Blacklist votes, tallies, appeal panels and tier limits, without a database."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestations.envelope import Envelope, EnvelopeSignature
from attestations.keys import SigningKey
from registry.blacklist.committee import parse_ballot
from registry.blacklist.listings import (
    TIER_POLICIES,
    TierLimitExceeded,
    add_months,
    latest_end,
    publication_until,
    repair_open_from,
    within_tier,
)
from registry.blacklist.panels import (
    Candidate,
    PanelUnavailable,
    check_draw,
    draw_panel,
    eligible_candidates,
    panel_seed,
)
from registry.blacklist.states import BallotKind, MajorityRule, Tier, VoteChoice
from registry.blacklist.tally import (
    CastVote,
    LoggedVote,
    TallyError,
    VotingRule,
    recount,
    tally,
)
from registry.blacklist.votes import (
    AdmittedVote,
    BallotFacts,
    KeyFacts,
    VoteRefused,
    admit_vote,
    vote_envelope,
)
from registry.errors import Conflict, InvalidInput, InvalidSignature
from registry.keys.models import KeyOwnerKind, KeyStatus
from registry.settings import Settings

NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
EVIDENCE = "ab" * 32
SETTINGS = Settings()
KEYS = [SigningKey.generate() for _ in range(5)]
"""Members 1–3 of the governing committee (principals 11–13), member 4 (principal 14) of
another association, key 5 a vendor's."""


def key_facts(index: int, **changes: object) -> KeyFacts:
    facts = KeyFacts(
        owner_kind=KeyOwnerKind.PRINCIPAL,
        principal_id=11 + index,
        public_key=KEYS[index].public_key.raw,
        status=KeyStatus.ACTIVE,
        revoked_at=None,
    )
    return dataclasses.replace(facts, **changes)  # type: ignore[arg-type]


REGISTERED = {KEYS[i].key_id: key_facts(i) for i in range(4)} | {
    KEYS[4].key_id: key_facts(4, owner_kind=KeyOwnerKind.VENDOR, principal_id=None)
}
BALLOT = BallotFacts(
    kind=BallotKind.CASE,
    ballot="case:42",
    case_reference="BL-2026-000042",
    evidence_digest=EVIDENCE,
    open=True,
    electorate={11: 1, 12: 2, 13: 3},
    member_keys={1: KEYS[0].key_id, 2: KEYS[1].key_id, 3: KEYS[2].key_id},
    recused=frozenset(),
    voted={},
)


def vote(
    index: int = 0,
    choice: VoteChoice = VoteChoice.LIST,
    tier: Tier | None = Tier.GENERAL,
    **changes: object,
) -> Envelope:
    fields: dict[str, object] = {
        "ballot": "case:42",
        "case_reference": "BL-2026-000042",
        "evidence_digest": EVIDENCE,
        "choice": choice,
        "reason": "three upheld complaints from distinct complainants; no remedy offered",
        "issued_at": NOW - timedelta(minutes=5),
        "tier": tier,
    } | changes
    return vote_envelope(KEYS[index], **fields)  # type: ignore[arg-type]


def admit(
    envelope: Envelope, ballot: BallotFacts = BALLOT, keys: dict[str, KeyFacts] = REGISTERED
) -> AdmittedVote:
    return admit_vote(envelope, ballot, keys, now=NOW, settings=SETTINGS)


def test_a_committee_members_signed_vote_is_admitted() -> None:
    admitted = admit(vote())
    assert (admitted.member_id, admitted.principal_id) == (1, 11)
    assert (admitted.choice, admitted.tier) == (VoteChoice.LIST, Tier.GENERAL)
    assert admitted.key_id == KEYS[0].key_id
    assert not admitted.repeat


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unregistered key", InvalidSignature),
        ("revoked key", InvalidSignature),
        ("pending key", InvalidSignature),
        ("recused member", VoteRefused),
        ("member of another association", VoteRefused),
        ("vendor key", VoteRefused),
        ("not the member's vote key", VoteRefused),
        ("tampered signature", InvalidSignature),
    ],
)
def test_votes_by_keys_that_may_not_vote_are_refused(case: str, error: type[Exception]) -> None:
    envelope, ballot, keys = vote(), BALLOT, dict(REGISTERED)
    if case == "unregistered key":
        envelope = vote_envelope(
            SigningKey.generate(),
            ballot="case:42",
            case_reference="BL-2026-000042",
            evidence_digest=EVIDENCE,
            choice=VoteChoice.DO_NOT_LIST,
            reason="no",
            issued_at=NOW,
        )
    elif case == "revoked key":
        keys[KEYS[0].key_id] = key_facts(
            0, status=KeyStatus.REVOKED, revoked_at=NOW - timedelta(hours=1)
        )
    elif case == "pending key":
        keys[KEYS[0].key_id] = key_facts(0, status=KeyStatus.PENDING)
    elif case == "recused member":
        ballot = dataclasses.replace(BALLOT, recused=frozenset({1}))
    elif case == "member of another association":
        envelope = vote(3)
    elif case == "vendor key":
        envelope = vote(4)
    elif case == "not the member's vote key":
        ballot = dataclasses.replace(BALLOT, member_keys={**BALLOT.member_keys, 1: "0" * 64})
    else:
        signature = envelope.signatures[0]
        forged = bytes([signature.sig[0] ^ 1]) + signature.sig[1:]
        envelope = Envelope(
            envelope.payload_type,
            envelope.payload,
            (EnvelopeSignature(signature.keyid, forged),),
        )
    with pytest.raises(error):
        admit(envelope, ballot, keys)


def test_a_key_revoked_after_the_vote_was_received_does_not_matter_before() -> None:
    keys = dict(REGISTERED)
    keys[KEYS[0].key_id] = key_facts(0, status=KeyStatus.ACTIVE, revoked_at=NOW + timedelta(days=1))
    assert admit(vote(), keys=keys).member_id == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ballot": "case:43"}, "ballot"),
        ({"case_reference": "BL-2026-000043"}, "ballot"),
        ({"evidence_digest": "cd" * 32}, "evidence_sha256"),
        ({"tier": None}, "tier"),
        ({"choice": VoteChoice.OVERTURN, "tier": None}, "choice"),
        ({"choice": VoteChoice.ABSTAIN}, "tier"),
        ({"reason": "  "}, "reason"),
        ({"issued_at": NOW + timedelta(hours=2)}, "issued_at"),
    ],
)
def test_votes_about_something_else_are_invalid(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        admit(vote(**changes))  # type: ignore[arg-type]
    assert field in raised.value.fields


def test_a_vote_is_final_and_a_repeat_is_recognised() -> None:
    first = vote()
    ballot = dataclasses.replace(BALLOT, voted={1: first.digest()})
    assert admit(first, ballot).repeat
    with pytest.raises(Conflict):
        admit(vote(choice=VoteChoice.DO_NOT_LIST, tier=None), ballot)


def test_a_closed_ballot_takes_no_vote() -> None:
    with pytest.raises(Conflict):
        admit(vote(), dataclasses.replace(BALLOT, open=False))


# --- the tally -------------------------------------------------------------------------

RULE = VotingRule()


def cast(*choices: tuple[VoteChoice, Tier | None]) -> list[CastVote]:
    return [CastVote(i + 1, c, t) for i, (c, t) in enumerate(choices)]


L_MINOR, L_GENERAL, L_SERIOUS = (
    (VoteChoice.LIST, Tier.MINOR),
    (VoteChoice.LIST, Tier.GENERAL),
    (VoteChoice.LIST, Tier.SERIOUS),
)
NO, ABSTAIN = (VoteChoice.DO_NOT_LIST, None), (VoteChoice.ABSTAIN, None)


def test_no_quorum_decides_nothing() -> None:
    result = tally(BallotKind.CASE, RULE, 6, cast(L_SERIOUS, L_SERIOUS, L_SERIOUS))
    assert (result.quorum_needed, result.quorate, result.outcome) == (4, False, None)


def test_abstentions_count_for_the_quorum_not_the_majority() -> None:
    result = tally(BallotKind.CASE, RULE, 3, cast(L_GENERAL, ABSTAIN))
    assert result.quorate
    assert result.outcome is VoteChoice.LIST
    assert result.tier is Tier.GENERAL


def test_the_tier_is_the_most_severe_a_majority_shares() -> None:
    result = tally(BallotKind.CASE, RULE, 5, cast(L_SERIOUS, L_SERIOUS, L_GENERAL, L_MINOR, NO))
    assert (result.outcome, result.tier) == (VoteChoice.LIST, Tier.GENERAL)
    assert result.counts == {
        "list:serious": 2,
        "list:general": 1,
        "list:minor": 1,
        "do_not_list": 1,
    }


def test_a_tie_does_not_list_and_two_thirds_is_stricter() -> None:
    assert tally(BallotKind.CASE, RULE, 4, cast(L_GENERAL, L_GENERAL, NO, NO)).outcome is (
        VoteChoice.DO_NOT_LIST
    )
    strict = VotingRule(Fraction(1, 2), MajorityRule.TWO_THIRDS)
    three_of_five = cast(L_GENERAL, L_GENERAL, L_GENERAL, NO, NO)
    assert tally(BallotKind.CASE, RULE, 5, three_of_five).outcome is VoteChoice.LIST
    assert tally(BallotKind.CASE, strict, 5, three_of_five).outcome is VoteChoice.DO_NOT_LIST


def test_appeal_and_repair_ballots() -> None:
    appeal = tally(
        BallotKind.APPEAL,
        RULE,
        3,
        cast((VoteChoice.OVERTURN, None), (VoteChoice.OVERTURN, None), (VoteChoice.UPHOLD, None)),
    )
    assert appeal.outcome is VoteChoice.OVERTURN
    assert appeal.tier is None
    repair = tally(
        BallotKind.REPAIR, RULE, 3, cast((VoteChoice.GRANT, None), (VoteChoice.REFUSE, None))
    )
    assert repair.outcome is VoteChoice.REFUSE
    with pytest.raises(TallyError):
        tally(BallotKind.REPAIR, RULE, 3, cast(L_GENERAL))
    with pytest.raises(TallyError):
        tally(BallotKind.CASE, RULE, 3, [CastVote(1, *L_GENERAL), CastVote(1, *NO)])


CHOICE = st.sampled_from([L_MINOR, L_GENERAL, L_SERIOUS, NO, ABSTAIN])


@given(
    st.lists(CHOICE, max_size=9),
    st.integers(0, 4),
    st.sampled_from([Fraction(1, 2), Fraction(2, 3), Fraction(1)]),
    st.sampled_from(list(MajorityRule)),
)
def test_tally_properties(
    choices: list[tuple[VoteChoice, Tier | None]],
    absent: int,
    quorum: Fraction,
    majority: MajorityRule,
) -> None:
    rule = VotingRule(quorum, majority)
    votes = cast(*choices)
    result = tally(BallotKind.CASE, rule, len(votes) + absent, votes)
    assert result.quorate == (len(votes) >= rule.quorum_of(len(votes) + absent) and bool(votes))
    if not result.quorate:
        assert result.outcome is None
        assert result.tier is None
        return
    decisive = [v for v in votes if v.choice is not VoteChoice.ABSTAIN]
    to_list = [v for v in decisive if v.choice is VoteChoice.LIST]
    assert (result.outcome is VoteChoice.LIST) == rule.carries(len(to_list), len(decisive))
    if result.tier is not None:
        order = [Tier.MINOR, Tier.GENERAL, Tier.SERIOUS]
        at_least = [
            v for v in to_list if v.tier and order.index(v.tier) >= order.index(result.tier)
        ]
        assert rule.carries(len(at_least), len(decisive))  # a majority wanted it, or more
        more = [v for v in to_list if v.tier and order.index(v.tier) > order.index(result.tier)]
        assert not rule.carries(len(more), len(decisive))  # and no majority wanted more


def test_recount_from_logged_envelopes_equals_the_tally() -> None:
    envelopes = [
        LoggedVote(1, vote(0, VoteChoice.LIST, Tier.SERIOUS)),
        LoggedVote(2, vote(1, VoteChoice.LIST, Tier.GENERAL)),
        LoggedVote(3, vote(2, VoteChoice.DO_NOT_LIST, None)),
    ]
    keys = {i + 1: KEYS[i].public_key for i in range(3)}
    recounted = recount(
        BallotKind.CASE, "case:42", rule=RULE, eligible=3, logged=envelopes, member_keys=keys
    )
    direct = tally(BallotKind.CASE, RULE, 3, cast(L_SERIOUS, L_GENERAL, NO))
    assert recounted == direct
    assert recounted.tier is Tier.GENERAL
    with pytest.raises(TallyError):  # a vote logged under the wrong member does not verify
        recount(
            BallotKind.CASE,
            "case:42",
            rule=RULE,
            eligible=3,
            logged=[LoggedVote(1, envelopes[1].envelope)],
            member_keys=keys,
        )
    assert VotingRule.from_json(RULE.to_json()) == RULE


# --- appeal panels ---------------------------------------------------------------------

MEMBERS = [Candidate(m, 100 + m, 1 + m % 3) for m in range(1, 13)]
SEED = panel_seed(appeal_id=5, case_reference="BL-2026-000042", log_size=120, log_root=b"\x07" * 32)


def test_the_seed_is_a_digest_of_its_logged_inputs() -> None:
    assert len(SEED) == 64
    assert (
        panel_seed(
            appeal_id=5, case_reference="BL-2026-000042", log_size=121, log_root=b"\x07" * 32
        )
        != SEED
    )


@given(st.permutations(MEMBERS), st.integers(3, 5), st.sets(st.integers(1, 12), max_size=3))
def test_a_panel_is_reproducible_and_from_other_associations(
    members: list[Candidate], size: int, voters: set[int]
) -> None:
    candidates = eligible_candidates(
        members, governing_association_id=1, excluded_member_ids=voters
    )
    panel = draw_panel(SEED, candidates, size)
    assert len(panel) == size
    assert all(m.association_id != 1 and m.member_id not in voters for m in panel)
    assert panel == draw_panel(SEED, list(reversed(candidates)), size)  # input order is irrelevant
    assert check_draw(SEED, candidates, size, [m.member_id for m in panel])


def test_too_few_candidates_means_no_panel() -> None:
    candidates = eligible_candidates(
        MEMBERS[:4], governing_association_id=2, excluded_member_ids=[3]
    )
    with pytest.raises(PanelUnavailable):
        draw_panel(SEED, candidates, 3)
    with pytest.raises(ValueError, match="at least 3"):
        draw_panel(SEED, MEMBERS, 2)


# --- tiers -----------------------------------------------------------------------------


def test_months_are_calendar_months() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 15, tzinfo=UTC), 3) == datetime(2027, 2, 15, tzinfo=UTC)
    assert add_months(datetime(2028, 1, 31, tzinfo=UTC), 25) == datetime(2030, 2, 28, tzinfo=UTC)


def test_tier_limits() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    assert publication_until(Tier.MINOR, start) == datetime(2026, 6, 1, tzinfo=UTC)
    assert publication_until(Tier.GENERAL, start, 12) == datetime(2027, 3, 1, tzinfo=UTC)
    for tier, months in [
        (Tier.MINOR, 4),
        (Tier.GENERAL, 2),
        (Tier.GENERAL, 13),
        (Tier.SERIOUS, 37),
    ]:
        with pytest.raises(TierLimitExceeded):
            publication_until(tier, start, months)
    assert repair_open_from(Tier.MINOR, start) == start
    assert repair_open_from(Tier.GENERAL, start) == datetime(2026, 6, 1, tzinfo=UTC)
    assert repair_open_from(Tier.SERIOUS, start) == datetime(2027, 3, 1, tzinfo=UTC)


@given(
    st.sampled_from(list(Tier)),
    st.datetimes(datetime(2020, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001 - hypothesis bounds are naive
    st.integers(0, 40),
)
def test_published_until_never_exceeds_the_tier_maximum(
    tier: Tier, start: datetime, months: int
) -> None:
    try:
        until = publication_until(tier, start, months)
    except TierLimitExceeded:
        policy = TIER_POLICIES[tier]
        assert not policy.min_months <= months <= policy.max_months
        return
    assert within_tier(tier, start, until)
    assert until <= latest_end(tier, start)


@pytest.mark.parametrize(
    "ballot", ["case", "case:", "case:x", "case:-1", "case:0", "vote:1", f"appeal:{2**31}"]
)
def test_a_malformed_ballot_is_invalid_input(ballot: str) -> None:
    with pytest.raises(InvalidInput):
        parse_ballot(ballot)
    assert parse_ballot("repair:7") == (BallotKind.REPAIR, 7)
