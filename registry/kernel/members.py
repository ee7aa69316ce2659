"""Who is a member: the one rule, and the vendor identity every aggregate refers to.

A vendor row exists from its first application; it is a *member* once an association
admitted it, and stays one (suspended or expelled vendors keep their history, so every
page and API that names members names them). Every aggregate asks the same question, so
it is answered here once: `is_member` for a loaded status, `member_condition` inside a
query.

`VENDOR` is the vendor table's identity columns as a lightweight table: aggregates that
only name vendors (the transparency log, figures) read slug and names through it
without importing membership's model. A test checks it against the model.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.base import UTCDateTime
from registry.errors import NotFound


class VendorStatus(enum.StrEnum):
    """Membership status; certification has its own state machine."""

    APPLICANT = "applicant"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPELLED = "expelled"


def is_member(status: VendorStatus) -> bool:
    """True once an association admitted the vendor (applicants are not members yet)."""
    return status is not VendorStatus.APPLICANT


def member_condition(status: Any) -> ColumnElement[bool]:
    """`is_member` as a SQL condition on a vendor status column."""
    condition: ColumnElement[bool] = status != VendorStatus.APPLICANT
    return condition


VENDOR = table(
    "vendor",
    column("id", Integer),
    column("slug", String),
    column("name_zh", String),
    column("name_en", String),
    column("association_id", Integer),
    column("status", String),
    column("created_at", UTCDateTime()),
)
"""The vendor's identity columns, for reads that only name a vendor."""


@dataclass(frozen=True, slots=True)
class VendorRef:
    """A vendor as other aggregates name it: id, slug, association, names and status."""

    id: int
    slug: str
    association_id: int
    name_zh: str
    name_en: str
    status: VendorStatus
    created_at: datetime
    """When its first application created the row."""


_VENDOR_REF = select(
    VENDOR.c.id,
    VENDOR.c.slug,
    VENDOR.c.association_id,
    VENDOR.c.name_zh,
    VENDOR.c.name_en,
    VENDOR.c.status,
    VENDOR.c.created_at,
)


def _ref(row: Sequence[Any] | None) -> VendorRef | None:
    if row is None:
        return None
    vendor_id, slug, association_id, name_zh, name_en, status, created_at = row
    return VendorRef(
        vendor_id, slug, association_id, name_zh, name_en, VendorStatus(status), created_at
    )


async def vendor_by_id(session: AsyncSession, vendor_id: int) -> VendorRef | None:
    """Any vendor (applicant or member) by id."""
    return _ref((await session.execute(_VENDOR_REF.where(VENDOR.c.id == vendor_id))).first())


async def vendor_by_slug(session: AsyncSession, slug: str) -> VendorRef | None:
    """Any vendor (applicant or member) by slug."""
    return _ref((await session.execute(_VENDOR_REF.where(VENDOR.c.slug == slug))).first())


async def member_vendor(session: AsyncSession, slug: str) -> VendorRef:
    """The member vendor `slug`, or NotFound: the one "member by slug" lookup for the
    aggregates that do not own vendors."""
    vendor = await vendor_by_slug(session, slug)
    if vendor is None or not is_member(vendor.status):
        raise NotFound(f"no member vendor with slug {slug!r}")
    return vendor
