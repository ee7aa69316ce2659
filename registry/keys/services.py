"""Key rotation, revocation and the lookups signed submissions rely on.

Rotation needs two signatures on one statement: a current active key of the owner
(authority) and the new key (proof of possession). Revocation takes effect at once:
every token the key logged in for is revoked in the same transaction, and nothing the
key signs is accepted once the registry's clock has passed `revoked_at`, whatever time
the statement claims. Envelopes accepted before stay valid. A revocation for compromise
may say since when the key was compromised; what it signed from then on is listed for
review (see `registry.certification.compromise`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, InvalidSignature, NotFound, PermissionDenied
from registry.events import publish
from registry.kernel.caller import Caller
from registry.kernel.clock import isoformat, parse_iso
from registry.kernel.members import VendorRef, member_vendor, vendor_by_id
from registry.kernel.predicates import ROTATION_PREDICATE
from registry.keys.events import KeyRevoked
from registry.keys.models import KeyOwnerKind, KeyStatus, SigningKeyRecord
from registry.keys.registration import any_registered, register_key
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    open_statement,
    signature_error,
)
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf


class RotationClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a key rotation statement."""

    vendor: str
    new_public_key: str
    issued_at: str
    note: str | None = None


# Every signed submission looks its key up; built once, read as plain columns.
_KEY_BY_ID = select(
    SigningKeyRecord.public_key,
    SigningKeyRecord.owner_kind,
    SigningKeyRecord.vendor_id,
    SigningKeyRecord.revoked_at,
    SigningKeyRecord.status,
).where(SigningKeyRecord.key_id == bindparam("key_id"))


class VendorKeyColumns(Protocol):
    """The columns of a signing key that decide whether a vendor may sign with it."""

    @property
    def public_key(self) -> bytes: ...
    @property
    def owner_kind(self) -> KeyOwnerKind: ...
    @property
    def vendor_id(self) -> int | None: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def status(self) -> KeyStatus: ...


async def vendor_key_for(
    session: AsyncSession, caller: Caller, key_id: str, *, refusal: str
) -> tuple[SigningKeyRecord, VendorRef]:
    """A vendor's key and its vendor, for the vendor itself or an admin of its association
    (the federation admin included); anyone else gets PermissionDenied with `refusal`."""
    key = (
        await session.execute(select(SigningKeyRecord).where(SigningKeyRecord.key_id == key_id))
    ).scalar_one_or_none()
    if key is None or key.vendor_id is None:
        raise NotFound(f"no vendor key {key_id}")
    vendor = await vendor_by_id(session, key.vendor_id)
    assert vendor is not None  # noqa: S101 - foreign key guarantees it
    if not (
        caller.speaks_for_vendor(vendor.id) or caller.administers_association(vendor.association_id)
    ):
        raise PermissionDenied(refusal)
    return key, vendor


def refuse_if_revoked(
    key_id: str, revoked_at: datetime | None, signed_at: datetime, received_at: datetime
) -> None:
    """Refuse a signature by a key revoked before the envelope arrived or was dated.

    The receive time is the registry's clock and decides first: whoever holds a revoked
    key can date a statement before the revocation (`issued_at` is only a claim), but
    cannot make the registry receive it earlier. Envelopes accepted before `revoked_at`
    were received before it, so they stay valid.
    """
    if revoked_at is None:
        return
    if received_at >= revoked_at:
        raise InvalidSignature(
            f"signing key {key_id} was revoked at {isoformat(revoked_at)}; nothing it signs "
            "is accepted after that, whatever time the statement claims"
        )
    if signed_at >= revoked_at:
        raise InvalidSignature(
            f"signing key {key_id} was revoked at {isoformat(revoked_at)}; "
            "the statement is dated after that"
        )


async def usable_vendor_key(
    session: AsyncSession | AsyncConnection,
    key_id: str,
    vendor_id: int,
    signed_at: datetime,
    received_at: datetime,
) -> PublicKey:
    """The vendor's key `key_id` if it was valid when the envelope was signed and when it
    was received, else a precise refusal."""
    key = (await session.execute(_KEY_BY_ID, {"key_id": key_id})).one_or_none()
    return vendor_key_of(key, key_id, vendor_id, signed_at, received_at)


def vendor_key_of(
    key: VendorKeyColumns | None,
    key_id: str,
    vendor_id: int,
    signed_at: datetime,
    received_at: datetime,
) -> PublicKey:
    """`usable_vendor_key` for a key row already read (None: no such key)."""
    if key is None:
        raise InvalidSignature(f"signing key {key_id} is not registered")
    if key.owner_kind is not KeyOwnerKind.VENDOR or key.vendor_id != vendor_id:
        raise InvalidSignature(f"signing key {key_id} belongs to someone else")
    refuse_if_revoked(key_id, key.revoked_at, signed_at, received_at)
    if key.status is KeyStatus.PENDING:
        raise InvalidSignature(f"signing key {key_id} is not active yet")
    return PublicKey(key.public_key)


class KeyService:
    """Registers rotated keys and revokes keys."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def vendor_keys(self, slug: str) -> list[SigningKeyRecord]:
        """Every key a member vendor ever registered, oldest first (public)."""
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            rows = await session.execute(
                select(SigningKeyRecord)
                .where(SigningKeyRecord.vendor_id == vendor.id)
                .order_by(SigningKeyRecord.id)
            )
            return list(rows.scalars())

    async def rotate(self, caller: Caller, slug: str, envelope: Envelope) -> SigningKeyRecord:
        """Register a vendor's new key from a statement signed by a current key and the new one."""
        statement = open_statement(envelope, ROTATION_PREDICATE)
        claims = decode_predicate(statement, RotationClaims)
        if claims.vendor != slug:
            raise InvalidInput(
                f"the statement names vendor {claims.vendor!r}, not {slug!r}",
                fields={"vendor": "mismatch"},
            )
        try:
            new_key = PublicKey.from_base64(claims.new_public_key)
        except AttestationError as exc:
            raise InvalidInput(f"predicate.new_public_key: {exc.reason}") from exc
        now = self.ctx.clock.now()
        signed_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        async with self.ctx.db.transaction() as session:
            vendor = await member_vendor(session, slug)
            if not caller.speaks_for_vendor(vendor.id):
                raise PermissionDenied("only the vendor's own admin may rotate its keys")
            if await any_registered(session, [new_key.key_id]):
                raise Conflict(f"key {new_key.key_id} is already registered")
            authority = await self._authorising_key(
                session, envelope, vendor.id, signed_at, new_key, received_at=now
            )
            try:
                verify_envelope(envelope, {new_key.key_id: new_key}, require={new_key.key_id})
            except AttestationError as exc:
                raise InvalidSignature(
                    f"the new key must also sign the rotation (proof of possession): {exc.reason}"
                ) from exc
            record = register_key(
                session, new_key, now, vendor_id=vendor.id, authorised_by_key_id=authority
            )
            record.log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.KEY_ROTATED,
                    {
                        "key_id": new_key.key_id,
                        "authorised_by": authority,
                        "envelope": envelope.to_dict(),
                    },
                    vendor_id=vendor.id,
                    vendor_slug=vendor.slug,
                )
            )
            return record

    async def _authorising_key(
        self,
        session: AsyncSession,
        envelope: Envelope,
        vendor_id: int,
        signed_at: datetime,
        new_key: PublicKey,
        *,
        received_at: datetime,
    ) -> str:
        """The first signature by a current key of the vendor that verifies."""
        reasons: list[str] = []
        for keyid in envelope.keyids:
            if keyid == new_key.key_id:
                continue
            try:
                current = await usable_vendor_key(session, keyid, vendor_id, signed_at, received_at)
                verify_envelope(envelope, {keyid: current}, require={keyid})
            except InvalidSignature as exc:
                reasons.append(exc.detail)
                continue
            except AttestationError as exc:
                raise signature_error(exc) from exc
            return keyid
        raise InvalidSignature(
            "a rotation must be signed by a current active key of the vendor"
            + (f": {'; '.join(reasons)}" if reasons else "")
        )

    async def revoke(
        self, caller: Caller, key_id: str, reason: str, compromised_since: str | None = None
    ) -> SigningKeyRecord:
        """Revoke a key now, with every token it logged in for, in one transaction.

        `compromised_since` (for a compromise) must lie between the key's registration
        and now; the records the key signed from then on are listed for review and
        flagged on the public pages, while they stay in the log as accepted.
        """
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a revocation needs a reason", fields={"reason": "required"})
        now = self.ctx.clock.now()
        since: datetime | None = None
        if compromised_since is not None:
            try:
                since = parse_iso(compromised_since)
            except ValueError as exc:
                raise InvalidInput(
                    "compromised_since must be an ISO 8601 time with a zone",
                    fields={"compromised_since": "invalid"},
                ) from exc
            if since > now:
                raise InvalidInput(
                    "compromised_since cannot lie in the future",
                    fields={"compromised_since": "in the future"},
                )
        async with self.ctx.db.transaction() as session:
            key, vendor = await vendor_key_for(
                session,
                caller,
                key_id,
                refusal="only the vendor or its association's admins may revoke its keys",
            )
            if key.status is KeyStatus.REVOKED:
                raise Conflict(f"key {key_id} was already revoked")
            if since is not None and since < key.created_at:
                raise InvalidInput(
                    f"compromised_since cannot lie before the key was registered "
                    f"({isoformat(key.created_at)})",
                    fields={"compromised_since": "before the key's registration"},
                )
            if caller.speaks_for_vendor(vendor.id):
                others = await session.scalar(
                    select(func.count()).where(
                        SigningKeyRecord.vendor_id == vendor.id,
                        SigningKeyRecord.status == KeyStatus.ACTIVE,
                        SigningKeyRecord.key_id != key_id,
                    )
                )
                if not others:
                    raise Conflict(
                        "this is the vendor's last active key; rotate to a new key first"
                    )
            key.status = KeyStatus.REVOKED
            key.revoked_at = now
            key.compromised_since = since
            key.revocation_reason = reason
            # A token is only as good as the key that obtained it: accounts withdraws
            # those it minted (a subscriber, `registry.services`).
            publish(
                session,
                KeyRevoked(key_id=key_id, vendor_id=vendor.id, compromised_since=since, at=now),
            )
            key.revocation_log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.KEY_REVOKED,
                    {
                        "key_id": key_id,
                        "revoked_at": isoformat(now),
                        "compromised_since": isoformat(since) if since else None,
                        "reason": reason,
                        "decided_by": {
                            "principal_id": caller.principal_id,
                            "role": caller.role.value,
                        },
                    },
                    vendor_id=vendor.id,
                    vendor_slug=vendor.slug,
                )
            )
            return key
