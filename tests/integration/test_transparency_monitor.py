"""`registry log monitor` catches a rewritten history, a rollback, a bad signature, a new key.

The forgeries are what an operator with database access and the federation key could do:
rewrite log rows, recompute every stored node and re-sign. The monitor, holding only the
checkpoint it saw last, must notice.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, update

from attestations.canonical import canonicalize, parse_json
from attestations.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from attestations.keys import SigningKey
from attestations.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash
from registry.cli import main
from registry.services import Services
from registry.transparency.models import LogCheckpoint, LogEntry, LogHead, LogNode
from registry.transparency.monitor import MonitorAlarm, MonitorState, check_log
from tests.factories import apply_vendor, member_vendor


async def rewrite_history(services: Services, *, keep: int | None = None) -> None:
    """Edit entry 0's leaf (or drop everything from `keep` on), rebuild every node, drop checkpoints.

    Afterwards the stored log is self-consistent: only someone who kept an old
    checkpoint can tell.
    """
    async with services.ctx.db.transaction() as session:
        rows = (await session.execute(select(LogEntry).order_by(LogEntry.index))).scalars().all()
        leaves = [row.leaf for row in rows]
        if keep is None:
            document = parse_json(leaves[0])
            document["body"]["envelope"]["signatures"] = []  # pretend it was never signed
            leaves[0] = canonicalize(document)
            rows[0].leaf = leaves[0]
        else:
            leaves = leaves[:keep]
            await session.execute(delete(LogEntry).where(LogEntry.index >= keep))
        builder = TreeBuilder()
        nodes = []
        for leaf in leaves:
            for node, value in builder.append(leaf_hash(leaf)):
                nodes.append({"level": node.level, "index": node.index, "hash": value})
        await session.execute(delete(LogNode))
        await session.execute(insert(LogNode), nodes)
        await session.execute(update(LogHead).values(size=len(leaves)))
        await session.execute(delete(LogCheckpoint))
    assert await services.log.sign_checkpoint_if_grown() is not None


async def test_monitor_accepts_an_honest_log_and_pins_the_key(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    state_path = tmp_path / "monitor.json"
    await member_vendor(services, association, "honest-vendor")
    first = await check_log(api, state_path)
    assert first.pinned_now
    assert first.checkpoint.size == 2
    assert "first run" in first.summary()
    state = MonitorState.load(state_path)
    assert state is not None
    assert state.verifier_key == services.log.verifier_key()

    same = await check_log(api, state_path)
    assert not same.pinned_now
    assert "no growth" in same.summary()

    for number in range(3):
        await apply_vendor(services, association, f"honest-more-{number}")
    grown = await check_log(api, state_path)
    assert grown.previous is not None
    assert (grown.previous.size, grown.checkpoint.size) == (2, 5)
    assert "extends the size 2" in grown.summary()


@pytest.mark.parametrize("grow_after_rewrite", [False, True], ids=["same-size", "grown"])
async def test_monitor_detects_a_rewritten_history(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    tmp_path: Path,
    grow_after_rewrite: bool,
) -> None:
    state_path = tmp_path / "monitor.json"
    await member_vendor(services, association, "victim-vendor")
    await apply_vendor(services, association, "bystander")
    await check_log(api, state_path)
    saved = state_path.read_text()

    await rewrite_history(services)
    if grow_after_rewrite:
        await apply_vendor(services, association, "cover-up")
    with pytest.raises(MonitorAlarm) as alarm:
        await check_log(api, state_path)
    message = str(alarm.value)
    assert message.startswith("FORK:")
    if grow_after_rewrite:
        assert "checkpoint of size 4 is not an extension of the checkpoint of size 3" in message
        assert "does not match expected root1" in message
    else:
        assert "both checkpoints have size 3 but different roots: the log forked" in message
    assert state_path.read_text() == saved, "the evidence must stay in the state file"


async def test_monitor_detects_a_rollback(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    state_path = tmp_path / "monitor.json"
    await member_vendor(services, association, "rollback-vendor")
    await apply_vendor(services, association, "rollback-other")
    await check_log(api, state_path)
    await rewrite_history(services, keep=2)
    with pytest.raises(MonitorAlarm, match=r"^ROLLBACK: .*size 2, smaller than the old"):
        await check_log(api, state_path)


async def test_monitor_refuses_a_checkpoint_with_a_bad_signature(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    state_path = tmp_path / "monitor.json"
    await check_log(api, state_path)
    await apply_vendor(services, association, "badsig-vendor")
    checkpoint = await services.log.sign_checkpoint_if_grown()
    assert checkpoint is not None
    lines = checkpoint.note.split("\n")
    lines[1] = "7"  # claim a bigger tree under the old signature
    async with services.ctx.db.transaction() as session:
        await session.execute(
            update(LogCheckpoint)
            .where(LogCheckpoint.size == checkpoint.size)
            .values(note="\n".join(lines))
        )
    with pytest.raises(MonitorAlarm, match="latest checkpoint does not verify: signature by"):
        await check_log(api, state_path)


async def test_monitor_refuses_a_new_federation_key(
    api: httpx.AsyncClient, services: Services, tmp_path: Path
) -> None:
    """The key pinned on the first run is not the one the registry publishes now."""
    state_path = tmp_path / "monitor.json"
    origin = services.ctx.settings.log_origin
    earlier_key = SigningKey.generate()
    earlier_note = sign_checkpoint(
        Checkpoint(origin, 0, EMPTY_ROOT), earlier_key, services.log.key_name
    )
    pinned = verifier_key(services.log.key_name, earlier_key.public_key)
    MonitorState(pinned, origin, earlier_note).save(state_path)
    with pytest.raises(MonitorAlarm, match=f"but {re.escape(pinned)} was pinned"):
        await check_log(api, state_path)
    assert MonitorState.load(state_path) == MonitorState(pinned, origin, earlier_note)


async def test_cli_monitor_exits_2_on_a_fork(
    api: httpx.AsyncClient, services: Services, association: str, tmp_path: Path
) -> None:
    state_path = tmp_path / "monitor.json"
    await member_vendor(services, association, "cli-fork-vendor")
    arguments = ["log", "monitor", "--url", str(api.base_url), "--state", str(state_path)]
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, main, arguments)
    assert result.exit_code == 0, result.output
    assert "first run: verified and saved the checkpoint of size 2" in result.stdout
    await rewrite_history(services)
    result = await asyncio.to_thread(runner.invoke, main, arguments)
    assert result.exit_code == 2, result.output
    assert "ALARM: FORK:" in result.stderr
    unreachable = ["log", "monitor", "--url", "http://127.0.0.1:9", "--state", str(state_path)]
    result = await asyncio.to_thread(runner.invoke, main, unreachable)
    assert result.exit_code == 1
    assert "error: GET /api/v1/federation/key failed" in result.stderr
