"""Standard Webhooks v1a signatures: what a vendor's receiver accepts and refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from attestations.keys import SigningKey
from registry.notifications.signing import (
    WebhookSignatureError,
    verify_webhook,
    webhook_headers,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
URL = "https://hooks.vendor-a.com.cn/trust"
BODY = b'{"endpoint":{"id":1,"url":"https://hooks.vendor-a.com.cn/trust"},"type":"certification.changed"}'


def test_signed_headers_verify_with_the_public_key() -> None:
    key = SigningKey.generate()
    headers = webhook_headers(key, "msg_1", NOW, BODY)
    assert headers["webhook-signature"].startswith("v1a,")
    verify_webhook(headers, BODY, key.public_key, NOW + timedelta(seconds=30), endpoint_url=URL)


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        (lambda h, b: (h, b + b" "), "no valid"),
        (lambda h, b: ({**h, "webhook-id": "msg_2"}, b), "no valid"),
        (
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
            "no valid",
        ),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "malformed"),
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "no valid"),
    ],
    ids=["body", "id", "timestamp", "missing-id", "wrong-version"],
)
def test_any_change_is_refused(mutation: object, reason: str) -> None:
    key = SigningKey.generate()
    headers, body = mutation(webhook_headers(key, "msg_1", NOW, BODY), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_webhook(headers, body, key.public_key, NOW, endpoint_url=URL)


def test_another_key_and_stale_timestamps_are_refused() -> None:
    key = SigningKey.generate()
    headers = webhook_headers(key, "msg_1", NOW, BODY)
    with pytest.raises(WebhookSignatureError):
        verify_webhook(headers, BODY, SigningKey.generate().public_key, NOW, endpoint_url=URL)
    with pytest.raises(WebhookSignatureError, match="tolerance"):
        verify_webhook(headers, BODY, key.public_key, NOW + timedelta(minutes=6), endpoint_url=URL)


def test_a_delivery_signed_for_one_endpoint_is_refused_at_another() -> None:
    """The body names its recipient and the signature covers it: replaying vendor A's
    delivery to vendor B's endpoint fails B's verification, though the signature is good."""
    key = SigningKey.generate()
    headers = webhook_headers(key, "msg_1", NOW, BODY)
    verify_webhook(headers, BODY, key.public_key, NOW, endpoint_url=URL)
    with pytest.raises(WebhookSignatureError, match="another endpoint"):
        verify_webhook(
            headers, BODY, key.public_key, NOW, endpoint_url="https://hooks.vendor-b.com.cn/in"
        )
    unaddressed = b'{"type":"certification.changed"}'
    with pytest.raises(WebhookSignatureError, match="recipient"):
        verify_webhook(
            webhook_headers(key, "msg_1", NOW, unaddressed),
            unaddressed,
            key.public_key,
            NOW,
            endpoint_url=URL,
        )
