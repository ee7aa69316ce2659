"""What the public may read of the blacklist: listings and the notices of non-members' cases.

The public site's `/blacklist` pages ask this service only, and get frozen views back.
What is public follows the README ("Blacklist"): every listing, in force or ended, with
its case's timeline; and, before any decision, only the notice of a case about a subject
that is *not* a member vendor (it has no inbox, so its notice is public and the
governing association's mediators relay its answer). A member vendor's case is between
the vendor and its association until it is listed: to everyone else it does not exist.

Nothing personal leaves here. An evidence bundle names complaints by tracking code and
distinct complainants by labels (`c1`, `c2`…); the views carry only counts, categories,
criteria and the window, never the items themselves. Timeline steps keep their kind,
instant, log index and the decision they record (a vote's choice, a tally's outcome),
never the signed envelopes, statements, grounds or reasons people typed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.listings import TIER_POLICIES, repair_open_from
from registry.blacklist.models import (
    Appeal,
    BlacklistCase,
    BlacklistRule,
    CaseStep,
    Listing,
    Repair,
)
from registry.blacklist.public_views import (
    AppealView,
    AssociationName,
    BlacklistPage,
    BlacklistQuery,
    CaseRecord,
    EvidenceSummary,
    ListingRecord,
    ListingSummary,
    NoticeRecord,
    NoticeSummary,
    Procedure,
    PublicSubject,
    RepairView,
    RuleCited,
    TallyView,
    TimelineStep,
)
from registry.blacklist.states import (
    OPEN_CASE_STATES,
    CaseState,
    DayCounting,
    ListingState,
    StepKind,
    Tier,
)
from registry.context import RegistryContext
from registry.errors import NotFound
from registry.federation.models import Association
from registry.membership.models import Vendor, VendorDomain
from registry.pagination import Page

NOTICE: Final = "notice"
"""The `state` filter value that asks for published notices only."""
REFERENCE_LENGTH: Final = 32
STEP_DETAILS: Final = ("ballot", "choice", "tier", "outcome", "reason")
"""The fields of a step's leaf a timeline repeats: what was decided, never who wrote what.
(`reason` is the recusal's reason code — `affiliated`, `declared_conflict`, `voluntary` —
the only step whose leaf names one; typed reasons are not repeated.)"""
RECUSAL_REASONS: Final = frozenset({"affiliated", "declared_conflict", "voluntary"})


class BlacklistPublicReads:
    """Reads for the public pages; every method is open to anyone."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def search(self, query: BlacklistQuery) -> BlacklistPage:
        """Listings (in force and ended) and published notices matching `query`."""
        async with self.ctx.db.read() as session:
            associations = await _associations(session)
            listings: Page[ListingSummary] = Page([], 0, query.offset, query.limit)
            if not query.notices_only:
                listings = await _listing_page(session, query, associations)
            notices: tuple[NoticeSummary, ...] = ()
            notices_total = 0
            if query.state is None and query.tier is None:
                notices, notices_total = await _notices(
                    session, query, associations, self.ctx.settings.page_size_max
                )
        return BlacklistPage(
            listings, notices, notices_total, tuple(associations[k] for k in sorted(associations))
        )

    async def listing(self, reference: str) -> ListingRecord:
        """The record of the listing a case produced, or NotFound (an unlisted member
        case is not public, and reads exactly like one that does not exist)."""
        async with self.ctx.db.read() as session:
            row = (
                await session.execute(
                    select(Listing, BlacklistCase)
                    .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                    .where(BlacklistCase.reference == _reference(reference))
                )
            ).one_or_none()
            if row is None:
                raise NotFound(f"no blacklist listing {reference!r}")
            listing, case = row
            record = await _case_record(session, case)
            appeals = (
                await session.execute(
                    select(Appeal).where(Appeal.listing_id == listing.id).order_by(Appeal.id)
                )
            ).scalars()
            repairs = (
                await session.execute(
                    select(Repair).where(Repair.listing_id == listing.id).order_by(Repair.id)
                )
            ).scalars()
            appeal_views = tuple(
                AppealView(a.state, a.filed_at, a.decision_due_at, a.decided_at, _tally(a.tally))
                for a in appeals
            )
            repair_views = tuple(
                RepairView(r.state, r.applied_at, r.decision_due_at, r.decided_at, _tally(r.tally))
                for r in repairs
            )
        tally = _tally(listing.tally)
        assert tally is not None  # noqa: S101 - a listing is always decided by a tally
        return ListingRecord(
            case=record,
            tier=listing.tier,
            state=listing.state,
            decided_at=listing.decided_at,
            published_from=listing.published_from,
            published_until=listing.published_until,
            ended_at=listing.ended_at,
            ended_by=listing.end_ref.split(":", 1)[0] if listing.end_ref else None,
            watch_until=listing.watch_until,
            log_index=listing.log_index,
            tally=tally,
            appeals=appeal_views,
            repairs=repair_views,
            procedure=_procedure(
                listing, case.terms, appealed=bool(appeal_views), now=self.ctx.clock.now()
            ),
        )

    async def notice(self, reference: str) -> NoticeRecord:
        """The published notice of a non-member subject's case, or NotFound (a member
        vendor's case is never a public notice)."""
        async with self.ctx.db.read() as session:
            case = (
                await session.execute(
                    select(BlacklistCase).where(
                        BlacklistCase.reference == _reference(reference),
                        BlacklistCase.vendor_id.is_(None),
                    )
                )
            ).scalar_one_or_none()
            if case is None:
                raise NotFound(f"no published blacklist notice {reference!r}")
            record = await _case_record(session, case)
        now = self.ctx.clock.now()
        return NoticeRecord(
            case=record,
            answering_open=(
                case.state is CaseState.AWAITING_ANSWER
                and case.answered_at is None
                and now < case.answer_due_at
            ),
            listing_reference=case.reference if case.state is CaseState.LISTED else None,
        )

    async def vendor_listings(self, vendor_id: int) -> tuple[ListingSummary, ...]:
        """A member vendor's listings in force (minor ones included), newest first."""
        async with self.ctx.db.read() as session:
            associations = await _associations(session)
            rows = await session.execute(
                _listing_rows()
                .where(Listing.vendor_id == vendor_id, Listing.state == ListingState.LISTED)
                .order_by(Listing.published_from.desc(), Listing.id.desc())
            )
            return tuple(_listing_summary(row, associations) for row in rows)


# --- queries ----------------------------------------------------------------------------


def _reference(reference: str) -> str:
    return reference.strip().upper()[:REFERENCE_LENGTH]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _associations(session: AsyncSession) -> dict[int, AssociationName]:
    rows = await session.execute(
        select(Association.id, Association.slug, Association.name_zh, Association.name_en)
    )
    return {row.id: AssociationName(row.slug, row.name_zh, row.name_en) for row in rows}


def _text_condition(text: str, subject_value: Any, vendor_id: Any) -> Any:
    """A subject matches by its value (slug, domain, app id, credit code), a member
    vendor also by either name, its credit code or a verified domain."""
    needle = text.strip()
    pattern = f"%{_escape_like(needle.lower())}%"
    return or_(
        func.lower(subject_value).like(pattern, escape="\\"),
        vendor_id.in_(
            select(Vendor.id).where(
                or_(
                    Vendor.name_zh.contains(needle, autoescape=True),
                    func.lower(Vendor.name_en).like(pattern, escape="\\"),
                    Vendor.credit_code == needle.upper(),
                )
            )
        ),
        vendor_id.in_(
            select(VendorDomain.vendor_id).where(
                VendorDomain.domain.like(pattern, escape="\\"),
                VendorDomain.verified_at.is_not(None),
            )
        ),
    )


def _listing_rows() -> Select[Listing, BlacklistRule, str, str, str, str, str]:
    return (
        select(
            Listing,
            BlacklistRule,
            Vendor.slug,
            Vendor.name_zh,
            Vendor.name_en,
            Vendor.credit_code,
            BlacklistCase.reference,
        )
        .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
        .join(BlacklistRule, BlacklistRule.id == BlacklistCase.rule_row_id)
        .outerjoin(Vendor, Vendor.id == Listing.vendor_id)
    )


async def _listing_page(
    session: AsyncSession, query: BlacklistQuery, associations: Mapping[int, AssociationName]
) -> Page[ListingSummary]:
    statement = _listing_rows()
    if query.text and query.text.strip():
        statement = statement.where(
            _text_condition(query.text, Listing.subject_value, Listing.vendor_id)
        )
    if query.tier is not None:
        statement = statement.where(Listing.tier == query.tier)
    if query.state is not None:
        statement = statement.where(Listing.state == query.state)
    if query.rule_kind is not None:
        statement = statement.where(BlacklistRule.kind == query.rule_kind)
    if query.association is not None:
        statement = statement.where(
            Listing.association_id == _association_id(associations, query.association)
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.execute(
        statement.order_by(
            (Listing.state == ListingState.LISTED).desc(),
            Listing.published_from.desc(),
            Listing.id.desc(),
        )
        .offset(query.offset)
        .limit(query.limit)
    )
    return Page(
        [_listing_summary(row, associations) for row in rows],
        total or 0,
        query.offset,
        query.limit,
    )


def _association_id(associations: Mapping[int, AssociationName], slug: str) -> int:
    """The id of the association `slug`; -1 (matching nothing) for an unknown one."""
    return next((i for i, a in associations.items() if a.slug == slug), -1)


async def _notices(
    session: AsyncSession,
    query: BlacklistQuery,
    associations: Mapping[int, AssociationName],
    limit: int,
) -> tuple[tuple[NoticeSummary, ...], int]:
    """Open cases about non-members matching `query`, newest first: at most `limit` (the
    page says so when there are more), and how many there are."""
    statement = (
        select(BlacklistCase, BlacklistRule)
        .join(BlacklistRule, BlacklistRule.id == BlacklistCase.rule_row_id)
        .where(
            BlacklistCase.vendor_id.is_(None),
            BlacklistCase.state.in_(sorted(OPEN_CASE_STATES)),
        )
    )
    if query.text and query.text.strip():
        statement = statement.where(
            _text_condition(query.text, BlacklistCase.subject_value, BlacklistCase.vendor_id)
        )
    if query.rule_kind is not None:
        statement = statement.where(BlacklistCase.rule_kind == query.rule_kind)
    if query.association is not None:
        statement = statement.where(
            BlacklistCase.association_id == _association_id(associations, query.association)
        )
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = await session.execute(
        statement.order_by(BlacklistCase.opened_at.desc(), BlacklistCase.id.desc()).limit(limit)
    )
    notices = tuple(
        NoticeSummary(
            reference=case.reference,
            subject=PublicSubject(case.subject_kind, case.subject_value),
            association=associations[case.association_id],
            state=case.state,
            rule=_rule(rule),
            tier_proposed=case.tier_proposed,
            opened_at=case.opened_at,
            answer_due_at=case.answer_due_at,
        )
        for case, rule in rows
    )
    return notices, total or 0


def _listing_summary(row: Any, associations: Mapping[int, AssociationName]) -> ListingSummary:
    listing, rule, slug, name_zh, name_en, credit_code, reference = row
    return ListingSummary(
        reference=reference,
        subject=PublicSubject(
            listing.subject_kind, listing.subject_value, slug, name_zh, name_en, credit_code
        ),
        association=associations[listing.association_id],
        tier=listing.tier,
        state=listing.state,
        rule=_rule(rule),
        published_from=listing.published_from,
        published_until=listing.published_until,
        ended_at=listing.ended_at,
    )


def _rule(rule: BlacklistRule) -> RuleCited:
    return RuleCited(
        rule.rule_id,
        rule.version,
        rule.kind,
        rule.title_zh,
        rule.title_en,
        rule.text_zh,
        rule.text_en,
        rule.effective_from,
    )


async def _case_record(session: AsyncSession, case: BlacklistCase) -> CaseRecord:
    rule = await session.get(BlacklistRule, case.rule_row_id)
    association = await session.get(Association, case.association_id)
    assert rule is not None  # noqa: S101 - foreign key
    assert association is not None  # noqa: S101 - foreign key
    subject = PublicSubject(case.subject_kind, case.subject_value)
    if case.vendor_id is not None:
        vendor = await session.get(Vendor, case.vendor_id)
        if vendor is not None:
            subject = PublicSubject(
                case.subject_kind,
                case.subject_value,
                vendor.slug,
                vendor.name_zh,
                vendor.name_en,
                vendor.credit_code,
            )
    steps = (
        await session.execute(
            select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.id)
        )
    ).scalars()
    return CaseRecord(
        reference=case.reference,
        subject=subject,
        association=AssociationName(association.slug, association.name_zh, association.name_en),
        governance=case.governance,
        rule=_rule(rule),
        tier_proposed=case.tier_proposed,
        state=case.state,
        opened_at=case.opened_at,
        opened_log_index=case.log_index,
        answer_due_at=case.answer_due_at,
        answered_at=case.answered_at,
        decision_due_at=case.decision_due_at,
        decided_at=case.decided_at,
        evidence=evidence_summary(case.evidence),
        evidence_digest=case.evidence_digest,
        steps=tuple(_step(step) for step in steps),
    )


# --- pure shaping -------------------------------------------------------------------------


def evidence_summary(bundle: Mapping[str, Any]) -> EvidenceSummary:
    """Counts, categories, criteria and the window of an evidence bundle; its items (which
    name complaints and label complainants) stay out."""
    window = bundle.get("window") or {}
    items: Sequence[Mapping[str, Any]] = bundle.get("items") or []
    kinds = Counter(str(item.get("type")) for item in items)
    categories = Counter(str(item["category"]) for item in items if item.get("category"))
    criteria = sorted(
        {str(c) for item in items for c in _criteria(item)},
    )
    counts = tuple(
        (str(name), value)
        for name, value in (bundle.get("counts") or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    )
    return EvidenceSummary(
        window_from=_instant(window.get("from")),
        window_until=_instant(window.get("until")),
        counts=counts,
        items=tuple(sorted(kinds.items())),
        categories=tuple(sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))),
        criteria=tuple(criteria),
    )


def _criteria(item: Mapping[str, Any]) -> Iterable[str]:
    if isinstance(item.get("criteria"), list):
        yield from (str(c) for c in item["criteria"])
    if item.get("type") == "audit" and item.get("criterion"):
        yield str(item["criterion"])


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _tally(data: Mapping[str, Any] | None) -> TallyView | None:
    if not data:
        return None
    rule = data.get("rule") or {}
    tier = data.get("tier")
    return TallyView(
        eligible=int(data.get("eligible", 0)),
        quorum_needed=int(data.get("quorum_needed", 0)),
        cast=int(data.get("cast", 0)),
        counts=tuple((str(k), int(v)) for k, v in (data.get("counts") or {}).items()),
        quorate=bool(data.get("quorate")),
        outcome=data.get("outcome"),
        tier=Tier(tier) if tier else None,
        quorum=str(rule.get("quorum", "")),
        majority=str(rule.get("majority", "")),
    )


def _step(step: CaseStep) -> TimelineStep:
    body = {key: step.body.get(key) for key in STEP_DETAILS}
    ballot = body["ballot"]
    tier = body["tier"]
    reason = body["reason"]
    return TimelineStep(
        kind=step.kind,
        at=step.at,
        log_index=step.log_index,
        ballot=ballot.split(":", 1)[0] if isinstance(ballot, str) else None,
        choice=body["choice"] if isinstance(body["choice"], str) else None,
        tier=Tier(tier) if tier in {t.value for t in Tier} else None,
        outcome=body["outcome"] if isinstance(body["outcome"], str) else None,
        recusal_reason=reason
        if step.kind is StepKind.RECUSAL and reason in RECUSAL_REASONS
        else None,
    )


def _procedure(
    listing: Listing, terms: Mapping[str, Any], *, appealed: bool, now: datetime
) -> Procedure:
    policy = TIER_POLICIES[listing.tier]
    appeal_window = int(terms["appeal_window_days"])
    appeal_until = listing.decided_at + timedelta(days=appeal_window)
    return Procedure(
        certificate_effect=policy.effect,
        appeal_window_days=appeal_window,
        appeal_until=appeal_until,
        appeal_decision_days=int(terms["appeal_decision_days"]),
        may_appeal_now=(
            listing.state is ListingState.LISTED
            and listing.vendor_id is not None
            and not appealed
            and now < appeal_until
        ),
        repair_from=repair_open_from(listing.tier, listing.published_from),
        repair_decision_days=int(terms["repair_decision_days"]),
        day_counting=DayCounting(terms["day_counting"]),
        watch_period_days=int(terms["watch_period_days"]),
        min_months=policy.min_months,
        max_months=policy.max_months,
    )
