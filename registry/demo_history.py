"""Demo complaint history: two years of complaints across provinces and categories, so the
reports and the statistics page show a real picture at once, and the bench data
(`registry demo --complaints 1000000`) in a minute rather than a day.

The demo's own complaints (`complaints/demo.py`) walk through `ComplaintService` one
request at a time; at thousands or millions of complaints that would take hours. The
history is planned here as pure data (`plan_history`: a seeded random generator, no
database) and written in bulk (`write_history`: `DriverInsert` multi-row inserts of
complaints and their threads, with the transparency-log leaves of the decisions among
them). It keeps every invariant live traffic keeps:

- tracking codes of the same shape and alphabet, unique; consumer secrets random and only
  their hash stored (nobody holds them: these consumers never come back);
- contacts sealed with the PII key, fingerprints keyed, exactly as `file` stores them;
- SLA clocks from the association's policy: a first response either comes before its
  deadline or the complaint is escalated at that deadline (breach recorded); a proposal
  comes before the resolution deadline; a complaint still open today has its running
  clock due in the future, so the SLA scan finds nothing to catch up;
- every state change is a thread entry at the moment it happened; breaches and mediation
  findings are transparency-log leaves (appended now, the way a catch-up scan would).

Webhooks are not sent for history (nobody was listening two years ago), and rollups that
subscribe to domain events are rebuilt from the tables after the history is written.

The picture: more complaints before 618 (June) and Double 11 (November), fewer around the
Spring Festival; a slowly growing volume; the first association's vendors answer faster
and satisfy more people month by month, the second's stay where they were.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.complaints.consumers import (
    TRACKING_ALPHABET,
    TRACKING_GROUP_LENGTH,
    TRACKING_GROUPS,
)
from registry.complaints.demo import GIVEN, STORIES, SURNAMES
from registry.complaints.forwarding import clocks
from registry.complaints.messages import PROVINCES
from registry.complaints.models import (
    ActorKind,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSlaPolicy,
    ComplaintStatus,
    EventKind,
    MediationOutcome,
    SlaClock,
    SubjectKind,
)
from registry.complaints.pii import Contact, PiiVault
from registry.context import RegistryContext
from registry.db.bulk import DriverInsert
from registry.db.session import Database
from registry.federation.models import Association
from registry.membership.models import Vendor
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

DEMO_HISTORY_COMPLAINTS = 3000
"""How many history complaints `registry demo` files by default: enough for every
province × category × month cell a report shows, few enough for `make run`."""
HISTORY_MONTHS = 24
HISTORY_BATCH = 5000
"""Complaints per insert transaction (threads and leaves included)."""

SEASON = (1.0, 0.7, 0.95, 0.95, 1.0, 1.25, 1.05, 1.0, 0.95, 0.9, 1.45, 1.15)
"""Relative volume by calendar month: the Spring Festival lull in February, the 618 sales
in June, Double 11 in November and the year-end renewals in December."""
GROWTH = 0.2
"""Volume grows by this share from the first month of the history to the last."""
PROVINCE_WEIGHTS = {
    "440000": 14.0,
    "110000": 10.0,
    "310000": 10.0,
    "330000": 9.0,
    "320000": 9.0,
    "510000": 5.0,
    "370000": 5.0,
    "420000": 4.0,
    "350000": 4.0,
    "430000": 3.5,
    "410000": 3.5,
    "500000": 3.0,
    "610000": 3.0,
    "120000": 2.5,
}
"""Where complaints come from (the digital economy's weight); every other province 1."""
CATEGORY_WEIGHTS = {
    ComplaintCategory.BILLING_REFUND: 25.0,
    ComplaintCategory.QUALITY_BELOW_STANDARD: 20.0,
    ComplaintCategory.MISSING_AFTER_SALES: 18.0,
    ComplaintCategory.FALSE_ADVERTISING: 14.0,
    ComplaintCategory.PERSONAL_INFORMATION_LEAK: 8.0,
    ComplaintCategory.UNFAIR_TERMS: 8.0,
    ComplaintCategory.OTHER: 7.0,
}


@dataclass(frozen=True)
class Performance:
    """How an association's vendors behave at one point of the history (0 = first month,
    1 = last): the chance of answering in time, and of a rating of 4 or 5."""

    on_time_start: float
    on_time_end: float
    satisfied_start: float
    satisfied_end: float

    def on_time(self, progress: float) -> float:
        """Chance that the first response beats its deadline."""
        return self.on_time_start + (self.on_time_end - self.on_time_start) * progress

    def satisfied(self, progress: float) -> float:
        """Chance that a rating is 4 or 5."""
        return self.satisfied_start + (self.satisfied_end - self.satisfied_start) * progress

    @property
    def improving(self) -> bool:
        """Whether answers come sooner as the history goes on."""
        return self.on_time_end > self.on_time_start


IMPROVING = Performance(
    on_time_start=0.55, on_time_end=0.93, satisfied_start=0.58, satisfied_end=0.88
)
STEADY = Performance(on_time_start=0.64, on_time_end=0.62, satisfied_start=0.66, satisfied_end=0.64)


@dataclass(frozen=True)
class HistoryVendor:
    """A member vendor the history files against, with its association's clocks."""

    vendor_id: int
    slug: str
    association_id: int
    admitted_at: datetime
    first_response: timedelta
    resolution: timedelta
    performance: Performance


@dataclass(frozen=True)
class Step:
    """One state change of a planned complaint."""

    at: datetime
    to: ComplaintStatus
    actor: ActorKind
    body: str | None = None


@dataclass
class PlannedComplaint:
    """One history complaint as it stands today: its facts, its thread, its decisions."""

    vendor: HistoryVendor
    filed_at: datetime
    category: ComplaintCategory
    region: str
    steps: list[Step]
    status: ComplaintStatus
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    escalated_at: datetime | None = None
    closed_at: datetime | None = None
    breached_clock: SlaClock | None = None
    breached_at: datetime | None = None
    sla_clock: SlaClock | None = None
    sla_due_at: datetime | None = None
    proposal: str | None = None
    conceded: bool = False
    outcome: MediationOutcome | None = None
    substantiated: bool = False
    rating: int | None = None
    rated_at: datetime | None = None

    @property
    def first_response_due_at(self) -> datetime:
        """Forwarded at filing, so the clock runs from then."""
        return self.filed_at + self.vendor.first_response

    @property
    def resolution_due_at(self) -> datetime:
        """The resolution clock runs from forwarding too."""
        return self.filed_at + self.vendor.resolution


PROPOSAL = "为您办理退款并补偿一个月会员。"
ACKNOWLEDGEMENT = "您好，已收到您的投诉，我们正在核实。"
REJECTION = "方案不能接受"
MEDIATION_NOTE = "调解员已听取双方意见"


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instant (UTC) of each of the last `months` calendar months, oldest first,
    the current month last."""
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def plan_history(
    rng: random.Random,
    count: int,
    now: datetime,
    vendors: Sequence[HistoryVendor],
    months: int = HISTORY_MONTHS,
) -> Iterator[PlannedComplaint]:
    """`count` complaints over the last `months` calendar months, oldest first.

    Pure: the same seed, time and vendors give the same history. A vendor is complained
    about only after it was admitted."""
    starts = month_starts(now, months)
    ends = [*starts[1:], now]
    full_month = ends[0] - starts[0]
    # A month before any vendor was admitted gets no complaints: `count` falls in the
    # months that have someone to complain about (`--months 36` reaches back past the
    # demo vendors' admission).
    weights = [
        any(v.admitted_at < start for v in vendors)
        * SEASON[start.month - 1]
        * (1 + GROWTH * position / max(1, months - 1))
        # The current month has only run part of its course.
        * ((end - start) / full_month if position == months - 1 else 1.0)
        for position, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]
    provinces = list(PROVINCES)
    province_weights = list(itertools.accumulate(PROVINCE_WEIGHTS.get(c, 1.0) for c in provinces))
    categories = list(CATEGORY_WEIGHTS)
    category_weights = list(itertools.accumulate(CATEGORY_WEIGHTS.values()))
    if not any(weights):
        return
    chosen_months = sorted(rng.choices(range(months), weights=weights, k=count))
    for month, in_month in itertools.groupby(chosen_months):
        start, end = starts[month], ends[month]
        eligible = [v for v in vendors if v.admitted_at < start]
        if not eligible:
            continue
        # The first vendors of the register draw more complaints than the last.
        vendor_weights = list(itertools.accumulate(1.0 / (1 + i / 4) for i in range(len(eligible))))
        for _ in in_month:
            filed_at = start + (end - start) * rng.random()
            vendor = rng.choices(eligible, cum_weights=vendor_weights)[0]
            planned = PlannedComplaint(
                vendor=vendor,
                filed_at=filed_at,
                category=rng.choices(categories, cum_weights=category_weights)[0],
                region=rng.choices(provinces, cum_weights=province_weights)[0],
                steps=[
                    Step(filed_at, ComplaintStatus.SUBMITTED, ActorKind.CONSUMER),
                    Step(filed_at, ComplaintStatus.FORWARDED, ActorKind.SYSTEM),
                ],
                status=ComplaintStatus.FORWARDED,
            )
            _play(rng, planned, month / max(1, months - 1))
            yield _as_of(planned, now)


def _play(rng: random.Random, planned: PlannedComplaint, progress: float) -> None:
    """Plan the whole story, whatever the date; `_as_of` cuts it at today."""
    vendor = planned.vendor
    due = planned.first_response_due_at
    if rng.random() >= vendor.performance.on_time(progress):
        # No answer in time: the SLA scan escalates at the deadline, a mediator decides.
        escalated = due
        planned.steps.append(
            Step(
                escalated,
                ComplaintStatus.ESCALATED,
                ActorKind.SYSTEM,
                f"{SlaClock.FIRST_RESPONSE.value} due {escalated.isoformat()} was missed",
            )
        )
        _mediate(rng, planned, escalated, progress, upheld=rng.random() < 0.7)
        return
    window = vendor.first_response.total_seconds()
    # Faster answers as an association improves: the typical answer moves earlier.
    typical = window * (0.75 - 0.45 * progress * vendor.performance.improving)
    answered = planned.filed_at + timedelta(
        seconds=min(window * 0.98, max(600.0, rng.expovariate(1 / max(typical, 600.0))))
    )
    planned.steps.append(
        Step(answered, ComplaintStatus.ACKNOWLEDGED, ActorKind.VENDOR, ACKNOWLEDGEMENT)
    )
    room = (planned.resolution_due_at - answered).total_seconds()
    proposed = answered + timedelta(seconds=room * rng.uniform(0.1, 0.8))
    planned.conceded = rng.random() < 0.45
    planned.steps.append(
        Step(proposed, ComplaintStatus.RESOLUTION_PROPOSED, ActorKind.VENDOR, PROPOSAL)
    )
    decided = proposed + timedelta(hours=rng.uniform(2, 48))
    if rng.random() < 0.12:
        planned.steps.append(
            Step(decided, ComplaintStatus.ESCALATED, ActorKind.CONSUMER, REJECTION)
        )
        _mediate(rng, planned, decided, progress, upheld=rng.random() < 0.4)
        return
    planned.steps.append(Step(decided, ComplaintStatus.RESOLVED, ActorKind.CONSUMER))
    _rate(rng, planned, decided, planned.vendor.performance.satisfied(progress), odds=0.7)


def _mediate(
    rng: random.Random,
    planned: PlannedComplaint,
    escalated: datetime,
    progress: float,
    *,
    upheld: bool,
) -> None:
    mediated = escalated + timedelta(days=rng.uniform(1, 6))
    planned.outcome = MediationOutcome.UPHELD if upheld else MediationOutcome.NOT_UPHELD
    planned.steps.append(
        Step(mediated, ComplaintStatus.MEDIATED, ActorKind.MEDIATOR, MEDIATION_NOTE)
    )
    closed = mediated + timedelta(hours=rng.uniform(1, 24))
    planned.steps.append(Step(closed, ComplaintStatus.CLOSED, ActorKind.MEDIATOR))
    # A consumer whose complaint was not upheld is rarely pleased, whoever improves.
    chance = planned.vendor.performance.satisfied(progress) * (1.0 if upheld else 0.4)
    _rate(rng, planned, closed, chance, odds=0.5)


def _rate(
    rng: random.Random, planned: PlannedComplaint, after: datetime, chance: float, *, odds: float
) -> None:
    """With probability `odds` the consumer rates; 4 or 5 with probability `chance`."""
    if rng.random() >= odds:
        return
    satisfied = rng.random() < chance
    planned.rating = rng.choice((4, 5, 5)) if satisfied else rng.choice((1, 2, 2, 3, 3))
    planned.rated_at = after + timedelta(hours=rng.uniform(1, 72))


def _as_of(planned: PlannedComplaint, now: datetime) -> PlannedComplaint:
    """Keep the steps that happened before `now` and derive the complaint's columns."""
    planned.steps = [step for step in planned.steps if step.at <= now]
    planned.status = planned.steps[-1].to
    for step in planned.steps:
        if step.to is ComplaintStatus.ACKNOWLEDGED:
            planned.first_response_at = step.at
        elif step.to is ComplaintStatus.RESOLUTION_PROPOSED:
            planned.proposal = PROPOSAL
        elif step.to is ComplaintStatus.ESCALATED:
            planned.escalated_at = step.at
            if step.actor is ActorKind.SYSTEM:
                planned.breached_clock = SlaClock.FIRST_RESPONSE
                planned.breached_at = step.at
        elif step.to is ComplaintStatus.RESOLVED:
            planned.resolved_at = planned.closed_at = step.at
            planned.substantiated = planned.conceded
        elif step.to is ComplaintStatus.MEDIATED:
            planned.substantiated = planned.outcome is MediationOutcome.UPHELD or (
                planned.conceded and planned.proposal is not None
            )
        elif step.to is ComplaintStatus.CLOSED:
            planned.closed_at = step.at
    if not any(step.to is ComplaintStatus.MEDIATED for step in planned.steps):
        planned.outcome = None
    if planned.proposal is None:
        planned.conceded = False
    if planned.closed_at is None or planned.rated_at is None or planned.rated_at > now:
        planned.rating = planned.rated_at = None
    _running_clock(planned)
    return planned


def _running_clock(planned: PlannedComplaint) -> None:
    """The clock the vendor races today: none once it has answered with a proposal."""
    if planned.status is ComplaintStatus.FORWARDED:
        planned.sla_clock, planned.sla_due_at = (
            SlaClock.FIRST_RESPONSE,
            planned.first_response_due_at,
        )
    elif planned.status is ComplaintStatus.ACKNOWLEDGED:
        planned.sla_clock, planned.sla_due_at = SlaClock.RESOLUTION, planned.resolution_due_at


# --- writing ------------------------------------------------------------------------------

_COMPLAINT_COLUMNS = (
    "tracking_code",
    "secret_hash",
    "association_id",
    "vendor_id",
    "subject_kind",
    "subject_value",
    "product",
    "category",
    "description",
    "desired_remedy",
    "region",
    "occurred_on",
    "language",
    "status",
    "contact_sealed",
    "contact_fingerprint",
    "ip_fingerprint",
    "consent_to_share",
    "first_response_due_at",
    "resolution_due_at",
    "sla_due_at",
    "sla_clock",
    "forwarded_at",
    "first_response_at",
    "resolved_at",
    "escalated_at",
    "closed_at",
    "breached_clock",
    "breached_at",
    "proposal",
    "vendor_conceded",
    "mediation_outcome",
    "substantiated",
    "duplicates_merged",
    "rating",
    "rated_at",
    "id",
    "created_at",
)
_EVENT_COLUMNS = ("complaint_id", "kind", "actor", "from_status", "to_status", "body", "created_at")


def _tracking_codes() -> Iterator[str]:
    """Unique codes in the live format; drawn from the OS's randomness like live ones."""
    alphabet = TRACKING_ALPHABET
    length = TRACKING_GROUPS * TRACKING_GROUP_LENGTH
    # byte -> alphabet[byte % len(alphabet)] for all 256 bytes at once (bytes.translate).
    letters = bytes(ord(alphabet[byte % len(alphabet)]) for byte in range(256))
    seen: set[str] = set()
    while True:
        chars = os.urandom(length).translate(letters).decode("ascii")
        code = "-".join(
            chars[i : i + TRACKING_GROUP_LENGTH] for i in range(0, length, TRACKING_GROUP_LENGTH)
        )
        if code not in seen:
            seen.add(code)
            yield code


class _RowMaker:
    """Turns planned complaints into insert rows, sealing contacts as `file` does."""

    def __init__(self, rng: random.Random, vault: PiiVault) -> None:
        self.rng = rng
        self.vault = vault
        self.codes = _tracking_codes()
        # TEST-NET-1 (RFC 5737): the walked-through demos file from the other two ranges,
        # and their rate limits must not count two years of history.
        self.ip_fingerprints = [vault.fingerprint("ip", f"192.0.2.{i}") for i in range(1, 255)]

    def complaint(self, complaint_id: int, planned: PlannedComplaint) -> tuple[Any, ...]:
        rng = self.rng
        description, remedy = STORIES[planned.category]
        phone = f"13{rng.randint(100000000, 999999999)}"
        contact = Contact(name=rng.choice(SURNAMES) + rng.choice(GIVEN), phone=phone)
        return (
            next(self.codes),
            hashlib.sha256(os.urandom(32)).hexdigest(),
            planned.vendor.association_id,
            planned.vendor.vendor_id,
            SubjectKind.VENDOR,
            planned.vendor.slug,
            f"{planned.vendor.slug} 会员服务",
            planned.category,
            description,
            remedy,
            planned.region,
            (planned.filed_at - timedelta(days=rng.randint(0, 20))).date(),
            "zh",
            planned.status,
            self.vault.seal(contact),
            # contact.normalised(), written out: the phone is digits already.
            self.vault.fingerprint("contact", "phone:" + phone),
            rng.choice(self.ip_fingerprints),
            rng.random() < 0.8,
            planned.first_response_due_at,
            planned.resolution_due_at,
            planned.sla_due_at,
            planned.sla_clock,
            planned.filed_at,
            planned.first_response_at,
            planned.resolved_at,
            planned.escalated_at,
            planned.closed_at,
            planned.breached_clock,
            planned.breached_at,
            planned.proposal,
            planned.conceded,
            planned.outcome,
            planned.substantiated,
            0,
            planned.rating,
            planned.rated_at,
            complaint_id,
            planned.filed_at,
        )

    @staticmethod
    def events(complaint_id: int, planned: PlannedComplaint) -> Iterator[tuple[Any, ...]]:
        previous: ComplaintStatus | None = None
        for step in planned.steps:
            yield (
                complaint_id,
                EventKind.TRANSITION,
                step.actor,
                previous,
                step.to,
                step.body,
                step.at,
            )
            previous = step.to


def _leaves(code: str, planned: PlannedComplaint) -> Iterator[PendingLeaf]:
    """The decisions in this complaint's past that live traffic would have logged."""
    vendor = planned.vendor
    if planned.breached_at is not None:
        yield PendingLeaf(
            EntryType.COMPLAINT_SLA_BREACH,
            {
                "tracking_code": code,
                "clock": SlaClock.FIRST_RESPONSE.value,
                "due_at": planned.breached_at.isoformat().replace("+00:00", "Z"),
                "category": planned.category.value,
            },
            vendor_id=vendor.vendor_id,
            vendor_slug=vendor.slug,
        )
    if planned.outcome is not None:
        yield PendingLeaf(
            EntryType.COMPLAINT_MEDIATED,
            {
                "tracking_code": code,
                "outcome": planned.outcome.value,
                "substantiated": planned.substantiated,
                "category": planned.category.value,
            },
            vendor_id=vendor.vendor_id,
            vendor_slug=vendor.slug,
        )


async def history_vendors(
    session: AsyncSession, settings: Settings, improving_association_id: int | None
) -> list[HistoryVendor]:
    """Every member vendor with its association's clocks; `improving_association_id`'s
    vendors get better over the history, the others stay as they were."""
    policies = {
        row.association_id: row
        for row in (await session.execute(select(ComplaintSlaPolicy))).scalars()
    }
    vendors = []
    for vendor in (await session.execute(select(Vendor).order_by(Vendor.id))).scalars():
        first_response, resolution = clocks(settings, policies.get(vendor.association_id))
        vendors.append(
            HistoryVendor(
                vendor_id=vendor.id,
                slug=vendor.slug,
                association_id=vendor.association_id,
                # Applied, then approved within the day: file only after that.
                admitted_at=vendor.created_at + timedelta(days=1),
                first_response=first_response,
                resolution=resolution,
                performance=IMPROVING
                if vendor.association_id == improving_association_id
                else STEADY,
            )
        )
    return vendors


ProgressCallback = Callable[[int], None]


async def write_history(
    db: Database,
    vault: PiiVault,
    planned: Iterator[PlannedComplaint],
    now: datetime,
    *,
    seed: int,
    advance: ProgressCallback,
) -> int:
    """Insert the planned complaints, their threads and their log leaves in batches of
    HISTORY_BATCH, each batch one transaction; returns how many were written."""
    rows = _RowMaker(random.Random(seed), vault)  # noqa: S311 - demo data, not secrets
    complaint_insert = DriverInsert(Complaint.__table__, _COMPLAINT_COLUMNS)  # type: ignore[arg-type]
    event_insert = DriverInsert(ComplaintEvent.__table__, _EVENT_COLUMNS)  # type: ignore[arg-type]
    written = 0
    batch: list[PlannedComplaint] = []

    async def flush() -> None:
        nonlocal written
        async with db.transaction() as session:
            # Explicit ids tie each thread entry to its complaint without reading back.
            first = (await session.scalar(select(func.max(Complaint.id))) or 0) + 1
            complaint_rows = [rows.complaint(first + i, p) for i, p in enumerate(batch)]
            event_rows = [e for i, p in enumerate(batch) for e in rows.events(first + i, p)]
            leaves = [
                leaf
                for row, p in zip(complaint_rows, batch, strict=True)
                for leaf in _leaves(row[0], p)
            ]
            connection = await session.connection()
            await complaint_insert.execute(connection, complaint_rows)
            await event_insert.execute(connection, event_rows)
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('complaint', 'id'), "
                        "(SELECT max(id) FROM complaint))"
                    )
                )
            if leaves:
                await LogAppender(session, now).append_many(leaves)
        written += len(batch)
        advance(len(batch))
        batch.clear()

    for complaint in planned:
        batch.append(complaint)
        if len(batch) >= HISTORY_BATCH:
            await flush()
    if batch:
        await flush()
    return written


async def load_complaint_history(
    ctx: RegistryContext,
    vault: PiiVault,
    count: int,
    *,
    improving_association: str,
    months: int = HISTORY_MONTHS,
    seed: int = 20240601,
) -> int:
    """File `count` history complaints against the member vendors (see the module's
    docstring), with a progress bar; returns how many were written."""
    now = ctx.clock.now()
    async with ctx.db.read() as session:
        improving_id = await session.scalar(
            select(Association.id).where(Association.slug == improving_association)
        )
        vendors = await history_vendors(session, ctx.settings, improving_id)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("complaint history", total=count)
        return await write_history(
            ctx.db,
            vault,
            plan_history(rng, count, now, vendors, months),
            now,
            seed=seed + 1,
            advance=lambda n: progress.advance(task, n),
        )
