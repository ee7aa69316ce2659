"""The committee's side of a case: members, their signed votes, recusals and decisions.

A ballot is `case:<id>` (the governing committee decides whether to list), `appeal:<id>`
(the panel drawn from other associations decides whether the listing stands) or
`repair:<id>` (the governing committee decides on early delisting). Every vote and
recusal is a log leaf holding what was signed, in the transaction that records it; a
ballot is counted when every eligible member has voted, or at its deadline by the
scheduler (`close_due_ballots`), and the decision is logged with its tally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.envelope import Envelope
from attestations.keys import PublicKey
from registry.accounts.models import Principal
from registry.blacklist.calendar import window_end
from registry.blacklist.decisions import (
    appeal_result,
    ballot_closes,
    cascade_on_end,
    cascade_on_final,
    cascade_on_listing,
    case_result,
    listing_terms,
    repair_result,
)
from registry.blacklist.events import (
    AppealDecided,
    BlacklistChanged,
    CaseDecided,
    ListingBecameFinal,
    ListingDecided,
    ListingEnded,
    RepairDecided,
)
from registry.blacklist.identifiers import index_listing, unindex_listing
from registry.blacklist.listings import listing_owner
from registry.blacklist.lookups import association_by_slug, case_by_reference, vendor_slug_of
from registry.blacklist.models import (
    Appeal,
    BlacklistCase,
    CommitteeMember,
    Listing,
    Recusal,
    Repair,
    Vote,
)
from registry.blacklist.states import (
    AppealState,
    BallotKind,
    CaseState,
    DayCounting,
    ListingState,
    MajorityRule,
    RecusalReason,
    RepairState,
    StepKind,
    Tier,
)
from registry.blacklist.tally import CastVote, Tally, VotingRule, tally
from registry.blacklist.timeline import record_step
from registry.blacklist.votes import BallotFacts, KeyFacts, admit_vote, read_vote
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.keys.models import KeyOwnerKind, KeyStatus, SigningKeyRecord
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

MAX_REASON_CHARS = 2000
TIER_NAMES_ZH = {Tier.MINOR: "轻微", Tier.GENERAL: "一般", Tier.SERIOUS: "严重"}
LISTING_ENDS_ZH = {
    ListingState.EXPIRED: "公示期满移出",
    ListingState.RETRACTED: "经申诉撤销",
    ListingState.REPAIRED: "经信用修复提前移出",
    ListingState.LISTED: "公示中",
}
"""The reasons a listing's certificate transitions record, in Chinese: they are shown on
the vendor's public profile (marked as Chinese on English pages), like an admin's reason."""
MAX_AFFILIATIONS = 50
MAX_ROW_ID = 2**31 - 1
"""Row ids are 32-bit integers: a larger number names nothing (and PostgreSQL refuses it)."""


def parse_ballot(ballot: str) -> tuple[BallotKind, int]:
    """`case:12` → (CASE, 12); InvalidInput for anything else."""
    kind, _, number = ballot.partition(":")
    try:
        parsed = BallotKind(kind), int(number)
    except ValueError:
        parsed = None
    if parsed is None or not 1 <= parsed[1] <= MAX_ROW_ID or not number.isdigit():
        raise InvalidInput(
            "a ballot is case:<id>, appeal:<id> or repair:<id>", fields={"ballot": "malformed"}
        )
    return parsed


@dataclass
class _Ballot:
    """A ballot as read in one transaction: its facts and the row it decides."""

    facts: BallotFacts
    case: BlacklistCase
    appeal: Appeal | None
    repair: Repair | None
    due_at: datetime | None
    eligible: int

    @property
    def rule(self) -> VotingRule:
        terms = self.case.terms
        return VotingRule(
            Fraction(int(terms["quorum_numerator"]), int(terms["quorum_denominator"])),
            MajorityRule(terms["majority"]),
        )


def _affiliated(member: CommitteeMember, case: BlacklistCase) -> bool:
    subject = {"kind": case.subject_kind.value, "value": case.subject_value}
    return any(
        {"kind": a.get("kind"), "value": a.get("value")} == subject
        for a in [*(member.affiliations or []), *(member.declared_conflicts or [])]
    )


async def _committee(session: AsyncSession, association_id: int) -> list[CommitteeMember]:
    return list(
        (
            await session.execute(
                select(CommitteeMember)
                .join(Principal, Principal.id == CommitteeMember.principal_id)
                .where(
                    CommitteeMember.association_id == association_id,
                    CommitteeMember.left_at.is_(None),
                    Principal.disabled_at.is_(None),
                )
                .order_by(CommitteeMember.id)
            )
        ).scalars()
    )


async def load_ballot(
    session: AsyncSession, case: BlacklistCase, ballot: str, now: datetime
) -> _Ballot:
    """Everything a vote on `ballot` of `case` is checked against."""
    kind, number = parse_ballot(ballot)
    appeal = repair = None
    if kind is BallotKind.CASE:
        if number != case.id:
            raise NotFound(f"no ballot {ballot} on case {case.reference}")
        members = await _committee(session, case.association_id)
        is_open = case.state is CaseState.VOTING
        due = case.decision_due_at
    elif kind is BallotKind.APPEAL:
        appeal = await session.get(Appeal, number)
        if appeal is None or appeal.case_id != case.id:
            raise NotFound(f"no ballot {ballot} on case {case.reference}")
        panel = set(appeal.panel or [])
        members = list(
            (
                await session.execute(select(CommitteeMember).where(CommitteeMember.id.in_(panel)))
            ).scalars()
        )
        is_open = appeal.state is AppealState.HEARING
        due = appeal.decision_due_at
    else:
        repair = await session.get(Repair, number)
        if repair is None or repair.case_id != case.id:
            raise NotFound(f"no ballot {ballot} on case {case.reference}")
        members = await _committee(session, case.association_id)
        is_open = repair.state is RepairState.APPLIED
        due = repair.decision_due_at
    recused = set(
        (await session.execute(select(Recusal.member_id).where(Recusal.ballot == ballot))).scalars()
    )
    recused |= {m.id for m in members if _affiliated(m, case)}
    voted = dict(
        (
            await session.execute(
                select(Vote.member_id, Vote.envelope_digest).where(Vote.ballot == ballot)
            )
        ).all()
    )
    facts = BallotFacts(
        kind=kind,
        ballot=ballot,
        case_reference=case.reference,
        evidence_digest=case.evidence_digest,
        open=is_open and (due is None or now < due),
        electorate={m.principal_id: m.id for m in members},
        member_keys={m.id: m.key_id for m in members},
        recused=frozenset(recused),
        voted=voted,
    )
    eligible = len({m.id for m in members} - recused)
    return _Ballot(facts, case, appeal, repair, due, eligible)


async def _key_facts(session: AsyncSession, key_id: str) -> dict[str, KeyFacts]:
    key = (
        await session.execute(select(SigningKeyRecord).where(SigningKeyRecord.key_id == key_id))
    ).scalar_one_or_none()
    if key is None:
        return {}
    return {
        key_id: KeyFacts(
            key.owner_kind, key.principal_id, key.public_key, key.status, key.revoked_at
        )
    }


async def count_ballot(session: AsyncSession, ballot: _Ballot) -> Tally:
    """The tally of a ballot from its recorded votes."""
    rows = (
        await session.execute(
            select(Vote.member_id, Vote.choice, Vote.tier).where(Vote.ballot == ballot.facts.ballot)
        )
    ).all()
    votes = [CastVote(member_id, choice, tier) for member_id, choice, tier in rows]
    return tally(ballot.facts.kind, ballot.rule, ballot.eligible, votes)


async def sits_on_an_appeal_of(session: AsyncSession, caller: Caller, case: BlacklistCase) -> bool:
    """True for a committee member drawn to hear an appeal against this case's listing:
    the panel reads the case it decides, though it belongs to another association."""
    if caller.role is not Role.COMMITTEE_MEMBER:
        return False
    member_id = (
        await session.execute(
            select(CommitteeMember.id).where(CommitteeMember.principal_id == caller.principal_id)
        )
    ).scalar_one_or_none()
    panels = (
        await session.execute(select(Appeal.panel).where(Appeal.case_id == case.id))
    ).scalars()
    return member_id is not None and any(member_id in (p or []) for p in panels)


@dataclass(frozen=True)
class QueueItem:
    """A ballot waiting for a member's vote."""

    case: str
    ballot: str
    kind: BallotKind
    subject_kind: str
    subject_value: str
    evidence_digest: str
    tier_proposed: Tier
    due_at: datetime | None


class BlacklistCommitteeService:
    """Committee members: appointment, queue, signed votes, recusal; deadlines and decisions."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    # --- membership ------------------------------------------------------------------

    async def appoint(
        self,
        caller: Caller,
        association_slug: str,
        *,
        display_name: str,
        public_key: PublicKey,
        affiliations: Sequence[dict[str, str]] = (),
    ) -> CommitteeMember:
        """Put a person on an association's committee with the Ed25519 key their votes
        carry: a `committee_member` principal, its active key and the membership, logged."""

        name = display_name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("a member has a display name of 1 to 200 characters")
        links = [dict(a) for a in affiliations]
        if len(links) > MAX_AFFILIATIONS or any(
            set(a) != {"kind", "value"} or not 0 < len(a["value"]) <= 253 for a in links
        ):
            raise InvalidInput(
                f"affiliations are at most {MAX_AFFILIATIONS} objects with a kind and a value",
                fields={"affiliations": "malformed"},
            )
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            if not caller.administers_association(association.id):
                raise PermissionDenied("only this association's admins appoint its committee")
            if await _key_facts(session, public_key.key_id):
                raise Conflict(f"key {public_key.key_id} is registered already")
            principal = Principal(
                role=Role.COMMITTEE_MEMBER,
                display_name=name,
                association_id=association.id,
                created_at=now,
            )
            session.add(principal)
            await session.flush()
            log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.BLACKLIST_COMMITTEE_CHANGED,
                    {
                        "association": association.slug,
                        "change": "appointed",
                        "principal": principal.id,
                        "key_id": public_key.key_id,
                        "public_key": public_key.to_base64(),
                    },
                )
            )
            session.add(
                SigningKeyRecord(
                    key_id=public_key.key_id,
                    public_key=public_key.raw,
                    owner_kind=KeyOwnerKind.PRINCIPAL,
                    principal_id=principal.id,
                    status=KeyStatus.ACTIVE,
                    activated_at=now,
                    authorised_by_principal_id=caller.principal_id,
                    log_index=log_index,
                    created_at=now,
                )
            )
            member = CommitteeMember(
                association_id=association.id,
                principal_id=principal.id,
                key_id=public_key.key_id,
                affiliations=links,
                declared_conflicts=[],
                joined_at=now,
                log_index=log_index,
                created_at=now,
            )
            session.add(member)
            await session.flush()
            return member

    async def _member(self, session: AsyncSession, caller: Caller) -> CommitteeMember:
        if caller.role is not Role.COMMITTEE_MEMBER:
            raise PermissionDenied("only committee members vote")
        member = (
            await session.execute(
                select(CommitteeMember).where(
                    CommitteeMember.principal_id == caller.principal_id,
                    CommitteeMember.left_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        if member is None:
            raise PermissionDenied("you are not on a committee")
        return member

    # --- reading -----------------------------------------------------------------------

    async def queue(self, caller: Caller) -> list[QueueItem]:
        """Ballots the calling member may still vote on: its committee's cases and repairs,
        and the appeals it was drawn to hear."""
        async with self.ctx.db.read() as session:
            member = await self._member(session, caller)
            done = set(
                (
                    await session.execute(select(Vote.ballot).where(Vote.member_id == member.id))
                ).scalars()
            ) | set(
                (
                    await session.execute(
                        select(Recusal.ballot).where(Recusal.member_id == member.id)
                    )
                ).scalars()
            )
            items: list[QueueItem] = []
            cases = (
                await session.execute(
                    select(BlacklistCase).where(
                        BlacklistCase.association_id == member.association_id,
                        BlacklistCase.state == CaseState.VOTING,
                    )
                )
            ).scalars()
            items += [_item(c, f"case:{c.id}", BallotKind.CASE, c.decision_due_at) for c in cases]
            repairs = (
                await session.execute(
                    select(Repair, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Repair.case_id)
                    .where(
                        BlacklistCase.association_id == member.association_id,
                        Repair.state == RepairState.APPLIED,
                    )
                )
            ).all()
            items += [
                _item(c, f"repair:{r.id}", BallotKind.REPAIR, r.decision_due_at) for r, c in repairs
            ]
            appeals = (
                await session.execute(
                    select(Appeal, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Appeal.case_id)
                    .where(Appeal.state == AppealState.HEARING)
                )
            ).all()
            items += [
                _item(c, f"appeal:{a.id}", BallotKind.APPEAL, a.decision_due_at)
                for a, c in appeals
                if member.id in (a.panel or [])
            ]
            return [
                i
                for i in items
                if i.ballot not in done
                and not (i.kind is not BallotKind.APPEAL and _affiliated_to(member, i))
            ]

    # --- voting ------------------------------------------------------------------------

    async def vote(self, caller: Caller, reference: str, envelope: Envelope) -> Vote:
        """Record a signed vote on one of the case's ballots; refused votes write nothing.
        The same envelope again returns the recorded vote."""

        predicate = read_vote(envelope)
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            member = await self._member(session, caller)
            case = await case_by_reference(session, reference)
            ballot = await load_ballot(session, case, predicate.ballot, now)
            if member.principal_id not in ballot.facts.electorate:
                raise NotFound(f"no ballot {predicate.ballot} of case {reference} for you")
            keys = await _key_facts(session, envelope.signatures[0].keyid)
            admitted = admit_vote(envelope, ballot.facts, keys, now=now, settings=self.ctx.settings)
            if admitted.principal_id != caller.principal_id:
                raise PermissionDenied("a member casts only their own vote")
            if admitted.repeat:
                return (
                    await session.execute(
                        select(Vote).where(Vote.envelope_digest == admitted.envelope_digest)
                    )
                ).scalar_one()
            step = await record_step(
                session,
                case,
                StepKind.VOTE,
                {
                    "ballot": ballot.facts.ballot,
                    "member": admitted.member_id,
                    "key_id": admitted.key_id,
                    "choice": admitted.choice.value,
                    "tier": admitted.tier.value if admitted.tier else None,
                    "envelope": envelope.to_dict(),
                },
                now,
                vendor_slug=await vendor_slug_of(session, case.vendor_id),
                actor_principal_id=caller.principal_id,
            )
            row = Vote(
                case_id=case.id,
                ballot_kind=ballot.facts.kind,
                ballot=ballot.facts.ballot,
                member_id=admitted.member_id,
                key_id=admitted.key_id,
                choice=admitted.choice,
                tier=admitted.tier,
                evidence_digest_seen=ballot.facts.evidence_digest,
                reason=admitted.reason,
                envelope_digest=admitted.envelope_digest,
                cast_at=now,
                log_index=step.log_index,
            )
            session.add(row)
            await session.flush()
            step.ref = f"vote:{row.id}"
            await self._close_if_complete(session, case, ballot.facts.ballot, now)
            return row

    async def recuse(
        self,
        caller: Caller,
        reference: str,
        ballot: str,
        reason: RecusalReason,
        detail: str | None,
    ) -> Recusal:
        """A member stands aside from a ballot (a declared conflict, or by choice), logged."""

        text = (detail or "").strip()
        if reason is not RecusalReason.AFFILIATED and not text:
            raise InvalidInput("say why you stand aside", fields={"detail": "required"})
        if len(text) > MAX_REASON_CHARS:
            raise InvalidInput("detail is too long", fields={"detail": "too long"})
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            member = await self._member(session, caller)
            case = await case_by_reference(session, reference)
            loaded = await load_ballot(session, case, ballot, now)
            if member.principal_id not in loaded.facts.electorate:
                raise NotFound(f"no ballot {ballot} of case {reference} for you")
            if member.id in loaded.facts.voted:
                raise Conflict("you voted on this ballot already; a vote is final")
            existing = (
                await session.execute(
                    select(Recusal).where(Recusal.ballot == ballot, Recusal.member_id == member.id)
                )
            ).scalar_one_or_none()
            if existing is not None:
                return existing
            if not loaded.facts.open:
                raise Conflict(f"{ballot} is not open")
            step = await record_step(
                session,
                case,
                StepKind.RECUSAL,
                {"ballot": ballot, "member": member.id, "reason": reason.value},
                now,
                vendor_slug=await vendor_slug_of(session, case.vendor_id),
                actor_principal_id=caller.principal_id,
            )
            row = Recusal(
                case_id=case.id,
                ballot=ballot,
                member_id=member.id,
                reason=reason,
                detail=text or None,
                at=now,
                log_index=step.log_index,
            )
            session.add(row)
            await session.flush()
            step.ref = f"recusal:{row.id}"
            await self._close_if_complete(session, case, ballot, now)
            return row

    async def extend(self, caller: Caller, reference: str, reason: str) -> BlacklistCase:
        """Extend a case's decision deadline once, with a reason (the association's admins)."""

        text = reason.strip()
        if not text or len(text) > MAX_REASON_CHARS:
            raise InvalidInput("an extension gives its reason", fields={"reason": "required"})
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            case = await case_by_reference(session, reference)
            if not caller.administers_association(case.association_id):
                raise NotFound(f"no blacklist case {reference!r} for your association")
            if case.state is not CaseState.VOTING or case.decision_due_at is None:
                raise Conflict(f"case {reference} is not being voted on")
            if case.extended_at is not None:
                raise Conflict(f"the deadline of case {reference} was extended once already")
            if now >= case.decision_due_at:
                raise Conflict("the decision deadline has passed")
            case.decision_due_at = window_end(
                case.decision_due_at,
                int(case.terms["decision_extension_days"]),
                DayCounting(case.terms["day_counting"]),
            )
            case.extended_at = now
            case.extension_reason = text
            await record_step(
                session,
                case,
                StepKind.DEADLINE_EXTENDED,
                {"decision_due_at": isoformat(case.decision_due_at), "reason": text},
                now,
                vendor_slug=await vendor_slug_of(session, case.vendor_id),
                actor_principal_id=caller.principal_id,
            )
            return case

    # --- deciding ----------------------------------------------------------------------

    async def _close_if_complete(
        self, session: AsyncSession, case: BlacklistCase, ballot: str, now: datetime
    ) -> None:
        loaded = await load_ballot(session, case, ballot, now)
        count = await count_ballot(session, loaded)
        if ballot_closes(
            count, everyone_voted=count.cast >= loaded.eligible, deadline_passed=False
        ):
            await self._decide(session, loaded, count, now, deadline_passed=False)

    async def close_due_ballots(self) -> int:
        """Count every ballot whose deadline passed (the scheduler's job); returns how many
        were decided or lapsed."""
        now = self.ctx.clock.now()
        closed = 0
        async with self.ctx.db.transaction() as session:
            due: list[tuple[BlacklistCase, str]] = []
            for case in (
                await session.execute(
                    select(BlacklistCase).where(
                        BlacklistCase.state == CaseState.VOTING,
                        BlacklistCase.decision_due_at <= now,
                    )
                )
            ).scalars():
                due.append((case, f"case:{case.id}"))
            for appeal, case in (
                await session.execute(
                    select(Appeal, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Appeal.case_id)
                    .where(Appeal.state == AppealState.HEARING, Appeal.decision_due_at <= now)
                )
            ).all():
                due.append((case, f"appeal:{appeal.id}"))
            for repair, case in (
                await session.execute(
                    select(Repair, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Repair.case_id)
                    .where(Repair.state == RepairState.APPLIED, Repair.decision_due_at <= now)
                )
            ).all():
                due.append((case, f"repair:{repair.id}"))
            for case, ballot in due:
                loaded = await load_ballot(session, case, ballot, now)
                count = await count_ballot(session, loaded)
                await self._decide(session, loaded, count, now, deadline_passed=True)
                closed += 1
        return closed

    async def _decide(
        self,
        session: AsyncSession,
        ballot: _Ballot,
        count: Tally,
        now: datetime,
        *,
        deadline_passed: bool,
    ) -> None:
        case = ballot.case
        slug = await vendor_slug_of(session, case.vendor_id)
        body: dict[str, Any] = {"ballot": ballot.facts.ballot, "tally": count.to_json()}
        if ballot.appeal is not None:
            await _decide_appeal(session, case, ballot.appeal, count, body=body, slug=slug, now=now)
            return
        if ballot.repair is not None:
            await _decide_repair(session, case, ballot.repair, count, body=body, slug=slug, now=now)
            return
        case.state = case_result(count, deadline_passed=deadline_passed)
        case.tally = count.to_json()
        case.decided_at = now
        if case.state is not CaseState.LISTED:
            publish(session, _case_decided(case, case.tier_proposed, now))
        if case.state is CaseState.LAPSED:
            await record_step(
                session,
                case,
                StepKind.LAPSED,
                {
                    **body,
                    "why": "the decision deadline passed without a quorate decision; "
                    "the case is closed without listing",
                },
                now,
                vendor_slug=slug,
            )
            return
        await record_step(
            session,
            case,
            StepKind.DECIDED,
            {**body, "outcome": case.state.value},
            now,
            vendor_slug=slug,
        )
        if case.state is CaseState.LISTED:
            listing = await _list(session, case, count, slug, now)
            publish(session, _case_decided(case, listing.tier, now))


def _case_decided(case: BlacklistCase, tier: Tier, now: datetime) -> CaseDecided:
    return CaseDecided(
        case.id, case.association_id, tier, now, outcome=case.state, opened_at=case.opened_at
    )


async def _list(
    session: AsyncSession, case: BlacklistCase, count: Tally, slug: str | None, now: datetime
) -> Listing:
    terms = listing_terms(CaseState.LISTED, count, now)
    listing = Listing(
        case_id=case.id,
        association_id=case.association_id,
        subject_kind=case.subject_kind,
        subject_value=case.subject_value,
        vendor_id=case.vendor_id,
        tier=terms.tier,
        rule_id=case.rule_id,
        rule_version=case.rule_version,
        evidence_digest=case.evidence_digest,
        tally=count.to_json(),
        decided_at=terms.decided_at,
        published_from=terms.published_from,
        published_until=terms.published_until,
        state=ListingState.LISTED,
        log_index=-1,
        created_at=now,
    )
    session.add(listing)
    await session.flush()
    await index_listing(session, listing)
    step = await record_step(
        session,
        case,
        StepKind.LISTED,
        {
            "listing": listing.id,
            "tier": terms.tier.value,
            "rule": f"{case.rule_id}@{case.rule_version}",
            "evidence_digest": case.evidence_digest,
            "tally": count.to_json(),
            "decided_at": isoformat(terms.decided_at),
            "published_from": isoformat(terms.published_from),
            "published_until": isoformat(terms.published_until),
        },
        now,
        vendor_slug=slug,
        ref=f"listing:{listing.id}",
    )
    listing.log_index = step.log_index
    publish(session, BlacklistChanged(listing.id, ListingState.LISTED.value, now))
    trigger = cascade_on_listing(terms.tier)
    if trigger is not None and case.vendor_id is not None:
        publish(
            session,
            ListingDecided(
                listing.id,
                case.vendor_id,
                trigger,
                f"列入黑名单 {case.reference}（{TIER_NAMES_ZH[terms.tier]}）",
                None,
                now,
            ),
        )
    return listing


async def end_listing(
    session: AsyncSession,
    listing: Listing,
    case: BlacklistCase,
    *,
    state: ListingState,
    end_ref: str,
    now: datetime,
    step_kind: StepKind | None,
    watch_until: datetime | None = None,
) -> None:
    """End a listing (expired, retracted, repaired): kept as it ended, its hold lifted."""
    if listing.state is not ListingState.LISTED:
        raise Conflict(f"listing {listing.id} has ended already ({listing.state.value})")
    listing.state = state
    listing.ended_at = now
    listing.end_ref = end_ref
    listing.watch_until = watch_until
    await unindex_listing(session, listing.id)
    if step_kind is not None:
        await record_step(
            session,
            case,
            step_kind,
            {"listing": listing.id, "state": state.value, "end": end_ref},
            now,
            vendor_slug=await vendor_slug_of(session, listing.vendor_id),
            ref=listing_owner(listing.id),
        )
    publish(session, BlacklistChanged(listing.id, state.value, now))
    if listing.vendor_id is None:
        return
    # Whether a serious listing's revocation already took effect is the certificate's to
    # know: its reaction leaves a revoked certificate alone.
    trigger = cascade_on_end(listing.tier, revoked=False)
    if trigger is not None:
        reason = f"黑名单 {case.reference} {LISTING_ENDS_ZH[state]}"
        publish(session, ListingEnded(listing.id, listing.vendor_id, trigger, reason, None, now))


def became_final(listing: Listing, case: BlacklistCase, now: datetime) -> ListingBecameFinal | None:
    """The event that revokes a serious listing's certificate once it is final."""
    trigger = cascade_on_final(listing.tier)
    if trigger is None or listing.vendor_id is None:
        return None
    return ListingBecameFinal(
        listing.id,
        listing.vendor_id,
        trigger,
        f"黑名单 {case.reference}（{TIER_NAMES_ZH[listing.tier]}）申诉期满，决定生效",
        None,
        now,
    )


async def _decide_appeal(
    session: AsyncSession,
    case: BlacklistCase,
    appeal: Appeal,
    count: Tally,
    *,
    body: dict[str, Any],
    slug: str | None,
    now: datetime,
) -> None:
    appeal.state = appeal_result(count)
    appeal.tally = count.to_json()
    appeal.decided_at = now
    await record_step(
        session,
        case,
        StepKind.APPEAL_DECIDED,
        {**body, "appeal": appeal.id, "outcome": appeal.state.value},
        now,
        vendor_slug=slug,
        ref=f"appeal:{appeal.id}",
    )
    listing = await session.get(Listing, appeal.listing_id)
    assert listing is not None  # noqa: S101 - foreign key
    publish(
        session,
        AppealDecided(
            case.id,
            case.association_id,
            listing.tier,
            now,
            appeal_id=appeal.id,
            listing_id=listing.id,
            outcome=appeal.state,
        ),
    )
    if appeal.state is AppealState.OVERTURNED:
        await end_listing(
            session,
            listing,
            case,
            state=ListingState.RETRACTED,
            end_ref=f"appeal:{appeal.id}",
            now=now,
            step_kind=StepKind.RETRACTED,
        )
        return
    final = became_final(listing, case, now)
    if final is not None and listing.state is ListingState.LISTED:
        listing.final_at = now
        publish(session, final)


async def _decide_repair(
    session: AsyncSession,
    case: BlacklistCase,
    repair: Repair,
    count: Tally,
    *,
    body: dict[str, Any],
    slug: str | None,
    now: datetime,
) -> None:
    repair.state = repair_result(count)
    repair.tally = count.to_json()
    repair.decided_at = now
    listing = await session.get(Listing, repair.listing_id)
    assert listing is not None  # noqa: S101 - foreign key
    publish(
        session,
        RepairDecided(
            case.id,
            case.association_id,
            listing.tier,
            now,
            repair_id=repair.id,
            listing_id=listing.id,
            outcome=repair.state,
            applied_at=repair.applied_at,
        ),
    )
    watch = None
    if repair.state is RepairState.GRANTED:
        watch = now + timedelta(days=int(case.terms["watch_period_days"]))
    await record_step(
        session,
        case,
        StepKind.REPAIR_DECIDED,
        {
            **body,
            "repair": repair.id,
            "outcome": repair.state.value,
            "watch_until": isoformat(watch) if watch else None,
        },
        now,
        vendor_slug=slug,
        ref=f"repair:{repair.id}",
    )
    if repair.state is RepairState.GRANTED:
        await end_listing(
            session,
            listing,
            case,
            state=ListingState.REPAIRED,
            end_ref=f"repair:{repair.id}",
            now=now,
            step_kind=None,
            watch_until=watch,
        )


def _item(case: BlacklistCase, ballot: str, kind: BallotKind, due: datetime | None) -> QueueItem:
    return QueueItem(
        case=case.reference,
        ballot=ballot,
        kind=kind,
        subject_kind=case.subject_kind.value,
        subject_value=case.subject_value,
        evidence_digest=case.evidence_digest,
        tier_proposed=case.tier_proposed,
        due_at=due,
    )


def _affiliated_to(member: CommitteeMember, item: QueueItem) -> bool:
    subject = {"kind": item.subject_kind, "value": item.subject_value}
    return any(
        {"kind": a.get("kind"), "value": a.get("value")} == subject
        for a in [*(member.affiliations or []), *(member.declared_conflicts or [])]
    )
