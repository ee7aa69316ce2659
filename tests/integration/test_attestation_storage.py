"""An attestation's envelope is kept once, in its log leaf, and a downgrade restores it.

Migration 0007 dropped the envelope and claims columns of `attestation`; the leaf at the
record's `log_index` holds the envelope byte for byte, on both databases.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta

import httpx
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from attestations.envelope import Envelope
from registry.certification.models import AttestationRecord
from registry.certification.signing import attestation_envelope
from registry.db.migrate import alembic_config, upgrade
from registry.kernel.clock import ManualClock
from registry.services import Services
from tests.factories import member_vendor

DAY = timedelta(days=1)


async def _attest(services: Services, association: str, clock: ManualClock) -> Envelope:
    member = await member_vendor(services, association, "acme-cloud")
    now = clock.now()
    envelope = attestation_envelope(
        member.key, vendor="acme-cloud", period=(now - 30 * DAY, now - DAY), issued_at=now
    )
    caller = await services.accounts.authenticate(member.token)
    await services.attestations.submit(caller, "acme-cloud", envelope)
    return envelope


async def test_the_log_entry_of_an_attestation_holds_its_envelope(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    envelope = await _attest(services, association, clock)
    async with services.ctx.db.read() as session:
        record = (await session.execute(select(AttestationRecord))).scalar_one()
    entry = (await api.get(f"/api/v1/log/entries/{record.log_index}")).json()
    leaf = base64.b64decode(entry["leaf"])
    # The exact canonical bytes whose SHA-256 is the record's digest, inside the leaf.
    assert b'"envelope":' + envelope.to_json() in leaf
    assert json.loads(leaf)["body"]["envelope"] == envelope.to_dict()
    assert record.envelope_digest == hashlib.sha256(envelope.to_json()).hexdigest()


def _downgrade_to_0006(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0006")


async def test_downgrade_restores_envelope_and_claims_from_the_log(
    services: Services, association: str, clock: ManualClock
) -> None:
    envelope = await _attest(services, association, clock)
    async with services.ctx.db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to_0006)
    async with services.ctx.db.engine.connect() as connection:
        stored, claims = (
            await connection.execute(text("SELECT envelope, claims FROM attestation"))
        ).one()
    assert bytes(stored) == envelope.to_json()
    claims = json.loads(claims) if isinstance(claims, str) else claims
    assert set(claims) >= {"complaint-channel", "truthful-advertising"}
    assert all(claim["met"] is True for claim in claims.values())
    await upgrade(services.ctx.db)
    async with services.ctx.db.read() as session:
        assert len((await session.execute(select(AttestationRecord))).scalars().all()) == 1
