"""What a compromised key signed: the records to review after a revocation for compromise.

Revocation stops a key at once, but it cannot undo what was accepted while an attacker
may already have held it. When the revocation names `compromised_since`, every accepted
record the key signed from that instant on is listed here: by its signing time (the
statement's claim) or its receive time (the registry's clock), so a statement back-dated
by an attacker is caught by the second. The records stay in the log as they were
accepted; the list tells the vendor and its association what to re-check, and the
public pages flag them.

A key signs three kinds of record: its own application (the key that applied), key
rotations it authorised (new keys it let in) and attestations.

It lives with certification, not keys: it reads the records of three aggregates
(membership's applications, keys' rotations, certification's attestations), and only
certification sits above the other two, so only here does the listing add no cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.certification.models import AttestationRecord
from registry.context import RegistryContext
from registry.kernel.caller import Caller
from registry.kernel.members import member_vendor
from registry.keys.models import SigningKeyRecord
from registry.keys.services import vendor_key_for
from registry.membership.models import VendorApplication


@dataclass(frozen=True)
class SignedRecord:
    """An accepted record signed by a key after the instant it was compromised."""

    kind: str
    """`application`, `key_rotation` or `attestation`."""
    ref: str
    """`application:<id>`, `key:<new key id>` or `attestation:<id>`."""
    key_id: str
    """The compromised key that signed it."""
    compromised_since: datetime
    signed_at: datetime | None
    """The statement's own `issued_at`, where the registry keeps it as a column."""
    received_at: datetime
    log_index: int | None


@dataclass(frozen=True)
class CompromiseReport:
    """A key's revocation and the records it signed after it was compromised."""

    key_id: str
    vendor: str
    revoked_at: datetime | None
    compromised_since: datetime | None
    """None: the key was not revoked for compromise, so nothing is listed."""
    records: list[SignedRecord]


class KeyCompromiseService:
    """Lists what compromised keys signed, for their owners and for the public pages."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def signed_after_compromise(self, caller: Caller, key_id: str) -> CompromiseReport:
        """The records key `key_id` signed since `compromised_since`.

        Readable by the federation admin, the admins of the vendor's association and the
        vendor itself: the people who must review them.
        """
        async with self.ctx.db.read() as session:
            key, vendor = await vendor_key_for(
                session,
                caller,
                key_id,
                refusal="only the vendor, its association's admins and the federation admin "
                "may list what its keys signed after a compromise",
            )
            since = key.compromised_since
            records = await _signed_since(session, vendor.id, [(key_id, since)]) if since else []
            return CompromiseReport(key_id, vendor.slug, key.revoked_at, since, records)

    async def flagged_for_vendor(self, slug: str) -> list[SignedRecord]:
        """Every record of a member vendor signed by one of its keys after that key was
        compromised (public: the flag is what the public must see)."""
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            compromised = (
                await session.execute(
                    select(SigningKeyRecord.key_id, SigningKeyRecord.compromised_since).where(
                        SigningKeyRecord.vendor_id == vendor.id,
                        SigningKeyRecord.compromised_since.is_not(None),
                    )
                )
            ).all()
            return await _signed_since(
                session, vendor.id, [(k, since) for k, since in compromised if since is not None]
            )


async def _signed_since(
    session: AsyncSession, vendor_id: int, keys: Sequence[tuple[str, datetime]]
) -> list[SignedRecord]:
    """Records signed by each of the vendor's `keys` from its instant on, in the order
    they were received. Attestations are found through the vendor's index: an index on
    their key id would cost every submission for a query this rare."""
    found: list[SignedRecord] = []
    for key_id, since in keys:
        applications = await session.execute(
            select(
                VendorApplication.id, VendorApplication.submitted_at, VendorApplication.log_index
            ).where(VendorApplication.key_id == key_id, VendorApplication.submitted_at >= since)
        )
        found.extend(
            SignedRecord(
                "application",
                f"application:{row.id}",
                key_id,
                since,
                None,
                row.submitted_at,
                row.log_index,
            )
            for row in applications
        )
        rotations = await session.execute(
            select(
                SigningKeyRecord.key_id, SigningKeyRecord.created_at, SigningKeyRecord.log_index
            ).where(
                SigningKeyRecord.authorised_by_key_id == key_id,
                SigningKeyRecord.created_at >= since,
            )
        )
        found.extend(
            SignedRecord(
                "key_rotation",
                f"key:{row.key_id}",
                key_id,
                since,
                None,
                row.created_at,
                row.log_index,
            )
            for row in rotations
        )
        attestations = await session.execute(
            select(
                AttestationRecord.id,
                AttestationRecord.issued_at,
                AttestationRecord.received_at,
                AttestationRecord.log_index,
            ).where(
                AttestationRecord.vendor_id == vendor_id,
                AttestationRecord.key_id == key_id,
                or_(AttestationRecord.issued_at >= since, AttestationRecord.received_at >= since),
            )
        )
        found.extend(
            SignedRecord(
                "attestation",
                f"attestation:{row.id}",
                key_id,
                since,
                row.issued_at,
                row.received_at,
                row.log_index,
            )
            for row in attestations
        )
    found.sort(key=lambda r: (r.received_at, r.log_index if r.log_index is not None else -1))
    return found
