"""Webhook signatures after the Standard Webhooks specification, asymmetric variant.

https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md:
the signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the `webhook-signature`
header carries `v1a,<base64 Ed25519 signature>` (v1a = asymmetric). The registry signs
with the federation key, so a vendor verifies with the public key served at
/api/v1/federation/key and needs no shared secret. Receivers should refuse timestamps
outside a tolerance window to stop replays, and check that the body's `endpoint.url` is
their own URL: the body names the endpoint it was signed for, so a delivery captured at
one vendor's endpoint cannot be replayed to another's.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta

from attestations.canonical import parse_json
from attestations.errors import AttestationError, CanonicalJSONError
from attestations.keys import PublicKey, SigningKey

SIGNATURE_VERSION = "v1a"


def _signed_content(message_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode() + body


def webhook_headers(
    key: SigningKey, message_id: str, sent_at: datetime, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers for one delivery attempt."""
    timestamp = int(sent_at.timestamp())
    signature = key.sign(_signed_content(message_id, timestamp, body))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"{SIGNATURE_VERSION},{base64.b64encode(signature).decode()}",
        "content-type": "application/json",
    }


class WebhookSignatureError(Exception):
    """The webhook is not signed by the key, or is too old or too new."""


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    public_key: PublicKey,
    now: datetime,
    *,
    endpoint_url: str,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """What a vendor runs on receipt: a valid v1a signature with a fresh timestamp, on a
    body addressed to `endpoint_url` (the URL the vendor registered for this receiver)."""
    try:
        message_id = headers["webhook-id"]
        timestamp = int(headers["webhook-timestamp"])
        signatures = headers["webhook-signature"].split()
    except (KeyError, ValueError) as exc:
        raise WebhookSignatureError("missing or malformed webhook headers") from exc
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        raise WebhookSignatureError("timestamp outside the tolerance window")
    content = _signed_content(message_id, timestamp, body)
    for entry in signatures:
        version, _, value = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            public_key.verify(content, base64.b64decode(value, validate=True))
        except (AttestationError, ValueError):
            continue
        _check_recipient(body, endpoint_url)
        return
    raise WebhookSignatureError("no valid v1a signature by the federation key")


def _check_recipient(body: bytes, endpoint_url: str) -> None:
    try:
        event = parse_json(body)
        recipient = event["endpoint"]["url"]
    except (CanonicalJSONError, TypeError, KeyError) as exc:
        raise WebhookSignatureError("the webhook does not name its recipient endpoint") from exc
    if recipient != endpoint_url:
        raise WebhookSignatureError(
            f"the webhook was signed for another endpoint ({recipient}), not this one"
        )
