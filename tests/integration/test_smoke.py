"""The server answers its probes on both databases."""

from __future__ import annotations

import httpx


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    """/healthz says alive; /readyz says the schema is at head."""
    assert (await api.get("/healthz")).json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
