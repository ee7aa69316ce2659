"""/api/v1/blacklist/check: the members' bulk check, plain or signed by the federation."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec
from litestar import Controller, Response, post
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from member_api.deps import CallerDep, ServicesDep
from registry.accounts.access import opt, roles
from registry.blacklist.check import CHECK_ROLES, BlacklistCheck
from registry.settings import Settings

SERVER_TIMING = "Server-Timing"
"""W3C Server Timing: the milliseconds the check (and the signature) took in the server."""


class BlacklistIdentifierIn(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One identifier to check."""

    kind: str
    """`credit_code` (统一社会信用代码), `domain` (its parent domains are checked too, up
    to the registrable domain), `app_id` or `vendor` (a member's slug)."""
    value: str


class BlacklistCheckIn(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 10,000 identifiers (`blacklist_check_max`), answered in the order given."""

    identifiers: list[BlacklistIdentifierIn]
    signed: bool = False
    """Answer with a DSSE envelope signed by the federation key (as `?signed=true`)."""


class DsseSignatureOut(msgspec.Struct):
    """One signature of a DSSE envelope."""

    keyid: str
    """Hex SHA-256 of the signer's raw Ed25519 public key."""
    sig: str
    """Base64 Ed25519 signature over PAE(payloadType, payload)."""


class SignedBlacklistCheckOut(msgspec.Struct):
    """The answer as a DSSE envelope by the federation key; its base64 `payload` is the
    answer (`BlacklistCheck`) in RFC 8785 form."""

    payload: str
    payloadType: str  # noqa: N815 - the DSSE field name
    """`application/vnd.trust-registry.blacklist-check+json`."""
    signatures: list[DsseSignatureOut]


class BlacklistCheckController(Controller):
    """The bulk check of identifiers against the listings in force."""

    path = "/api/v1/blacklist/check"
    tags = ["blacklist"]

    @post(
        "/",
        opt=opt(roles(*CHECK_ROLES)),
        status_code=HTTP_200_OK,
        request_max_body_size=Settings.max_batch_body_bytes,
    )
    async def check(
        self,
        services: ServicesDep,
        caller: CallerDep,
        data: JSONBody[BlacklistCheckIn],
        signed_query: Annotated[
            bool,
            QueryParameter(
                name="signed", description="answer with a DSSE envelope by the federation key"
            ),
        ] = False,
    ) -> Response[BlacklistCheck | SignedBlacklistCheckOut]:
        """Check up to 10,000 credit codes, domains, app ids and vendor slugs at once.

        Each identifier is answered in the order given: listed or not, its most severe
        tier and the listings in force that cover it, all read from the blacklist
        snapshot whose `serial` the answer names. A malformed identifier, or one beyond
        the limit, refuses the whole request with one problem naming it. With
        `signed=true` the answer is a DSSE envelope signed by the federation key.
        """
        started = time.perf_counter()
        answer = await services.blacklist_check.check(caller, data.identifiers)
        timing = f"check;dur={(time.perf_counter() - started) * 1000:.3f}"
        if not (signed_query or data.signed):
            return Response(answer, headers={SERVER_TIMING: timing})
        started = time.perf_counter()
        envelope = services.blacklist_check.sign(answer)
        timing += f", sign;dur={(time.perf_counter() - started) * 1000:.3f}"
        return Response(
            SignedBlacklistCheckOut(
                payload=envelope.to_dict()["payload"],
                payloadType=envelope.payload_type,
                signatures=[DsseSignatureOut(**s.to_dict()) for s in envelope.signatures],
            ),
            headers={SERVER_TIMING: timing},
        )
