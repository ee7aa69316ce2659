"""Deferred log appends: a group's leaves written at once give the same tree, and no
other appender may start while they wait."""

from __future__ import annotations

import pytest

from registry.services import Services
from registry.transparency.entries import EntryType
from registry.transparency.models import LogEntry
from registry.transparency.services import LogAppender, PendingLeaf
from tests.unit.test_merkle import reference_root


def _leaf(number: int) -> PendingLeaf:
    return PendingLeaf(EntryType.SCHEME_PUBLISHED, {"test": number})


async def test_deferred_leaves_build_the_same_tree(services: Services) -> None:
    now = services.ctx.clock.now()
    async with services.ctx.db.transaction() as session:
        appender = LogAppender(session, now, deferred=True)
        first = await appender.append_many([_leaf(0), _leaf(1), _leaf(2)])
        second = await appender.append(_leaf(3))
        assert appender.pending
        # Nothing is written before the flush.
        assert await services.log.size(session) == 0
        await appender.flush()
        assert not appender.pending
    assert first == [0, 1, 2]
    assert second == 3
    async with services.ctx.db.read() as session:
        assert await services.log.size(session) == 4
        stored = [
            row.leaf
            for row in (
                await session.execute(LogEntry.__table__.select().order_by(LogEntry.index))
            ).all()
        ]
        assert len(stored) == 4
        assert await services.log.root(session, 4) == reference_root(stored)
    # An immediate appender afterwards continues the same tree.
    async with services.ctx.db.transaction() as session:
        assert await LogAppender(session, now).append(_leaf(4)) == 4


async def test_no_appender_starts_while_deferred_leaves_wait(services: Services) -> None:
    now = services.ctx.clock.now()

    async def append_beside_deferred() -> None:
        async with services.ctx.db.transaction() as session:
            deferred = LogAppender(session, now, deferred=True)
            await deferred.append(_leaf(0))
            await LogAppender(session, now).append(_leaf(1))

    with pytest.raises(RuntimeError, match="unwritten leaves"):
        await append_beside_deferred()
    async with services.ctx.db.read() as session:
        assert await services.log.size(session) == 0
