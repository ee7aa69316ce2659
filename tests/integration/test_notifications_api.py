"""Webhook endpoints over HTTP, and signed delivery with exponential back-off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from attestations.canonical import parse_json
from registry.certification.machine import Trigger
from registry.kernel.clock import ManualClock
from registry.notifications.models import WebhookDelivery, WebhookEndpoint
from registry.notifications.signing import WebhookSignatureError, verify_webhook
from registry.services import Services
from tests.factories import MemberVendor, admin_caller, member_vendor
from tests.integration.test_certification_api import _attest, _auth


@dataclass
class Receiver:
    """A loopback HTTP endpoint that records what it is sent and answers `status`."""

    status: int = 204
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    app.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hook"
    yield app
    server.should_exit = True
    await task


async def _endpoint_count(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0


async def test_vendors_manage_their_own_endpoints(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    vendor = await member_vendor(services, association, "acme-cloud")
    other = await member_vendor(services, association, "other-soft")
    base = "/api/v1/vendors/acme-cloud/webhooks"
    for bad in (
        "http://hooks.acme.com.cn/x",
        "ftp://hooks.acme.com.cn",
        "https://u:p@hooks.acme.com.cn/x",
    ):
        refused = await api.post(base, json={"url": bad}, headers=_auth(vendor.token))
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")
    # Loopback HTTP is for tests only and off by default.
    loopback = await api.post(
        base, json={"url": "http://127.0.0.1:9/x"}, headers=_auth(vendor.token)
    )
    assert loopback.status_code == 422
    assert await _endpoint_count(services) == 0

    created = await api.post(
        base,
        json={"url": "https://hooks.acme.com.cn/trust", "description": "ops"},
        headers=_auth(vendor.token),
    )
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    listed = await api.get(base, headers=_auth(vendor.token))
    assert [e["url"] for e in listed.json()] == ["https://hooks.acme.com.cn/trust"]
    foreign = await api.get(base, headers=_auth(other.token))
    assert foreign.status_code == 404
    foreign_delete = await api.delete(f"{base}/{endpoint_id}", headers=_auth(other.token))
    assert foreign_delete.status_code == 404
    deleted = await api.delete(f"{base}/{endpoint_id}", headers=_auth(vendor.token))
    assert deleted.status_code == 204
    assert (await api.get(base, headers=_auth(vendor.token))).json() == []
    log = await api.get(f"{base}/deliveries", headers=_auth(vendor.token))
    assert log.json()["page"]["total"] == 0


async def test_events_are_signed_delivered_and_retried_with_back_off(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    clock: ManualClock,
    receiver: Receiver,
) -> None:
    loopback = Services(
        replace(
            services.ctx,
            settings=replace(services.ctx.settings, outbound_allow_loopback=True),
        )
    )
    vendor: MemberVendor = await member_vendor(services, association, "acme-cloud")
    caller = await services.accounts.authenticate(vendor.token)
    await loopback.notifications.add_endpoint(caller, "acme-cloud", receiver.url, "test")
    accepted = await api.post(
        "/api/v1/vendors/acme-cloud/attestations",
        json=_attest(vendor, clock),
        headers=_auth(vendor.token),
    )
    assert accepted.status_code == 201

    assert await loopback.notifications.dispatch_outbox() == 1
    assert await loopback.notifications.dispatch_outbox() == 0
    assert await loopback.notifications.deliver_due() == 1
    headers, body = receiver.received[0]
    federation_key = services.ctx.federation_key.public_key
    verify_webhook(headers, body, federation_key, clock.now(), endpoint_url=receiver.url)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(headers, body + b" ", federation_key, clock.now(), endpoint_url=receiver.url)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(
            headers,
            body,
            federation_key,
            clock.now() + timedelta(hours=1),
            endpoint_url=receiver.url,
        )
    event = parse_json(body)
    assert event["type"] == "certification.changed"
    assert event["endpoint"]["url"] == receiver.url
    assert event["data"]["to"] == "active"
    log = (
        await api.get("/api/v1/vendors/acme-cloud/webhooks/deliveries", headers=_auth(vendor.token))
    ).json()
    assert log["items"][0]["status"] == "delivered"
    assert log["items"][0]["last_error"] is None
    assert log["items"][0]["message_id"] == headers["webhook-id"]

    # The endpoint starts failing: retries wait 30 s, 60 s, 120 s ... until attempts run out.
    receiver.status = 500
    await services.certification.decide_by_admin(
        await admin_caller(services), "acme-cloud", Trigger.SUSPEND, "test suspension"
    )
    await loopback.notifications.dispatch_outbox()
    waits: list[timedelta] = []
    settings = services.ctx.settings
    for _ in range(settings.webhook_max_attempts):
        assert await loopback.notifications.deliver_due() == 1
        assert await loopback.notifications.deliver_due() == 0
        async with services.ctx.db.read() as session:
            delivery = (
                (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())))
                .scalars()
                .first()
            )
        assert delivery is not None
        if delivery.next_attempt_at is None:
            break
        waits.append(delivery.next_attempt_at - clock.now())
        clock.set(delivery.next_attempt_at)
    assert waits == [settings.webhook_backoff_base * 2**n for n in range(len(waits))]
    assert delivery.status.value == "failed"
    assert delivery.attempts == settings.webhook_max_attempts
    assert delivery.last_status_code == 500
    assert delivery.last_error == "delivery failed"
