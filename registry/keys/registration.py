"""Registering a public key: the one place a `SigningKeyRecord` is made.

Vendors register keys by applying (pending until approved) and by rotation (signed by a
current key); the federation registers an auditor's keys when it accredits the auditor.
Those paths live with membership, keys and certification, but the key's row, its owner
and its activation are the keys aggregate's to write, so they all call this module,
which imports nothing but the keys model.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.keys import PublicKey
from registry.keys.models import KeyOwnerKind, KeyStatus, SigningKeyRecord


async def any_registered(session: AsyncSession, key_ids: Collection[str]) -> bool:
    """Whether any of these keys is already registered (to anyone, in any state)."""
    found = await session.scalar(
        select(SigningKeyRecord.id).where(SigningKeyRecord.key_id.in_(list(key_ids))).limit(1)
    )
    return found is not None


def register_key(
    session: AsyncSession,
    key: PublicKey,
    now: datetime,
    *,
    vendor_id: int | None = None,
    auditor_id: int | None = None,
    pending: bool = False,
    authorised_by_key_id: str | None = None,
    authorised_by_principal_id: int | None = None,
) -> SigningKeyRecord:
    """Add `key` for its one owner (a vendor or an auditor), active from `now` unless
    `pending` (a vendor's application key waits for the approval)."""
    if (vendor_id is None) == (auditor_id is None):
        raise ValueError("a key has exactly one owner: a vendor or an auditor")
    record = SigningKeyRecord(
        key_id=key.key_id,
        public_key=key.raw,
        owner_kind=KeyOwnerKind.VENDOR if vendor_id is not None else KeyOwnerKind.AUDITOR,
        vendor_id=vendor_id,
        auditor_id=auditor_id,
        status=KeyStatus.PENDING if pending else KeyStatus.ACTIVE,
        created_at=now,
        activated_at=None if pending else now,
        authorised_by_key_id=authorised_by_key_id,
        authorised_by_principal_id=authorised_by_principal_id,
    )
    session.add(record)
    return record
