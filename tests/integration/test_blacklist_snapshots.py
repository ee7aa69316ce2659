"""Signed blacklist snapshots on both databases: one per change of every kind (listed,
retracted on appeal, expired, repaired) in the change's transaction, one a day when
nothing changed, serials strictly increasing and chained; the public snapshot and
changes endpoints over HTTP (strong ETag, 304, 404, 422); `registry blacklist verify`
accepting the chain and refusing each kind of fault; and an independent verifier, written
from the README with nothing of the project's code, agreeing on a real fetched chain."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import Envelope
from attestations.keys import SigningKey
from registry.blacklist.models import BlacklistCase, BlacklistSnapshot, Listing
from registry.blacklist.remedies import appeal_envelope, repair_envelope
from registry.blacklist.snapshots import (
    SNAPSHOT_PAYLOAD_TYPE,
    latest_snapshot,
    snapshot_statement,
)
from registry.blacklist.states import ListingState, Tier, VoteChoice
from registry.kernel.clock import ManualClock, isoformat
from registry.services import Services
from registry.signed_statements import sign_by_federation
from registry.transparency.models import LogEntry
from tests import independent_blacklist_verifier as independent
from tests.cli import run_cli
from tests.integration.test_blacklist_votes import (
    OTHER,
    Member,
    adopt_rules,
    ballot_vote,
    committee,
    listed_vendor,
)

SNAPSHOT = "/api/v1/blacklist/snapshot"
CHANGES = "/api/v1/blacklist/changes"
PROPAGATION_LIMIT = 2.0
"""The bound within which a worker serves a new snapshot (the public cache's poll)."""


@dataclass
class Story:
    """The listings the scenario made, by what happened to them."""

    appealed: int
    minor: int
    repaired: int


async def _listing_of(services: Services, case_id: int) -> Listing:
    async with services.ctx.db.read() as session:
        return (
            await session.execute(select(Listing).where(Listing.case_id == case_id))
        ).scalar_one()


async def _snapshots(services: Services) -> list[BlacklistSnapshot]:
    async with services.ctx.db.read() as session:
        return list(
            (
                await session.execute(select(BlacklistSnapshot).order_by(BlacklistSnapshot.serial))
            ).scalars()
        )


async def _decide(
    members: list[Member], services: Services, case: BlacklistCase, tier: Tier, clock: ManualClock
) -> None:
    for member in members:
        await services.blacklist_committee.vote(
            member.caller,
            case.reference,
            ballot_vote(member, case, VoteChoice.LIST, tier=tier, now=clock),
        )


async def _story(services: Services, association: str, clock: ManualClock) -> Story:
    """Snapshot 1 daily (empty); 2 a listing, 3 its retraction on appeal; 4 and 5 two
    more listings; 6 the minor one expires; 7 the general one is repaired."""
    await adopt_rules(services, clock)
    await services.federation.ensure_association(OTHER, "中国信息通信研究院", "CAICT")
    members = await committee(services, association, 3)
    others = await committee(services, OTHER, 3)
    assert await services.blacklist_snapshots.ensure_daily() is not None  # serial 1

    appellant, appealed = await listed_vendor(services, association, clock, "snap-appealed")
    await _decide(members, services, appealed, Tier.GENERAL, clock)  # serial 2
    appeal = await services.blacklist_remedies.appeal(
        await services.accounts.authenticate(appellant.token),
        appealed.reference,
        appeal_envelope(
            appellant.key,
            case=appealed.reference,
            vendor=appellant.slug,
            grounds="投诉已全部退款，且系第三方支付渠道故障所致。",
            issued_at=clock.now(),
        ),
    )
    for member in [m for m in others if m.member_id in appeal.panel]:
        await services.blacklist_committee.vote(
            member.caller,
            appealed.reference,
            ballot_vote(
                member, appealed, VoteChoice.OVERTURN, ballot=f"appeal:{appeal.id}", now=clock
            ),
        )  # serial 3: retracted
    _, minor = await listed_vendor(services, association, clock, "snap-minor")
    await _decide(members, services, minor, Tier.MINOR, clock)  # serial 4
    repairer, repaired = await listed_vendor(services, association, clock, "snap-repaired")
    await _decide(members, services, repaired, Tier.GENERAL, clock)  # serial 5
    repairer_caller = await services.accounts.authenticate(repairer.token)

    clock.advance(timedelta(days=93))
    assert await services.blacklist_remedies.expire_listings() == 1  # serial 6: the minor one
    repair = await services.blacklist_remedies.repair(
        repairer_caller,
        repaired.reference,
        repair_envelope(
            repairer.key,
            case=repaired.reference,
            vendor=repairer.slug,
            commitment="承诺七日内退款并公开处理结果。",
            changes="上线自动退款流程。",
            issued_at=clock.now(),
            remediation_digests=["ab" * 32],
        ),
    )
    for member in members:
        await services.blacklist_committee.vote(
            member.caller,
            repaired.reference,
            ballot_vote(
                member, repaired, VoteChoice.GRANT, ballot=f"repair:{repair.id}", now=clock
            ),
        )  # serial 7: repaired
    return Story(
        appealed=(await _listing_of(services, appealed.id)).id,
        minor=(await _listing_of(services, minor.id)).id,
        repaired=(await _listing_of(services, repaired.id)).id,
    )


async def _served_serial(api: httpx.AsyncClient, serial: int) -> httpx.Response:
    """The latest snapshot once the server shows `serial` (its cache follows the log)."""
    deadline = asyncio.get_running_loop().time() + PROPAGATION_LIMIT
    while True:
        answer = await api.get(SNAPSHOT)
        payload = json.loads(base64.b64decode(answer.json()["payload"]))
        if payload["predicate"]["serial"] == serial:
            return answer
        assert asyncio.get_running_loop().time() < deadline, "the new snapshot was not served"
        await asyncio.sleep(0.1)


async def test_snapshots_follow_every_change_and_verify(
    services: Services,
    api: httpx.AsyncClient,
    association: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    story = await _story(services, association, clock)

    # A day with no change: the job signs one when the latest is about to be due, once.
    assert await services.blacklist_snapshots.ensure_daily() is None
    clock.advance(timedelta(hours=23, minutes=30))
    daily = await services.blacklist_snapshots.ensure_daily()
    assert daily is not None
    assert await services.blacklist_snapshots.ensure_daily() is None

    rows = await _snapshots(services)
    assert [r.serial for r in rows] == list(range(1, 9))
    assert [r.trigger for r in rows] == ["daily"] + ["change"] * 6 + ["daily"]
    assert [r.listings for r in rows] == [
        [],
        [story.appealed],
        [],
        [story.minor],
        [story.minor, story.repaired],
        [story.repaired],
        [],
        [],
    ]
    assert rows[0].previous is None
    for before, after in itertools.pairwise(rows):
        assert after.previous == before.payload_digest
        assert after.issued_at >= before.issued_at
    for row in rows:
        envelope = Envelope.from_dict(parse_json(row.envelope))
        assert envelope.payload_type == SNAPSHOT_PAYLOAD_TYPE
        assert parse_json(envelope.payload)["predicate"]["serial"] == row.serial
    async with services.ctx.db.read() as session:
        head = await latest_snapshot(session)
        logged = (
            await session.execute(
                select(LogEntry.index).where(LogEntry.index.in_([r.log_index for r in rows]))
            )
        ).all()
        assert head is not None
        assert (head.serial, head.digest) == (8, rows[-1].payload_digest)
        assert len(logged) == 8
        listing = await session.get(Listing, story.appealed)
        assert listing is not None
        assert listing.state is ListingState.RETRACTED

    # Serials are unique in the database, whatever the code does.
    with pytest.raises(IntegrityError):
        async with services.ctx.db.transaction() as session:
            session.add(
                BlacklistSnapshot(
                    serial=8,
                    issued_at=clock.now(),
                    next_update=clock.now(),
                    previous="ff" * 32,
                    payload_digest="ee" * 32,
                    envelope=b"{}",
                    listings=[],
                    trigger="daily",
                    log_index=0,
                )
            )

    # The changes feed, each with the serial it happened in.
    feed = (await api.get(CHANGES, params={"since": "0"})).json()
    assert (feed["since"], feed["latest"]) == (0, 8)
    assert [(c["serial"], c["change"], c["listing"], c["ended"]) for c in feed["changes"]] == [
        (2, "added", story.appealed, None),
        (3, "retracted", story.appealed, "retracted"),
        (4, "added", story.minor, None),
        (5, "added", story.repaired, None),
        (6, "removed", story.minor, "expired"),
        (7, "removed", story.repaired, "repaired"),
    ]
    assert feed["changes"][0]["subject_value"] == "snap-appealed"
    assert feed["changes"][0]["rule"] == "complaints-substantiated@1"
    later = (await api.get(CHANGES, params={"since": "5"})).json()
    assert [c["serial"] for c in later["changes"]] == [6, 7]
    assert (await api.get(CHANGES, params={"since": "8"})).json()["changes"] == []
    for bad in ["9", "-1", "abc", "1.5", ""]:
        refused = await api.get(CHANGES, params={"since": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "since" in refused.json()["detail"]

    # The snapshot: anyone, byte for byte as stored, strong ETag, 304, immutable earlier ones.
    latest = await _served_serial(api, 8)
    assert latest.status_code == 200
    assert latest.content == rows[-1].envelope
    etag = latest.headers["etag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert latest.headers["cache-control"] == "public, no-cache"
    again = await api.get(SNAPSHOT, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert (await api.get(SNAPSHOT, headers={"If-None-Match": '"other"'})).status_code == 200
    documents: dict[int, bytes] = {}
    for serial in range(1, 9):
        answer = await api.get(SNAPSHOT, params={"serial": serial})
        assert answer.status_code == 200
        assert answer.content == rows[serial - 1].envelope
        documents[serial] = answer.content
    assert "immutable" in (await api.get(SNAPSHOT, params={"serial": 2})).headers["cache-control"]
    missing = await api.get(SNAPSHOT, params={"serial": 99})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert "99" in missing.json()["detail"]
    for bad in ["0", "x", "-2"]:
        refused = await api.get(SNAPSHOT, params={"serial": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["errors"] == {"serial": "not a serial"}

    key_file = tmp_path / "federation-key.json"
    key_document = (await api.get("/api/v1/federation/key")).json()
    key_file.write_text(json.dumps(key_document))
    now = isoformat(clock.now())
    await _cli_verdicts(services, documents, key_file, now, tmp_path)
    _independent_verdicts(documents, key_document["public_key"], clock.now(), services)


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _tampered(document: bytes) -> bytes:
    """The same envelope with one entry's tier changed inside the signed payload."""
    envelope = json.loads(document)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["entries"] = [{"listing": 1, "tier": "minor"}]
    envelope["payload"] = base64.b64encode(canonicalize(statement)).decode()
    return json.dumps(envelope).encode()


def _forged(services: Services, serial: int, previous: str | None, issued_at: datetime) -> bytes:
    """A snapshot really signed by the federation key but not the registry's: another
    snapshot with a serial already used, or with a previous digest that breaks the chain."""
    statement = snapshot_statement(serial, issued_at, issued_at + timedelta(hours=24), previous, [])
    signed = sign_by_federation(statement, services.ctx.federation_key, SNAPSHOT_PAYLOAD_TYPE)
    return signed.envelope_bytes


async def _cli_verdicts(
    services: Services, documents: dict[int, bytes], key_file: Path, now: str, tmp_path: Path
) -> None:
    """`registry blacklist verify`: the real chain verifies; each fault exits 1 and says so."""
    latest = _write(tmp_path, "s8.json", documents[8])
    previous = [
        arg
        for serial in (5, 6, 7)
        for arg in ("--previous", _write(tmp_path, f"s{serial}.json", documents[serial]))
    ]
    key = ["--public-key", str(key_file)]
    good = await run_cli(["blacklist", "verify", latest, *key, *previous, "--now", now])
    assert good.exit_code == 0, good.output
    assert good.output.startswith("OK: blacklist snapshot 8, 0 listings in force")
    assert "chained to 5, 6, 7" in good.output

    issued = parse_json(base64.b64decode(json.loads(documents[8])["payload"]))["predicate"]
    stale_at = issued["next_update"]
    forged_7 = _forged(services, 7, "00" * 32, services.ctx.clock.now())
    reused_6 = _forged(services, 6, "11" * 32, services.ctx.clock.now())
    other_key = tmp_path / "other.json"
    other_key.write_text(json.dumps(SigningKey.generate().public_key.to_file_dict()))
    failures = {
        "stale": (
            ["blacklist", "verify", latest, *key, "--now", stale_at],
            "is stale",
        ),
        "tampered": (
            ["blacklist", "verify", _write(tmp_path, "t.json", _tampered(documents[4])), *key],
            "does not verify",
        ),
        "wrong key": (
            ["blacklist", "verify", latest, "--public-key", str(other_key), "--now", now],
            "not signed by any key",
        ),
        "payload type": (
            [
                "blacklist",
                "verify",
                _write(
                    tmp_path,
                    "pt.json",
                    documents[8].replace(b"application/vnd.in-toto+json", b"application/json"),
                ),
                *key,
                "--now",
                now,
            ],
            "payloadType",
        ),
        "broken chain": (
            [
                "blacklist",
                "verify",
                latest,
                *key,
                "--previous",
                _write(tmp_path, "f7.json", forged_7),
                "--previous",
                _write(tmp_path, "s6b.json", documents[6]),
                "--now",
                now,
            ],
            "chain is broken",
        ),
        "reused serial": (
            [
                "blacklist",
                "verify",
                latest,
                *key,
                "--previous",
                _write(tmp_path, "r6.json", reused_6),
                "--previous",
                _write(tmp_path, "s6c.json", documents[6]),
                "--now",
                now,
            ],
            "serial 6 is used by two different snapshots",
        ),
        "newer previous": (
            [
                "blacklist",
                "verify",
                _write(tmp_path, "s7o.json", documents[7]),
                *key,
                "--previous",
                latest,
                "--now",
                now,
            ],
            "not the newest",
        ),
        "not a snapshot": (
            ["blacklist", "verify", _write(tmp_path, "junk.json", b"[1, 2"), *key],
            "not a blacklist snapshot",
        ),
    }
    for name, (args, message) in failures.items():
        result = await run_cli(args)
        assert result.exit_code == 1, (name, result.output)
        assert "does NOT verify" in result.output, (name, result.output)
        assert message in result.output, (name, result.output)


def _independent_verdicts(
    documents: dict[int, bytes], public_key: str, now: datetime, services: Services
) -> None:
    """The README's algorithm, implemented without the project, agrees with the CLI."""
    chain = [documents[s] for s in range(1, 8)]
    assert independent.verify(documents[8], chain, public_key, now) == list(range(1, 9))
    with pytest.raises(independent.Rejected, match="bad signature"):
        independent.verify(_tampered(documents[4]), [], public_key, now)
    reused = _forged(services, 6, None, now)
    with pytest.raises(independent.Rejected, match="serial 6 reused"):
        independent.verify(documents[8], [reused, documents[6]], public_key, now)
    broken = _forged(services, 7, "00" * 32, now)
    with pytest.raises(independent.Rejected, match="chain broken between 6 and 7"):
        independent.verify(documents[8], [documents[6], broken], public_key, now)
    with pytest.raises(independent.Rejected, match="stale"):
        independent.verify(documents[8], [], public_key, now + timedelta(days=2))
