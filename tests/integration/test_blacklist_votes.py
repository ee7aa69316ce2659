"""The committee side of the blacklist on both databases: signed votes, the tally and its
recount from the log, listings and the certificate cascade, appeal to another
association's panel, credit repair, lapse and expiry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from attestations.envelope import Envelope
from attestations.keys import SigningKey
from registry.blacklist.models import (
    Appeal,
    BlacklistCase,
    CaseStep,
    Listing,
    Vote,
)
from registry.blacklist.panels import Candidate, check_draw, panel_seed
from registry.blacklist.remedies import appeal_envelope, log_root, repair_envelope
from registry.blacklist.states import (
    AppealState,
    BallotKind,
    CaseState,
    ListingState,
    RecusalReason,
    RepairState,
    StepKind,
    Tier,
    VoteChoice,
)
from registry.blacklist.tally import LoggedVote, VotingRule, recount
from registry.blacklist.votes import VoteRefused, vote_envelope
from registry.certification.machine import Trigger
from registry.certification.signing import attestation_envelope
from registry.certification.status import CertificationState
from registry.errors import Conflict, InvalidSignature, NotFound
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import ManualClock
from registry.keys.models import KeyStatus, SigningKeyRecord
from registry.notifications.models import OutboxMessage
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import MemberVendor, admin_caller, member_vendor
from tests.integration.test_blacklist_cases import conceded_complaints

OTHER = "caict"


@dataclass(frozen=True)
class Member:
    """A committee member: its in-process caller and its vote key."""

    caller: Caller
    key: SigningKey
    member_id: int


async def committee(services: Services, association: str, size: int) -> list[Member]:
    admin = await admin_caller(services)
    members = []
    for i in range(size):
        key = SigningKey.generate()
        row = await services.blacklist_committee.appoint(
            admin, association, display_name=f"{association} member {i}", public_key=key.public_key
        )
        caller = Caller(row.principal_id, Role.COMMITTEE_MEMBER, row.association_id)
        members.append(Member(caller, key, row.id))
    return members


async def listed_vendor(
    services: Services, association: str, clock: ManualClock, slug: str
) -> tuple[MemberVendor, BlacklistCase]:
    """A certified member vendor with a case about it open for votes: five conceded
    complaints open it, and the answer window runs out."""
    vendor = await member_vendor(services, association, slug)
    now = clock.now()
    envelope = attestation_envelope(
        vendor.key,
        vendor=slug,
        period=(now - timedelta(days=30), now - timedelta(days=1)),
        issued_at=now,
    )
    await services.attestations.submit(
        await services.accounts.authenticate(vendor.token), slug, envelope
    )
    assert await certificate_state(services, slug) is CertificationState.ACTIVE
    await conceded_complaints(services, vendor, 5, 5)
    case = await open_case_of(services, slug)
    clock.set(case.answer_due_at)
    assert await services.blacklist_notice.close_answer_windows() >= 1
    case = await _case(services, case.reference)
    assert case.state is CaseState.VOTING
    return vendor, case


async def adopt_rules(services: Services, clock: ManualClock) -> None:
    """The default rulebook, in force: published a notice period ago."""
    assert await services.blacklist_rules.publish_default_rulebooks() == ["csia@1"]
    clock.advance(timedelta(days=31))


async def open_case_of(services: Services, slug: str) -> BlacklistCase:
    """The case the vendor's substantiated complaints opened (in their own transaction)."""
    await services.blacklist_rules.evaluate()  # opens nothing more: the facts did already
    async with services.ctx.db.read() as session:
        return (
            await session.execute(
                select(BlacklistCase).where(
                    BlacklistCase.subject_value == slug,
                    BlacklistCase.state == CaseState.AWAITING_ANSWER,
                )
            )
        ).scalar_one()


async def certificate_state(services: Services, slug: str) -> CertificationState | None:
    status = await services.certification.public_status(slug)
    return status.state if status else None


async def _case(services: Services, reference: str) -> BlacklistCase:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(BlacklistCase).where(BlacklistCase.reference == reference))
        ).scalar_one()


def ballot_vote(
    member: Member,
    case: BlacklistCase,
    choice: VoteChoice,
    *,
    ballot: str | None = None,
    tier: Tier | None = None,
    now: ManualClock,
    key: SigningKey | None = None,
) -> Envelope:
    return vote_envelope(
        key or member.key,
        ballot=ballot or f"case:{case.id}",
        case_reference=case.reference,
        evidence_digest=case.evidence_digest,
        choice=choice,
        tier=tier,
        reason="理由：多名消费者的投诉经调解成立，经营者未采取补救措施。",
        issued_at=now.now() - timedelta(seconds=1),
    )


async def _count(services: Services, model: type) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _log_size(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return await services.log.size(session)


async def _listing(services: Services, case: BlacklistCase) -> Listing | None:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(Listing).where(Listing.case_id == case.id))
        ).scalar_one_or_none()


async def _causes(services: Services, slug: str) -> set[str | None]:
    status = await services.certification.public_status(slug)
    assert status is not None
    return {c.owner for c in status.causes}


async def test_a_general_listing_suspends_until_another_associations_panel_overturns_it(
    services: Services, association: str, clock: ManualClock
) -> None:
    """Refused votes write nothing; three signed votes list the vendor at the tier the
    majority shares, which suspends its certificate under the listing's own cause (an
    admin cannot lift it); anyone recounts the tally from the logged envelopes; the
    appeal is heard by a panel of the other association drawn from a logged seed, and
    overturning it retracts the listing (kept) and reinstates the certificate."""
    await adopt_rules(services, clock)
    await services.federation.ensure_association(OTHER, "中国信息通信研究院", "CAICT")
    members = await committee(services, association, 3)
    others = await committee(services, OTHER, 4)
    vendor, case = await listed_vendor(services, association, clock, "overbiller")
    vote = services.blacklist_committee.vote

    # Refused, and nothing written: a foreign key, an unregistered key, a revoked key.
    before = (await _log_size(services), await _count(services, Vote))
    with pytest.raises(VoteRefused):
        await vote(
            members[0].caller,
            case.reference,
            ballot_vote(members[0], case, VoteChoice.ABSTAIN, now=clock, key=others[0].key),
        )
    with pytest.raises(NotFound):  # another association's member has no ballot on this case
        await vote(
            others[0].caller,
            case.reference,
            ballot_vote(others[0], case, VoteChoice.ABSTAIN, now=clock),
        )
    with pytest.raises(InvalidSignature):
        await vote(
            members[0].caller,
            case.reference,
            ballot_vote(members[0], case, VoteChoice.ABSTAIN, now=clock, key=SigningKey.generate()),
        )
    async with services.ctx.db.transaction() as session:
        key = (
            await session.execute(
                select(SigningKeyRecord).where(SigningKeyRecord.key_id == members[2].key.key_id)
            )
        ).scalar_one()
        key.status, key.revoked_at = KeyStatus.REVOKED, clock.now() - timedelta(seconds=1)
    with pytest.raises(InvalidSignature):
        await vote(
            members[2].caller,
            case.reference,
            ballot_vote(members[2], case, VoteChoice.ABSTAIN, now=clock),
        )
    async with services.ctx.db.transaction() as session:
        key = (
            await session.execute(
                select(SigningKeyRecord).where(SigningKeyRecord.key_id == members[2].key.key_id)
            )
        ).scalar_one()
        key.status, key.revoked_at = KeyStatus.ACTIVE, None
    assert (await _log_size(services), await _count(services, Vote)) == before

    # Two votes: no decision yet (the ballot stays open until all have voted).
    first = ballot_vote(members[0], case, VoteChoice.LIST, tier=Tier.GENERAL, now=clock)
    await vote(members[0].caller, case.reference, first)
    assert (await vote(members[0].caller, case.reference, first)).member_id == members[0].member_id
    with pytest.raises(Conflict):
        await vote(
            members[0].caller,
            case.reference,
            ballot_vote(members[0], case, VoteChoice.DO_NOT_LIST, now=clock),
        )
    await vote(
        members[1].caller,
        case.reference,
        ballot_vote(members[1], case, VoteChoice.LIST, tier=Tier.SERIOUS, now=clock),
    )
    assert await _listing(services, case) is None
    await vote(
        members[2].caller,
        case.reference,
        ballot_vote(members[2], case, VoteChoice.DO_NOT_LIST, now=clock),
    )

    case = await _case(services, case.reference)
    listing = await _listing(services, case)
    assert case.state is CaseState.LISTED
    assert listing is not None
    assert (listing.tier, listing.state) == (Tier.GENERAL, ListingState.LISTED)
    assert listing.published_until == listing.published_from.replace(
        year=listing.published_from.year + (listing.published_from.month + 6 - 1) // 12,
        month=(listing.published_from.month + 6 - 1) % 12 + 1,
    )
    assert await certificate_state(services, vendor.slug) is CertificationState.SUSPENDED
    assert f"listing:{listing.id}" in await _causes(services, vendor.slug)
    with pytest.raises(Conflict, match="only its owner"):
        await services.certification.decide_by_admin(
            await admin_caller(services),
            vendor.slug,
            Trigger.REINSTATE,
            "lifting someone else's hold",
        )

    # Anyone can recount the decision from the vote leaves and the keys in the log.
    async with services.ctx.db.read() as session:
        leaves = [
            json.loads(entry.leaf)["body"]
            for entry in (
                await session.execute(
                    select(LogEntry)
                    .where(LogEntry.entry_type == "blacklist.case.vote")
                    .order_by(LogEntry.index)
                )
            ).scalars()
        ]
    logged = [LoggedVote(body["member"], Envelope.from_dict(body["envelope"])) for body in leaves]
    keys = {m.member_id: m.key.public_key for m in members}
    assert case.tally is not None
    recounted = recount(
        BallotKind.CASE,
        f"case:{case.id}",
        rule=VotingRule.from_json(case.tally["rule"]),
        eligible=case.tally["eligible"],
        logged=logged,
        member_keys=keys,
    )
    assert recounted.to_json() == case.tally == listing.tally

    # The vendor appeals; the panel comes from the other association, by a logged draw.
    appeal = await services.blacklist_remedies.appeal(
        await services.accounts.authenticate(vendor.token),
        case.reference,
        appeal_envelope(
            vendor.key,
            case=case.reference,
            vendor=vendor.slug,
            grounds="投诉已全部退款，且系第三方支付渠道故障所致。",
            issued_at=clock.now(),
        ),
    )
    assert appeal.state is AppealState.HEARING
    assert len(appeal.panel) == 3
    panel = [m for m in others if m.member_id in appeal.panel]
    async with services.ctx.db.read() as session:
        step = (
            await session.execute(select(CaseStep).where(CaseStep.kind == StepKind.PANEL_DRAWN))
        ).scalar_one()
        root = await log_root(session, appeal.log_index + 1)
    assert appeal.panel_seed == panel_seed(
        appeal_id=appeal.id,
        case_reference=case.reference,
        log_size=appeal.log_index + 1,
        log_root=root,
    )
    candidates = [Candidate.from_json(c) for c in step.body["candidates"]]
    assert {c.association_id for c in candidates} == {others[0].caller.association_id}
    assert check_draw(appeal.panel_seed, candidates, 3, appeal.panel)

    view = await services.blacklist_notice.case(panel[0].caller, case.reference)
    assert view.case.reference == case.reference  # the panel reads the case it hears
    outsider = next(m for m in others if m.member_id not in appeal.panel)
    with pytest.raises(NotFound):
        await services.blacklist_notice.case(outsider.caller, case.reference)
    with pytest.raises(NotFound):  # the governing committee does not sit on the appeal
        await vote(
            members[0].caller,
            case.reference,
            ballot_vote(
                members[0], case, VoteChoice.OVERTURN, ballot=f"appeal:{appeal.id}", now=clock
            ),
        )
    choices = [VoteChoice.OVERTURN, VoteChoice.OVERTURN, VoteChoice.UPHOLD]
    for member, choice in zip(panel, choices, strict=True):
        await vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, choice, ballot=f"appeal:{appeal.id}", now=clock),
        )

    listing = await _listing(services, case)
    assert listing is not None
    assert (listing.state, listing.end_ref) == (ListingState.RETRACTED, f"appeal:{appeal.id}")
    assert await certificate_state(services, vendor.slug) is CertificationState.ACTIVE
    async with services.ctx.db.read() as session:
        stored = await session.get(Appeal, appeal.id)
        kinds = [
            s.kind
            for s in (
                await session.execute(
                    select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id)
                )
            ).scalars()
        ]
    assert stored is not None
    assert stored.state is AppealState.OVERTURNED
    assert kinds[-4:] == [StepKind.VOTE, StepKind.VOTE, StepKind.APPEAL_DECIDED, StepKind.RETRACTED]
    assert StepKind.LISTED in kinds
    recounts = await services.blacklist_recount.recount(case.reference)
    assert [r.ballot for r in recounts] == [f"case:{case.id}", f"appeal:{appeal.id}"]
    assert all(r.agrees for r in recounts), recounts


async def test_no_quorum_lapses_and_repair_and_expiry_end_listings(
    services: Services, association: str, clock: ManualClock
) -> None:
    """One vote of three at the deadline is no quorum: the case closes without a listing.
    A general listing is repaired only after three months, by the committee's signed
    votes, with a watch period; a minor listing expires by the scheduler's job."""
    await adopt_rules(services, clock)
    members = await committee(services, association, 3)
    vote = services.blacklist_committee.vote

    _, lapsing = await listed_vendor(services, association, clock, "quiet")
    await vote(
        members[0].caller,
        lapsing.reference,
        ballot_vote(members[0], lapsing, VoteChoice.LIST, tier=Tier.SERIOUS, now=clock),
    )
    assert lapsing.decision_due_at is not None
    clock.set(lapsing.decision_due_at)
    assert await services.blacklist_committee.close_due_ballots() == 1
    lapsed = await _case(services, lapsing.reference)
    assert lapsed.state is CaseState.LAPSED
    assert lapsed.tally is not None
    assert not lapsed.tally["quorate"]
    assert await _listing(services, lapsed) is None

    vendor, case = await listed_vendor(services, association, clock, "repairer")
    for member in members:
        await vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, VoteChoice.LIST, tier=Tier.GENERAL, now=clock),
        )
    assert await certificate_state(services, vendor.slug) is CertificationState.SUSPENDED
    vendor_caller = await services.accounts.authenticate(vendor.token)

    def application() -> Envelope:
        return repair_envelope(
            vendor.key,
            case=case.reference,
            vendor=vendor.slug,
            commitment="承诺七日内退款并公开处理结果。",
            changes="上线自动退款流程。",
            issued_at=clock.now(),
            remediation_digests=["ab" * 32],
        )

    with pytest.raises(Conflict, match="3 months"):
        await services.blacklist_remedies.repair(vendor_caller, case.reference, application())
    clock.advance(timedelta(days=93))
    repair = await services.blacklist_remedies.repair(vendor_caller, case.reference, application())
    assert repair.state is RepairState.APPLIED
    for member, choice in zip(
        members, [VoteChoice.GRANT, VoteChoice.GRANT, VoteChoice.ABSTAIN], strict=True
    ):
        await vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, choice, ballot=f"repair:{repair.id}", now=clock),
        )
    listing = await _listing(services, case)
    assert listing is not None
    assert (listing.state, listing.end_ref) == (ListingState.REPAIRED, f"repair:{repair.id}")
    assert listing.watch_until is not None
    assert listing.ended_at is not None
    assert listing.watch_until > listing.ended_at
    assert await certificate_state(services, vendor.slug) is CertificationState.ACTIVE

    minor_vendor, minor = await listed_vendor(services, association, clock, "minorone")
    for member in members:
        await vote(
            member.caller,
            minor.reference,
            ballot_vote(member, minor, VoteChoice.LIST, tier=Tier.MINOR, now=clock),
        )
    listed = await _listing(services, minor)
    assert listed is not None
    assert listed.tier is Tier.MINOR
    assert await certificate_state(services, minor_vendor.slug) is CertificationState.ACTIVE
    assert await services.blacklist_remedies.expire_listings() == 0
    clock.set(listed.published_until)
    assert await services.blacklist_remedies.expire_listings() == 1
    ended = await _listing(services, minor)
    assert ended is not None
    assert (ended.state, ended.end_ref) == (ListingState.EXPIRED, "expiry")

    # A serious listing suspends while it can be appealed, and revokes once final.
    serious_vendor, serious = await listed_vendor(services, association, clock, "gravely")
    for member in members:
        await vote(
            member.caller,
            serious.reference,
            ballot_vote(member, serious, VoteChoice.LIST, tier=Tier.SERIOUS, now=clock),
        )
    assert await certificate_state(services, serious_vendor.slug) is CertificationState.SUSPENDED
    assert await services.blacklist_remedies.finalise_listings() == 0
    clock.advance(timedelta(days=60))
    assert await services.blacklist_remedies.finalise_listings() == 1
    assert await certificate_state(services, serious_vendor.slug) is CertificationState.REVOKED
    final = await _listing(services, serious)
    assert final is not None
    assert final.final_at == clock.now()
    events = await _count(services, OutboxMessage)
    assert await services.blacklist_remedies.finalise_listings() == 0  # final once
    assert await _count(services, OutboxMessage) == events  # no second webhook either
    assert await certificate_state(services, serious_vendor.slug) is CertificationState.REVOKED
    recounts = await services.blacklist_recount.recount_all()
    assert len(recounts) == 5
    assert all(r.agrees for r in recounts), recounts


async def test_recusal_affiliation_and_the_one_extension(
    services: Services, association: str, clock: ManualClock
) -> None:
    """An affiliated member is recused automatically and cannot vote; another stands aside
    (logged); the two who remain decide; the deadline extends once, with a reason."""
    await adopt_rules(services, clock)
    vendor, case = await listed_vendor(services, association, clock, "related")
    admin = await admin_caller(services)
    members = await committee(services, association, 3)
    affiliated_key = SigningKey.generate()
    row = await services.blacklist_committee.appoint(
        admin,
        association,
        display_name="委员（该企业前员工）",
        public_key=affiliated_key.public_key,
        affiliations=[{"kind": "vendor", "value": vendor.slug}],
    )
    affiliated = Member(
        Caller(row.principal_id, Role.COMMITTEE_MEMBER, row.association_id), affiliated_key, row.id
    )
    vote = services.blacklist_committee.vote
    with pytest.raises(VoteRefused):
        await vote(
            affiliated.caller,
            case.reference,
            ballot_vote(affiliated, case, VoteChoice.DO_NOT_LIST, now=clock),
        )
    assert [i.case for i in await services.blacklist_committee.queue(affiliated.caller)] == []

    extended = await services.blacklist_committee.extend(admin, case.reference, "需要补充调取证据")
    assert case.decision_due_at is not None
    assert extended.decision_due_at is not None
    assert extended.decision_due_at > case.decision_due_at
    with pytest.raises(Conflict, match="once"):
        await services.blacklist_committee.extend(admin, case.reference, "再延一次")

    recusal = await services.blacklist_committee.recuse(
        members[2].caller,
        case.reference,
        f"case:{case.id}",
        RecusalReason.DECLARED_CONFLICT,
        "与投诉人相识",
    )
    assert recusal.log_index > 0
    with pytest.raises(VoteRefused):
        await vote(
            members[2].caller,
            case.reference,
            ballot_vote(members[2], case, VoteChoice.DO_NOT_LIST, now=clock),
        )
    for member in members[:2]:
        await vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, VoteChoice.DO_NOT_LIST, now=clock),
        )
    decided = await _case(services, case.reference)
    assert decided.state is CaseState.NOT_LISTED
    assert decided.tally is not None
    assert (decided.tally["eligible"], decided.tally["cast"]) == (2, 2)
    assert await _listing(services, decided) is None
    assert await certificate_state(services, vendor.slug) is CertificationState.ACTIVE
