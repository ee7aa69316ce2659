"""Checkpoints: one root per size, sizes only grow, also with concurrent signers and appenders."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attestations.checkpoint import open_checkpoint
from attestations.merkle import verify_consistency
from registry.cli import main
from registry.context import RegistryContext
from registry.db.session import Database, create_engine
from registry.scheduling import sign_checkpoint_job
from registry.services import Services
from registry.transparency.entries import EntryType
from registry.transparency.models import LogCheckpoint
from registry.transparency.services import LogAppender, PendingLeaf


async def append_in_own_transaction(services: Services, number: int) -> int:
    """One unit of work that logs one decision, as a service would."""
    async with services.ctx.db.transaction() as session:
        return await LogAppender(session, services.ctx.clock.now()).append(
            PendingLeaf(EntryType.BLACKLIST_DECISION, {"decision": number})
        )


async def checkpoints(services: Services) -> list[LogCheckpoint]:
    async with services.ctx.db.read() as session:
        rows = await session.execute(select(LogCheckpoint).order_by(LogCheckpoint.size))
        return list(rows.scalars())


async def assert_checkpoints_agree_with_the_log(services: Services) -> None:
    """Every checkpoint verifies, commits to the stored root, and extends the one before."""
    rows = await checkpoints(services)
    vkey = services.log.verifier_key()
    async with services.ctx.db.read() as session:
        for row in rows:
            checkpoint = open_checkpoint(row.note, vkey, origin=services.ctx.settings.log_origin)
            assert (checkpoint.size, checkpoint.root_hash) == (row.size, row.root_hash)
            assert row.root_hash == await services.log.root(session, row.size)
    for old, new in itertools.pairwise(rows):
        proof = await services.log.consistency_proof(old.size, new.size)
        verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)


@pytest.fixture
async def second_worker(ctx: RegistryContext) -> AsyncIterator[Services]:
    """Another worker process's services: its own engine on the same database and key."""
    other = replace(ctx, db=Database(create_engine(ctx.settings)))
    yield Services(other)
    await other.db.dispose()


async def test_first_appends_race_for_the_head_row(
    services: Services, second_worker: Services
) -> None:
    """On an empty log the head row does not exist yet; concurrent first appends all succeed."""
    indexes = await asyncio.gather(
        *(
            append_in_own_transaction(worker, number)
            for number in range(6)
            for worker in (services, second_worker)
        )
    )
    assert sorted(indexes) == list(range(12))
    async with services.ctx.db.read() as session:
        assert await services.log.size(session) == 12


async def test_concurrent_signers_never_sign_two_roots_for_one_size(
    services: Services, second_worker: Services
) -> None:
    signed = await asyncio.gather(
        services.log.sign_checkpoint_if_grown(), second_worker.log.sign_checkpoint_if_grown()
    )
    assert len([c for c in signed if c is not None]) == 1  # the empty tree, once
    latest_sizes = []
    for round_number in range(8):
        work = [
            services.log.sign_checkpoint_if_grown(),
            second_worker.log.sign_checkpoint_if_grown(),
            append_in_own_transaction(services, round_number),
            second_worker.log.sign_checkpoint_if_grown(),
            append_in_own_transaction(second_worker, round_number),
            services.log.sign_checkpoint_if_grown(),
        ]
        await asyncio.gather(*work)
        latest_sizes.append((await checkpoints(services))[-1].size)
    await services.log.sign_checkpoint_if_grown()
    rows = await checkpoints(services)
    sizes = [row.size for row in rows]
    assert sizes == sorted(set(sizes)), "two checkpoints of one size"
    assert sizes[-1] == 16
    # The latest checkpoint never shrinks: no smaller tree is signed after a larger one.
    assert latest_sizes == sorted(latest_sizes)
    await assert_checkpoints_agree_with_the_log(services)


async def test_scheduled_job_signs_only_when_the_log_grew(services: Services) -> None:
    await sign_checkpoint_job(services)
    await sign_checkpoint_job(services)
    assert [row.size for row in await checkpoints(services)] == [0]
    await append_in_own_transaction(services, 1)
    await append_in_own_transaction(services, 2)
    await sign_checkpoint_job(services)
    await sign_checkpoint_job(services)
    assert [row.size for row in await checkpoints(services)] == [0, 2]
    await assert_checkpoints_agree_with_the_log(services)


async def test_the_database_refuses_a_second_checkpoint_of_one_size(services: Services) -> None:
    """The primary key backs up the lock: a second root for a size cannot be stored."""
    await append_in_own_transaction(services, 1)
    first = await services.log.sign_checkpoint_if_grown()
    assert first is not None
    with pytest.raises(IntegrityError):
        async with services.ctx.db.transaction() as session:
            session.add(
                LogCheckpoint(
                    size=first.size,
                    root_hash=bytes(32),
                    note="forged\n",
                    signed_at=first.signed_at,
                    created_at=first.created_at,
                )
            )
    rows = await checkpoints(services)
    assert [(row.size, row.root_hash) for row in rows] == [(1, first.root_hash)]


def test_cli_signs_a_checkpoint_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`registry log sign-checkpoint` signs once, then has nothing to do until the log grows."""
    monkeypatch.setenv("REGISTRY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(main, ["log", "sign-checkpoint"])
    assert first.exit_code == 0, first.output
    assert first.stdout == "signed the checkpoint of size 0\n"
    again = runner.invoke(main, ["log", "sign-checkpoint"])
    assert again.exit_code == 0, again.output
    assert "did not grow since the last checkpoint; nothing signed" in again.stdout
