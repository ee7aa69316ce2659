"""/api/v1/vendors/{slug}/keys and /api/v1/keys/{key_id}/revoke."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from attestations.keys import b64encode
from member_api.deps import CallerDep, ServicesDep
from member_api.schemas import EnvelopeIn, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.accounts.models import Role
from registry.keys.models import SigningKeyRecord


class KeyOut(msgspec.Struct):
    """A registered public key and its life."""

    key_id: str
    public_key: str
    status: str
    created_at: datetime
    activated_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    authorised_by_key_id: str | None
    log_index: int | None
    revocation_log_index: int | None


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why, and from when (default now; earlier to cover a compromise window)."""

    reason: str
    revoked_at: str | None = None


def key_out(key: SigningKeyRecord) -> KeyOut:
    """Shape a key."""
    return KeyOut(
        key_id=key.key_id,
        public_key=b64encode(key.public_key),
        status=key.status.value,
        created_at=key.created_at,
        activated_at=key.activated_at,
        revoked_at=key.revoked_at,
        revocation_reason=key.revocation_reason,
        authorised_by_key_id=key.authorised_by_key_id,
        log_index=key.log_index,
        revocation_log_index=key.revocation_log_index,
    )


class VendorKeyController(Controller):
    """A vendor's keys: public to read, rotated only by the vendor with a current key."""

    path = "/api/v1/vendors/{slug:str}/keys"
    tags = ["keys"]

    @get("/", opt=opt(PUBLIC))
    async def list_keys(self, services: ServicesDep, slug: FromPath[str]) -> list[KeyOut]:
        """Every key the vendor ever registered, so old signatures stay checkable."""
        return [key_out(k) for k in await services.keys.vendor_keys(slug)]

    @post(
        "/",
        opt=opt(roles(Role.VENDOR_ADMIN)),
        status_code=HTTP_201_CREATED,
        before_request=strict_json_body,
    )
    async def rotate(
        self,
        services: ServicesDep,
        caller: CallerDep,
        slug: FromPath[str],
        data: JSONBody[EnvelopeIn],
    ) -> KeyOut:
        """Register a new key: a key-rotation statement signed by a current key and the new one."""
        return key_out(await services.keys.rotate(caller, slug, data.to_envelope()))


class KeyRevocationController(Controller):
    """Revocation by the vendor or its association's admins."""

    path = "/api/v1/keys"
    tags = ["keys"]

    @post(
        "/{key_id:str}/revoke",
        opt=opt(roles(Role.VENDOR_ADMIN, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)),
        status_code=HTTP_200_OK,
    )
    async def revoke(
        self,
        services: ServicesDep,
        caller: CallerDep,
        key_id: FromPath[str],
        data: JSONBody[RevokeIn],
    ) -> KeyOut:
        """Revoke a key; statements dated after `revoked_at` are refused from now on."""
        return key_out(await services.keys.revoke(caller, key_id, data.reason, data.revoked_at))
