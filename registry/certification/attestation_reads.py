"""What attestation submissions and listings read, each in as few statements as it can.

The statements are built once at import: constructing them costs more than SQLite's
answer (see docs/performance.md, "Attestation ingestion"). A submission reads twice:
before its checks (`submission_context`, on a read connection) and under the write lock
(`write_context`); everything else here serves repeats and listings.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from registry.certification.attestation_claims import CheckedAttestation
from registry.certification.models import AttestationRecord, Scheme
from registry.certification.services import MemberVendorRef, member_vendor_ref_of
from registry.certification.transitions import (
    DECISION_BRANCHES,
    DECISION_LAYOUT,
    DecisionInputs,
    decision_inputs_of,
)
from registry.db.base import tagged_row
from registry.errors import RegistryError
from registry.kernel.members import VendorStatus
from registry.keys.models import SigningKeyRecord
from registry.keys.services import VendorKeyColumns
from registry.membership.models import Vendor

# What a submission reads before its checks, in one statement instead of three: the
# vendor, which of the envelopes are stored already, and the keys they name.
_SUBMISSION_LAYOUT = {
    "vendor_id": Vendor.id,
    "association_id": Vendor.association_id,
    "vendor_status": Vendor.status,
    "name": SigningKeyRecord.key_id,
    "public_key": SigningKeyRecord.public_key,
    "owner_kind": SigningKeyRecord.owner_kind,
    "revoked_at": SigningKeyRecord.revoked_at,
    "status": SigningKeyRecord.status,
}
_SUBMISSION_CONTEXT = union_all(
    tagged_row(
        _SUBMISSION_LAYOUT,
        "vendor",
        {
            "vendor_id": Vendor.id,
            "association_id": Vendor.association_id,
            "vendor_status": Vendor.status,
        },
    ).where(Vendor.slug == bindparam("slug")),
    # Only this vendor's stored envelopes count as "the same envelope again": another
    # vendor's envelope posted here is checked like any new one (and refused), never
    # answered with the other vendor's record.
    tagged_row(_SUBMISSION_LAYOUT, "stored", {"name": AttestationRecord.envelope_digest})
    .join(Vendor, Vendor.id == AttestationRecord.vendor_id)
    .where(
        AttestationRecord.envelope_digest.in_(bindparam("digests", expanding=True)),
        Vendor.slug == bindparam("slug"),
    ),
    tagged_row(
        _SUBMISSION_LAYOUT,
        "key",
        {
            "vendor_id": SigningKeyRecord.vendor_id,
            "name": SigningKeyRecord.key_id,
            "public_key": SigningKeyRecord.public_key,
            "owner_kind": SigningKeyRecord.owner_kind,
            "revoked_at": SigningKeyRecord.revoked_at,
            "status": SigningKeyRecord.status,
        },
    ).where(SigningKeyRecord.key_id.in_(bindparam("keyids", expanding=True))),
)
# Accepted periods never overlap, so those overlapping [earliest, latest) are the ones
# starting inside it plus at most the last one starting before it: two index ranges on
# (vendor_id, period_start), where `start < latest AND end > earliest` scanned one side
# of the vendor's history whichever index it took.
_PERIOD_COLUMNS = (
    AttestationRecord.envelope_digest,
    AttestationRecord.period_start,
    AttestationRecord.period_end,
)
_STARTED_BEFORE = (
    select(*_PERIOD_COLUMNS)
    .where(
        AttestationRecord.vendor_id == bindparam("vendor_id"),
        AttestationRecord.period_start < bindparam("earliest"),
    )
    .order_by(AttestationRecord.period_start.desc())
    .limit(1)
    .subquery()
)
# What the write phase reads, in one statement: the decision's inputs and the accepted
# periods that could overlap the new ones (kind "period", digest in `name`).
_WRITE_CONTEXT = union_all(
    *DECISION_BRANCHES,
    tagged_row(
        DECISION_LAYOUT,
        "period",
        {
            "t1": AttestationRecord.period_start,
            "t2": AttestationRecord.period_end,
            "name": AttestationRecord.envelope_digest,
        },
    ).where(
        AttestationRecord.vendor_id == bindparam("vendor_id"),
        AttestationRecord.period_start >= bindparam("earliest"),
        AttestationRecord.period_start < bindparam("latest"),
    ),
    tagged_row(
        DECISION_LAYOUT,
        "period",
        {
            "t1": _STARTED_BEFORE.c.period_start,
            "t2": _STARTED_BEFORE.c.period_end,
            "name": _STARTED_BEFORE.c.envelope_digest,
        },
    ),
)
SCHEME_VERSIONS = (
    select(Scheme.id, Scheme.version)
    .where(Scheme.association_id == bindparam("association_id"), Scheme.slug == bindparam("slug"))
    .order_by(Scheme.version.desc())
)
"""An association's versions of one scheme slug, newest first (ids only)."""


@dataclass(frozen=True, slots=True)
class StoredAttestation:
    """What a submission answers about a stored attestation.

    Built from the inserted row's values: an ORM object per envelope cost a batch of
    500 more than its inserts (see docs/performance.md, "Attestation ingestion").
    """

    id: int
    key_id: str
    envelope_digest: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    all_met: bool
    metrics: dict[str, Any]
    received_at: datetime
    log_index: int

    @classmethod
    def of(cls, record: AttestationRecord | Mapping[str, Any]) -> StoredAttestation:
        """The summary of a loaded row, or of the values a row was inserted with."""
        if isinstance(record, Mapping):
            return cls(**{name: record[name] for name in _STORED_FIELDS})
        return cls(**{name: getattr(record, name) for name in _STORED_FIELDS})


_STORED_FIELDS = tuple(f.name for f in fields(StoredAttestation))


@dataclass(frozen=True)
class BatchItem:
    """One envelope of a batch: stored, a duplicate of a stored one, or refused."""

    index: int
    record: StoredAttestation | None
    created: bool
    error: RegistryError | None
    scheme: str | None = None
    """`slug@version` of the record's scheme."""


async def submission_context(
    connection: AsyncConnection, slug: str, digests: list[str], keyids: list[str]
) -> tuple[MemberVendorRef, set[str], dict[str, VendorKeyColumns]]:
    """The member vendor `slug`, which of `digests` it has stored, and the keys `keyids`
    that exist (whoever owns them)."""
    rows = (
        await connection.execute(
            _SUBMISSION_CONTEXT, {"slug": slug, "digests": digests, "keyids": keyids}
        )
    ).all()
    vendor: tuple[int, int, VendorStatus] | None = None
    known: set[str] = set()
    keys: dict[str, VendorKeyColumns] = {}
    for row in rows:
        if row.kind == "vendor":
            vendor = (row.vendor_id, row.association_id, row.vendor_status)
        elif row.kind == "stored":
            known.add(row.name)
        else:
            keys[row.name] = row
    return member_vendor_ref_of(vendor, slug), known, keys


async def stored_by_digest(
    session: AsyncSession, digests: Collection[str]
) -> dict[str, tuple[StoredAttestation, str]]:
    """Stored attestations with these envelope digests, with their scheme labels."""
    if not digests:
        return {}
    rows = await session.execute(
        select(AttestationRecord, Scheme)
        .join(Scheme, Scheme.id == AttestationRecord.scheme_id)
        .where(AttestationRecord.envelope_digest.in_(digests))
    )
    return {r.envelope_digest: (StoredAttestation.of(r), scheme.label) for r, scheme in rows.all()}


async def write_context(
    session: AsyncSession, vendor_id: int, items: Collection[CheckedAttestation], periods: int
) -> tuple[list[tuple[datetime, datetime]], list[str], DecisionInputs]:
    """Accepted periods of the vendor that could overlap any of `items`, which of the
    items' envelopes are among them (stored since the read phase), and the inputs of
    the certificate's decision as they stand before `items` (one statement)."""
    rows = (
        await (await session.connection()).execute(
            _WRITE_CONTEXT,
            {
                "vendor_id": vendor_id,
                "latest": max(i.period_end for i in items),
                "earliest": min(i.period_start for i in items),
                "periods": periods,
            },
        )
    ).all()
    digests = {i.digest for i in items}
    periods_rows = [r for r in rows if r.kind == "period"]
    inputs = decision_inputs_of(rows, periods)
    return (
        [(r.t1, r.t2) for r in periods_rows],
        [r.name for r in periods_rows if r.name in digests],
        inputs,
    )


async def attestations_page(
    session: AsyncSession, vendor_id: int, *, offset: int, limit: int
) -> tuple[list[tuple[AttestationRecord, str]], int]:
    """One page of a vendor's attestations with scheme labels, newest period first, and
    how many it has in all."""
    total = await session.scalar(
        select(func.count()).where(AttestationRecord.vendor_id == vendor_id)
    )
    rows = await session.execute(
        select(AttestationRecord, Scheme)
        .join(Scheme, Scheme.id == AttestationRecord.scheme_id)
        .where(AttestationRecord.vendor_id == vendor_id)
        .order_by(AttestationRecord.period_end.desc())
        .offset(offset)
        .limit(limit)
    )
    return [(r, s.label) for r, s in rows.all()], total or 0
