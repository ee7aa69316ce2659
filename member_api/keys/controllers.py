"""/api/v1/vendors/{slug}/keys, /api/v1/keys/{key_id}/revoke and what a compromised key signed."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from attestations.keys import b64encode
from member_api.contract import problems
from member_api.deps import CallerDep, ServicesDep
from member_api.schemas import EnvelopeIn, strict_json_body
from registry.accounts.access import PUBLIC, opt, roles
from registry.kernel.caller import Role
from registry.keys.models import SigningKeyRecord


class KeyOut(msgspec.Struct):
    """A registered public key and its life."""

    key_id: str
    public_key: str
    status: str
    created_at: datetime
    activated_at: datetime | None
    revoked_at: datetime | None
    compromised_since: datetime | None
    revocation_reason: str | None
    authorised_by_key_id: str | None
    log_index: int | None
    revocation_log_index: int | None


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why; for a compromise, optionally since when the key was in other hands."""

    reason: str
    compromised_since: str | None = None
    """ISO 8601 with a zone, between the key's registration and now: what the key signed
    from then on is listed at /api/v1/keys/{key_id}/compromised-records."""


class SignedRecordOut(msgspec.Struct):
    """An accepted record signed by the key after it was compromised."""

    kind: str
    """`application`, `key_rotation` or `attestation`."""
    ref: str
    signed_at: datetime | None
    received_at: datetime
    log_index: int | None


class CompromiseOut(msgspec.Struct):
    """A revoked key and the records it signed from `compromised_since` on."""

    key_id: str
    vendor: str
    revoked_at: datetime | None
    compromised_since: datetime | None
    records: list[SignedRecordOut]


def key_out(key: SigningKeyRecord) -> KeyOut:
    """Shape a key."""
    return KeyOut(
        key_id=key.key_id,
        public_key=b64encode(key.public_key),
        status=key.status.value,
        created_at=key.created_at,
        activated_at=key.activated_at,
        revoked_at=key.revoked_at,
        compromised_since=key.compromised_since,
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
        responses=problems(HTTP_409_CONFLICT),
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
        responses=problems(HTTP_409_CONFLICT),
    )
    async def revoke(
        self,
        services: ServicesDep,
        caller: CallerDep,
        key_id: FromPath[str],
        data: JSONBody[RevokeIn],
    ) -> KeyOut:
        """Revoke a key now, with every token it logged in for.

        Nothing it signs is accepted from now on, whatever time a statement claims."""
        return key_out(
            await services.keys.revoke(caller, key_id, data.reason, data.compromised_since)
        )

    @get(
        "/{key_id:str}/compromised-records",
        opt=opt(roles(Role.VENDOR_ADMIN, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN)),
    )
    async def compromised_records(
        self, services: ServicesDep, caller: CallerDep, key_id: FromPath[str]
    ) -> CompromiseOut:
        """Records the key signed after `compromised_since`.

        For the vendor itself, its association's admins and the federation admin; anyone
        else is refused."""
        report = await services.key_compromise.signed_after_compromise(caller, key_id)
        return CompromiseOut(
            key_id=report.key_id,
            vendor=report.vendor,
            revoked_at=report.revoked_at,
            compromised_since=report.compromised_since,
            records=[
                SignedRecordOut(
                    kind=r.kind,
                    ref=r.ref,
                    signed_at=r.signed_at,
                    received_at=r.received_at,
                    log_index=r.log_index,
                )
                for r in report.records
            ],
        )
