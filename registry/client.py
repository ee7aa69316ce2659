"""What a vendor's side does against a running registry: build, sign, send.

The CLI's client commands (`apply`, `login`, `keys rotate`...) use this, and so do the
demo loader and the tests, so the documented commands are the tested ones.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from attestations.envelope import Envelope, sign_envelope
from attestations.keys import SigningKey
from attestations.statement import Subject, make_statement
from registry.kernel.clock import isoformat
from registry.kernel.predicates import APPLICATION_PREDICATE, ROTATION_PREDICATE


class RegistryClientError(Exception):
    """The registry answered with a problem; `problem` holds the problem+json body.

    The message is the problem's own sentence (its `detail`, else its `title`), without
    the status code: the person at the terminal acts on the sentence, and a script that
    needs the code has `status`.
    """

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title")
        if not isinstance(detail, str) or not detail.strip():
            detail = f"the registry refused the request (status {status}) without saying why"
        super().__init__(detail)
        self.status = status
        self.problem = problem


def application_envelope(
    key: SigningKey,
    *,
    association: str,
    credit_code: str,
    slug: str,
    name_zh: str,
    name_en: str,
    domains: Sequence[str],
    issued_at: datetime,
    website: str | None = None,
    contact_email: str | None = None,
    size: str | None = None,
) -> Envelope:
    """A signed application statement; the subject is the key being registered."""
    predicate: dict[str, Any] = {
        "association": association,
        "credit_code": credit_code,
        "slug": slug,
        "name_zh": name_zh,
        "name_en": name_en,
        "domains": list(domains),
        "public_key": key.public_key.to_base64(),
        "issued_at": isoformat(issued_at),
    }
    if website:
        predicate["website"] = website
    if contact_email:
        predicate["contact_email"] = contact_email
    if size:
        predicate["size"] = size
    statement = make_statement(
        [Subject(name=f"credit-code:{credit_code}", digest={"sha256": key.key_id})],
        APPLICATION_PREDICATE,
        predicate,
    )
    return sign_envelope(statement.to_bytes(), [key])


def rotation_envelope(
    current: SigningKey, new: SigningKey, *, vendor: str, issued_at: datetime
) -> Envelope:
    """A key-rotation statement signed by the current key and the new key."""
    statement = make_statement(
        [Subject(name=f"vendor:{vendor}", digest={"sha256": new.key_id})],
        ROTATION_PREDICATE,
        {
            "vendor": vendor,
            "new_public_key": new.public_key.to_base64(),
            "issued_at": isoformat(issued_at),
        },
    )
    return sign_envelope(statement.to_bytes(), [current, new])


class RegistryClient:
    """A small synchronous client of the member API."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; raise RegistryClientError with the problem on 4xx/5xx."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:500]}
            raise RegistryClientError(response.status_code, problem)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def login(self, key: SigningKey) -> dict[str, Any]:
        """Sign a fresh challenge with `key`; returns the token response."""
        challenge = self.request("POST", "/api/v1/auth/challenge", json={"key_id": key.key_id})
        payload = base64.b64decode(challenge["payload"])
        envelope = sign_envelope(payload, [key], payload_type=challenge["payload_type"])
        token: dict[str, Any] = self.request(
            "POST", "/api/v1/auth/token", json={"envelope": envelope.to_dict()}
        )
        self.http.headers["Authorization"] = f"Bearer {token['token']}"
        return token
