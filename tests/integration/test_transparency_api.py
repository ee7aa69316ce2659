"""/api/v1/log over HTTP: what it serves verifies offline with the key the registry publishes."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy import func, select

from attestations.checkpoint import open_checkpoint
from attestations.envelope import Envelope
from attestations.verify import verify_consistency_between
from registry.membership.models import VendorApplication
from registry.services import Services
from registry.transparency.models import LogCheckpoint
from registry.transparency.offline import verify_entry_bundle
from tests.factories import admin_caller, apply_vendor, member_vendor


async def published_key(api: httpx.AsyncClient) -> tuple[str, str]:
    """(verifier key, origin) as GET /api/v1/federation/key publishes them."""
    document = (await api.get("/api/v1/federation/key")).json()
    return document["verifier_key"], document["log_origin"]


async def log_counts(services: Services) -> tuple[int, int]:
    """(tree size, number of signed checkpoints): what a refused request must not change."""
    async with services.ctx.db.read() as session:
        size = await services.log.size(session)
        checkpoints = await session.scalar(select(func.count()).select_from(LogCheckpoint))
    return size, checkpoints or 0


def assert_problem(response: httpx.Response, status: int, *phrases: str) -> dict[str, Any]:
    """A problem+json answer with `status` whose detail says each of `phrases`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    for phrase in phrases:
        assert phrase in problem["detail"], problem
    return problem


async def test_checkpoint_is_a_signed_note_verified_by_the_published_key(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    await member_vendor(services, association, "note-vendor")
    response = await api.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    verifier_key, origin = await published_key(api)
    checkpoint = open_checkpoint(response.text, verifier_key, origin=origin)
    assert checkpoint.size == 2  # the application and its approval
    async with services.ctx.db.read() as session:
        assert checkpoint.root_hash == await services.log.root(session, 2)
    # Nothing grew: the same note again, not a second checkpoint of the same size.
    assert (await api.get("/api/v1/log/checkpoint")).text == response.text
    assert await log_counts(services) == (2, 1)


async def test_every_entry_and_its_proof_verify_offline(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    vendor = await member_vendor(services, association, "proof-vendor")
    await apply_vendor(services, association, "second-vendor")
    verifier_key, origin = await published_key(api)
    types = []
    for index in range(3):
        response = await api.get(f"/api/v1/log/entries/{index}")
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["index"] == index
        assert bundle["inclusion_proof"]["leaf_index"] == index
        assert bundle["inclusion_proof"]["tree_size"] == 3
        verified = verify_entry_bundle(bundle, verifier_key, origin=origin)
        assert verified.checkpoint.size == 3
        assert bundle["entry"] == verified.entry
        types.append(bundle["entry"]["type"])
    assert types == ["vendor.application", "vendor.application.approved", "vendor.application"]

    # The application entry carries the exact envelope the vendor signed.
    async with services.ctx.db.read() as session:
        application = await session.get(VendorApplication, vendor.application_id)
    assert application is not None
    envelope = Envelope.from_json(application.envelope)
    bundle = (await api.get("/api/v1/log/entries/0")).json()
    verified = verify_entry_bundle(
        bundle,
        verifier_key,
        origin=origin,
        envelope=envelope,
        signer_keys=[vendor.key.public_key],
    )
    assert verified.envelope_signers == (vendor.key.key_id,)
    assert base64.b64decode(bundle["leaf"]).startswith(b'{"body":{"application_id":')


async def test_proof_against_an_older_checkpoint_with_tree_size(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    await apply_vendor(services, association, "early-vendor")
    first_note = (await api.get("/api/v1/log/checkpoint")).text
    await apply_vendor(services, association, "late-vendor")
    await api.get("/api/v1/log/checkpoint")
    verifier_key, origin = await published_key(api)

    old = (await api.get("/api/v1/log/entries/0", params={"tree_size": 1})).json()
    assert old["checkpoint"] == first_note
    assert verify_entry_bundle(old, verifier_key, origin=origin).checkpoint.size == 1
    latest = (await api.get("/api/v1/log/entries/0")).json()
    assert verify_entry_bundle(latest, verifier_key, origin=origin).checkpoint.size == 2


async def test_consistency_proof_links_two_signed_checkpoints(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    notes = []
    for number in range(5):
        await apply_vendor(services, association, f"chain-vendor-{number}")
        notes.append((await api.get("/api/v1/log/checkpoint")).text)
    verifier_key, origin = await published_key(api)
    for first, second in [(1, 5), (2, 3), (3, 5), (4, 4), (1, 2)]:
        response = await api.get(
            "/api/v1/log/consistency", params={"first": first, "second": second}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["first"], body["second"]) == (first, second)
        proof = [base64.b64decode(value) for value in body["hashes"]]
        old, new = verify_consistency_between(
            verifier_key, notes[first - 1], notes[second - 1], proof, origin=origin
        )
        assert (old.size, new.size) == (first, second)


async def test_vendor_history_is_paginated(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    vendor = await member_vendor(services, association, "history-vendor")
    await apply_vendor(services, association, "other-vendor")
    response = await api.get("/api/v1/log/entries", params={"vendor": vendor.slug})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["page"] == {"page": 1, "page_size": 20, "total": 2}
    assert [item["index"] for item in body["items"]] == [0, 1]
    assert [item["type"] for item in body["items"]] == [
        "vendor.application",
        "vendor.application.approved",
    ]
    assert all(item["entry"]["vendor"] == vendor.slug for item in body["items"])
    second_page = await api.get(
        "/api/v1/log/entries", params={"vendor": vendor.slug, "page": 2, "page_size": 1}
    )
    assert [item["index"] for item in second_page.json()["items"]] == [1]
    assert second_page.json()["page"]["total"] == 2


BAD_REQUESTS: list[tuple[str, dict[str, int | str], int, list[str]]] = [
    ("/api/v1/log/entries/7", {}, 404, ["beyond the end of the log", "2 entries"]),
    (
        "/api/v1/log/entries/0",
        {"tree_size": 5},
        404,
        ["no checkpoint was signed at tree size 5"],
    ),
    ("/api/v1/log/entries/1", {"tree_size": 1}, 404, ["not in the tree of size 1"]),
    ("/api/v1/log/entries/-1", {}, 400, []),
    (
        "/api/v1/log/consistency",
        {"first": 2, "second": 1},
        422,
        ["must be between 0 and second"],
    ),
    (
        "/api/v1/log/consistency",
        {"first": 1, "second": 9},
        422,
        ["larger than the log (2 entries)"],
    ),
    ("/api/v1/log/consistency", {"first": 1}, 400, ["second"]),
    ("/api/v1/log/entries", {"vendor": "nobody"}, 404, ["no vendor with slug 'nobody'"]),
    ("/api/v1/log/entries", {}, 400, ["vendor"]),
]
"""(path, query, status, phrases the problem detail must contain)."""


async def test_bad_requests_are_problems_and_sign_nothing(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
) -> None:
    application_id, _key, _code = await apply_vendor(services, association, "err-vendor")
    await services.log.sign_checkpoint_if_grown()
    await services.membership.approve(await admin_caller(services), application_id, "ok")
    before = await log_counts(services)
    assert before == (2, 1)
    for path, params, status, phrases in BAD_REQUESTS:
        assert_problem(await api.get(path, params=params), status, *phrases)
        assert await log_counts(services) == before, (path, params)


async def test_empty_log_has_a_checkpoint_of_size_zero(
    api: httpx.AsyncClient, services: Services
) -> None:
    response = await api.get("/api/v1/log/checkpoint")
    verifier_key, origin = await published_key(api)
    checkpoint = open_checkpoint(response.text, verifier_key, origin=origin)
    assert checkpoint.size == 0
    assert_problem(await api.get("/api/v1/log/entries/0"), 404, "the log is empty")
