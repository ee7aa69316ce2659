"""Keeping the rollups equal to what the complaint and certificate tables say.

Two ways in, one rule:
- **incrementally**, a subscriber to every complaint event reads the complaint as it now
  stands, works out its contribution (`contribution`), compares it with what it last
  contributed (`complaint_fact`) and adds the difference to the rollup row(s), in the
  publisher's transaction, so a report never sees an event without its count;
- **from scratch**, `rebuild` recomputes every contribution from the complaint table and
  rewrites both tables (`registry reports rebuild`).

`naive_complaint_counts` is a third, independent computation: a plain GROUP BY over the
complaint table in SQL. The tests hold the rollup equal to it after random event
sequences, and the bench times it against the rollup.

The blacklist's figures follow the vendor rollup's pattern: each case event adds its
counts (`case_counts`) to `blacklist_rollup` and its wait, if it ends one
(`case_duration`), to `blacklist_duration`; `rebuild_blacklist` replays the same rules
over events rebuilt from the stored case, listing, appeal and repair rows (`case_events`).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Integer,
    bindparam,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from registry.blacklist.events import (
    AppealDecided,
    CaseDecided,
    CaseFact,
    CaseOpened,
    RepairApplied,
    RepairDecided,
)
from registry.blacklist.models import Appeal, BlacklistCase, Listing, Repair
from registry.blacklist.states import AppealState, CaseState, RepairState
from registry.certification.audit_models import AuditRecord
from registry.certification.events import AuditRecorded, CertificateTransitioned
from registry.certification.models import Certification, CertificationTransition, Scheme
from registry.certification.status import CertificationState
from registry.complaints.events import ComplaintFact as ComplaintHappened
from registry.complaints.models import Complaint, ComplaintCategory
from registry.db.bulk import DriverInsert
from registry.db.session import Database
from registry.events import DomainEvent, any_waiting
from registry.kernel import regions
from registry.membership.models import Vendor
from registry.reports.models import (
    BLACKLIST_COUNTERS,
    COMPLAINT_COUNTERS,
    NO_ASSOCIATION,
    RESPONSE_BUCKETS,
    RESPONSE_HOUR_EDGES,
    VENDOR_COUNTERS,
    BlacklistDuration,
    BlacklistRollup,
    ComplaintFact,
    ComplaintRollup,
    VendorRollup,
)
from registry.reports.tables import month_key

SATISFIED_FROM = 4
"""Ratings at or above this count as satisfied (satisfaction KPI, version 1)."""
DAY = timedelta(hours=24)
_BIT = {name: 1 << i for i, name in enumerate(COMPLAINT_COUNTERS)}
_REBUILD_BATCH = 100_000

RollupKey = tuple[int, int, str, str, str]
"""(month, association_id, region, category, vendor_size): a complaint_rollup row."""

# What a complaint's contribution is computed from, in this order.
COMPLAINT_COLUMNS = (
    Complaint.id,
    Complaint.created_at,
    Complaint.association_id,
    Complaint.vendor_id,
    Complaint.region,
    Complaint.category,
    Complaint.forwarded_at,
    Complaint.first_response_at,
    Complaint.first_response_due_at,
    Complaint.resolved_at,
    Complaint.escalated_at,
    Complaint.mediation_outcome,
    Complaint.substantiated,
    Complaint.rating,
    Complaint.duplicate_joined_at,
    select(Vendor.size)
    .where(Vendor.id == Complaint.vendor_id)
    .scalar_subquery()
    .label("vendor_size"),
)
"""The vendor's declared size is read with the complaint: a complaint counts under the size
its vendor had when the complaint last changed (`registry reports rebuild` re-files every
complaint under today's sizes)."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one complaint adds to the rollup: its key, its counter bits, its response
    bucket."""

    key: RollupKey
    flags: int
    response_bucket: int | None


def vendor_size_key(vendor_id: int | None, size: object) -> str:
    """The vendor-size dimension's key: none (no member vendor), the member's declared
    band, or unspecified when it declared none."""
    if vendor_id is None:
        return "none"
    if size is None:
        return "unspecified"
    return str(getattr(size, "value", size))


def response_bucket(hours: float) -> int:
    """Index of the histogram bucket (RESPONSE_HOUR_EDGES, upper edges inclusive)."""
    for i, edge in enumerate(RESPONSE_HOUR_EDGES):
        if hours <= edge:
            return i
    return len(RESPONSE_HOUR_EDGES)


def contribution(row: Any) -> Contribution | None:
    """A complaint row (COMPLAINT_COLUMNS) as counters; None for a duplicate a mediator
    joined into an earlier complaint (it is that complaint, not a second one)."""
    if row.duplicate_joined_at is not None:
        return None
    category = row.category.value if hasattr(row.category, "value") else str(row.category)
    response_bits, bucket = _response(row)
    bits = _BIT["filed"] | response_bits | _outcome(row, category)
    key = (
        month_key(row.created_at),
        row.association_id or NO_ASSOCIATION,
        row.region,
        category,
        vendor_size_key(row.vendor_id, row.vendor_size),
    )
    return Contribution(key, bits, bucket)


def _response(row: Any) -> tuple[int, int | None]:
    """Bits of forwarding and the first response, and the response-time bucket."""
    bits = _BIT["forwarded"] if row.forwarded_at is not None else 0
    if row.first_response_at is None:
        return bits, None
    bits |= _BIT["answered"]
    if row.first_response_due_at is None or row.first_response_at <= row.first_response_due_at:
        bits |= _BIT["answered_in_clock"]
    waited = row.first_response_at - (row.forwarded_at or row.created_at)
    if waited <= DAY:
        bits |= _BIT["answered_24h"]
    return bits, response_bucket(max(waited.total_seconds(), 0) / 3600)


def _outcome(row: Any, category: str) -> int:
    """Bits of resolution, escalation, mediation, substantiation and the rating."""
    bits = 0
    for name, happened in (
        ("resolved", row.resolved_at is not None),
        ("escalated", row.escalated_at is not None),
        ("mediated", row.mediation_outcome is not None),
        ("concluded", row.resolved_at is not None or row.mediation_outcome is not None),
        ("substantiated", bool(row.substantiated)),
        (
            "leak_confirmed",
            bool(row.substantiated)
            and category == ComplaintCategory.PERSONAL_INFORMATION_LEAK.value,
        ),
        ("rated", row.rating is not None),
        ("satisfied", row.rating is not None and row.rating >= SATISFIED_FROM),
    ):
        if happened:
            bits |= _BIT[name]
    return bits


def _counts(flags: int, bucket: int | None, sign: int) -> dict[str, int]:
    counts = {name: sign for name, bit in _BIT.items() if flags & bit}
    if bucket is not None:
        counts[RESPONSE_BUCKETS[bucket]] = sign
    return counts


def _insert_for(session: AsyncSession) -> Callable[[Any], Any]:
    return _dialect_insert(session.get_bind().dialect.name)


def _dialect_insert(dialect: str) -> Callable[[Any], Any]:
    """The INSERT with ON CONFLICT of the dialect named."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


_KEY_COLUMNS = ("month", "association_id", "region", "category", "vendor_size")


async def _add_to_rollup(session: AsyncSession, key: RollupKey, counts: dict[str, int]) -> None:
    """complaint_rollup[key] += counts, creating the row at zero when it is new."""
    if not any(counts.values()):
        return
    values: dict[str, Any] = dict(zip(_KEY_COLUMNS, key, strict=True))
    values["province"] = regions.province_of(key[2])
    values["prefecture"] = regions.prefecture_of(key[2])
    values.update(counts)
    dialect = session.get_bind().dialect.name
    await session.execute(_rollup_upsert(dialect, tuple(counts)), values)


@functools.lru_cache(maxsize=512)
def _rollup_upsert(dialect: str, counters: tuple[str, ...]) -> Any:
    """The upsert adding `counters` to a complaint_rollup row, built once per dialect and
    set of counters: building it anew cost more than running it, on every filing."""
    insert = _dialect_insert(dialect)
    table = ComplaintRollup.__table__
    columns = (*_KEY_COLUMNS, "province", "prefecture", *counters)
    statement = insert(ComplaintRollup).values({name: bindparam(name) for name in columns})
    return statement.on_conflict_do_update(
        index_elements=list(_KEY_COLUMNS),
        set_={name: table.c[name] + statement.excluded[name] for name in counters},
    )


async def refresh_complaints(session: AsyncSession, complaint_ids: Sequence[int]) -> None:
    """Bring the rollup in step with the complaints `complaint_ids` as they now stand."""
    ids = sorted(set(complaint_ids))
    if not ids:
        return
    rows = {
        row.id: row
        for row in await session.execute(select(*COMPLAINT_COLUMNS).where(Complaint.id.in_(ids)))
    }
    facts = {
        fact.complaint_id: fact
        for fact in (
            await session.scalars(select(ComplaintFact).where(ComplaintFact.complaint_id.in_(ids)))
        )
    }
    deltas: dict[RollupKey, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    for complaint_id in ids:
        row = rows.get(complaint_id)
        now = contribution(row) if row is not None else None
        fact = facts.get(complaint_id)
        before = (
            Contribution(
                (fact.month, fact.association_id, fact.region, fact.category, fact.vendor_size),
                fact.flags,
                fact.response_bucket,
            )
            if fact is not None
            else None
        )
        if now == before:
            continue
        if before is not None:
            for name, value in _counts(before.flags, before.response_bucket, -1).items():
                deltas[before.key][name] += value
        if now is not None:
            for name, value in _counts(now.flags, now.response_bucket, 1).items():
                deltas[now.key][name] += value
        if now is None:
            if fact is not None:
                await session.delete(fact)
            continue
        if fact is None:
            fact = ComplaintFact(complaint_id=complaint_id)
            session.add(fact)
        (fact.month, fact.association_id, fact.region, fact.category, fact.vendor_size) = now.key
        fact.flags = now.flags
        fact.response_bucket = now.response_bucket
    # One statement per rollup row however many complaints moved it, in key order so that
    # two transactions touching the same rows take their locks in the same order.
    for key in sorted(deltas):
        await _add_to_rollup(session, key, {n: v for n, v in deltas[key].items() if v})


_TO_REFRESH: Final = "reports.complaints_to_refresh"
"""Where a unit of work keeps the complaints its events named, until the last one."""


async def on_complaint_event(session: AsyncSession, event: DomainEvent) -> None:
    """Subscriber of every complaint event: the complaints' rollup rows follow them.

    The refresh reads the complaints as they stand, so it waits for the last complaint
    event of the unit of work and then refreshes every complaint the events named, at
    once: filing (Filed then Forwarded) refreshes once, and an SLA scan escalating a
    thousand complaints makes one read and one statement per rollup row it moves, not
    a thousand refreshes.
    """
    if not isinstance(event, ComplaintHappened):
        return
    named: set[int] = session.info.setdefault(_TO_REFRESH, set())
    named.add(event.complaint_id)
    if any_waiting(session, ComplaintHappened):
        return
    ids = sorted(named)
    named.clear()
    await refresh_complaints(session, ids)


# --- certificates and audits -------------------------------------------------------------


async def add_vendor_counts(
    session: AsyncSession, month: int, association_id: int, counts: dict[str, int]
) -> None:
    """vendor_rollup[month, association] += counts."""
    unknown = set(counts) - set(VENDOR_COUNTERS)
    if unknown:
        raise ValueError(f"not vendor counters: {sorted(unknown)}")
    insert = _insert_for(session)
    table = VendorRollup.__table__
    statement = insert(table).values(month=month, association_id=association_id, **counts)
    statement = statement.on_conflict_do_update(
        index_elements=["month", "association_id"],
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )
    await session.execute(statement)


def certificate_counts(event: CertificateTransitioned) -> list[tuple[int, dict[str, int]]]:
    """(month, counters) a transition adds: a grant in the month it happens; a renewal in
    the month it happens and, as a certificate falling due renewed in time, in the month
    its old validity was to end; an expiry as a certificate falling due, not renewed, in
    the month its validity ended (renewal KPI)."""
    counts: list[tuple[int, dict[str, int]]] = []
    if event.granted:
        counts.append((month_key(event.at), {"granted": 1}))
    if event.renewed and event.previous_valid_until is not None:
        counts.append((month_key(event.at), {"renewed": 1}))
        counts.append(
            (month_key(event.previous_valid_until), {"due": 1, "renewed_before_expiry": 1})
        )
    if event.expired:
        ended = event.previous_valid_until or event.valid_until or event.at
        counts.append((month_key(ended), {"due": 1, "expired": 1}))
    return counts


async def on_certificate_transitioned(
    session: AsyncSession, event: CertificateTransitioned
) -> None:
    """Subscriber: the vendor rollup follows every certificate transition."""
    for month, counts in certificate_counts(event):
        await add_vendor_counts(session, month, event.association_id, counts)


MAJOR = "major_nonconformity"


async def on_audit_recorded(session: AsyncSession, event: AuditRecorded) -> None:
    """An audit finding a major nonconformity in an information-security criterion is a
    security incident (leak-incidents KPI), counted in the month it was recorded."""
    if any(is_security_criterion(c) for c in event.major_nonconformities):
        await add_vendor_counts(
            session, month_key(event.at), event.association_id, {"security_incidents": 1}
        )


SECURITY_CRITERIA_MARKERS = ("security", "privacy", "personal-information", "pii", "leak")
"""Criterion ids of the information-security pillar contain one of these words."""


def is_security_criterion(criterion_id: str) -> bool:
    """True for a criterion of the information-security pillar."""
    lowered = criterion_id.lower()
    return any(marker in lowered for marker in SECURITY_CRITERIA_MARKERS)


BlacklistKey = tuple[int, int, str]
"""(month, association_id, tier): a blacklist_rollup row."""
_CASE_OUTCOMES = {
    CaseState.LISTED: "listed",
    CaseState.NOT_LISTED: "not_listed",
    CaseState.LAPSED: "lapsed",
}


def case_counts(event: CaseFact) -> dict[str, int]:
    """The counters one case step adds, in the month of the step, under the event's
    association and tier (the figures' definitions are in the README)."""
    if isinstance(event, CaseOpened):
        return {"opened": 1}
    if isinstance(event, CaseDecided):
        return {_CASE_OUTCOMES[event.outcome]: 1}
    if isinstance(event, AppealDecided):
        return {"appeals": 1, "appeals_overturned": int(event.outcome is AppealState.OVERTURNED)}
    if isinstance(event, RepairApplied):
        return {"repairs_applied": 1}
    if isinstance(event, RepairDecided):
        return {"repairs_granted": int(event.outcome is RepairState.GRANTED)}
    raise TypeError(f"not a counted case step: {type(event).__name__}")


async def add_blacklist_counts(
    session: AsyncSession, key: BlacklistKey, counts: dict[str, int]
) -> None:
    """blacklist_rollup[key] += counts, creating the row at zero when it is new."""
    counts = {name: value for name, value in counts.items() if value}
    if not counts:
        return
    unknown = set(counts) - set(BLACKLIST_COUNTERS)
    if unknown:
        raise ValueError(f"not blacklist counters: {sorted(unknown)}")
    insert = _insert_for(session)
    table = BlacklistRollup.__table__
    month, association_id, tier = key
    statement = insert(table).values(
        month=month, association_id=association_id, tier=tier, **counts
    )
    statement = statement.on_conflict_do_update(
        index_elements=["month", "association_id", "tier"],
        set_={name: table.c[name] + statement.excluded[name] for name in counts},
    )
    await session.execute(statement)


def blacklist_key(event: CaseFact) -> BlacklistKey:
    """Where a case step is counted: the month it happened (UTC), its association, tier."""
    return (month_key(event.at), event.association_id, event.tier.value)


DurationKey = tuple[int, str]
"""(case_id, kind): a blacklist_duration row."""
Duration = tuple[int, int, str, float]
"""(month, association_id, tier, days) of a blacklist_duration row."""


def case_duration(event: CaseFact) -> tuple[DurationKey, Duration] | None:
    """The wait a case step ends, if it ends one the medians count: a decision to list or
    not (days since the case opened), or a granted repair (days since the application;
    the listing ends at the grant)."""
    key = blacklist_key(event)
    if isinstance(event, CaseDecided) and event.outcome in {
        CaseState.LISTED,
        CaseState.NOT_LISTED,
    }:
        return (event.case_id, "decision"), (*key, _days(event.at - event.opened_at))
    if isinstance(event, RepairDecided) and event.outcome is RepairState.GRANTED:
        return (event.case_id, "delisting"), (*key, _days(event.at - event.applied_at))
    return None


def _days(wait: timedelta) -> float:
    return wait.total_seconds() / DAY.total_seconds()


async def put_duration(session: AsyncSession, key: DurationKey, duration: Duration) -> None:
    """Write (or rewrite) one wait of blacklist_duration."""
    insert = _insert_for(session)
    month, association_id, tier, days = duration
    values = {"month": month, "association_id": association_id, "tier": tier, "days": days}
    statement = insert(BlacklistDuration.__table__).values(case_id=key[0], kind=key[1], **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["case_id", "kind"], set_=values)
    )


async def on_case_event(session: AsyncSession, event: CaseFact) -> None:
    """Subscriber: the blacklist rollup, and the waits behind its medians, follow every
    counted case step."""
    await add_blacklist_counts(session, blacklist_key(event), case_counts(event))
    duration = case_duration(event)
    if duration is not None:
        await put_duration(session, *duration)


async def case_events(session: AsyncSession) -> list[CaseFact]:
    """Every counted case step, rebuilt from the stored case, listing, appeal and repair
    rows as the events that recorded them (what `rebuild_blacklist` replays)."""
    events: list[CaseFact] = []
    cases = await session.execute(
        select(BlacklistCase, Listing.tier).outerjoin(Listing, Listing.case_id == BlacklistCase.id)
    )
    for row, listed_tier in cases:
        events.append(CaseOpened(row.id, row.association_id, row.tier_proposed, row.opened_at))
        if row.decided_at is not None and row.state in _CASE_OUTCOMES:
            tier = listed_tier if row.state is CaseState.LISTED else row.tier_proposed
            events.append(
                CaseDecided(
                    row.id,
                    row.association_id,
                    tier,
                    row.decided_at,
                    outcome=row.state,
                    opened_at=row.opened_at,
                )
            )
    appeals = await session.execute(
        select(Appeal, Listing.association_id, Listing.tier)
        .join(Listing, Listing.id == Appeal.listing_id)
        .where(Appeal.decided_at.is_not(None))
    )
    for appeal, association_id, tier in appeals:
        assert appeal.decided_at is not None  # noqa: S101 - the query's own condition
        events.append(
            AppealDecided(
                appeal.case_id,
                association_id,
                tier,
                appeal.decided_at,
                appeal_id=appeal.id,
                listing_id=appeal.listing_id,
                outcome=appeal.state,
            )
        )
    repairs = await session.execute(
        select(Repair, Listing.association_id, Listing.tier).join(
            Listing, Listing.id == Repair.listing_id
        )
    )
    for repair, association_id, tier in repairs:
        events.append(
            RepairApplied(
                repair.case_id,
                association_id,
                tier,
                repair.applied_at,
                repair_id=repair.id,
                listing_id=repair.listing_id,
            )
        )
        if repair.decided_at is not None:
            events.append(
                RepairDecided(
                    repair.case_id,
                    association_id,
                    tier,
                    repair.decided_at,
                    repair_id=repair.id,
                    listing_id=repair.listing_id,
                    outcome=repair.state,
                    applied_at=repair.applied_at,
                )
            )
    return events


def sum_case_events(events: Iterable[CaseFact]) -> dict[BlacklistKey, dict[str, int]]:
    """Every non-zero blacklist counter by rollup key, summed from `events`."""
    sums: dict[BlacklistKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in events:
        for name, value in case_counts(event).items():
            if value:
                sums[blacklist_key(event)][name] += value
    return {key: dict(counts) for key, counts in sums.items()}


def case_durations(events: Iterable[CaseFact]) -> dict[DurationKey, Duration]:
    """Every wait the medians count, from `events`."""
    return dict(found for event in events if (found := case_duration(event)) is not None)


async def rebuild_blacklist(db: Database, progress: Callable[[int, int], None]) -> int:
    """Recompute blacklist_rollup and blacklist_duration from the case rows in one
    transaction (the same rules as the subscriber, fed from the stored history); returns
    the case steps read."""
    async with db.transaction() as session:
        events = await case_events(session)
        total = len(events)
        progress(0, total)
        await session.execute(delete(BlacklistRollup))
        await session.execute(delete(BlacklistDuration))
        sums = sum_case_events(events)
        for done, (key, counts) in enumerate(sums.items(), start=1):
            await add_blacklist_counts(session, key, counts)
            progress(min(total, done), total)
        durations = [
            {
                "case_id": case_id,
                "kind": kind,
                "month": month,
                "association_id": association_id,
                "tier": tier,
                "days": days,
            }
            for (case_id, kind), (month, association_id, tier, days) in case_durations(
                events
            ).items()
        ]
        if durations:
            await session.execute(BlacklistDuration.__table__.insert(), durations)  # type: ignore[attr-defined]
        progress(total, total)
    return total


async def stored_durations(session: AsyncSession) -> dict[DurationKey, Duration]:
    """Every row of blacklist_duration, for comparison with `case_durations`."""
    return {
        (row.case_id, row.kind): (row.month, row.association_id, row.tier, row.days)
        for row in await session.scalars(select(BlacklistDuration))
    }


async def rollup_blacklist_counts(session: AsyncSession) -> dict[BlacklistKey, dict[str, int]]:
    """Every non-zero counter of blacklist_rollup by key, for comparison with a full
    recomputation (`sum_case_events(await case_events(session))`)."""
    result: dict[BlacklistKey, dict[str, int]] = {}
    for row in await session.scalars(select(BlacklistRollup)):
        counts = {n: int(getattr(row, n)) for n in BLACKLIST_COUNTERS if getattr(row, n)}
        if counts:
            result[(row.month, row.association_id, row.tier)] = counts
    return result


# --- from scratch ------------------------------------------------------------------------


async def rebuild_complaints(db: Database, progress: Callable[[int, int], None]) -> int:
    """Recompute complaint_fact and complaint_rollup from the complaint table in one
    transaction; `progress(done, total)` after each batch. Returns the complaints read.

    The per-complaint facts are written by INSERT … SELECT in id ranges (the database does
    the arithmetic, with the SQL form of the rules, `_complaint_sql`, which the tests hold
    equal to the incremental Python form), then the rollup rows by one GROUP BY over the
    narrow facts."""
    fact_columns = [
        "complaint_id",
        "month",
        "association_id",
        "region",
        "category",
        "vendor_size",
        "flags",
        "response_bucket",
    ]
    rollup_columns = [c.key for c in ComplaintRollup.__table__.c]
    rollup_insert = DriverInsert(ComplaintRollup.__table__, rollup_columns)  # type: ignore[arg-type]
    fact_table = ComplaintFact.__table__
    async with db.transaction() as session:
        dialect = session.get_bind().dialect.name
        total = int(await session.scalar(select(func.count()).select_from(Complaint)) or 0)
        low, high = (
            await session.execute(select(func.min(Complaint.id), func.max(Complaint.id)))
        ).one()
        await session.execute(delete(ComplaintFact))
        await session.execute(delete(ComplaintRollup))
        done = 0
        progress(0, total)
        if low is not None:
            for first in range(low, high + 1, _REBUILD_BATCH):
                last = first + _REBUILD_BATCH - 1
                await session.execute(
                    fact_table.insert().from_select(  # type: ignore[attr-defined]
                        fact_columns, _fact_select(dialect, first, last)
                    )
                )
                done = min(total, done + _REBUILD_BATCH)
                progress(done, total)
        sums: dict[RollupKey, list[int]] = {}
        for row in await session.execute(_rollup_from_facts()):
            key = (int(row[0]), int(row[1]), row[2], row[3], row[4])
            sums[key] = [int(value) for value in row[5:]]
        connection = await session.connection()
        await rollup_insert.execute(connection, list(_rollup_rows(sums, rollup_columns)))
        progress(total, total)
    return total


@dataclass(frozen=True)
class Backfilled:
    """What `backfill_if_empty` rebuilt: complaints, certificate history and blacklist
    case steps read."""

    complaints: int
    history: int
    case_steps: int = 0


async def backfill_if_empty(
    db: Database, progress: Callable[[int, int], None] = lambda done, total: None
) -> Backfilled | None:
    """Rebuild the rollups when they are empty while the tables they count are not: a
    deployment upgraded past 0015_reports or 0018_blacklist_figures, which created them
    empty (`registry serve` and
    `registry db upgrade` call this after migrating). None when nothing was missing; a
    rollup that merely lags is not detected here (`registry reports rebuild` is)."""
    async with db.read() as session:
        facts = await session.scalar(select(ComplaintFact.complaint_id).limit(1))
        complaints = await session.scalar(
            select(Complaint.id).where(Complaint.duplicate_joined_at.is_(None)).limit(1)
        )
        vendor_rows = await session.scalar(select(VendorRollup.month).limit(1))
        transitions = await session.scalar(select(CertificationTransition.id).limit(1))
        audits = await session.scalar(select(AuditRecord.id).limit(1))
        blacklist_rows = await session.scalar(select(BlacklistRollup.month).limit(1))
        cases = await session.scalar(select(BlacklistCase.id).limit(1))
    complaints_missing = facts is None and complaints is not None
    vendors_missing = vendor_rows is None and (transitions is not None or audits is not None)
    # 0018_blacklist_figures created the blacklist's rollup empty beside existing cases.
    blacklist_missing = blacklist_rows is None and cases is not None
    if not (complaints_missing or vendors_missing or blacklist_missing):
        return None
    read = await rebuild_complaints(db, progress) if complaints_missing else 0
    history = await rebuild_vendors(db) if vendors_missing else 0
    steps = await rebuild_blacklist(db, progress) if blacklist_missing else 0
    return Backfilled(read, history, steps)


async def rebuild_vendors(db: Database) -> int:
    """Recompute vendor_rollup from the certificate transitions and the audits (the same
    rules as the subscribers, fed from the stored history); returns the rows read."""
    transitions = (
        select(
            CertificationTransition.certification_id,
            CertificationTransition.vendor_id,
            Scheme.association_id,
            Certification.scheme_id,
            CertificationTransition.from_state,
            CertificationTransition.to_state,
            CertificationTransition.level,
            CertificationTransition.valid_until,
            CertificationTransition.cause,
            CertificationTransition.cause_ref,
            CertificationTransition.log_index,
            CertificationTransition.at,
        )
        .join(Certification, Certification.id == CertificationTransition.certification_id)
        .join(Scheme, Scheme.id == Certification.scheme_id)
        .order_by(CertificationTransition.certification_id, CertificationTransition.id)
    )
    audits = select(AuditRecord.received_at, AuditRecord.outcomes, Vendor.association_id).join(
        Vendor, Vendor.id == AuditRecord.vendor_id
    )
    sums: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    read = 0
    async with db.transaction() as session:
        await session.execute(delete(VendorRollup))
        previous: dict[int, datetime | None] = {}
        for row in await session.execute(transitions):
            read += 1
            event = CertificateTransitioned(
                certification_id=row.certification_id,
                vendor_id=row.vendor_id,
                association_id=row.association_id,
                scheme_id=row.scheme_id,
                from_state=None if row.from_state is None else CertificationState(row.from_state),
                to_state=CertificationState(row.to_state),
                level=row.level,
                previous_valid_until=previous.get(row.certification_id),
                valid_until=row.valid_until,
                cause=row.cause,
                cause_ref=row.cause_ref,
                log_index=row.log_index,
                at=row.at,
                record={},  # the leaf body; the counting rules do not read it
            )
            previous[row.certification_id] = row.valid_until
            for month, counts in certificate_counts(event):
                for name, value in counts.items():
                    sums[(month, row.association_id)][name] += value
        for received_at, outcomes, association_id in await session.execute(audits):
            read += 1
            majors = [c for c, outcome in (outcomes or {}).items() if outcome == MAJOR]
            if any(is_security_criterion(c) for c in majors):
                sums[(month_key(received_at), association_id)]["security_incidents"] += 1
        for (month, association_id), counts in sums.items():
            await add_vendor_counts(session, month, association_id, dict(counts))
    return read


def _rollup_rows(
    sums: dict[RollupKey, list[int]], columns: Sequence[str]
) -> Iterable[tuple[Any, ...]]:
    names = [*COMPLAINT_COUNTERS, *RESPONSE_BUCKETS]
    for key, vector in sums.items():
        values: dict[str, Any] = dict(zip(_KEY_COLUMNS, key, strict=True))
        values["province"] = regions.province_of(key[2])
        values["prefecture"] = regions.prefecture_of(key[2])
        values.update(zip(names, vector, strict=True))
        yield tuple(values[c] for c in columns)


# --- the independent recomputation ----------------------------------------------------------


def _month_sql(dialect: str, column: Any) -> Any:
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        return cast(extract("year", utc) * 100 + extract("month", utc), Integer)
    return cast(func.strftime("%Y%m", column), Integer)


def hours_sql(dialect: str, later: Any, earlier: Any) -> Any:
    """Hours from `earlier` to `later` as an SQL expression (fractional)."""
    if dialect == "postgresql":
        return extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _flag(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


@dataclass(frozen=True)
class _ComplaintSql:
    """A complaint's rollup key and counters as SQL expressions over the complaint row:
    the same rules as `contribution`, written a second time, independently, in SQL."""

    month: Any
    association: Any
    size: Any
    conditions: dict[str, Any]
    buckets: list[Any]
    """One condition per RESPONSE_BUCKETS entry."""


def _complaint_sql(dialect: str) -> _ComplaintSql:
    c = Complaint
    started = func.coalesce(c.forwarded_at, c.created_at)
    hours = hours_sql(dialect, c.first_response_at, started)
    answered = c.first_response_at.is_not(None)
    upheld = c.substantiated.is_(True)
    conditions = {
        "filed": literal(True).is_(True),
        "forwarded": c.forwarded_at.is_not(None),
        "answered": answered,
        "answered_in_clock": answered
        & (c.first_response_due_at.is_(None) | (c.first_response_at <= c.first_response_due_at)),
        "answered_24h": answered & (hours <= 24.0),
        "resolved": c.resolved_at.is_not(None),
        "escalated": c.escalated_at.is_not(None),
        "mediated": c.mediation_outcome.is_not(None),
        "substantiated": upheld,
        "concluded": c.resolved_at.is_not(None) | c.mediation_outcome.is_not(None),
        "rated": c.rating.is_not(None),
        "satisfied": c.rating >= literal(SATISFIED_FROM),
        "leak_confirmed": upheld & (c.category == ComplaintCategory.PERSONAL_INFORMATION_LEAK),
    }
    edges = [0.0, *[float(e) for e in RESPONSE_HOUR_EDGES]]
    buckets = []
    for i in range(len(RESPONSE_BUCKETS)):
        if i == 0:
            buckets.append(answered & (hours <= edges[1]))
        elif i == len(RESPONSE_HOUR_EDGES):
            buckets.append(answered & (hours > edges[i]))
        else:
            buckets.append(answered & (hours > edges[i]) & (hours <= edges[i + 1]))
    return _ComplaintSql(
        month=_month_sql(dialect, c.created_at),
        association=func.coalesce(c.association_id, literal(NO_ASSOCIATION)),
        size=case(
            (c.vendor_id.is_(None), literal("none")),
            else_=func.coalesce(
                select(Vendor.size).where(Vendor.id == c.vendor_id).scalar_subquery(),
                literal("unspecified"),
            ),
        ),
        conditions=conditions,
        buckets=buckets,
    )


def naive_complaint_select(dialect: str) -> Any:
    """SELECT month, association, region, category, vendor size, counters… FROM complaint
    GROUP BY …: the rollup computed the slow way, straight from the complaint table."""
    c = Complaint
    sql = _complaint_sql(dialect)
    return (
        select(
            sql.month.label("month"),
            sql.association.label("association_id"),
            c.region,
            c.category,
            sql.size.label("vendor_size"),
            *(_flag(sql.conditions[name]).label(name) for name in COMPLAINT_COUNTERS),
            *(_flag(cond).label(RESPONSE_BUCKETS[i]) for i, cond in enumerate(sql.buckets)),
        )
        .where(c.duplicate_joined_at.is_(None))
        .group_by(sql.month, sql.association, c.region, c.category, sql.size)
    )


def _rollup_from_facts() -> Any:
    """complaint_rollup's counters summed from the facts' bits (the rebuild's second step)."""
    f = ComplaintFact
    keys = [f.month, f.association_id, f.region, f.category, f.vendor_size]
    return select(
        *keys,
        *(_flag(f.flags.op("&")(_BIT[name]) != 0) for name in COMPLAINT_COUNTERS),
        *(_flag(f.response_bucket == i) for i in range(len(RESPONSE_BUCKETS))),
    ).group_by(*keys)


def _fact_select(dialect: str, first_id: int, last_id: int) -> Any:
    """Each complaint's contribution (a complaint_fact row) computed in SQL."""
    c = Complaint
    sql = _complaint_sql(dialect)
    flags = sum(
        (case((sql.conditions[name], _BIT[name]), else_=0) for name in COMPLAINT_COUNTERS),
        start=literal(0),
    )
    bucket = case(*((cond, i) for i, cond in enumerate(sql.buckets)), else_=null())
    return select(
        c.id,
        sql.month,
        sql.association,
        c.region,
        c.category,
        sql.size,
        flags,
        bucket,
    ).where(c.duplicate_joined_at.is_(None), c.id >= first_id, c.id <= last_id)


async def naive_complaint_counts(session: AsyncSession) -> dict[RollupKey, dict[str, int]]:
    """Every non-zero complaint counter by rollup key, by the naive GROUP BY."""
    dialect = session.get_bind().dialect.name
    result: dict[RollupKey, dict[str, int]] = {}
    names = [*COMPLAINT_COUNTERS, *RESPONSE_BUCKETS]
    for row in await session.execute(naive_complaint_select(dialect)):
        category = row.category.value if hasattr(row.category, "value") else str(row.category)
        key = (int(row.month), int(row.association_id), row.region, category, row.vendor_size)
        counts = {n: int(getattr(row, n)) for n in names if getattr(row, n)}
        if counts:
            result[key] = counts
    return result


async def rollup_complaint_counts(session: AsyncSession) -> dict[RollupKey, dict[str, int]]:
    """Every non-zero counter of complaint_rollup by key (zero rows left by
    subtraction are skipped), for comparison with `naive_complaint_counts`."""
    names = [*COMPLAINT_COUNTERS, *RESPONSE_BUCKETS]
    result: dict[RollupKey, dict[str, int]] = {}
    for row in await session.scalars(select(ComplaintRollup)):
        counts = {n: int(getattr(row, n)) for n in names if getattr(row, n)}
        if counts:
            key = (row.month, row.association_id, row.region, row.category, row.vendor_size)
            result[key] = counts
    return result


def month_of(moment: datetime) -> int:
    """yyyymm (UTC) of a moment, the month key of every rollup."""
    return month_key(moment)
