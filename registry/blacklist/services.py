"""Rulebooks, evaluation and replay: the blacklist's rule side (items 1–2 of its design).

Evaluation never lists. It opens a *case* when a rule's condition holds for a subject and
nothing already covers it, cites the rule version and an evidence bundle, logs both, and
notifies the subject (`notice.py`); the committee decides later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.calendar import window_end
from registry.blacklist.events import CaseOpened
from registry.blacklist.facts import (
    MemberSubject,
    governing_association,
    load_facts,
    member_subject,
    member_subjects,
    nonmember_subjects,
)
from registry.blacklist.lookups import association_by_slug, case_by_reference
from registry.blacklist.models import (
    BlacklistCase,
    BlacklistRule,
    BlacklistTerms,
    Listing,
    Rulebook,
)
from registry.blacklist.rulebooks import (
    DEFAULT_RULES,
    RuleInput,
    Terms,
    publish_rulebook,
    rule_input,
    rulebook_in_force,
    spec_of,
    terms_of,
)
from registry.blacklist.rules import (
    RuleSpec,
    Subject,
    SubjectFacts,
    Verdict,
    evaluate,
    evidence_bundle,
    evidence_digest,
    item_refs,
    window_days_of,
)
from registry.blacklist.states import (
    OPEN_CASE_STATES,
    CaseState,
    DayCounting,
    ListingState,
    MajorityRule,
    StepKind,
    SubjectKind,
)
from registry.blacklist.timeline import record_step
from registry.complaints.models import Complaint
from registry.complaints.models import SubjectKind as ComplaintSubjectKind
from registry.context import RegistryContext
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.federation.models import Association
from registry.kernel.caller import Caller
from registry.kernel.clock import isoformat
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf, lock_head

logger = logging.getLogger("registry.blacklist")

_EVALUATED_IN_UNIT = "registry.blacklist.evaluated_vendors"
TERM_FIELDS = frozenset(Terms.__dataclass_fields__) - {"custom"}


@dataclass(frozen=True)
class RulebookView:
    """A published rulebook version and its rules."""

    association: str
    book: Rulebook
    rules: list[BlacklistRule]


@dataclass(frozen=True)
class Candidate:
    """A rule whose condition holds for a subject at the evaluation instant."""

    association_id: int
    association_slug: str
    governance: str
    subject: Subject
    vendor_id: int | None
    vendor_slug: str | None
    rule: BlacklistRule
    verdict: Verdict


@dataclass
class EvaluationResult:
    """What one evaluation run did: subjects and rules tested, cases opened (references)."""

    at: datetime
    subjects: int = 0
    rules_tested: int = 0
    holding: int = 0
    opened: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReplayResult:
    """A case's evidence recomputed from the facts as they stood at its evaluation."""

    reference: str
    recorded_digest: str
    recomputed_digest: str
    holds: bool
    bundle: dict[str, Any]
    notes: list[str]

    @property
    def reproduced(self) -> bool:
        """Same bundle, same digest, and the rule still holds over those facts."""
        return self.holds and self.recorded_digest == self.recomputed_digest


class BlacklistRuleService:
    """Terms, rulebooks, evaluation and replay."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    # --- terms ------------------------------------------------------------------------

    async def terms(self, association_slug: str) -> Terms:
        """The association's blacklist terms (the defaults when it set none). Public."""
        async with self.ctx.db.read() as session:
            association = await association_by_slug(session, association_slug)
            return await terms_of(session, association.id, self.ctx.settings)

    async def set_terms(
        self, caller: Caller, association_slug: str, changes: dict[str, Any]
    ) -> Terms:
        """Change some of the association's terms, logged; open cases keep theirs."""
        unknown = sorted(set(changes) - TERM_FIELDS)
        if unknown:
            raise InvalidInput(
                f"unknown terms: {', '.join(unknown)}", fields=dict.fromkeys(unknown, "unknown")
            )
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            if not caller.administers_association(association.id):
                raise PermissionDenied("only this association's admins may change its terms")
            current = await terms_of(session, association.id, self.ctx.settings)
            merged = {**current.to_json(), **changes}
            try:
                terms = Terms(
                    **{
                        **merged,
                        "day_counting": DayCounting(merged["day_counting"]),
                        "majority": MajorityRule(merged["majority"]),
                    },
                    custom=True,
                )
            except (ValueError, TypeError) as exc:
                raise InvalidInput(
                    "day_counting must be working or calendar, majority simple or two_thirds, "
                    "the other terms whole numbers",
                    fields={"terms": "invalid"},
                ) from exc
            if any(
                not isinstance(v, int) or isinstance(v, bool)
                for k, v in terms.to_json().items()
                if k not in {"day_counting", "majority"}
            ):
                raise InvalidInput("terms are whole numbers of days", fields={"terms": "type"})
            terms.check()
            row = (
                await session.execute(
                    select(BlacklistTerms).where(BlacklistTerms.association_id == association.id)
                )
            ).scalar_one_or_none()
            if row is None:
                row = BlacklistTerms(association_id=association.id, created_at=now)
                session.add(row)
            for name, value in terms.to_json().items():
                setattr(
                    row,
                    name,
                    getattr(terms, name) if name in {"day_counting", "majority"} else value,
                )
            row.updated_at = now
            row.log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.BLACKLIST_TERMS_CHANGED,
                    {"association": association.slug, "terms": terms.to_json()},
                )
            )
            return terms

    # --- rulebooks --------------------------------------------------------------------

    async def rulebooks(self, association_slug: str) -> list[RulebookView]:
        """Every published version, newest first, with its rules. Public."""
        async with self.ctx.db.read() as session:
            association = await association_by_slug(session, association_slug)
            books = (
                await session.execute(
                    select(Rulebook)
                    .where(Rulebook.association_id == association.id)
                    .order_by(Rulebook.version.desc())
                )
            ).scalars()
            views = []
            for book in books:
                rules = await session.execute(
                    select(BlacklistRule)
                    .where(BlacklistRule.rulebook_id == book.id)
                    .order_by(BlacklistRule.rule_id)
                )
                views.append(RulebookView(association.slug, book, list(rules.scalars())))
            return views

    async def rulebook(self, association_slug: str, version: int) -> RulebookView:
        """One published version. Public."""
        for view in await self.rulebooks(association_slug):
            if view.book.version == version:
                return view
        raise NotFound(f"{association_slug} has no rulebook version {version}")

    async def publish(
        self,
        caller: Caller,
        association_slug: str,
        rules: list[dict[str, Any]],
        effective_from: datetime,
    ) -> RulebookView:
        """Publish a new rulebook version, effective no sooner than the notice period."""
        parsed = [rule_input(rule) for rule in rules]
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            if not caller.administers_association(association.id):
                raise PermissionDenied("only this association's admins may publish its rules")
            terms = await terms_of(session, association.id, self.ctx.settings)
            book = await publish_rulebook(
                session,
                association,
                parsed,
                effective_from=effective_from,
                now=now,
                notice_period_days=terms.notice_period_days,
                published_by=caller.principal_id,
            )
            await session.flush()
            rules_rows = await session.execute(
                select(BlacklistRule)
                .where(BlacklistRule.rulebook_id == book.id)
                .order_by(BlacklistRule.rule_id)
            )
            return RulebookView(association.slug, book, list(rules_rows.scalars()))

    async def publish_default_rulebooks(self) -> list[str]:
        """Give every association without a rulebook the default one, effective after the
        notice period; returns `slug@version` of each published. Idempotent. An explicit
        step (`registry blacklist rulebook adopt-default`): rules bind only once published."""
        now = self.ctx.clock.now()
        published: list[str] = []
        async with self.ctx.db.transaction() as session:
            without = (
                await session.execute(
                    select(Association)
                    .where(~Association.id.in_(select(Rulebook.association_id)))
                    .order_by(Association.id)
                )
            ).scalars()
            for association in list(without):
                terms = await terms_of(session, association.id, self.ctx.settings)
                book = await publish_rulebook(
                    session,
                    association,
                    list(DEFAULT_RULES),
                    effective_from=now + timedelta(days=terms.notice_period_days),
                    now=now,
                    notice_period_days=terms.notice_period_days,
                    published_by=None,
                )
                published.append(f"{association.slug}@{book.version}")
        return published

    # --- evaluation ---------------------------------------------------------------------

    async def evaluate(self) -> EvaluationResult:
        """Evaluate every association's rulebook in force over every subject; open a case
        for each rule that holds where nothing covers it. Never lists. Idempotent."""
        now = self.ctx.clock.now()
        result = EvaluationResult(at=now)
        async with self.ctx.db.read() as session:
            candidates = await self._candidates(session, now, result)
        for candidate in candidates:
            reference = await self._open_if_uncovered(candidate, now)
            if reference is not None:
                result.opened.append(reference)
        if result.opened:
            # References only: subjects may be persons' domains, evidence stays in the log.
            logger.info("blacklist evaluation opened %d cases", len(result.opened))
        return result

    async def _candidates(
        self, session: AsyncSession, now: datetime, result: EvaluationResult
    ) -> list[Candidate]:
        slugs, books = await _books_in_force(session, now)
        since = _since(books, now)
        if since is None:
            return []
        candidates: list[Candidate] = []
        for member in await member_subjects(session):
            candidates += await _member_candidates(
                session, member, slugs=slugs, books=books, since=since, now=now, result=result
            )
        for subject in await nonmember_subjects(session, since):
            candidates += await _nonmember_candidates(
                session, subject, slugs=slugs, books=books, since=since, now=now, result=result
            )
        return candidates

    async def _open_if_uncovered(self, candidate: Candidate, now: datetime) -> str | None:
        """Open the case in its own transaction unless an open case, a listing in force or
        earlier cases with the same evidence cover it."""
        spec = spec_of(candidate.rule)
        bundle = evidence_bundle(
            spec, candidate.subject, candidate.association_slug, candidate.verdict, now
        )
        async with self.ctx.db.transaction() as session:
            # The log head lock serialises writers: two runs cannot both pass the checks.
            await lock_head(session)
            if await _covered(session, candidate, bundle):
                return None
            case = await open_case(
                session, self.ctx.settings, candidate, spec=spec, bundle=bundle, now=now
            )
            return case.reference

    # --- replay -------------------------------------------------------------------------

    async def replay(self, reference: str) -> ReplayResult:
        """Recompute a case's rule over the facts as they stood when it was evaluated."""
        async with self.ctx.db.read() as session:
            case = await case_by_reference(session, reference)
            rule = await session.get(BlacklistRule, case.rule_row_id)
            association = await session.get(Association, case.association_id)
            assert rule is not None  # noqa: S101 - foreign key
            assert association is not None  # noqa: S101 - foreign key
            spec = spec_of(rule)
            subject = Subject(case.subject_kind, case.subject_value)
            at = case.evaluated_at
            facts = await load_facts(
                session,
                subject,
                case.vendor_id,
                since=at - timedelta(days=window_days_of(spec)),
                at=at,
            )
        verdict = evaluate(spec, facts, at)
        bundle = evidence_bundle(spec, subject, association.slug, verdict, at)
        notes = []
        erased = [c.tracking_code for c in facts.complaints if c.complainant is None]
        if erased and spec.kind.value == "substantiated_complaints":
            notes.append(
                "contacts erased since by their consumers (distinct complainants unknown): "
                + ", ".join(erased)
            )
        return ReplayResult(
            case.reference,
            case.evidence_digest,
            evidence_digest(bundle),
            verdict.holds,
            bundle,
            notes,
        )

    async def replay_all(self) -> list[ReplayResult]:
        """Replay every case, oldest first."""
        async with self.ctx.db.read() as session:
            references = list(
                (
                    await session.execute(
                        select(BlacklistCase.reference).order_by(BlacklistCase.id)
                    )
                ).scalars()
            )
        return [await self.replay(reference) for reference in references]


async def evaluate_member(
    session: AsyncSession, settings: Settings, vendor_id: int, now: datetime
) -> list[str]:
    """Evaluate one member vendor's rules at `now` inside the caller's transaction: the
    reaction to a new fact about it (a complaint substantiated, an audit recorded). Opens
    cases like the scheduled job, never lists; returns their references. `now` is the
    fact's own time, so the reaction does not depend on which clock wired it."""
    evaluated: set[Any] = session.info.setdefault(_EVALUATED_IN_UNIT, set())
    if vendor_id in evaluated:
        # Subscribers run after the publisher's writes: one evaluation per vendor and
        # unit of work sees every fact of a batch.
        return []
    evaluated.add(vendor_id)
    member = await member_subject(session, vendor_id)
    if member is None:
        return []
    slugs, books = await _books_in_force(session, now, only=member.association_id)
    since = _since(books, now)
    if since is None:
        return []
    result = EvaluationResult(at=now)
    candidates = await _member_candidates(
        session, member, slugs=slugs, books=books, since=since, now=now, result=result
    )
    return await _open_in_unit(session, settings, candidates, now)


async def evaluate_nonmember(
    session: AsyncSession, settings: Settings, complaint_id: int, now: datetime
) -> list[str]:
    """Evaluate the rules of the association governing the unregistered subject (domain,
    app id, credit code) complaint `complaint_id` names, at `now`, inside the caller's
    transaction: the reaction to a mediator upholding a complaint about a non-member.
    Opens cases like the scheduled job, never lists; returns their references."""
    row = (
        await session.execute(
            select(Complaint.subject_kind, Complaint.subject_value).where(
                Complaint.id == complaint_id,
                Complaint.vendor_id.is_(None),
                Complaint.subject_kind != ComplaintSubjectKind.VENDOR,
            )
        )
    ).one_or_none()
    if row is None:
        return []
    subject = Subject(SubjectKind(row.subject_kind.value), row.subject_value)
    evaluated: set[Any] = session.info.setdefault(_EVALUATED_IN_UNIT, set())
    if subject in evaluated:
        return []
    evaluated.add(subject)
    slugs, books = await _books_in_force(session, now)
    since = _since(books, now)
    if since is None:
        return []
    result = EvaluationResult(at=now)
    candidates = await _nonmember_candidates(
        session, subject, slugs=slugs, books=books, since=since, now=now, result=result
    )
    return await _open_in_unit(session, settings, candidates, now)


async def _open_in_unit(
    session: AsyncSession, settings: Settings, candidates: list[Candidate], now: datetime
) -> list[str]:
    """Open each candidate's case that nothing covers, in the caller's transaction."""
    opened = []
    for candidate in candidates:
        spec = spec_of(candidate.rule)
        bundle = evidence_bundle(
            spec, candidate.subject, candidate.association_slug, candidate.verdict, now
        )
        await lock_head(session)
        if await _covered(session, candidate, bundle):
            continue
        case = await open_case(session, settings, candidate, spec=spec, bundle=bundle, now=now)
        opened.append(case.reference)
    return opened


async def _nonmember_candidates(
    session: AsyncSession,
    subject: Subject,
    *,
    slugs: dict[int, str],
    books: dict[int, list[BlacklistRule]],
    since: datetime,
    now: datetime,
    result: EvaluationResult,
) -> list[Candidate]:
    """The rules that hold for a non-member subject, under its governing association."""
    governance = await governing_association(session, subject)
    rules = books.get(governance.association_id, [])
    if not rules:
        return []
    facts = await load_facts(session, subject, None, since=since, at=now)
    result.subjects += 1
    return _holding(
        facts,
        rules,
        now,
        result,
        association=(
            governance.association_id,
            slugs[governance.association_id],
            governance.basis,
        ),
        vendor=(None, None),
    )


async def _member_candidates(
    session: AsyncSession,
    member: MemberSubject,
    *,
    slugs: dict[int, str],
    books: dict[int, list[BlacklistRule]],
    since: datetime,
    now: datetime,
    result: EvaluationResult,
) -> list[Candidate]:
    rules = books.get(member.association_id, [])
    if not rules:
        return []
    subject = Subject(SubjectKind.VENDOR, member.slug)
    facts = await load_facts(session, subject, member.vendor_id, since=since, at=now)
    result.subjects += 1
    return _holding(
        facts,
        rules,
        now,
        result,
        association=(member.association_id, slugs[member.association_id], "member"),
        vendor=(member.vendor_id, member.slug),
    )


def _holding(
    facts: SubjectFacts,
    rules: list[BlacklistRule],
    now: datetime,
    result: EvaluationResult,
    *,
    association: tuple[int, str, str],
    vendor: tuple[int | None, str | None],
) -> list[Candidate]:
    found = []
    for rule in rules:
        verdict = evaluate(spec_of(rule), facts, now)
        result.rules_tested += 1
        if verdict.holds:
            result.holding += 1
            found.append(
                Candidate(
                    association[0],
                    association[1],
                    association[2],
                    facts.subject,
                    vendor[0],
                    vendor[1],
                    rule,
                    verdict,
                )
            )
    return found


async def _books_in_force(
    session: AsyncSession, now: datetime, *, only: int | None = None
) -> tuple[dict[int, str], dict[int, list[BlacklistRule]]]:
    """Association slugs by id, and the rules in force at `now` of each (or of `only`)."""
    query = select(Association.id, Association.slug)
    if only is not None:
        query = query.where(Association.id == only)
    slugs: dict[int, str] = {row.id: row.slug for row in await session.execute(query)}
    books: dict[int, list[BlacklistRule]] = {}
    for association_id in slugs:
        in_force = await rulebook_in_force(session, association_id, now)
        books[association_id] = in_force[1] if in_force else []
    return slugs, books


def _since(books: dict[int, list[BlacklistRule]], now: datetime) -> datetime | None:
    """The start of the longest window any rule in force looks at (None: no rules)."""
    longest = max(
        (window_days_of(spec_of(r)) for rules in books.values() for r in rules), default=0
    )
    return now - timedelta(days=longest) if longest else None


async def _covered(session: AsyncSession, candidate: Candidate, bundle: dict[str, Any]) -> bool:
    """An open case, a listing in force, or earlier cases citing every item already."""
    same = (
        BlacklistCase.association_id == candidate.association_id,
        BlacklistCase.subject_kind == candidate.subject.kind,
        BlacklistCase.subject_value == candidate.subject.value,
        BlacklistCase.rule_id == candidate.rule.rule_id,
    )
    earlier = (
        await session.execute(select(BlacklistCase.state, BlacklistCase.evidence).where(*same))
    ).all()
    if any(state in OPEN_CASE_STATES for state, _ in earlier):
        return True
    listed = await session.scalar(
        select(func.count())
        .select_from(Listing)
        .where(
            Listing.subject_kind == candidate.subject.kind,
            Listing.subject_value == candidate.subject.value,
            Listing.rule_id == candidate.rule.rule_id,
            Listing.state == ListingState.LISTED,
        )
    )
    if listed:
        return True
    cited: set[str] = set()
    for _, evidence in earlier:
        cited |= item_refs(evidence)
    return bool(earlier) and item_refs(bundle) <= cited


async def open_case(
    session: AsyncSession,
    settings: Settings,
    candidate: Candidate,
    *,
    spec: RuleSpec,
    bundle: dict[str, Any],
    now: datetime,
) -> BlacklistCase:
    """Write the case, its `opened` leaf (with the whole bundle) and the notice."""
    from registry.blacklist.notice import give_notice

    terms = await terms_of(session, candidate.association_id, settings)
    watch = bool(
        await session.scalar(
            select(func.count())
            .select_from(Listing)
            .where(
                Listing.subject_kind == candidate.subject.kind,
                Listing.subject_value == candidate.subject.value,
                Listing.state == ListingState.REPAIRED,
                Listing.watch_until > now,
            )
        )
    )
    answer_days = terms.watch_answer_window_days if watch else terms.answer_window_days
    number = (await session.scalar(select(func.max(BlacklistCase.id))) or 0) + 1
    digest = evidence_digest(bundle)
    case = BlacklistCase(
        reference=f"BL-{now.year}-{number:06d}",
        association_id=candidate.association_id,
        governance=candidate.governance,
        subject_kind=candidate.subject.kind,
        subject_value=candidate.subject.value,
        vendor_id=candidate.vendor_id,
        rule_row_id=candidate.rule.id,
        rule_id=spec.rule_id,
        rule_version=spec.version,
        rule_kind=spec.kind,
        tier_proposed=spec.tier_proposed,
        evaluated_at=now,
        evidence=bundle,
        evidence_digest=digest,
        terms=terms.to_json(),
        state=CaseState.AWAITING_ANSWER,
        opened_at=now,
        answer_due_at=window_end(now, answer_days, terms.day_counting),
        watch=watch,
        log_index=-1,
        created_at=now,
    )
    session.add(case)
    await session.flush()
    appender = LogAppender(session, now)
    opened = await record_step(
        session,
        case,
        StepKind.OPENED,
        {
            "association": candidate.association_slug,
            "governance": candidate.governance,
            "rule": spec.label,
            "tier_proposed": spec.tier_proposed.value,
            "evidence_digest": digest,
            "evidence": bundle,
            "watch": watch,
        },
        now,
        vendor_slug=candidate.vendor_slug,
        appender=appender,
    )
    case.log_index = opened.log_index
    publish(
        session,
        CaseOpened(case.id, case.association_id, case.tier_proposed, now),
    )
    await give_notice(
        session,
        case,
        vendor_slug=candidate.vendor_slug,
        answer_days=answer_days,
        terms=terms,
        now=now,
        appender=appender,
    )
    return case


__all__ = [
    "BlacklistRuleService",
    "Candidate",
    "EvaluationResult",
    "ReplayResult",
    "RuleInput",
    "RulebookView",
    "isoformat",
]
