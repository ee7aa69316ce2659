"""The write phase of attestation submissions, with group commit of single envelopes.

A submission's envelopes arrive here checked (`attestation_claims`); what remains needs
the write lock: whether the same envelope was stored meanwhile, whether the period
overlaps an accepted one, which scheme version is the latest, then the inserts, the log
leaves and one re-evaluation of the certificate. Single-envelope submissions that
arrive while another one holds the write lock queue and are then written together, in
one transaction with one log-head update (`AttestationWriter._write_grouped`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from registry.certification.attestation_claims import (
    CheckedAttestation,
    all_met,
    attestation_leaf,
)
from registry.certification.attestation_reads import (
    SCHEME_VERSIONS,
    BatchItem,
    StoredAttestation,
    stored_by_digest,
    write_context,
)
from registry.certification.catalogue import parse_scheme_label, scheme_version
from registry.certification.events import AttestationAccepted
from registry.certification.machine import AttestationFact, Trigger
from registry.certification.models import AttestationRecord, TransitionCause
from registry.certification.schemes import DEFAULT_L3_PERIODS, SchemeVersion
from registry.certification.services import MemberVendorRef
from registry.certification.transitions import (
    Cause,
    DecisionInputs,
    frozen_version,
    reevaluate,
    rules_of,
)
from registry.context import RegistryContext
from registry.db.bulk import DriverInsert
from registry.errors import Conflict, InvalidInput, RegistryError
from registry.events import publish
from registry.transparency.services import LogAppender, PendingLeaf, PreparedLeaf, prepare_leaf

logger = logging.getLogger(__name__)

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

_SchemeCache = dict[tuple[int, str], SchemeVersion | RegistryError]
"""What (association id, scheme label) resolved to within one write transaction."""

_Accepted = tuple[int, CheckedAttestation, SchemeVersion, bool, PendingLeaf | PreparedLeaf]
"""An envelope the write phase admits: its index, itself, its scheme, whether every
criterion is met, and its log leaf (a plain tuple: one is built per stored envelope)."""


class _NothingStored(Exception):
    """Every envelope of the write phase was refused: roll the transaction back."""


@dataclass
class _Outcome:
    """What a write phase decided: refusals, new rows (ids set) and repeats in the batch."""

    results: dict[int, BatchItem] = field(default_factory=dict)
    fresh: list[tuple[int, SchemeVersion, dict[str, Any]]] = field(default_factory=list)
    repeats: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Prepared:
    """Work done before the write lock for an envelope whose scheme looked current.

    Used only if the write phase finds the same scheme version still the latest.
    """

    scheme: SchemeVersion
    all_met: bool
    leaf: PreparedLeaf


@dataclass(frozen=True)
class _WriteJob:
    """One submission's envelopes that passed the read phase, waiting for the write lock."""

    vendor: MemberVendorRef
    checked: dict[int, CheckedAttestation]
    prepared: dict[int, _Prepared]
    now: datetime


class AttestationWriter:
    """Stores checked attestations: one transaction per batch, grouped single envelopes.

    One per service (that is, per database and process): it keeps the queue of waiting
    single submissions and the scheme versions committed write phases resolved.
    """

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

    async def store(
        self, vendor: MemberVendorRef, checked: dict[int, CheckedAttestation], now: datetime
    ) -> dict[int, BatchItem]:
        """Final checks that need the write lock, then inserts, log leaves and one reevaluation."""
        job = _WriteJob(vendor, checked, self._prepare(vendor, checked, now), now)
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

    def _prepare(
        self, vendor: MemberVendorRef, checked: dict[int, CheckedAttestation], now: datetime
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
                met = all_met(scheme, item.claims)
            except RegistryError:
                continue
            leaf = prepare_leaf(attestation_leaf(vendor, scheme, item), now)
            prepared[index] = _Prepared(scheme, met, leaf)
        return prepared

    async def _write_alone(self, job: _WriteJob) -> _Outcome:
        """The job in a transaction of its own, rolled back if it stores nothing; once
        more if another worker committed the same row first.

        On PostgreSQL two workers can each read that a vendor has no certificate yet (or
        not this envelope) and both insert it; the second insert fails on the unique
        index once the first commits. A new transaction reads what the other committed
        and decides as if it had come second, which it did (the same envelope again is
        then the stored record). SQLite's write lock serialises the two."""
        try:
            return await self._write_alone_once(job)
        except IntegrityError:
            logger.warning("an attestation write met a concurrent write; writing it again")
            return await self._write_alone_once(job)

    async def _write_alone_once(self, job: _WriteJob) -> _Outcome:
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
                except IntegrityError:
                    # Another worker wrote the same row first (see `_write_alone`):
                    # expected, so no traceback. Written alone, each job reads it.
                    logger.warning(
                        "a grouped attestation write met a concurrent write; writing one by one"
                    )
                    await self._write_each_alone(group)
                    continue
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
        # One query answers both "stored meanwhile?" and "overlapping?" (a stored copy of
        # one of these envelopes names this vendor and the same period, so it overlaps),
        # and reads what the certificate's decision needs besides the new attestations.
        guess = next(iter(job.prepared.values()), None)
        periods = rules_of(guess.scheme).l3_periods if guess else DEFAULT_L3_PERIODS
        stored_periods, raced, inputs = await write_context(
            session, job.vendor.id, job.checked.values(), periods
        )
        stored = await stored_by_digest(session, raced) if raced else {}
        accepted = await self._accept(session, job, outcome, schemes, stored, stored_periods)
        if not accepted:
            # Roll back whatever the checks published on the way (the default scheme).
            raise _NothingStored
        indexes = await appender.append_many([leaf for *_, leaf in accepted])
        rows = await _insert(session, job, accepted, indexes)
        for (index, item, scheme, met, _), row in zip(accepted, rows, strict=True):
            outcome.fresh.append((index, scheme, row))
            publish(
                session,
                AttestationAccepted(
                    attestation_id=row["id"],
                    vendor_id=job.vendor.id,
                    scheme_id=scheme.id,
                    period_start=item.period_start,
                    period_end=item.period_end,
                    all_met=met,
                    log_index=row["log_index"],
                    at=job.now,
                ),
            )
        await _reevaluate(session, appender, job, accepted, rows, inputs)

    async def _accept(  # noqa: PLR0917 - one job's phase and what it read
        self,
        session: AsyncSession,
        job: _WriteJob,
        outcome: _Outcome,
        schemes: _SchemeCache,
        stored: dict[str, tuple[StoredAttestation, str]],
        stored_periods: list[tuple[datetime, datetime]],
    ) -> list[_Accepted]:
        """The job's envelopes to store, in order; stored copies, repeats within the job
        and refusals go to `outcome`."""
        results, repeats = outcome.results, outcome.repeats
        taken = _Periods(stored_periods)
        accepted: list[_Accepted] = []
        seen: set[str] = set()
        for index, item in job.checked.items():
            if item.digest in stored:
                record, label = stored[item.digest]
                results[index] = BatchItem(index, record, False, None, label)
                continue
            if item.digest in seen:
                repeats.append((index, item.digest))
                continue
            try:
                scheme = await self._scheme(
                    session, job.vendor, item.claims.scheme, schemes, job.now
                )
                ready = job.prepared.get(index)
                leaf: PendingLeaf | PreparedLeaf
                if ready is not None and ready.scheme.id == scheme.id:
                    met, leaf = ready.all_met, ready.leaf
                else:
                    met = all_met(scheme, item.claims)
                    leaf = attestation_leaf(job.vendor, scheme, item)
                taken.refuse_overlap(item)
            except RegistryError as exc:
                results[index] = BatchItem(index, None, False, exc)
                continue
            taken.add(item)
            seen.add(item.digest)
            accepted.append((index, item, scheme, met, leaf))
        return accepted

    async def _scheme(
        self,
        session: AsyncSession,
        vendor: MemberVendorRef,
        label: str,
        cache: _SchemeCache,
        now: datetime,
    ) -> SchemeVersion:
        """The latest version `label` names in the vendor's association, once per write
        transaction (a refusal is kept too)."""
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
                SCHEME_VERSIONS, {"association_id": association_id, "slug": slug}
            )
        ).first()
        if latest is None or latest.version != version:
            return None
        kept = self._schemes.get(latest.id)
        if kept is None or (kept.association_id, kept.label) != (association_id, label):
            return None
        return kept

    def _remember(self, schemes: _SchemeCache) -> None:
        """Keep what a committed write phase resolved, for the requests after it.

        Only after the commit: a refused submission rolls back, and with it a default
        scheme its checks may have published on the way.
        """
        for key, found in schemes.items():
            if isinstance(found, SchemeVersion):
                self._schemes[found.id] = found
                self._resolved[key] = found


async def _insert(
    session: AsyncSession, job: _WriteJob, accepted: list[_Accepted], indexes: list[int]
) -> list[dict[str, Any]]:
    """Insert the accepted attestations at their log indexes; their rows, ids set."""
    rows = [
        {
            "vendor_id": job.vendor.id,
            "scheme_id": scheme.id,
            "key_id": item.key_id,
            "envelope_digest": item.digest,
            "period_start": item.period_start,
            "period_end": item.period_end,
            "issued_at": item.issued_at,
            "all_met": met,
            "metrics": dict(item.claims.metrics),
            "received_at": job.now,
            "log_index": log_index,
        }
        for (_, item, scheme, met, _), log_index in zip(accepted, indexes, strict=True)
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
    for row, record_id in zip(rows, ids, strict=True):
        row["id"] = record_id
    return rows


async def _reevaluate(  # noqa: PLR0917 - the write phase's state, passed on whole
    session: AsyncSession,
    appender: LogAppender,
    job: _WriteJob,
    accepted: list[_Accepted],
    rows: list[dict[str, Any]],
    inputs: DecisionInputs,
) -> None:
    """One re-evaluation of the certificate for all the job's new attestations, caused by
    the one whose period ends last."""
    latest = max(range(len(accepted)), key=lambda i: accepted[i][1].period_end)
    await reevaluate(
        session,
        job.vendor,
        Trigger.EVIDENCE,
        Cause(TransitionCause.ATTESTATION, ref=f"attestation:{rows[latest]['id']}"),
        job.now,
        evidence_scheme=accepted[latest][2],
        appender=appender,
        inputs=inputs.with_attestations(
            [
                AttestationFact(item.period_start, item.period_end, met, dict(item.claims.metrics))
                for _, item, _, met, _ in accepted
            ]
        ),
    )


class _Periods:
    """Accepted periods of a vendor, kept sorted by start, to test a batch in O(log n) each.

    Accepted periods never overlap one another (this check admits each of them), so
    sorted by start they are sorted by end too, and the earliest period ending after a
    candidate's start is the only one that can overlap it first.
    """

    def __init__(self, periods: list[tuple[datetime, datetime]]) -> None:
        self._periods = sorted(periods)
        self._ends = [end for _, end in self._periods]

    def refuse_overlap(self, item: CheckedAttestation) -> None:
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

    def add(self, item: CheckedAttestation) -> None:
        """Admit `item`'s period (checked with `refuse_overlap` first)."""
        at = bisect.bisect_right(self._ends, item.period_start)
        self._periods.insert(at, (item.period_start, item.period_end))
        self._ends.insert(at, item.period_end)
