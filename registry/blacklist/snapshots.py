"""Signed snapshots of the blacklist: every listing in force, chained by serial.

A snapshot is a DSSE envelope (payload type `application/vnd.in-toto+json`) signed by
the federation key around an in-toto statement whose predicate holds a strictly
increasing `serial`, `issued_at`, `next_update`, `previous` (the hex SHA-256 of the
previous snapshot's payload bytes; null for serial 1) and the `entries` in force. One is
made in the transaction of every change to the listings in force (the `BlacklistChanged`
reaction) and at least once a day (the `blacklist-snapshot` job); each is a
transparency-log leaf of the same transaction. The README ("Blacklist snapshots")
describes the format precisely enough to verify a snapshot with only an Ed25519 library;
`verify_chain` (and `registry blacklist verify`) does it here.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.canonical import canonicalize
from attestations.envelope import PAYLOAD_TYPE_INTOTO
from attestations.keys import PublicKey, SigningKey
from attestations.statement import STATEMENT_TYPE, Subject, make_statement
from registry.blacklist.models import BlacklistCase, BlacklistChange, BlacklistSnapshot, Listing
from registry.blacklist.states import ListingState, SubjectKind
from registry.context import RegistryContext
from registry.errors import InvalidInput, NotFound
from registry.federation.models import Association
from registry.kernel.clock import isoformat, parse_iso
from registry.membership.models import Vendor, VendorDomain
from registry.settings import Settings
from registry.signed_statements import SnapshotInvalid, open_by_federation, sign_by_federation
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf, lock_head

SNAPSHOT_PAYLOAD_TYPE = PAYLOAD_TYPE_INTOTO
SNAPSHOT_PREDICATE = "https://trust-registry.dev/attestations/blacklist-snapshot/v1"


class SnapshotTrigger:
    """Why a snapshot was made."""

    CHANGE = "change"
    DAILY = "daily"


class Change:
    """What happened to a listing in a snapshot."""

    ADDED = "added"
    REMOVED = "removed"
    """Expired or repaired."""
    RETRACTED = "retracted"
    """Overturned on appeal."""


@dataclass(frozen=True, slots=True)
class SnapshotHead:
    """The latest snapshot: its serial and the hex SHA-256 of its payload bytes (what the
    next snapshot's `previous` names)."""

    serial: int
    digest: str
    issued_at: datetime
    next_update: datetime


async def latest_snapshot(session: AsyncSession) -> SnapshotHead | None:
    """The newest snapshot's serial and digest, or None before the first one."""
    row = (
        await session.execute(
            select(
                BlacklistSnapshot.serial,
                BlacklistSnapshot.payload_digest,
                BlacklistSnapshot.issued_at,
                BlacklistSnapshot.next_update,
            )
            .order_by(BlacklistSnapshot.serial.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return SnapshotHead(row.serial, row.payload_digest, row.issued_at, row.next_update)


# --- making a snapshot ------------------------------------------------------------------


async def entries_in_force(session: AsyncSession) -> list[dict[str, Any]]:
    """Every listing in force, by listing id, as a snapshot lists it (no personal data:
    subjects are businesses named by slug, domain, app id or credit code)."""
    rows = (
        await session.execute(
            select(Listing, BlacklistCase.reference, Association.slug)
            .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
            .join(Association, Association.id == Listing.association_id)
            .where(Listing.state == ListingState.LISTED)
            .order_by(Listing.id)
        )
    ).all()
    vendor_ids = {listing.vendor_id for listing, _, _ in rows if listing.vendor_id is not None}
    identifiers = await _vendor_identifiers(session, vendor_ids)
    entries = []
    for listing, reference, association in rows:
        subject = {"kind": listing.subject_kind.value, "value": listing.subject_value}
        entries.append(
            {
                "listing": listing.id,
                "case": reference,
                "subject": subject,
                "identifiers": identifiers.get(listing.vendor_id, [subject])
                if listing.subject_kind is SubjectKind.VENDOR
                else [subject],
                "tier": listing.tier.value,
                "rule": f"{listing.rule_id}@{listing.rule_version}",
                "evidence_digest": listing.evidence_digest,
                "published_from": isoformat(listing.published_from),
                "published_until": isoformat(listing.published_until),
                "association": association,
            }
        )
    return entries


async def _vendor_identifiers(
    session: AsyncSession, vendor_ids: set[int]
) -> dict[int | None, list[dict[str, str]]]:
    """Slug, credit code and verified domains of each listed member vendor."""
    if not vendor_ids:
        return {}
    found: dict[int | None, list[dict[str, str]]] = {}
    vendors = await session.execute(
        select(Vendor.id, Vendor.slug, Vendor.credit_code).where(Vendor.id.in_(vendor_ids))
    )
    for vendor_id, slug, credit_code in vendors:
        found[vendor_id] = [
            {"kind": SubjectKind.VENDOR.value, "value": slug},
            {"kind": SubjectKind.CREDIT_CODE.value, "value": credit_code},
        ]
    domains = await session.execute(
        select(VendorDomain.vendor_id, VendorDomain.domain)
        .where(VendorDomain.vendor_id.in_(vendor_ids), VendorDomain.verified_at.is_not(None))
        .order_by(VendorDomain.vendor_id, VendorDomain.domain)
    )
    for vendor_id, domain in domains:
        found[vendor_id].append({"kind": SubjectKind.DOMAIN.value, "value": domain})
    return found


def snapshot_statement(
    serial: int,
    issued_at: datetime,
    next_update: datetime,
    previous: str | None,
    entries: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The in-toto statement a snapshot signs; its subject digest covers the entries."""
    entries_digest = hashlib.sha256(canonicalize(list(entries))).hexdigest()
    predicate = {
        "serial": serial,
        "issued_at": isoformat(issued_at),
        "next_update": isoformat(next_update),
        "previous": previous,
        "entries": list(entries),
    }
    subject = Subject(f"blacklist-snapshot:{serial}", {"sha256": entries_digest})
    return make_statement([subject], SNAPSHOT_PREDICATE, predicate).to_dict()


async def make_snapshot(
    session: AsyncSession,
    key: SigningKey,
    settings: Settings,
    now: datetime,
    trigger: str,
) -> BlacklistSnapshot | None:
    """Sign, log and store a snapshot of the listings in force, in the caller's
    transaction. For a change it is skipped (None) when the listings in force are those
    of the latest snapshot already: several listings ending in one transaction make one
    snapshot. The log head's lock serialises snapshot makers, so serials never collide;
    the unique serial refuses any that would."""
    await lock_head(session)
    head = (
        await session.execute(
            select(BlacklistSnapshot).order_by(BlacklistSnapshot.serial.desc()).limit(1)
        )
    ).scalar_one_or_none()
    entries = await entries_in_force(session)
    listed = [int(entry["listing"]) for entry in entries]
    if trigger == SnapshotTrigger.CHANGE and head is not None and list(head.listings) == listed:
        return None
    serial = 1 if head is None else head.serial + 1
    next_update = now + timedelta(hours=settings.blacklist_snapshot_interval_hours)
    statement = snapshot_statement(
        serial, now, next_update, None if head is None else head.payload_digest, entries
    )
    signed = sign_by_federation(statement, key, SNAPSHOT_PAYLOAD_TYPE)
    index = await LogAppender(session, now).append(
        PendingLeaf(EntryType.BLACKLIST_SNAPSHOT, signed.log_body())
    )
    row = BlacklistSnapshot(
        serial=serial,
        issued_at=now,
        next_update=next_update,
        previous=None if head is None else head.payload_digest,
        payload_digest=signed.payload_digest,
        envelope=signed.envelope_bytes,
        listings=listed,
        trigger=trigger,
        log_index=index,
    )
    session.add(row)
    await session.flush()
    before = set(head.listings) if head is not None else set()
    added = sorted(set(listed) - before)
    removed = sorted(before - set(listed))
    retracted: set[int] = set()
    if removed:
        retracted = set(
            await session.scalars(
                select(Listing.id).where(
                    Listing.id.in_(removed), Listing.state == ListingState.RETRACTED
                )
            )
        )
    session.add_all(
        [BlacklistChange(serial=serial, listing_id=i, change=Change.ADDED) for i in added]
        + [
            BlacklistChange(
                serial=serial,
                listing_id=i,
                change=Change.RETRACTED if i in retracted else Change.REMOVED,
            )
            for i in removed
        ]
    )
    return row


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServedSnapshot:
    """A snapshot as served: the envelope's exact bytes and their strong ETag."""

    serial: int
    body: bytes
    etag: str
    latest: bool


@dataclass(frozen=True, slots=True)
class ChangeView:
    """One listing entering or leaving the snapshots."""

    serial: int
    change: str
    listing: int
    case: str
    subject_kind: str
    subject_value: str
    tier: str
    rule: str
    association: str
    at: datetime
    """The `issued_at` of the snapshot it happened in."""
    ended: str | None
    """For a removal: `expired`, `repaired` or `retracted`."""


@dataclass(frozen=True, slots=True)
class ChangesView:
    """The changes after serial `since`, up to the latest snapshot."""

    since: int
    latest: int
    changes: list[ChangeView] = field(default_factory=list)


class BlacklistSnapshotService:
    """Makes and serves the blacklist snapshots and the changes feed."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def make(self, trigger: str = SnapshotTrigger.DAILY) -> SnapshotHead | None:
        """Make a snapshot now (an operator's `registry blacklist snapshot`)."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            row = await make_snapshot(
                session, self.ctx.federation_key, self.ctx.settings, now, trigger
            )
            return None if row is None else _head(row)

    async def ensure_daily(self) -> SnapshotHead | None:
        """The job: sign a snapshot when there is none, or the latest will be due before
        the job looks again (it runs every `cleanup_interval_seconds`), so a snapshot is
        never stale while the scheduler runs, whether anything changed or not."""
        now = self.ctx.clock.now()
        period = timedelta(seconds=self.ctx.settings.cleanup_interval_seconds)
        async with self.ctx.db.read() as session:
            head = await latest_snapshot(session)
        if head is not None and now + period < head.next_update:
            return None
        return await self.make(SnapshotTrigger.DAILY)

    async def latest(self) -> SnapshotHead | None:
        """The latest snapshot's serial and digest."""
        async with self.ctx.db.read() as session:
            return await latest_snapshot(session)

    async def served(self, serial: int | None) -> ServedSnapshot:
        """The envelope of snapshot `serial` (None: the latest), or NotFound."""
        query = select(BlacklistSnapshot.serial, BlacklistSnapshot.envelope)
        if serial is None:
            query = query.order_by(BlacklistSnapshot.serial.desc()).limit(1)
        else:
            query = query.where(BlacklistSnapshot.serial == serial)
        async with self.ctx.db.read() as session:
            row = (await session.execute(query)).first()
        if row is None:
            raise NotFound(
                "no blacklist snapshot has been signed yet"
                if serial is None
                else f"no blacklist snapshot with serial {serial}"
            )
        body = bytes(row.envelope)
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        return ServedSnapshot(int(row.serial), body, etag, serial is None)

    async def changes(self, since: int) -> ChangesView:
        """Additions, removals and retractions in the snapshots after serial `since`."""
        async with self.ctx.db.read() as session:
            head = await latest_snapshot(session)
            latest = 0 if head is None else head.serial
            if since < 0 or since > latest:
                raise InvalidInput(
                    f"since must be a serial from 0 to the latest, {latest}; got {since}",
                    fields={"since": f"between 0 and {latest}"},
                )
            rows = (
                await session.execute(
                    select(
                        BlacklistChange,
                        Listing,
                        BlacklistCase.reference,
                        Association.slug,
                        BlacklistSnapshot.issued_at,
                    )
                    .join(Listing, Listing.id == BlacklistChange.listing_id)
                    .join(BlacklistCase, BlacklistCase.id == Listing.case_id)
                    .join(Association, Association.id == Listing.association_id)
                    .join(BlacklistSnapshot, BlacklistSnapshot.serial == BlacklistChange.serial)
                    .where(BlacklistChange.serial > since)
                    .order_by(BlacklistChange.serial, BlacklistChange.listing_id)
                )
            ).all()
        return ChangesView(
            since,
            latest,
            [
                ChangeView(
                    serial=change.serial,
                    change=change.change,
                    listing=listing.id,
                    case=reference,
                    subject_kind=listing.subject_kind.value,
                    subject_value=listing.subject_value,
                    tier=listing.tier.value,
                    rule=f"{listing.rule_id}@{listing.rule_version}",
                    association=association,
                    at=issued_at,
                    ended=None if change.change == Change.ADDED else listing.state.value,
                )
                for change, listing, reference, association, issued_at in rows
            ],
        )


def _head(row: BlacklistSnapshot) -> SnapshotHead:
    return SnapshotHead(row.serial, row.payload_digest, row.issued_at, row.next_update)


# --- offline verification ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedBlacklistSnapshot:
    """What an offline verification of one snapshot established."""

    serial: int
    issued_at: str
    next_update: str
    previous: str | None
    digest: str
    """Hex SHA-256 of the payload bytes."""
    entries: int
    key_id: str


def verify_blacklist_snapshot(document: bytes, public_key: PublicKey) -> VerifiedBlacklistSnapshot:
    """Check one snapshot (the envelope JSON as served) against the federation key: the
    signature over PAE(payloadType, payload), the payload type, the statement's shape and
    that its subject digest covers the entries."""
    from attestations.canonical import parse_json
    from attestations.errors import AttestationError

    try:
        envelope_json = parse_json(document)
    except AttestationError as exc:
        raise SnapshotInvalid(f"not a blacklist snapshot: {exc.reason}") from exc
    envelope, statement = open_by_federation(
        envelope_json, public_key, SNAPSHOT_PAYLOAD_TYPE, "blacklist snapshot"
    )
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != (
        SNAPSHOT_PREDICATE
    ):
        raise SnapshotInvalid(
            f"the signed statement is not a blacklist snapshot (predicateType "
            f"{statement.get('predicateType')!r}, expected {SNAPSHOT_PREDICATE!r})"
        )
    try:
        predicate = statement["predicate"]
        serial = predicate["serial"]
        entries = predicate["entries"]
        subject_digest = statement["subject"][0]["digest"]["sha256"]
        issued_at, next_update = str(predicate["issued_at"]), str(predicate["next_update"])
        previous = predicate["previous"]
        parse_iso(issued_at)
        parse_iso(next_update)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SnapshotInvalid(f"the snapshot statement lacks or garbles {exc}") from exc
    if not isinstance(serial, int) or serial < 1 or not isinstance(entries, list):
        raise SnapshotInvalid("serial must be a positive integer and entries a list")
    if hashlib.sha256(canonicalize(entries)).hexdigest() != subject_digest:
        raise SnapshotInvalid("the entries do not match the statement's subject digest")
    return VerifiedBlacklistSnapshot(
        serial=serial,
        issued_at=issued_at,
        next_update=next_update,
        previous=previous if isinstance(previous, str) else None,
        digest=hashlib.sha256(envelope.payload).hexdigest(),
        entries=len(entries),
        key_id=public_key.key_id,
    )


def verify_chain(
    latest: bytes, earlier: Sequence[bytes], public_key: PublicKey, now: datetime
) -> tuple[VerifiedBlacklistSnapshot, list[VerifiedBlacklistSnapshot]]:
    """Verify `latest` and the `earlier` snapshots given with it: every signature, serials
    strictly increasing and unique with `latest` the newest, each consecutive pair chained
    (`previous` = the SHA-256 of the payload before it), and `latest` not stale at `now`
    (`now` < its `next_update`). Returns the latest and the earlier ones by serial."""
    head = verify_blacklist_snapshot(latest, public_key)
    before: list[VerifiedBlacklistSnapshot] = []
    for number, document in enumerate(earlier, start=1):
        try:
            before.append(verify_blacklist_snapshot(document, public_key))
        except SnapshotInvalid as exc:
            raise SnapshotInvalid(f"previous snapshot {number}: {exc.reason}") from exc
    by_serial: dict[int, VerifiedBlacklistSnapshot] = {}
    for snapshot in [*before, head]:
        seen = by_serial.get(snapshot.serial)
        if seen is not None and seen.digest != snapshot.digest:
            raise SnapshotInvalid(
                f"serial {snapshot.serial} is used by two different snapshots "
                f"({seen.digest[:12]}… and {snapshot.digest[:12]}…): a serial is never reused"
            )
        by_serial[snapshot.serial] = snapshot
    newer = [s.serial for s in before if s.serial >= head.serial and s.digest != head.digest]
    if newer:
        raise SnapshotInvalid(
            f"snapshot {head.serial} is not the newest given: serial {max(newer)} is later"
        )
    ordered = [by_serial[serial] for serial in sorted(by_serial)]
    for earlier_one, later_one in itertools.pairwise(ordered):
        if later_one.serial == earlier_one.serial + 1 and later_one.previous != earlier_one.digest:
            raise SnapshotInvalid(
                f"snapshot {later_one.serial} names previous {later_one.previous}, but "
                f"snapshot {earlier_one.serial}'s payload digest is {earlier_one.digest}: "
                "the chain is broken"
            )
    if ordered[0].serial == 1 and ordered[0].previous is not None:
        raise SnapshotInvalid("snapshot 1 must have no previous snapshot")
    if now >= parse_iso(head.next_update):
        raise SnapshotInvalid(
            f"snapshot {head.serial} is stale: its next_update {head.next_update} has passed "
            f"(now {isoformat(now)}); fetch the latest snapshot"
        )
    return head, [s for s in ordered if s.serial != head.serial]


__all__ = [
    "SNAPSHOT_PAYLOAD_TYPE",
    "SNAPSHOT_PREDICATE",
    "BlacklistSnapshotService",
    "SnapshotHead",
    "SnapshotInvalid",
    "latest_snapshot",
    "make_snapshot",
    "verify_chain",
]
