"""/api/v1/auth: log in by signing a challenge; no shared secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_204_NO_CONTENT,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_429_TOO_MANY_REQUESTS,
)

from attestations.keys import b64encode
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.schemas import EnvelopeIn, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.client_address import UNKNOWN_CLIENT
from registry.kernel.caller import Role

ANY_ROLE = roles(*Role)


class ChallengeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Which registered key is about to log in."""

    key_id: str = msgspec.field()


class ChallengeOut(msgspec.Struct):
    """Sign `payload` (base64) as a DSSE envelope with `payload_type`, then POST /auth/token."""

    key_id: str
    nonce: str
    payload_type: str
    payload: str
    expires_at: datetime


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    """The signed challenge."""

    envelope: EnvelopeIn


class TokenOut(msgspec.Struct):
    """A bearer token, shown only this once."""

    token: str
    token_type: str
    role: str
    vendor: str | None
    expires_at: datetime


class WhoAmIOut(msgspec.Struct):
    """The identity behind the presented token."""

    principal_id: int
    role: str
    association_id: int | None
    vendor_id: int | None


class AuthController(Controller):
    """Login for any principal or vendor with a registered active key."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/challenge",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_404_NOT_FOUND, HTTP_429_TOO_MANY_REQUESTS),
    )
    async def challenge(
        self, services: ServicesDep, request: Request[Any, Any, Any], data: JSONBody[ChallengeIn]
    ) -> ChallengeOut:
        """Get a one-time challenge for a registered, active key (valid a few minutes).

        Limited per client address (429).
        """
        client = request.client.host if request.client else UNKNOWN_CLIENT
        issued = await services.accounts.issue_challenge(data.key_id.strip().lower(), client=client)
        return ChallengeOut(
            key_id=issued.key_id,
            nonce=issued.nonce,
            payload_type=issued.payload_type,
            payload=b64encode(issued.payload),
            expires_at=issued.expires_at,
        )

    @post(
        "/token",
        opt=opt(PUBLIC),
        status_code=HTTP_200_OK,
        responses=problems(HTTP_409_CONFLICT),
        before_request=strict_json_body,
    )
    async def token(self, services: ServicesDep, data: JSONBody[TokenIn]) -> TokenOut:
        """Exchange the signed challenge for a short-lived bearer token."""
        issued = await services.accounts.login(data.envelope.to_envelope())
        return TokenOut(
            token=issued.token,
            token_type="Bearer",  # noqa: S106 - the OAuth token type name
            role=issued.role.value,
            vendor=issued.vendor,
            expires_at=issued.expires_at,
        )

    @get("/whoami", opt=opt(ANY_ROLE))
    async def whoami(self, caller: CallerDep) -> WhoAmIOut:
        """Who the presented token speaks for."""
        return WhoAmIOut(
            principal_id=caller.principal_id,
            role=caller.role.value,
            association_id=caller.association_id,
            vendor_id=caller.vendor_id,
        )

    @post("/logout", opt=opt(ANY_ROLE), status_code=HTTP_204_NO_CONTENT)
    async def logout(self, services: ServicesDep, caller: CallerDep) -> None:
        """Revoke the presented token."""
        await services.accounts.revoke_token(caller)
