"""No request can poison what a worker keeps for the next ones.

A refused attestation once left the scheme row it had resolved in the service's cache,
detached from its rolled-back session; every later attestation of every vendor of that
association then answered 500 until the process restarted. The test starts from a fresh
app (the `api` fixture) whose first requests are refusals.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from registry.certification.models import AttestationRecord
from registry.certification.signing import DEFAULT_CRITERIA, attestation_envelope
from registry.kernel.clock import ManualClock
from registry.membership.models import Vendor
from registry.services import Services
from tests.factories import MemberVendor, member_vendor

DAY = timedelta(days=1)
VENDORS_PER_ASSOCIATION = 3
GOOD_PER_VENDOR = 20
IN_FLIGHT = 8


def _signed(
    member: MemberVendor,
    clock: ManualClock,
    first: timedelta,
    last: timedelta,
    criteria: tuple[str, ...] = DEFAULT_CRITERIA,
) -> Any:
    now = clock.now()
    return attestation_envelope(
        member.key,
        vendor=member.slug,
        period=(now - first, now - last),
        issued_at=now,
        criteria=criteria,
    ).to_dict()


async def _accepted_per_vendor(services: Services) -> dict[str, int]:
    async with services.ctx.db.read() as session:
        rows = await session.execute(
            select(Vendor.slug, func.count(AttestationRecord.id))
            .join(AttestationRecord, AttestationRecord.vendor_id == Vendor.id)
            .group_by(Vendor.slug)
        )
        return {str(slug): int(count) for slug, count in rows}


async def test_refused_attestations_right_after_a_start_never_break_later_ones(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    await services.federation.ensure_association(
        "cesa", "中国电子商会", "China Electronics Society"
    )
    members = [
        await member_vendor(services, assoc, f"{assoc}-vendor-{n}")
        for assoc in (association, "cesa")
        for n in range(VENDORS_PER_ASSOCIATION)
    ]
    primed, fresh = members[:VENDORS_PER_ASSOCIATION], members[VENDORS_PER_ASSOCIATION:]
    # The first association's vendors hold one accepted period a year back, written
    # before the server's first request (another process, as far as its memory goes).
    # The second association has no attestation yet, nor a scheme.
    for member in primed:
        caller = await services.accounts.authenticate(member.token)
        envelope = _signed(member, clock, 400 * DAY, 370 * DAY)
        await services.attestations.submit_batch(caller, member.slug, [envelope])

    def post(member: MemberVendor, envelope: Any) -> Any:
        return api.post(
            f"/api/v1/vendors/{member.slug}/attestations",
            json=envelope,
            headers={"Authorization": f"Bearer {member.token}"},
        )

    # The server's first requests: a period overlapping an accepted one, refused under
    # the existing scheme; a statement missing a criterion, refused after its checks
    # published the default scheme, which rolls back with it.
    first = await post(primed[0], _signed(primed[0], clock, 390 * DAY, 380 * DAY))
    assert first.status_code == 409, first.text
    incomplete = _signed(fresh[0], clock, 390 * DAY, 380 * DAY, criteria=DEFAULT_CRITERIA[1:])
    first = await post(fresh[0], incomplete)
    assert first.status_code == 422, first.text

    # Then good and bad envelopes of every vendor, interleaved, several in flight.
    requests: list[tuple[MemberVendor, Any, int]] = []
    for n in range(GOOD_PER_VENDOR):
        for number, member in enumerate(members):
            old = (399 * DAY - n * timedelta(hours=1), 371 * DAY)
            someone_else = members[(number + 1) % len(members)]
            if n % 2 and member in primed:
                requests.append((member, _signed(member, clock, *old), 409))
            elif n % 2:
                incomplete = _signed(member, clock, *old, criteria=DEFAULT_CRITERIA[:-1])
                requests.append((member, incomplete, 422))
            else:
                # Signed by another vendor's key: never this vendor's attestation.
                requests.append((member, _signed(someone_else, clock, 15 * DAY, 5 * DAY), 422))
            good = _signed(member, clock, (n + 1) * 10 * DAY, n * 10 * DAY)
            requests.append((member, good, 201))
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def send(member: MemberVendor, envelope: Any) -> httpx.Response:
        async with gate:
            return await post(member, envelope)

    answers = await asyncio.gather(*(send(m, e) for m, e, _ in requests))

    statuses = [a.status_code for a in answers]
    assert not [s for s in statuses if s >= 500], [a.text for a in answers if a.status_code >= 500]
    assert statuses == [expected for *_, expected in requests]
    assert await _accepted_per_vendor(services) == {
        **{m.slug: 1 + GOOD_PER_VENDOR for m in primed},
        **{m.slug: GOOD_PER_VENDOR for m in fresh},
    }
