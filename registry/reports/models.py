"""Rollup tables the reports read, the partner scopes, the access log and the snapshots.

The rollups are sums kept in the same transaction as the events they count, so a report
reads a few thousand pre-summed rows instead of grouping millions of complaints. Each
complaint's own contribution is kept once more in `complaint_fact`: a subscriber compares
the complaint as it is now with what it last contributed and adds the difference, so
every event (filed, answered, resolved, rated, escalated, mediated, a vendor attached)
is handled by the same idempotent step, and `registry reports rebuild` can recompute the
whole from the complaint table and compare.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db.base import Base, IdMixin

RESPONSE_HOUR_EDGES: tuple[int, ...] = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168)
"""Upper edges (inclusive, hours) of the response-time histogram the medians are read
from; the last bucket holds everything slower than a week."""
RESPONSE_BUCKETS = tuple(f"rt_{i:02d}" for i in range(len(RESPONSE_HOUR_EDGES) + 1))

COMPLAINT_COUNTERS: tuple[str, ...] = (
    "filed",
    "forwarded",
    "answered",
    "answered_in_clock",
    "answered_24h",
    "resolved",
    "escalated",
    "mediated",
    "substantiated",
    "concluded",
    "rated",
    "satisfied",
    "leak_confirmed",
)
"""What a complaint contributes, each 0 or 1 (see `registry.reports.kpis`)."""
VENDOR_COUNTERS: tuple[str, ...] = (
    "granted",
    "renewed",
    "expired",
    "due",
    "renewed_before_expiry",
    "security_incidents",
)
"""Certificate and audit events, by month and association."""
BLACKLIST_COUNTERS: tuple[str, ...] = (
    "opened",
    "listed",
    "not_listed",
    "lapsed",
    "appeals",
    "appeals_overturned",
    "repairs_applied",
    "repairs_granted",
)
"""Blacklist case steps, by month, association and tier (see `rollups.case_counts`)."""
NO_ASSOCIATION = 0
"""Rollup keys are NOT NULL (so an upsert can find its row): a complaint about an
unregistered subject belongs to association 0 until a vendor is attached."""


def _counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0, server_default="0")


class ComplaintFact(Base):
    """What one complaint contributes to `complaint_rollup`, as of its last event."""

    __tablename__ = "complaint_fact"

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[int] = mapped_column(Integer)
    """yyyymm (UTC) of filing: the cohort every counter of the complaint belongs to."""
    association_id: Mapped[int] = mapped_column(Integer)
    region: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(32))
    vendor_size: Mapped[str] = mapped_column(String(16))
    flags: Mapped[int] = mapped_column(Integer)
    """Bit i set when the complaint counts in COMPLAINT_COUNTERS[i]."""
    response_bucket: Mapped[int | None] = mapped_column(Integer)
    """Index into RESPONSE_BUCKETS of the first response time; NULL while unanswered."""


class ComplaintRollup(Base):
    """Complaint counters summed by month, association, region, category and vendor size."""

    __tablename__ = "complaint_rollup"

    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    """The code as filed (GB/T 2260; province, prefecture or county)."""
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_size: Mapped[str] = mapped_column(String(16), primary_key=True)
    """"none" for a complaint about an unregistered subject, "unspecified" for a member
    vendor (the membership record has no size yet)."""
    province: Mapped[str] = mapped_column(String(6))
    prefecture: Mapped[str] = mapped_column(String(6))

    filed: Mapped[int] = _counter()
    forwarded: Mapped[int] = _counter()
    answered: Mapped[int] = _counter()
    answered_in_clock: Mapped[int] = _counter()
    answered_24h: Mapped[int] = _counter()
    resolved: Mapped[int] = _counter()
    escalated: Mapped[int] = _counter()
    mediated: Mapped[int] = _counter()
    substantiated: Mapped[int] = _counter()
    concluded: Mapped[int] = _counter()
    rated: Mapped[int] = _counter()
    satisfied: Mapped[int] = _counter()
    leak_confirmed: Mapped[int] = _counter()
    rt_00: Mapped[int] = _counter()
    rt_01: Mapped[int] = _counter()
    rt_02: Mapped[int] = _counter()
    rt_03: Mapped[int] = _counter()
    rt_04: Mapped[int] = _counter()
    rt_05: Mapped[int] = _counter()
    rt_06: Mapped[int] = _counter()
    rt_07: Mapped[int] = _counter()
    rt_08: Mapped[int] = _counter()
    rt_09: Mapped[int] = _counter()
    rt_10: Mapped[int] = _counter()

    __table_args__ = (
        Index("ix_complaint_rollup_month_province", "month", "province"),
        Index("ix_complaint_rollup_month_prefecture", "month", "prefecture"),
    )


class VendorRollup(Base):
    """Certificate and audit counters by month and association."""

    __tablename__ = "vendor_rollup"

    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granted: Mapped[int] = _counter()
    renewed: Mapped[int] = _counter()
    expired: Mapped[int] = _counter()
    due: Mapped[int] = _counter()
    """Certificates whose validity ended in this month (renewed before, or expired)."""
    renewed_before_expiry: Mapped[int] = _counter()
    security_incidents: Mapped[int] = _counter()


class BlacklistRollup(Base):
    """Blacklist case steps by month (of the step), association and tier.

    Each counter is attributed to the month its own step happened (a case opened in
    October and listed in November counts in both months), unlike the complaint cohort:
    the list's figures say what the committees did in a period. The waits behind the
    medians are kept apart, one row each (`BlacklistDuration`).
    """

    __tablename__ = "blacklist_rollup"

    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    association_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tier: Mapped[str] = mapped_column(String(16), primary_key=True)
    """The tier the rule proposed (opened, not listed, lapsed) or the listing's tier
    (listed, appeals, repairs)."""
    opened: Mapped[int] = _counter()
    listed: Mapped[int] = _counter()
    not_listed: Mapped[int] = _counter()
    """Decided not to list (lapsed cases are counted apart)."""
    lapsed: Mapped[int] = _counter()
    appeals: Mapped[int] = _counter()
    """Appeals decided: upheld, overturned, or lapsed (the panel missed its deadline)."""
    appeals_overturned: Mapped[int] = _counter()
    repairs_applied: Mapped[int] = _counter()
    repairs_granted: Mapped[int] = _counter()


class BlacklistDuration(Base):
    """One measured wait behind the blacklist's medians: a case's days from opening to a
    decision to list or not (`decision`), or a granted repair's days from application to
    delisting (`delisting`), under the month, association and tier of the decision.

    Kept beside `blacklist_rollup` by the same subscriber: a median needs every value,
    not a sum, and reading these narrow rows by month is what keeps the figures fast
    (docs/architecture.md, `reports.blacklist_rollup`)."""

    __tablename__ = "blacklist_duration"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("blacklist_case.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """`decision` or `delisting` (a case has at most one of each: a granted repair ends
    its listing)."""
    month: Mapped[int] = mapped_column(Integer, index=True)
    association_id: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(16))
    days: Mapped[float] = mapped_column(Float)


class PartnerScope(IdMixin, Base):
    """One region or association a government partner may see; a partner has one or more."""

    __tablename__ = "partner_scope"

    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principal.id", ondelete="CASCADE"), index=True
    )
    region: Mapped[str | None] = mapped_column(String(6))
    association_id: Mapped[int | None] = mapped_column(ForeignKey("association.id"))


class ReportAccess(IdMixin, Base):
    """Who asked for which report, when: every partner query, readable by the federation."""

    __tablename__ = "report_access"

    at: Mapped[datetime]
    principal_id: Mapped[int] = mapped_column(ForeignKey("principal.id"), index=True)
    token_id: Mapped[int | None]
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The report asked for: KPIs, period, dimensions, scope, format."""
    cells: Mapped[int]
    """How many cells the answer had (suppressed ones included)."""


class ReportSnapshot(IdMixin, Base):
    """A month's public reports, frozen and signed by the federation key."""

    __tablename__ = "report_snapshot"

    serial: Mapped[int] = mapped_column(Integer, unique=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)
    """yyyy-mm of the month the snapshot freezes."""
    issued_at: Mapped[datetime]
    next_update: Mapped[datetime]
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    """The DSSE envelope's exact bytes, as served and as logged."""
    envelope_digest: Mapped[str] = mapped_column(String(64), unique=True)
    log_index: Mapped[int | None]
    tables: Mapped[str] = mapped_column(Text)
    """The frozen tables as RFC 8785 JSON (`{"tables": [...]}`), whose digests the
    envelope signs; served with the envelope as the snapshot document."""
