"""Self-regulation attestations: a vendor's signed claims against a scheme version.

Checks run in the order a vendor can act on: shape, whose statement it is, freshness,
signature by a usable key of that vendor, scheme version, period, criteria. Signatures
are verified before the write transaction opens, so SQLite's single writer is held only
for the inserts and the log append. A batch is one transaction with each envelope
accepted or rejected on its own.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, func, insert, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from attestations.canonical import CanonicalJSON
from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.certification.catalogue import parse_scheme_label, scheme_version
from registry.certification.events import AttestationAccepted
from registry.certification.machine import AttestationFact, Trigger
from registry.certification.models import AttestationRecord, Scheme, TransitionCause
from registry.certification.schemes import DEFAULT_L3_PERIODS, SchemeVersion
from registry.certification.services import MemberVendorRef, member_vendor_ref_of
from registry.certification.transitions import (
    DECISION_BRANCHES,
    DECISION_LAYOUT,
    Cause,
    DecisionInputs,
    decision_inputs_of,
    frozen_version,
    reevaluate,
    rules_of,
)
from registry.context import RegistryContext
from registry.db.base import tagged_row
from registry.db.bulk import DriverInsert
from registry.errors import (
    Conflict,
    InvalidInput,
    InvalidSignature,
    NotFound,
    PermissionDenied,
    RegistryError,
)
from registry.events import publish
from registry.kernel.caller import Caller
from registry.kernel.clock import parse_iso
from registry.kernel.members import VendorStatus, member_vendor
from registry.kernel.predicates import ATTESTATION_PREDICATE
from registry.keys.models import SigningKeyRecord
from registry.keys.services import VendorKeyColumns, vendor_key_of
from registry.membership.models import Vendor
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    envelope_from_json,
    open_statement,
    signature_error,
)
from registry.transparency.entries import EntryType
from registry.transparency.services import (
    LogAppender,
    PendingLeaf,
    PreparedLeaf,
    prepare_leaf,
)

logger = logging.getLogger(__name__)


# Statements of the submission path, built once (construction costs more than SQLite's
# answer); see docs/performance.md, "Attestation ingestion".
_ATTESTATION_TABLE = cast(Table, AttestationRecord.__table__)
# One row (single submissions): a plain insert returning its id. Many (batches): straight
# to the driver's executemany, then their ids by digest; SQLAlchemy's RETURNING of many
# rows in order costs ~20 µs a row more, all of it under the write lock.
_INSERT_ATTESTATION = insert(_ATTESTATION_TABLE).returning(_ATTESTATION_TABLE.c.id)
_INSERTED_COLUMNS = [c.key for c in _ATTESTATION_TABLE.c if c.key != "id"]
_INSERT_ATTESTATIONS = DriverInsert(_ATTESTATION_TABLE, _INSERTED_COLUMNS)
_IDS_BY_DIGEST = select(_ATTESTATION_TABLE.c.envelope_digest, _ATTESTATION_TABLE.c.id).where(
    _ATTESTATION_TABLE.c.envelope_digest.in_(bindparam("digests", expanding=True))
)
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
    tagged_row(_SUBMISSION_LAYOUT, "stored", {"name": AttestationRecord.envelope_digest}).where(
        AttestationRecord.envelope_digest.in_(bindparam("digests", expanding=True))
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
_SCHEME_VERSIONS = (
    select(Scheme.id, Scheme.version)
    .where(Scheme.association_id == bindparam("association_id"), Scheme.slug == bindparam("slug"))
    .order_by(Scheme.version.desc())
)


class CriterionClaim(msgspec.Struct, forbid_unknown_fields=True):
    """The vendor's answer for one criterion, with where its evidence lives."""

    met: bool
    evidence_url: str | None = None
    evidence_sha256: str | None = None


class AttestationClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a self-regulation attestation."""

    vendor: str
    scheme: str
    """`slug@version`, e.g. `consumer-protection@1`."""
    period_start: str
    period_end: str
    issued_at: str
    criteria: dict[str, CriterionClaim]
    metrics: dict[str, float] = {}


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
class SubmittedAttestation:
    """An attestation and whether this call stored it (False: the same envelope again)."""

    record: StoredAttestation
    created: bool
    scheme: str


@dataclass(frozen=True)
class BatchItem:
    """One envelope of a batch: stored, a duplicate of a stored one, or refused."""

    index: int
    record: StoredAttestation | None
    created: bool
    error: RegistryError | None
    scheme: str | None = None
    """`slug@version` of the record's scheme."""


_SchemeCache = dict[tuple[int, str], SchemeVersion | RegistryError]
"""What (association id, scheme label) resolved to within one write transaction."""


class _NothingStored(Exception):
    """Every envelope of the write phase was refused: roll the transaction back."""


@dataclass
class _Outcome:
    """What a write phase decided: refusals, new rows (ids set) and repeats in the batch."""

    results: dict[int, BatchItem] = field(default_factory=dict)
    fresh: list[tuple[int, SchemeVersion, dict[str, Any]]] = field(default_factory=list)
    repeats: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _WriteJob:
    """One submission's envelopes that passed the read phase, waiting for the write lock."""

    vendor: MemberVendorRef
    checked: dict[int, _Checked]
    prepared: dict[int, _Prepared]
    now: datetime


@dataclass(frozen=True)
class _Prepared:
    """Work done before the write lock for an envelope whose scheme looked current.

    Used only if the write phase finds the same scheme version still the latest.
    """

    scheme: SchemeVersion
    all_met: bool
    leaf: PreparedLeaf


@dataclass(frozen=True)
class _Checked:
    """An envelope that passed every check that needs no write lock."""

    envelope: Envelope
    canonical: bytes
    """RFC 8785 bytes of the envelope, as stored and hashed."""
    digest: str
    claims: AttestationClaims
    key_id: str
    issued_at: datetime
    period_start: datetime
    period_end: datetime


def parse_period(start: str, end: str) -> tuple[datetime, datetime]:
    """A half-open period [start, end) with zones, start before end."""
    try:
        period_start, period_end = parse_iso(start), parse_iso(end)
    except ValueError as exc:
        raise InvalidInput(
            "period_start and period_end must be ISO 8601 times with a zone",
            fields={"period": "not ISO 8601 with zone"},
        ) from exc
    if period_start >= period_end:
        raise InvalidInput(
            "period_start must be before period_end", fields={"period": "empty or reversed"}
        )
    return period_start, period_end


class AttestationService:
    """Accepts vendors' signed attestations and lists them."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        # Published versions, and the one each (association, label) last resolved to in a
        # committed write phase: plain values, never rows, as they outlive the session
        # that read them and serve every later request.
        self._schemes: dict[int, SchemeVersion] = {}
        self._resolved: dict[tuple[int, str], SchemeVersion] = {}
        # Group commit of single submissions (see `_write_grouped`).
        self._queue: list[tuple[_WriteJob, asyncio.Future[_Outcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, caller: Caller, slug: str, envelope: Envelope) -> SubmittedAttestation:
        """Accept one attestation; the same envelope again returns the stored record."""
        item = (await self._submit_many(caller, slug, [envelope]))[0]
        if item.error is not None:
            raise item.error
        assert item.record is not None  # noqa: S101 - no error means a record
        assert item.scheme is not None  # noqa: S101 - every record names its scheme
        return SubmittedAttestation(item.record, item.created, item.scheme)

    async def submit_batch(
        self, caller: Caller, slug: str, envelopes: Sequence[dict[str, Any]]
    ) -> list[BatchItem]:
        """Accept up to `attestation_batch_max` envelopes, each on its own, in one commit."""
        limit = self.ctx.settings.attestation_batch_max
        if not envelopes:
            raise InvalidInput("a batch needs at least one envelope", fields={"envelopes": "empty"})
        if len(envelopes) > limit:
            raise InvalidInput(
                f"a batch holds at most {limit} envelopes, not {len(envelopes)}",
                fields={"envelopes": "too many"},
            )
        parsed: list[Envelope | RegistryError] = []
        for raw in envelopes:
            try:
                parsed.append(envelope_from_json(raw))
            except RegistryError as exc:
                parsed.append(exc)
        return await self._submit_many(caller, slug, parsed)

    async def _submit_many(
        self, caller: Caller, slug: str, envelopes: Sequence[Envelope | RegistryError]
    ) -> list[BatchItem]:
        now = self.ctx.clock.now()
        results: dict[int, BatchItem] = {}
        checked: dict[int, _Checked] = {}
        canonical = {i: e.to_json() for i, e in enumerate(envelopes) if isinstance(e, Envelope)}
        digests = {i: hashlib.sha256(data).hexdigest() for i, data in canonical.items()}
        keyids = sorted({k for e in envelopes if isinstance(e, Envelope) for k in e.keyids})
        async with self.ctx.db.read_rows() as connection:
            vendor, known, key_rows = await _submission_context(
                connection, slug, list(digests.values()), keyids
            )
        if not caller.speaks_for_vendor(vendor.id):
            raise PermissionDenied("only the vendor's own admin may submit its attestations")
        keys: dict[tuple[str, datetime], PublicKey | RegistryError] = {}
        for index, envelope in enumerate(envelopes):
            if isinstance(envelope, RegistryError):
                results[index] = BatchItem(index, None, False, envelope)
                continue
            if digests[index] in known:
                continue
            try:
                checked[index] = self._check(
                    vendor,
                    envelope,
                    canonical[index],
                    digests[index],
                    now=now,
                    keys=keys,
                    key_rows=key_rows,
                )
            except RegistryError as exc:
                results[index] = BatchItem(index, None, False, exc)
        if known:
            # Stored before: the original records, whatever their keys' state is now.
            async with self.ctx.db.read() as session:
                stored = await _by_digest(session, list(known))
            for index, digest in digests.items():
                if digest in stored:
                    record, label = stored[digest]
                    results[index] = BatchItem(index, record, False, None, label)
        if checked:
            prepared = self._prepare(vendor, checked, now)
            results.update(await self._store(vendor, checked, prepared, now))
        return [results[i] for i in range(len(envelopes))]

    def _prepare(
        self, vendor: MemberVendorRef, checked: dict[int, _Checked], now: datetime
    ) -> dict[int, _Prepared]:
        """Criteria and log leaves, under the scheme each label last resolved to.

        Pure work, done before the write lock so that it does not serialise the workers.
        It is a guess: the write phase resolves every label again and uses this only if
        it got the same scheme version; anything else (an unknown label, missing
        criteria) is decided there exactly as before.
        """
        prepared: dict[int, _Prepared] = {}
        for index, item in checked.items():
            scheme = self._resolved.get((vendor.association_id, item.claims.scheme))
            if scheme is None:
                continue
            try:
                all_met = _all_met(scheme, item.claims)
            except RegistryError:
                continue
            leaf = prepare_leaf(_attestation_leaf(vendor, scheme, item), now)
            prepared[index] = _Prepared(scheme, all_met, leaf)
        return prepared

    async def _current_scheme(
        self, connection: AsyncConnection, association_id: int, label: str
    ) -> SchemeVersion | None:
        """The kept version `label` if it is the association's latest."""
        try:
            slug, version = parse_scheme_label(label)
        except InvalidInput:
            return None
        latest = (
            await connection.execute(
                _SCHEME_VERSIONS, {"association_id": association_id, "slug": slug}
            )
        ).first()
        if latest is None or latest.version != version:
            return None
        kept = self._schemes.get(latest.id)
        if kept is None or (kept.association_id, kept.label) != (association_id, label):
            return None
        return kept

    def _check(
        self,
        vendor: MemberVendorRef,
        envelope: Envelope,
        canonical: bytes,
        digest: str,
        *,
        now: datetime,
        keys: dict[tuple[str, datetime], PublicKey | RegistryError],
        key_rows: Mapping[str, VendorKeyColumns],
    ) -> _Checked:
        statement = open_statement(envelope, ATTESTATION_PREDICATE)
        claims = decode_predicate(statement, AttestationClaims)
        if claims.vendor != vendor.slug:
            raise InvalidInput(
                f"the statement names vendor {claims.vendor!r}, not {vendor.slug!r}",
                fields={"vendor": "mismatch"},
            )
        issued_at = check_issued_at(claims.issued_at, now, self.ctx.settings)
        key_id = _verify(envelope, vendor.id, issued_at, keys, key_rows, received_at=now)
        period_start, period_end = parse_period(claims.period_start, claims.period_end)
        if period_end > now + self.ctx.settings.signature_clock_skew:
            raise InvalidInput(
                "the attested period has not ended yet", fields={"period_end": "in the future"}
            )
        return _Checked(
            envelope, canonical, digest, claims, key_id, issued_at, period_start, period_end
        )

    async def _store(
        self,
        vendor: MemberVendorRef,
        checked: dict[int, _Checked],
        prepared: dict[int, _Prepared],
        now: datetime,
    ) -> dict[int, BatchItem]:
        """Final checks that need the write lock, then inserts, log leaves and one reevaluation."""
        job = _WriteJob(vendor, checked, prepared, now)
        if len(checked) == 1 and all(
            (vendor.association_id, item.claims.scheme) in self._resolved
            for item in checked.values()
        ):
            outcome = await self._write_grouped(job)
        else:
            outcome = await self._write_alone(job)
        # Shaped after the commit: building ORM objects is not work for the write lock.
        results = outcome.results
        by_digest: dict[str, tuple[StoredAttestation, str]] = {}
        for index, scheme, row in outcome.fresh:
            record = StoredAttestation.of(row)
            results[index] = BatchItem(index, record, True, None, scheme.label)
            by_digest[record.envelope_digest] = (record, scheme.label)
        for index, digest in outcome.repeats:
            record, label = by_digest[digest]
            results[index] = BatchItem(index, record, False, None, label)
        return results

    async def _write_alone(self, job: _WriteJob) -> _Outcome:
        """The job in a transaction of its own, rolled back if it stores nothing."""
        outcome = _Outcome()
        schemes: _SchemeCache = {}
        with contextlib.suppress(_NothingStored):
            async with self.ctx.db.transaction() as session:
                appender = LogAppender(session, job.now, deferred=True)
                await self._write(session, appender, job, outcome, schemes)
                await appender.flush()
            self._remember(schemes)
        return outcome

    async def _write_grouped(self, job: _WriteJob) -> _Outcome:
        """Group commit: the job joins the next transaction this process writes.

        Single-envelope submissions that arrive while another one holds the write lock
        queue here and are then written together, one transaction and one log-head
        update for all of them, each checked and re-evaluated on its own as if alone.
        Only jobs whose scheme is already known are grouped: their checks cannot write
        (publishing the default scheme is the one write a refused job could leave), so a
        refused job still writes nothing. The request cannot cancel a queued job; a
        retry of the same envelope returns the stored record.
        """
        done: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((job, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(done)

    async def _flush(self) -> None:
        """Write queued jobs, a group per transaction, until the queue is empty."""
        group: list[tuple[_WriteJob, asyncio.Future[_Outcome]]] = []
        try:
            while self._queue:
                group = []
                schemes: _SchemeCache = {}
                try:
                    async with self.ctx.db.transaction() as session:
                        # Taken once the write lock is held: whatever queued meanwhile joins.
                        limit = self.ctx.settings.attestation_group_max
                        group, self._queue = self._queue[:limit], self._queue[limit:]
                        outcomes = await self._write_group(
                            session, [job for job, _ in group], schemes
                        )
                    self._remember(schemes)
                except Exception:
                    # Something no check foresaw: nothing of the group was committed.
                    logger.exception("a grouped attestation write failed; writing one by one")
                    await self._write_each_alone(group)
                    continue
                for (_, done), outcome in zip(group, outcomes, strict=True):
                    if not done.done():
                        done.set_result(outcome)
        except BaseException:
            for _, done in [*group, *self._queue]:
                done.cancel()
            self._queue = []
            raise
        finally:
            self._flusher = None

    async def _write_group(
        self, session: AsyncSession, jobs: list[_WriteJob], schemes: _SchemeCache
    ) -> list[_Outcome]:
        """Every job in one open transaction, sharing one log appender.

        The jobs also share what each scheme label resolved to (`schemes`): under the
        write lock no one else can publish a version, and grouped jobs never publish one
        themselves.
        """
        appender = LogAppender(session, jobs[0].now, deferred=True)
        outcomes = []
        for job in jobs:
            # Each job's leaves carry its own time, as when written alone.
            appender.now = job.now
            outcome = _Outcome()
            with contextlib.suppress(_NothingStored):
                await self._write(session, appender, job, outcome, schemes)
            outcomes.append(outcome)
        await appender.flush()
        return outcomes

    async def _write_each_alone(
        self, group: list[tuple[_WriteJob, asyncio.Future[_Outcome]]]
    ) -> None:
        """After a failed group: each job in a transaction of its own, with its own outcome."""
        for job, done in group:
            try:
                alone = await self._write_alone(job)
            except Exception as exc:  # noqa: BLE001 - handed to the job's request
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(alone)

    async def _write(
        self,
        session: AsyncSession,
        appender: LogAppender,
        job: _WriteJob,
        outcome: _Outcome,
        schemes: _SchemeCache,
    ) -> None:
        """The checks that need the write lock, the inserts, leaves and reevaluation.

        Raises `_NothingStored`, before writing anything, when every envelope is refused.
        """
        vendor, checked, prepared, now = job.vendor, job.checked, job.prepared, job.now
        results, fresh, repeats = outcome.results, outcome.fresh, outcome.repeats
        # One query answers both "stored meanwhile?" and "overlapping?" (a stored copy of
        # one of these envelopes names this vendor and the same period, so it overlaps),
        # and reads what the certificate's decision needs besides the new attestations.
        guess = next(iter(prepared.values()), None)
        periods = rules_of(guess.scheme).l3_periods if guess else DEFAULT_L3_PERIODS
        stored_periods, raced, inputs = await _write_context(
            session, vendor.id, checked.values(), periods
        )
        taken = _Periods(stored_periods)
        stored = await _by_digest(session, raced) if raced else {}
        accepted: list[tuple[int, _Checked, SchemeVersion, bool, PendingLeaf | PreparedLeaf]]
        accepted = []
        seen: set[str] = set()
        for index, item in checked.items():
            if item.digest in stored:
                record, label = stored[item.digest]
                results[index] = BatchItem(index, record, False, None, label)
                continue
            if item.digest in seen:
                repeats.append((index, item.digest))
                continue
            try:
                scheme = await self._scheme(session, vendor, item.claims.scheme, schemes, now)
                ready = prepared.get(index)
                leaf: PendingLeaf | PreparedLeaf
                if ready is not None and ready.scheme.id == scheme.id:
                    all_met, leaf = ready.all_met, ready.leaf
                else:
                    all_met = _all_met(scheme, item.claims)
                    leaf = _attestation_leaf(vendor, scheme, item)
                taken.refuse_overlap(item)
            except RegistryError as exc:
                results[index] = BatchItem(index, None, False, exc)
                continue
            taken.add(item)
            seen.add(item.digest)
            accepted.append((index, item, scheme, all_met, leaf))
        if not accepted:
            # Roll back whatever the checks published on the way (the default scheme).
            raise _NothingStored
        indexes = await appender.append_many([leaf for *_, leaf in accepted])
        rows = [
            {
                "vendor_id": vendor.id,
                "scheme_id": scheme.id,
                "key_id": item.key_id,
                "envelope_digest": item.digest,
                "period_start": item.period_start,
                "period_end": item.period_end,
                "issued_at": item.issued_at,
                "all_met": all_met,
                "metrics": dict(item.claims.metrics),
                "received_at": now,
                "log_index": log_index,
            }
            for (_, item, scheme, all_met, _), log_index in zip(accepted, indexes, strict=True)
        ]
        connection = await session.connection()
        if len(rows) == 1:
            ids = [(await connection.execute(_INSERT_ATTESTATION, rows[0])).scalar_one()]
        else:
            await _INSERT_ATTESTATIONS.execute(
                connection, [[row[name] for name in _INSERTED_COLUMNS] for row in rows]
            )
            by_digest = dict(
                (
                    await connection.execute(
                        _IDS_BY_DIGEST, {"digests": [row["envelope_digest"] for row in rows]}
                    )
                ).all()
            )
            ids = [by_digest[row["envelope_digest"]] for row in rows]
        for (index, item, scheme, all_met, _), row, record_id, log_index in zip(
            accepted, rows, ids, indexes, strict=True
        ):
            row["id"] = record_id
            fresh.append((index, scheme, row))
            publish(
                session,
                AttestationAccepted(
                    attestation_id=record_id,
                    vendor_id=vendor.id,
                    scheme_id=scheme.id,
                    period_start=item.period_start,
                    period_end=item.period_end,
                    all_met=all_met,
                    log_index=log_index,
                    at=now,
                ),
            )
        latest = max(range(len(accepted)), key=lambda i: accepted[i][1].period_end)
        await reevaluate(
            session,
            vendor,
            Trigger.EVIDENCE,
            Cause(TransitionCause.ATTESTATION, ref=f"attestation:{rows[latest]['id']}"),
            now,
            evidence_scheme=accepted[latest][2],
            appender=appender,
            inputs=inputs.with_attestations(
                [
                    AttestationFact(
                        item.period_start, item.period_end, all_met, dict(item.claims.metrics)
                    )
                    for _, item, _, all_met, _ in accepted
                ]
            ),
        )

    async def _scheme(
        self,
        session: AsyncSession,
        vendor: MemberVendorRef,
        label: str,
        cache: _SchemeCache,
        now: datetime,
    ) -> SchemeVersion:
        found = cache.get((vendor.association_id, label))
        if found is None:
            try:
                found = await self._latest_scheme(session, vendor.association_id, label, now)
            except RegistryError as exc:
                found = exc
            cache[vendor.association_id, label] = found
        if isinstance(found, RegistryError):
            raise found
        return found

    async def _latest_scheme(
        self, session: AsyncSession, association_id: int, label: str, now: datetime
    ) -> SchemeVersion:
        """`scheme_version(latest_only=True)`, reading only ids when the versions are known.

        Published versions never change, so their values are kept per service (that is,
        per database); whether a newer version exists is asked every time.
        """
        scheme = await self._current_scheme(await session.connection(), association_id, label)
        if scheme is None:
            row = await scheme_version(session, association_id, label, latest_only=True, now=now)
            scheme = frozen_version(row)
        return scheme

    def _remember(self, schemes: _SchemeCache) -> None:
        """Keep what a committed write phase resolved, for the requests after it.

        Only after the commit: a refused submission rolls back, and with it a default
        scheme its checks may have published on the way.
        """
        for key, found in schemes.items():
            if isinstance(found, SchemeVersion):
                self._schemes[found.id] = found
                self._resolved[key] = found

    async def list_for_vendor(
        self, caller: Caller, slug: str, *, offset: int, limit: int
    ) -> tuple[list[tuple[AttestationRecord, str]], int]:
        """A vendor's attestations with scheme labels, newest period first.

        The vendor itself and its association's admins may read them.
        """
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            if not (
                caller.speaks_for_vendor(vendor.id)
                or caller.administers_association(vendor.association_id)
            ):
                raise NotFound(f"no member vendor with slug {slug!r}")
            total = await session.scalar(
                select(func.count()).where(AttestationRecord.vendor_id == vendor.id)
            )
            rows = await session.execute(
                select(AttestationRecord, Scheme)
                .join(Scheme, Scheme.id == AttestationRecord.scheme_id)
                .where(AttestationRecord.vendor_id == vendor.id)
                .order_by(AttestationRecord.period_end.desc())
                .offset(offset)
                .limit(limit)
            )
            return [(r, s.label) for r, s in rows.all()], total or 0


def _attestation_leaf(
    vendor: MemberVendorRef, scheme: SchemeVersion, item: _Checked
) -> PendingLeaf:
    """The log leaf of an accepted attestation: its scheme and the envelope, whole."""
    return PendingLeaf(
        EntryType.ATTESTATION,
        {"scheme": scheme.label, "envelope": CanonicalJSON(item.canonical)},
        vendor_id=vendor.id,
        vendor_slug=vendor.slug,
    )


def _all_met(scheme: SchemeVersion, claims: AttestationClaims) -> bool:
    """Whether every criterion is claimed met, once each of the scheme's is answered and
    none is unknown."""
    expected = rules_of(scheme).criterion_ids
    missing = [c for c in expected if c not in claims.criteria]
    unknown = sorted(set(claims.criteria) - set(expected))
    if missing:
        raise InvalidInput(
            f"the statement does not answer criteria {', '.join(missing)} of {scheme.label}",
            fields={f"criteria.{c}": "missing" for c in missing},
        )
    if unknown:
        raise InvalidInput(
            f"{scheme.label} has no criteria {', '.join(unknown)}",
            fields={f"criteria.{c}": "unknown" for c in unknown},
        )
    return all(claims.criteria[cid].met for cid in expected)


class _Periods:
    """Accepted periods of a vendor, kept sorted by start, to test a batch in O(log n) each.

    Accepted periods never overlap one another (this check admits each of them), so
    sorted by start they are sorted by end too, and the earliest period ending after a
    candidate's start is the only one that can overlap it first.
    """

    def __init__(self, periods: list[tuple[datetime, datetime]]) -> None:
        self._periods = sorted(periods)
        self._ends = [end for _, end in self._periods]

    def refuse_overlap(self, item: _Checked) -> None:
        """Conflict naming the earliest accepted period that overlaps `item`'s."""
        at = bisect.bisect_right(self._ends, item.period_start)
        if at < len(self._periods):
            start, end = self._periods[at]
            if start < item.period_end:
                raise Conflict(
                    f"the period overlaps an accepted attestation for {start.date()} to "
                    f"{end.date()}",
                    fields={"period": "overlaps an accepted attestation"},
                )

    def add(self, item: _Checked) -> None:
        """Admit `item`'s period (checked with `refuse_overlap` first)."""
        at = bisect.bisect_right(self._ends, item.period_start)
        self._periods.insert(at, (item.period_start, item.period_end))
        self._ends.insert(at, item.period_end)


def _verify(
    envelope: Envelope,
    vendor_id: int,
    signed_at: datetime,
    keys: dict[tuple[str, datetime], PublicKey | RegistryError],
    key_rows: Mapping[str, VendorKeyColumns],
    *,
    received_at: datetime,
) -> str:
    """The id of the vendor key whose signature verifies; every refusal is precise.

    `keys` lives for one submission, whose envelopes share `received_at`, so the
    (key id, signing time) pair decides a key's answer.
    """
    first_error: RegistryError | None = None
    for keyid in envelope.keyids:
        cache_key = (keyid, signed_at)
        key = keys.get(cache_key)
        if key is None:
            try:
                key = vendor_key_of(key_rows.get(keyid), keyid, vendor_id, signed_at, received_at)
            except RegistryError as exc:
                key = exc
            keys[cache_key] = key
        if isinstance(key, RegistryError):
            first_error = first_error or key
            continue
        try:
            verify_envelope(envelope, {keyid: key}, require={keyid})
        except AttestationError as exc:
            raise signature_error(exc) from exc
        return keyid
    raise first_error or InvalidSignature("the envelope carries no signature")


async def _submission_context(
    connection: AsyncConnection, slug: str, digests: list[str], keyids: list[str]
) -> tuple[MemberVendorRef, set[str], dict[str, VendorKeyColumns]]:
    """The member vendor `slug`, which of `digests` are stored, and the keys `keyids`
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


async def _by_digest(
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


async def _write_context(
    session: AsyncSession, vendor_id: int, items: Collection[_Checked], periods: int
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
