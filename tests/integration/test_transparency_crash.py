"""SIGKILL the real server mid-stream: the log still matches the records, and every proof holds.

`registry serve` runs as a subprocess on SQLite; signed applications and approvals stream
at it from concurrent clients, and the process is killed without warning. Because each
record and its leaf commit in one transaction, the database must show: one leaf per
record and one record per leaf, stored nodes equal to a recomputation from the leaves,
every inclusion proof valid against a fresh root, and every checkpoint consistent.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from attestations.canonical import parse_json
from attestations.checkpoint import open_checkpoint
from attestations.keys import SigningKey
from attestations.merkle import TreeBuilder, leaf_hash, verify_consistency, verify_inclusion
from bench.serving import REGISTRY, free_port
from registry.client import application_envelope
from registry.context import RegistryContext
from registry.db.migrate import upgrade
from registry.db.session import Database, create_engine
from registry.federation.keyring import load_or_create_federation_key
from registry.kernel.caller import Role
from registry.kernel.clock import SystemClock
from registry.keys.models import SigningKeyRecord
from registry.membership.models import VendorApplication
from registry.services import Services
from registry.settings import Settings
from registry.transparency.entries import EntryType
from registry.transparency.models import LogCheckpoint, LogEntry, LogNode
from tests.factories import new_credit_code

WRITES_BEFORE_KILL = 60
WORKERS = 4
STARTUP_TIMEOUT_SECONDS = 60


@dataclass
class Stream:
    """What the clients saw: acknowledged applications and decisions, and the kill switch."""

    applications: set[int] = field(default_factory=set)
    decisions: set[int] = field(default_factory=set)
    failed_in_flight: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    killed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def writes(self) -> int:
        return len(self.applications) + len(self.decisions)

    def acknowledged(self) -> None:
        if self.writes >= WRITES_BEFORE_KILL:
            self.enough.set()


async def prepare(settings: Settings) -> str:
    """Migrate, create the association and an association admin token for approvals."""
    ctx = RegistryContext(
        settings, Database(create_engine(settings)), SystemClock(), SigningKey.generate()
    )
    try:
        await upgrade(ctx.db)
        services = Services(ctx)
        await services.federation.ensure_association("csia", "中国软件行业协会", "CSIA")
        issued = await services.accounts.create_principal_with_token(
            role=Role.ASSOCIATION_ADMIN, display_name="crash test admin", association_slug="csia"
        )
        return issued.token
    finally:
        await ctx.db.dispose()


async def wait_until_ready(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    for _attempt in range(STARTUP_TIMEOUT_SECONDS * 20):
        assert server.poll() is None, "registry serve exited during startup"
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        # Waiting for another process to bind its port; no clock is being simulated.
        await asyncio.sleep(0.05)
    pytest.fail("registry serve did not become ready")


async def submit_stream(client: httpx.AsyncClient, token: str, stream: Stream, worker: int) -> None:
    """Apply, approve every other application, and ask for a checkpoint now and then."""
    clock = SystemClock()
    for number in itertools.count():
        if stream.killed.is_set():
            return
        slug = f"crash-{worker}-{number}"
        envelope = application_envelope(
            SigningKey.generate(),
            association="csia",
            credit_code=new_credit_code(),
            slug=slug,
            name_zh=f"{slug}公司",
            name_en=f"{slug} Ltd.",
            domains=[f"{slug}.example.cn"],
            issued_at=clock.now() - timedelta(seconds=5),
        )
        try:
            response = await client.post("/api/v1/applications/", json=envelope.to_dict())
            assert response.status_code == 201, response.text
            application_id = response.json()["id"]
            stream.applications.add(application_id)
            stream.acknowledged()
            if number % 2 == 0:
                decision = await client.post(
                    f"/api/v1/applications/{application_id}/approve",
                    json={"reason": "ok"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert decision.status_code == 200, decision.text
                stream.decisions.add(application_id)
                stream.acknowledged()
            if number % 5 == 0:
                assert (await client.get("/api/v1/log/checkpoint")).status_code == 200
        except httpx.TransportError:
            assert stream.killed.is_set(), "the server went away before it was killed"
            stream.failed_in_flight += 1
            return


async def kill_mid_stream(server: subprocess.Popen[bytes], stream: Stream) -> None:
    await stream.enough.wait()
    stream.killed.set()
    server.send_signal(signal.SIGKILL)


async def audit_log(services: Services, stream: Stream) -> int:
    """Check every invariant of the stored log against its records; return the size."""
    async with services.ctx.db.read() as session:
        size = await services.log.size(session)
        entries = list((await session.execute(select(LogEntry).order_by(LogEntry.index))).scalars())
        applications = {
            row.id: row for row in (await session.execute(select(VendorApplication))).scalars()
        }
        rotated_keys = (
            await session.execute(
                select(SigningKeyRecord.log_index).where(SigningKeyRecord.log_index.is_not(None))
            )
        ).scalars()
        stored_nodes = {
            (row.level, row.index): row.hash
            for row in (await session.execute(select(LogNode))).scalars()
        }
        checkpoints = list(
            (await session.execute(select(LogCheckpoint).order_by(LogCheckpoint.size))).scalars()
        )
        assert [entry.index for entry in entries] == list(range(size))

        # Records with a log index <-> leaves, one to one.
        record_indexes = [a.log_index for a in applications.values()]
        record_indexes += [
            a.decision_log_index for a in applications.values() if a.decision_log_index is not None
        ]
        # An approval also activates the applicant's key, which then names the approval's
        # leaf; only keys activated by a rotation have a leaf of their own.
        decision_indexes = {a.decision_log_index for a in applications.values()}
        record_indexes += [i for i in rotated_keys if i not in decision_indexes]
        assert sorted(i for i in record_indexes if i is not None) == list(range(size))
        assert len(record_indexes) == size
        for entry in entries:
            document = parse_json(entry.leaf)
            application = applications[document["body"]["application_id"]]
            if entry.entry_type == EntryType.APPLICATION.value:
                assert application.log_index == entry.index
            else:
                assert entry.entry_type == EntryType.APPLICATION_APPROVED.value
                assert application.decision_log_index == entry.index

        # Nodes and roots recomputed from the leaves alone.
        builder = TreeBuilder()
        recomputed: dict[tuple[int, int], bytes] = {}
        roots = [builder.root()]
        for entry in entries:
            for node, value in builder.append(leaf_hash(entry.leaf)):
                recomputed[(node.level, node.index)] = value
            roots.append(builder.root())
        assert stored_nodes == recomputed
        assert await services.log.root(session, size) == roots[size]
        for entry in entries:
            proof = await services.log.inclusion_proof(session, entry.index, size)
            verify_inclusion(leaf_hash(entry.leaf), entry.index, size, proof.hashes, roots[size])

    # Checkpoints: signed by the federation, on the recomputed roots, each extending the last.
    verifier_key = services.log.verifier_key()
    for checkpoint in checkpoints:
        opened = open_checkpoint(checkpoint.note, verifier_key)
        assert opened.root_hash == checkpoint.root_hash == roots[checkpoint.size]
    for old, new in itertools.pairwise(checkpoints):
        proof = await services.log.consistency_proof(old.size, new.size)
        verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)

    # Nothing acknowledged before the kill was lost.
    assert stream.applications <= applications.keys()
    for application_id in stream.decisions:
        assert applications[application_id].decision_log_index is not None
    return size


@pytest.mark.slow
async def test_sigkill_mid_stream_leaves_a_log_that_matches_its_records(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", log_origin="crash.trust-registry.example/log")
    token = await prepare(settings)
    federation_key = load_or_create_federation_key(settings)
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_DATA_DIR": str(settings.data_dir),
        "REGISTRY_SCHEDULER": "0",
        "REGISTRY_LOG_ORIGIN": settings.log_origin,
        # Every application of the stream comes from this one client.
        "REGISTRY_APPLICATION_CLIENT_LIMIT": "1000000",
    }
    env.pop("REGISTRY_DATABASE_URL", None)
    env.pop("REGISTRY_FEDERATION_KEY", None)
    server_log = tmp_path / "serve.log"
    log_file = server_log.open("wb")
    # subprocess.Popen, not asyncio's: its child watcher can lose the exit status of a
    # SIGKILLed child (reporting 255), and the test must see that the kill happened.
    server = subprocess.Popen(  # noqa: ASYNC220
        [REGISTRY, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    stream = Stream()
    try:
        limits = httpx.Limits(max_connections=WORKERS)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
        ) as client:
            await wait_until_ready(client, server)
            published = (await client.get("/api/v1/federation/key")).json()
            assert published["public_key"] == federation_key.public_key.to_base64(), (
                "another process answers on the port"
            )
            await asyncio.gather(
                kill_mid_stream(server, stream),
                *(submit_stream(client, token, stream, worker) for worker in range(WORKERS)),
            )
    finally:
        if server.poll() is None:
            server.kill()
        await asyncio.to_thread(server.wait)
        log_file.close()
    assert server.returncode == -signal.SIGKILL, server_log.read_text()
    assert stream.writes >= WRITES_BEFORE_KILL

    ctx = RegistryContext(
        settings, Database(create_engine(settings)), SystemClock(), federation_key
    )
    try:
        size = await audit_log(Services(ctx), stream)
    finally:
        await ctx.db.dispose()
    assert size >= stream.writes
    print(  # shown with -s: how far the stream got and what was cut off
        f"log size {size}, acknowledged writes {stream.writes}, "
        f"requests cut off by the kill {stream.failed_in_flight}"
    )
