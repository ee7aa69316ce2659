"""Webhooks cannot be aimed inside the operator's network, and one vendor's endpoints
cannot hold up another's deliveries: registration refuses non-public targets in every
notation, delivery re-checks what the name resolves to at that moment, endpoints are
served concurrently with a per-attempt timeout, and a vendor has a bounded number of
endpoints."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from registry.app import create_app
from registry.kernel.clock import ManualClock
from registry.notifications.models import WebhookDelivery
from registry.notifications.services import DELIVERY_FAILED, enqueue_event
from registry.notifications.signing import WebhookSignatureError, verify_webhook
from registry.services import Services
from tests.factories import member_vendor
from tests.integration.test_certification_api import _auth
from tests.local_https import Recorder, make_certificates, serving, silent_server

NON_PUBLIC_TARGETS = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",
    "https://foo.localhost/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.1/hook",
    "https://100.100.100.200/latest/meta-data/",
    "https://0.0.0.0/hook",
    "https://2130706433/hook",
    "https://0x7f000001/hook",
    "https://0x7f.1/hook",
    "https://017700000001/hook",
    "https://127.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:a9fe:a9fe]/hook",
    "https://[64:ff9b::7f00:1]/hook",
    "https://[2002:7f00:1::]/hook",
    "https://[fd00::1]/hook",
    "https://[fe80::1]/hook",
    "https://[::]/hook",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://metadata/hook",
    "https://printer.lan/hook",
    "https://router.home.arpa/hook",
    "https://127.0.0.1.:8443/hook",
    "https://LOCALHOST./hook",
    "https://internal.acme.com.cn/hook",  # resolves (see the test) to 10.1.2.3
]


def _hooks(slug: str) -> str:
    return f"/api/v1/vendors/{slug}/webhooks"


async def _deliveries(services: Services) -> list[WebhookDelivery]:
    async with services.ctx.db.read() as session:
        return list(
            (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars()
        )


async def test_every_non_public_target_is_refused_at_registration(
    services: Services, association: str, tmp_path: Path
) -> None:
    """Literal addresses in any notation, IPv4 inside IPv6, internal names and a name that
    resolves into a private range: each is a 422 problem+json, and nothing is stored."""
    settings = replace(
        services.ctx.settings, outbound_host_overrides=(("internal.acme.com.cn", "10.1.2.3"),)
    )
    vendor = await member_vendor(services, association, "acme-cloud")
    async with (
        serving(
            create_app(context=replace(services.ctx, settings=settings), run_scheduler=False),
            lifespan="on",
        ) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api,
    ):
        for url in NON_PUBLIC_TARGETS:
            refused = await api.post(
                _hooks(vendor.slug), json={"url": url}, headers=_auth(vendor.token)
            )
            assert refused.status_code == 422, (url, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "public" in refused.json()["detail"], url
        listed = await api.get(_hooks(vendor.slug), headers=_auth(vendor.token))
        assert listed.json() == []
        accepted = await api.post(
            _hooks(vendor.slug),
            json={"url": "https://hooks.acme.com.cn/trust"},
            headers=_auth(vendor.token),
        )
        assert accepted.status_code == 201, accepted.text


async def _enqueue(services: Services, vendor_id: int, event: str, clock: ManualClock) -> None:
    async with services.ctx.db.transaction() as session:
        await enqueue_event(
            session, vendor_id=vendor_id, event=event, data={"n": event}, now=clock.now()
        )


async def test_a_name_is_checked_again_against_what_it_resolves_to_at_delivery(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    """Registered while its name pointed at a public address, the endpoint's name now
    resolves to the registry's own loopback interface (DNS rebinding): the delivery is
    refused before any connection, and the log shows one neutral error. Where loopback is
    admitted (tests), the same delivery reaches the server under its name, over TLS."""
    name = "hooks.rebind.com.cn"
    certificates = make_certificates(tmp_path / "tls", [name])
    receiver = Recorder()
    settings = services.ctx.settings
    vendor = await member_vendor(services, association, "rebind-vendor")
    caller = await services.accounts.authenticate(vendor.token)
    async with serving(receiver, certificates) as port:
        url = f"https://{name}:{port}/hook"
        public = Services(
            replace(
                services.ctx,
                settings=replace(settings, outbound_host_overrides=((name, "93.184.215.14"),)),
            )
        )
        endpoint = await public.notifications.add_endpoint(caller, vendor.slug, url, None)
        rebound_settings = replace(
            settings,
            outbound_host_overrides=((name, "127.0.0.1"),),
            outbound_ca_file=str(certificates.ca_file),
        )
        rebound = Services(replace(services.ctx, settings=rebound_settings))
        await _enqueue(services, endpoint.vendor_id, "test.rebinding", clock)
        assert await rebound.notifications.dispatch_outbox() == 1
        assert await rebound.notifications.deliver_due() == 1
        assert receiver.received == []
        log = (
            await api.get(f"{_hooks(vendor.slug)}/deliveries", headers=_auth(vendor.token))
        ).json()
        assert log["items"][0]["last_error"] == DELIVERY_FAILED
        assert log["items"][0]["last_status_code"] is None
        assert log["items"][0]["status"] == "pending"

        (delivery,) = await _deliveries(services)
        assert delivery.next_attempt_at is not None
        clock.set(delivery.next_attempt_at)
        admitted = Services(
            replace(services.ctx, settings=replace(rebound_settings, outbound_allow_loopback=True))
        )
        assert await admitted.notifications.deliver_due() == 1
        ((path, headers, body),) = receiver.received
    assert path == "/hook"
    assert headers["host"] == f"{name}:{port}"
    federation_key = services.ctx.federation_key.public_key
    verify_webhook(headers, body, federation_key, clock.now(), endpoint_url=url)
    # Signed for this endpoint: replayed to another vendor's receiver, it fails there.
    with pytest.raises(WebhookSignatureError, match="another endpoint"):
        verify_webhook(
            headers,
            body,
            federation_key,
            clock.now(),
            endpoint_url="https://hooks.other-vendor.com.cn/in",
        )
    (delivery,) = await _deliveries(services)
    assert delivery.status.value == "delivered"


async def test_an_endpoint_that_never_answers_delays_only_itself(
    services: Services, association: str, clock: ManualClock
) -> None:
    """One vendor's endpoint accepts the connection and never answers; another vendor's
    endpoint gets its delivery while that request is still hanging. The hung attempt ends
    at the per-attempt timeout as "delivery failed", and the hung endpoint's next delivery
    waits for a later run instead of holding up this one."""
    settings = replace(
        services.ctx.settings, outbound_allow_loopback=True, webhook_timeout_seconds=3
    )
    local = Services(replace(services.ctx, settings=settings))
    slow = await member_vendor(services, association, "slow-vendor")
    quick = await member_vendor(services, association, "quick-vendor")
    async with silent_server() as (silent, silent_port):
        in_flight_at_quick: list[int] = []

        async def probe() -> None:
            # What the hung endpoint is doing at the moment the other one is served.
            await silent.arrived.wait()
            in_flight_at_quick.append(silent.open_connections)

        receiver = Recorder(on_request=probe)
        async with serving(receiver) as port:
            hung = await local.notifications.add_endpoint(
                await services.accounts.authenticate(slow.token),
                slow.slug,
                f"http://127.0.0.1:{silent_port}/hook",
                None,
            )
            answering = await local.notifications.add_endpoint(
                await services.accounts.authenticate(quick.token),
                quick.slug,
                f"http://127.0.0.1:{port}/hook",
                None,
            )
            await _enqueue(services, hung.vendor_id, "test.first", clock)
            await _enqueue(services, hung.vendor_id, "test.second", clock)
            await _enqueue(services, answering.vendor_id, "test.quick", clock)
            assert await local.notifications.dispatch_outbox() == 3
            assert await local.notifications.deliver_due() == 2
    assert in_flight_at_quick == [1]
    assert len(receiver.received) == 1
    by_endpoint = {(d.endpoint_id, d.message_id): d for d in await _deliveries(services)}
    quick_delivery = next(d for (e, _), d in by_endpoint.items() if e == answering.id)
    assert quick_delivery.status.value == "delivered"
    first, second = sorted(
        (d for (e, _), d in by_endpoint.items() if e == hung.id), key=lambda d: d.message_id
    )
    assert (first.attempts, first.last_error, first.last_status_code) == (1, DELIVERY_FAILED, None)
    assert (second.attempts, second.last_error, second.status.value) == (0, None, "pending")


async def test_a_vendor_has_at_most_five_endpoints(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """The sixth endpoint is refused with a 409 that says what to do; deleting one makes
    room again."""
    vendor = await member_vendor(services, association, "many-hooks")
    assert services.ctx.settings.webhook_endpoints_per_vendor == 5
    ids = []
    for n in range(5):
        created = await api.post(
            _hooks(vendor.slug),
            json={"url": f"https://hooks{n}.many-hooks.com.cn/in"},
            headers=_auth(vendor.token),
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    sixth = await api.post(
        _hooks(vendor.slug),
        json={"url": "https://hooks5.many-hooks.com.cn/in"},
        headers=_auth(vendor.token),
    )
    assert sixth.status_code == 409
    assert sixth.headers["content-type"].startswith("application/problem+json")
    assert "delete one" in sixth.json()["detail"]
    assert len((await api.get(_hooks(vendor.slug), headers=_auth(vendor.token))).json()) == 5
    deleted = await api.delete(f"{_hooks(vendor.slug)}/{ids[0]}", headers=_auth(vendor.token))
    assert deleted.status_code == 204
    again = await api.post(
        _hooks(vendor.slug),
        json={"url": "https://hooks5.many-hooks.com.cn/in"},
        headers=_auth(vendor.token),
    )
    assert again.status_code == 201
