"""The identifier index of the listings in force, kept in the transaction of every change.

A listing is entered in `blacklist_identifier` when it is published (`committee._list`)
and removed when it ends (`committee.end_listing`: expiry, retraction on appeal, repair),
and a domain a listed vendor proves later is added by the `blacklist.index_domain`
reaction to `VendorDomainVerified`. Each of these raises the generation in
`blacklist_identifier_head` in the same transaction, so a worker that kept the index in
memory (`registry.blacklist.check`) knows from one single-row read that it is old.

A listing's identifiers: its subject (kind and value), and when the subject is a member
vendor, the vendor's slug, its unified social credit code and every domain it has proven
(a claim still pending is not the vendor's, and may be anyone's). Membership records no
app ids of a vendor, so an app id is an identifier only of a listing whose subject it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import String, delete, func, insert, literal, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from registry.blacklist.matching import KINDS, ListingIndex, ListingInForce, normalise
from registry.blacklist.models import (
    BlacklistCase,
    BlacklistIdentifier,
    BlacklistIdentifierHead,
    BlacklistSnapshot,
    Listing,
)
from registry.blacklist.states import ListingState, SubjectKind
from registry.db.session import Database
from registry.membership.models import Vendor, VendorDomain

_HEAD_ID = 1


async def index_listing(session: AsyncSession, listing: Listing) -> None:
    """Enter a listing just published (flushed, so it has its id) with its identifiers."""
    identifiers = {_normalised(listing.subject_kind, listing.subject_value)}
    if listing.vendor_id is not None:
        identifiers |= await _vendor_identifiers(session, listing.vendor_id)
    await session.execute(
        insert(BlacklistIdentifier),
        [
            {"kind": kind, "value": value, "listing_id": listing.id}
            for kind, value in sorted(identifiers)
        ],
    )
    await raise_generation(session)


async def unindex_listing(session: AsyncSession, listing_id: int) -> None:
    """Remove an ended listing's identifiers: from now on the check does not report it."""
    await session.execute(
        delete(BlacklistIdentifier).where(BlacklistIdentifier.listing_id == listing_id)
    )
    await raise_generation(session)


async def index_proven_domain(session: AsyncSession, vendor_id: int, domain: str) -> int:
    """A domain the vendor has just proven becomes an identifier of each of its listings
    in force; returns how many listings that was."""
    listings = list(
        (
            await session.execute(
                select(Listing.id).where(
                    Listing.vendor_id == vendor_id, Listing.state == ListingState.LISTED
                )
            )
        ).scalars()
    )
    if not listings:
        return 0
    value = _normalised(SubjectKind.DOMAIN, domain)[1]
    known = set(
        (
            await session.execute(
                select(BlacklistIdentifier.listing_id).where(
                    BlacklistIdentifier.kind == SubjectKind.DOMAIN,
                    BlacklistIdentifier.value == value,
                    BlacklistIdentifier.listing_id.in_(listings),
                )
            )
        ).scalars()
    )
    new = [listing for listing in listings if listing not in known]
    if new:
        await session.execute(
            insert(BlacklistIdentifier),
            [
                {"kind": SubjectKind.DOMAIN, "value": value, "listing_id": listing}
                for listing in new
            ],
        )
        await raise_generation(session)
    return len(new)


async def raise_generation(session: AsyncSession) -> None:
    """Mark the index changed, in the caller's transaction."""
    raised = await session.execute(
        update(BlacklistIdentifierHead)
        .where(BlacklistIdentifierHead.id == _HEAD_ID)
        .values(generation=BlacklistIdentifierHead.generation + 1)
    )
    if raised.rowcount == 0:  # type: ignore[attr-defined] # CursorResult of an UPDATE
        # The migration writes the row; a schema made otherwise starts it here.
        session.add(BlacklistIdentifierHead(id=_HEAD_ID, generation=1))
        await session.flush()


async def generation(session: AsyncSession) -> int:
    """The index's generation now (0 before any change)."""
    found = await session.scalar(
        select(BlacklistIdentifierHead.generation).where(BlacklistIdentifierHead.id == _HEAD_ID)
    )
    return int(found or 0)


@dataclass(frozen=True, slots=True)
class IndexHead:
    """The index's generation and the latest snapshot, read by one statement (so they
    agree on every database without a stricter isolation level)."""

    generation: int
    serial: int | None
    digest: str | None


async def index_head(connection: AsyncConnection) -> IndexHead:
    """The generation and the latest snapshot's serial and payload digest: the one read
    of every bulk check (a single statement of three scalar subqueries)."""
    latest = (
        select(BlacklistSnapshot.serial, BlacklistSnapshot.payload_digest)
        .order_by(BlacklistSnapshot.serial.desc())
        .limit(1)
        .subquery()
    )
    row = (
        await connection.execute(
            select(
                select(BlacklistIdentifierHead.generation)
                .where(BlacklistIdentifierHead.id == _HEAD_ID)
                .scalar_subquery(),
                select(latest.c.serial).scalar_subquery(),
                select(latest.c.payload_digest).scalar_subquery(),
            )
        )
    ).one()
    return IndexHead(int(row[0] or 0), row[1], row[2])


@asynccontextmanager
async def consistent_read(db: Database) -> AsyncIterator[AsyncSession]:
    """A read session whose statements all see one snapshot of the database: SQLite's
    read transaction does already; PostgreSQL needs REPEATABLE READ for it (its default
    gives each statement a snapshot of its own)."""
    async with db.read() as session:
        if db.dialect == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


async def load_index(session: AsyncSession) -> ListingIndex:
    """The identifiers in force as one in-memory index, labelled with the generation read
    in the same snapshot (use a `consistent_read` session).

    Two reads, the listings in force and then their identifiers, rather than one join:
    a member vendor's listing has five identifiers or more, and converting its dates and
    tiers once instead of on every identifier row halves the load (the first check on
    each worker after a change waits for it)."""
    current = await generation(session)
    # Core rows on the session's connection: the ORM's result machinery is not needed
    # for plain columns, and at this size its cost shows.
    connection = await session.connection()
    # Columns in the order of ListingInForce's fields.
    listings = {
        row[0]: ListingInForce(*row)
        for row in await connection.execute(
            select(
                Listing.id,
                BlacklistCase.reference,
                Listing.tier,
                Listing.published_from,
                Listing.published_until,
                Listing.subject_kind,
                Listing.subject_value,
            )
            .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
            .where(Listing.state == ListingState.LISTED)
        )
    }
    # The kind read as the string it is stored as, and looked up: no enum conversion
    # per row.
    identifiers = await connection.execute(
        select(
            type_coerce(BlacklistIdentifier.kind, String),
            BlacklistIdentifier.value,
            BlacklistIdentifier.listing_id,
        )
    )
    # An ended listing's identifiers are deleted with its end; the filter is a safeguard.
    entries = [
        (KINDS[kind], value, listings[listing_id])
        for kind, value, listing_id in identifiers
        if listing_id in listings
    ]
    return ListingIndex(current, entries)


async def rebuild_index(session: AsyncSession) -> int:
    """Write the identifiers of every listing in force again from the listings and the
    vendors (`registry blacklist reindex`, and bulk-loaded benchmark data); returns how
    many identifiers there are. Idempotent."""
    await session.execute(delete(BlacklistIdentifier))
    listed = Listing.state == ListingState.LISTED
    await session.execute(
        insert(BlacklistIdentifier).from_select(
            ["kind", "value", "listing_id"],
            select(Listing.subject_kind, Listing.subject_value, Listing.id).where(
                listed, Listing.vendor_id.is_(None)
            ),
        )
    )
    for kind, column in (
        (SubjectKind.VENDOR, Vendor.slug),
        (SubjectKind.CREDIT_CODE, Vendor.credit_code),
    ):
        await session.execute(
            insert(BlacklistIdentifier).from_select(
                ["kind", "value", "listing_id"],
                select(literal(kind.value, String), column, Listing.id)
                .join(Vendor, Vendor.id == Listing.vendor_id)
                .where(listed),
            )
        )
    await session.execute(
        insert(BlacklistIdentifier).from_select(
            ["kind", "value", "listing_id"],
            select(literal(SubjectKind.DOMAIN.value, String), VendorDomain.domain, Listing.id)
            .join(VendorDomain, VendorDomain.vendor_id == Listing.vendor_id)
            .where(listed, VendorDomain.verified_at.is_not(None))
            .distinct(),
        )
    )
    await raise_generation(session)
    count = await session.scalar(select(func.count()).select_from(BlacklistIdentifier))
    return int(count or 0)


async def _vendor_identifiers(
    session: AsyncSession, vendor_id: int
) -> set[tuple[SubjectKind, str]]:
    vendor = (
        await session.execute(select(Vendor.slug, Vendor.credit_code).where(Vendor.id == vendor_id))
    ).one()
    domains = (
        await session.execute(
            select(VendorDomain.domain).where(
                VendorDomain.vendor_id == vendor_id, VendorDomain.verified_at.is_not(None)
            )
        )
    ).scalars()
    return {
        _normalised(SubjectKind.VENDOR, vendor.slug),
        _normalised(SubjectKind.CREDIT_CODE, vendor.credit_code),
        *(_normalised(SubjectKind.DOMAIN, domain) for domain in domains),
    }


def _normalised(kind: SubjectKind, value: str) -> tuple[SubjectKind, str]:
    """As a query is normalised; a stored value that does not pass (older data) is kept
    as stored, so it still matches itself."""
    try:
        return kind, normalise(kind, value)
    except ValueError:
        return kind, value
