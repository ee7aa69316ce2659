"""The log store: appends in the caller's transaction, proofs in O(log n) reads.

Appending locks the single `log_head` row (SELECT … FOR UPDATE on PostgreSQL; SQLite
write transactions are already exclusive), so indexes are dense and never reused. The
record being logged and its leaf share one transaction: neither exists without the other.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from attestations import merkle
from attestations.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from registry.context import RegistryContext
from registry.db.bulk import DriverInsert
from registry.errors import InvalidInput, NotFound
from registry.kernel.members import VENDOR
from registry.pagination import Page
from registry.transparency.entries import EntryType, leaf_bytes
from registry.transparency.models import LogCheckpoint, LogEntry, LogHead, LogNode

_HEAD_ID = 1
_ENTRY_TABLE = cast(Table, LogEntry.__table__)
_NODE_TABLE = cast(Table, LogNode.__table__)
# Straight to the driver: these run under the write lock, a few rows per leaf.
_INSERT_ENTRIES = DriverInsert(
    _ENTRY_TABLE, ["index", "entry_type", "vendor_id", "leaf", "created_at"]
)
_INSERT_NODES = DriverInsert(_NODE_TABLE, ["level", "index", "hash"])


_LOCK_HEAD = select(LogHead.size).where(LogHead.id == _HEAD_ID).with_for_update()
_SET_SIZE = (
    update(LogHead)
    .where(LogHead.id == _HEAD_ID)
    .values(size=bindparam("new_size"))
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class PendingLeaf:
    """A leaf to append: its type, body and the vendor it concerns."""

    entry_type: EntryType
    body: dict[str, Any]
    vendor_id: int | None = None
    vendor_slug: str | None = None


@dataclass(frozen=True)
class PreparedLeaf:
    """A leaf whose bytes and hash are computed already (they do not depend on its index).

    Batches prepare their leaves before the write transaction opens, so the canonical
    JSON and hashing of hundreds of envelopes do not hold SQLite's single write lock.
    """

    entry_type: EntryType
    data: bytes
    hash: bytes
    vendor_id: int | None


def prepare_leaf(leaf: PendingLeaf, now: datetime) -> PreparedLeaf:
    """The exact bytes and leaf hash `LogAppender` would compute for `leaf` at `now`."""
    data = leaf_bytes(leaf.entry_type, leaf.body, recorded_at=now, vendor_slug=leaf.vendor_slug)
    return PreparedLeaf(leaf.entry_type, data, merkle.leaf_hash(data), leaf.vendor_id)


@dataclass(frozen=True)
class LogEntrySummary:
    """One entry as a list of the log shows it: what, about whom, when."""

    index: int
    entry_type: str
    recorded_at: datetime
    vendor_slug: str | None
    vendor_name_zh: str | None
    vendor_name_en: str | None


@dataclass(frozen=True)
class InclusionProof:
    """An audit path for one leaf against a tree size."""

    leaf_index: int
    tree_size: int
    hashes: list[bytes]


async def lock_head(session: AsyncSession) -> int:
    """Lock the log head row for this transaction and return the tree size.

    The row is created on first use with INSERT … ON CONFLICT DO NOTHING: a plain
    SELECT … FOR UPDATE locks nothing while the row is missing, so two first appends (or
    two first checkpoints) on PostgreSQL would both insert it and one would fail. With the
    upsert, the second waits for the first to commit and then finds the row.
    """
    locked = _LOCK_HEAD
    size = (await session.execute(locked)).scalar_one_or_none()
    if size is None:
        dialect_insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        await session.execute(
            dialect_insert(LogHead).values(id=_HEAD_ID, size=0).on_conflict_do_nothing()
        )
        size = (await session.execute(locked)).scalar_one()
    return size


_DEFERRED_APPENDER = "registry.deferred_log_appender"


class LogAppender:
    """Appends leaves inside an open transaction; create one per unit of work.

    A `deferred` appender keeps its rows until `flush()`, which the owner calls before
    the transaction commits: a group of submissions then writes its leaves in three
    statements instead of three per submission. While it holds unwritten rows no other
    appender may start in the same transaction (it would read a stale log head); that
    is refused loudly, and the primary keys of the log tables refuse any collision too.
    """

    def __init__(self, session: AsyncSession, now: datetime, *, deferred: bool = False) -> None:
        self.session = session
        self.now = now
        self._deferred = deferred
        self._builder: merkle.TreeBuilder | None = None
        self._entries: list[tuple[int, str, int | None, bytes, datetime]] = []
        self._nodes: list[tuple[int, int, bytes]] = []

    async def _start(self) -> merkle.TreeBuilder:
        if self._builder is None:
            holder = self.session.info.get(_DEFERRED_APPENDER)
            if holder is not None and holder is not self and holder.pending:
                raise RuntimeError(
                    "a deferred log appender of this transaction has unwritten leaves; "
                    "flush it before appending elsewhere"
                )
            size = await lock_head(self.session)
            border = await read_nodes(self.session, merkle.root_plan(size).node_ids)
            self._builder = merkle.TreeBuilder(size, border)
            if self._deferred:
                self.session.info[_DEFERRED_APPENDER] = self
        return self._builder

    @property
    def pending(self) -> bool:
        """Whether rows wait for `flush()`."""
        return bool(self._entries)

    async def flush(self) -> None:
        """Write the rows kept so far and the new log size (no-op when none wait)."""
        if not self._entries:
            return
        assert self._builder is not None  # noqa: S101 - rows imply a started builder
        connection = await self.session.connection()
        await _INSERT_ENTRIES.execute(connection, self._entries)
        await _INSERT_NODES.execute(connection, self._nodes)
        await connection.execute(_SET_SIZE, {"new_size": self._builder.size})
        self._entries, self._nodes = [], []

    async def append(self, leaf: PendingLeaf) -> int:
        """Append one leaf; returns its index."""
        return (await self.append_many([leaf]))[0]

    async def append_many(self, leaves: Sequence[PendingLeaf | PreparedLeaf]) -> list[int]:
        """Append leaves in order with one multi-row insert per table.

        Prepared leaves must have been prepared with this appender's `now`.
        """
        builder = await self._start()
        entries, nodes = self._entries, self._nodes
        indexes: list[int] = []
        for pending in leaves:
            leaf = pending if isinstance(pending, PreparedLeaf) else prepare_leaf(pending, self.now)
            index = builder.size
            for node, value in builder.append(leaf.hash):
                nodes.append((node.level, node.index, value))
            entries.append((index, leaf.entry_type.value, leaf.vendor_id, leaf.data, self.now))
            indexes.append(index)
        if not self._deferred:
            await self.flush()
        return indexes


@functools.cache
def _nodes_query(levels: int) -> Select[int, int, bytes]:
    """SELECT of the nodes at `levels` distinct levels: `level = ? AND index IN (…)`, OR-ed.

    Both databases turn that into primary-key lookups. A row-value `(level, index) IN
    (VALUES …)` reads the same but SQLite (3.40) plans it as a full scan of log_node, i.e.
    O(n) per proof. Built once per shape with bound parameters, so SQLAlchemy's compiled
    cache serves every later proof.
    """
    table = _NODE_TABLE.c
    return select(table.level, table.index, table.hash).where(
        or_(
            *(
                and_(
                    table.level == bindparam(f"level_{k}"),
                    table.index.in_(bindparam(f"indexes_{k}", expanding=True)),
                )
                for k in range(levels)
            )
        )
    )


@functools.cache
def _border_query(count: int) -> Select[int, int, bytes]:
    """`_nodes_query` for one node at each of `count` levels: `level = ? AND index = ?`."""
    table = _NODE_TABLE.c
    return select(table.level, table.index, table.hash).where(
        or_(
            *(
                and_(
                    table.level == bindparam(f"level_{k}"),
                    table.index == bindparam(f"index_{k}"),
                )
                for k in range(count)
            )
        )
    )


async def read_nodes(session: AsyncSession, ids: Sequence[merkle.NodeID]) -> list[bytes]:
    """Fetch stored node hashes in the order asked, in one query."""
    if not ids:
        return []
    by_level: dict[int, list[int]] = {}
    for node in ids:
        by_level.setdefault(node.level, []).append(node.index)
    parameters: dict[str, Any] = {}
    if len(by_level) == len(ids):
        # One node a level, as on every append (the root plan's border): plain parameters
        # spare SQLAlchemy the per-execution rendering of expanding IN lists.
        for k, node in enumerate(ids):
            parameters[f"level_{k}"] = node.level
            parameters[f"index_{k}"] = node.index
        statement = _border_query(len(ids))
    else:
        for k, (level, indexes) in enumerate(by_level.items()):
            parameters[f"level_{k}"] = level
            parameters[f"indexes_{k}"] = indexes
        statement = _nodes_query(len(by_level))
    rows = await session.execute(statement, parameters)
    found = {(level, index): value for level, index, value in rows}
    missing = [n for n in ids if (n.level, n.index) not in found]
    if missing:
        raise RuntimeError(f"log store is missing nodes {missing[:3]}; the log is corrupt")
    return [found[(n.level, n.index)] for n in ids]


class TransparencyLogService:
    """Reads, proofs and checkpoint signing over the stored log."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    @property
    def key_name(self) -> str:
        """The signed-note key name: the log origin."""
        return self.ctx.settings.log_origin

    def verifier_key(self) -> str:
        """C2SP verifier key string of the federation key."""
        return verifier_key(self.key_name, self.ctx.federation_key.public_key)

    async def size(self, session: AsyncSession) -> int:
        """Current tree size."""
        size = (
            await session.execute(select(LogHead.size).where(LogHead.id == _HEAD_ID))
        ).scalar_one_or_none()
        return size or 0

    async def root(self, session: AsyncSession, size: int) -> bytes:
        """MTH of the first `size` leaves, from O(log n) stored nodes."""
        plan = merkle.root_plan(size)
        return merkle.fold(await read_nodes(session, plan.node_ids))

    async def inclusion_proof(
        self, session: AsyncSession, index: int, tree_size: int
    ) -> InclusionProof:
        """Audit path of leaf `index` in the tree of `tree_size` leaves."""
        plan = merkle.inclusion_plan(index, tree_size)
        hashes = plan.rehash(await read_nodes(session, plan.node_ids))
        return InclusionProof(index, tree_size, hashes)

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Proof that the tree of `first` leaves is a prefix of the tree of `second`."""
        async with self.ctx.db.read() as session:
            size = await self.size(session)
            if not 0 <= first <= second:
                raise InvalidInput(
                    f"first ({first}) must be between 0 and second ({second})",
                    fields={"first": "must not exceed second"},
                )
            if second > size:
                raise InvalidInput(
                    f"second ({second}) is larger than the log ({size} entries)",
                    fields={"second": "beyond the current tree size"},
                )
            plan = merkle.consistency_plan(first, second)
            return plan.rehash(await read_nodes(session, plan.node_ids))

    async def entry_with_proof(
        self, index: int, tree_size: int | None
    ) -> tuple[LogEntry, InclusionProof, LogCheckpoint]:
        """An entry, its inclusion proof and the signed checkpoint the proof is against.

        Without `tree_size` the proof is against the latest checkpoint, signed first if
        the log grew; a request that fails signs nothing.
        """
        async with self.ctx.db.read() as session:
            entry = await session.get(LogEntry, index)
            if entry is None:
                size = await self.size(session)
                raise NotFound(
                    f"entry {index} is beyond the end of the log, which has {size} entries "
                    f"(indexes 0 to {size - 1})"
                    if size
                    else f"entry {index} does not exist: the log is empty"
                )
            checkpoint = None
            if tree_size is not None:
                checkpoint = await session.get(LogCheckpoint, tree_size)
                if checkpoint is None:
                    raise NotFound(
                        f"no checkpoint was signed at tree size {tree_size}; use the size of "
                        "a checkpoint from /api/v1/log/checkpoint or omit tree_size"
                    )
                if index >= tree_size:
                    raise NotFound(
                        f"entry {index} is not in the tree of size {tree_size}: it was "
                        "appended later; omit tree_size for the latest checkpoint"
                    )
        if checkpoint is None:
            checkpoint = await self.current_checkpoint()
        async with self.ctx.db.read() as session:
            proof = await self.inclusion_proof(session, index, checkpoint.size)
        return entry, proof, checkpoint

    async def latest_checkpoint(self, session: AsyncSession) -> LogCheckpoint | None:
        """The largest signed checkpoint."""
        return (
            await session.execute(
                select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)
            )
        ).scalar_one_or_none()

    async def current_checkpoint(self) -> LogCheckpoint:
        """The latest checkpoint, signing one first if the tree grew since."""
        await self.sign_checkpoint_if_grown()
        async with self.ctx.db.read() as session:
            checkpoint = await self.latest_checkpoint(session)
        if checkpoint is None:
            raise NotFound("the log has no checkpoint yet")
        return checkpoint

    async def sign_checkpoint_if_grown(self) -> LogCheckpoint | None:
        """Sign a checkpoint of the current size unless one exists; never sign a smaller one.

        Runs in a write transaction holding the head lock, which appenders take too: the
        size and root read under it are final, and a second signer (another worker, the
        scheduled job) waits, then sees the first one's checkpoint and signs nothing. So one
        size never gets two roots and sizes only grow; the primary key on size backs this up.
        """
        now = self.ctx.clock.now()
        async with self.ctx.db.read() as session:
            size = await self.size(session)
            latest = await self.latest_checkpoint(session)
        if latest is not None and latest.size >= size:
            return None
        async with self.ctx.db.transaction() as session:
            size = await lock_head(session)
            latest = await self.latest_checkpoint(session)
            if latest is not None and latest.size >= size:
                return None
            root = await self.root(session, size)
            note = sign_checkpoint(
                Checkpoint(origin=self.ctx.settings.log_origin, size=size, root_hash=root),
                self.ctx.federation_key,
                self.key_name,
            )
            checkpoint = LogCheckpoint(
                size=size, root_hash=root, note=note, signed_at=now, created_at=now
            )
            session.add(checkpoint)
            return checkpoint

    async def recent_entries(self, *, offset: int, limit: int) -> Page[LogEntrySummary]:
        """The whole log, newest entry first, a page at a time (for people browsing it).

        Indexes run from 0 to size - 1 without gaps, so a page is one range read on the
        primary key, however deep it lies, and the total is the head's size, not a count.
        """
        async with self.ctx.db.read() as session:
            total = await self.size(session)
            rows = (
                await session.execute(
                    select(
                        LogEntry.index,
                        LogEntry.entry_type,
                        LogEntry.created_at,
                        VENDOR.c.slug,
                        VENDOR.c.name_zh,
                        VENDOR.c.name_en,
                    )
                    .outerjoin(VENDOR, VENDOR.c.id == LogEntry.vendor_id)
                    .where(
                        LogEntry.index < total - offset,
                        LogEntry.index >= total - offset - limit,
                    )
                    .order_by(LogEntry.index.desc())
                )
            ).all()
            return Page([LogEntrySummary(*row) for row in rows], total, offset, limit)

    async def vendor_history(self, vendor_slug: str, *, offset: int, limit: int) -> Page[LogEntry]:
        """Every log entry about a vendor (applicant or member), oldest first."""
        async with self.ctx.db.read() as session:
            vendor_id = await session.scalar(
                select(VENDOR.c.id).where(VENDOR.c.slug == vendor_slug)
            )
            if vendor_id is None:
                raise NotFound(f"no vendor with slug {vendor_slug!r} has ever applied")
            total = (
                await session.execute(
                    select(func.count())
                    .select_from(LogEntry)
                    .where(LogEntry.vendor_id == vendor_id)
                )
            ).scalar_one()
            rows = (
                await session.execute(
                    select(LogEntry)
                    .where(LogEntry.vendor_id == vendor_id)
                    .order_by(LogEntry.index)
                    .offset(offset)
                    .limit(limit)
                )
            ).scalars()
            return Page(list(rows), total, offset, limit)
