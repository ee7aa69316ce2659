"""Principals, bearer tokens and challenge-response login with registered keys.

Tokens are 256-bit random strings; only their SHA-256 is stored, so a database leak
does not leak working credentials. Login never uses a shared secret: the key holder
signs a one-time server nonce wrapped in a DSSE envelope.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from attestations.canonical import canonicalize, parse_json
from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.accounts.models import ApiToken, LoginChallenge, Principal
from registry.context import RegistryContext
from registry.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidSignature,
    NotFound,
    RegistryError,
)
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.kernel.ids import hash_token
from registry.kernel.members import vendor_by_id, vendor_by_slug
from registry.keys.models import KeyOwnerKind, KeyStatus, SigningKeyRecord
from registry.rate_limits import Limit, fingerprint_key, spend

TOKEN_PREFIX = "trt_"  # noqa: S105 - a public marker, not a secret
LOGIN_PAYLOAD_TYPE = "application/vnd.trust-registry.login+json"
LOGIN_PURPOSE = "trust-registry-login"

# Roles whose tokens must name the association or vendor they act for.
_ASSOCIATION_SCOPED = {Role.ASSOCIATION_ADMIN, Role.COMMITTEE_MEMBER, Role.MEDIATOR}


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted token: the secret is in `token` and is never retrievable again."""

    token: str
    token_id: int
    role: Role
    expires_at: datetime
    association: str | None
    vendor: str | None


@dataclass(frozen=True)
class IssuedChallenge:
    """A nonce to sign: `payload` is the exact byte string to put in a DSSE envelope."""

    nonce: str
    key_id: str
    payload_type: str
    payload: bytes
    expires_at: datetime


# Every authenticated request runs this; built once, it skips the ORM's per-call
# statement construction and entity loading (most of a request's database time).
_TOKEN_BY_HASH = (
    select(
        ApiToken.id,
        ApiToken.role,
        ApiToken.association_id,
        ApiToken.vendor_id,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        Principal.id.label("principal_id"),
        Principal.disabled_at,
        SigningKeyRecord.revoked_at.label("key_revoked_at"),
    )
    .join(Principal, Principal.id == ApiToken.principal_id)
    # A revocation revokes the key's tokens itself; reading the key too closes the race
    # with a login that read the key before the revocation and commits after it.
    .outerjoin(SigningKeyRecord, SigningKeyRecord.key_id == ApiToken.via_key_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


async def revoke_tokens_obtained_with(session: AsyncSession, key_id: str, now: datetime) -> None:
    """Withdraw every live token a login with `key_id` obtained: a token is only as good
    as the key that obtained it (the reaction to a key's revocation)."""
    await session.execute(
        update(ApiToken)
        .where(ApiToken.via_key_id == key_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


AuditorPrincipal = Callable[[AsyncSession, SigningKeyRecord, datetime], Awaitable[int]]
"""The principal id an accredited auditor's key logs in as; raises a `RegistryError`
once the accreditation lapsed. Accreditation belongs to certification, which depends on
accounts, so the composition root hands this in (`registry.services`)."""


class AccountService:
    """Creates principals and tokens, logs key holders in, and resolves bearer tokens."""

    def __init__(self, ctx: RegistryContext, *, auditor_principal: AuditorPrincipal) -> None:
        self.ctx = ctx
        self._auditor_principal = auditor_principal
        self._fingerprints = fingerprint_key(ctx.federation_key.seed)

    async def create_principal_with_token(
        self,
        *,
        role: Role,
        display_name: str,
        association_slug: str | None = None,
        vendor_slug: str | None = None,
        ttl: timedelta | None = None,
        label: str = "created from the command line",
    ) -> IssuedToken:
        """Create a principal for `role` with its scope and mint its first token (CLI only)."""
        async with self.ctx.db.transaction() as session:
            association_id, vendor_id = await _resolve_scope(
                session, role, association_slug, vendor_slug
            )
            principal = Principal(
                role=role,
                display_name=display_name,
                association_id=association_id,
                vendor_id=vendor_id,
                created_at=self.ctx.clock.now(),
            )
            session.add(principal)
            await session.flush()
            return await self._mint(
                session,
                principal,
                ttl or self.ctx.settings.admin_token_ttl,
                label,
                association_slug=association_slug,
                vendor_slug=vendor_slug,
            )

    async def _mint(
        self,
        session: AsyncSession,
        principal: Principal,
        ttl: timedelta,
        label: str,
        *,
        association_slug: str | None,
        vendor_slug: str | None,
        via_key_id: str | None = None,
    ) -> IssuedToken:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.ctx.clock.now()
        row = ApiToken(
            principal_id=principal.id,
            token_hash=hash_token(token),
            prefix=token[:12],
            label=label,
            role=principal.role,
            association_id=principal.association_id,
            vendor_id=principal.vendor_id,
            created_at=now,
            expires_at=now + ttl,
            via_key_id=via_key_id,
        )
        session.add(row)
        await session.flush()
        return IssuedToken(
            token=token,
            token_id=row.id,
            role=principal.role,
            expires_at=row.expires_at,
            association=association_slug,
            vendor=vendor_slug,
        )

    async def authenticate(self, token: str) -> Caller:
        """Resolve a bearer token to its caller, or raise AuthenticationFailed."""
        if not token.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed("the bearer token is not a Trust Registry token")
        async with self.ctx.db.read_rows() as connection:
            row = (
                await connection.execute(_TOKEN_BY_HASH, {"token_hash": hash_token(token)})
            ).one_or_none()
        if row is None:
            raise AuthenticationFailed("the bearer token is not known")
        now = self.ctx.clock.now()
        if row.revoked_at is not None:
            raise AuthenticationFailed("the bearer token has been revoked")
        if row.key_revoked_at is not None and row.key_revoked_at <= now:
            raise AuthenticationFailed(
                "the key this token was obtained with has been revoked; log in with a current key"
            )
        if row.expires_at <= now:
            raise AuthenticationFailed(
                f"the bearer token expired at {isoformat(row.expires_at)}; log in again"
            )
        if row.disabled_at is not None:
            raise AuthenticationFailed("the account behind this token is disabled")
        return Caller(
            principal_id=row.principal_id,
            role=row.role,
            association_id=row.association_id,
            vendor_id=row.vendor_id,
            token_id=row.id,
        )

    async def revoke_token(self, caller: Caller) -> None:
        """Log out: revoke the token the caller is using."""
        async with self.ctx.db.transaction() as session:
            await session.execute(
                update(ApiToken)
                .where(ApiToken.id == caller.token_id)
                .values(revoked_at=self.ctx.clock.now())
            )

    async def forget_spent_challenges(self) -> int:
        """Delete login challenges that expired or were used: they can never log anyone
        in again. How many."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            result = await session.execute(
                delete(LoginChallenge).where(
                    or_(LoginChallenge.expires_at <= now, LoginChallenge.used_at.is_not(None))
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def issue_challenge(self, key_id: str, *, client: str | None = None) -> IssuedChallenge:
        """Create a one-time login nonce for a registered, active key.

        Anonymous, so limited per client address (`client`; None in-process).
        """
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        limits = []
        if client is not None:
            limits.append(
                Limit(
                    "challenge:client",
                    client,
                    settings.challenge_client_limit,
                    settings.challenge_client_window,
                    "this address",
                )
            )
        async with self.ctx.db.transaction() as session:
            key = await _active_key(session, key_id, now)
            if key is None:
                raise NotFound(await _why_not_active(session, key_id))
            await spend(session, self._fingerprints, limits, now, "login challenges")
            nonce = secrets.token_hex(32)
            expires_at = now + self.ctx.settings.challenge_ttl
            session.add(
                LoginChallenge(nonce=nonce, key_id=key_id, created_at=now, expires_at=expires_at)
            )
        payload = canonicalize(self._challenge_claims(nonce, key_id, expires_at))
        return IssuedChallenge(nonce, key_id, LOGIN_PAYLOAD_TYPE, payload, expires_at)

    def _challenge_claims(self, nonce: str, key_id: str, expires_at: datetime) -> dict[str, str]:
        """The challenge object as the server issues it; a login must sign exactly this."""
        return {
            "audience": self.ctx.settings.public_base_url,
            "expires_at": isoformat(expires_at),
            "key_id": key_id,
            "nonce": nonce,
            "purpose": LOGIN_PURPOSE,
        }

    async def login(self, envelope: Envelope) -> IssuedToken:
        """Exchange a signed challenge for a short-lived token; each challenge works once."""
        if envelope.payload_type != LOGIN_PAYLOAD_TYPE:
            raise InvalidInput(
                f"a login envelope has payloadType {LOGIN_PAYLOAD_TYPE!r}, "
                f"not {envelope.payload_type!r}"
            )
        try:
            claims = parse_json(envelope.payload)
        except AttestationError as exc:
            raise InvalidInput(f"login payload: {exc.reason}") from exc
        if not isinstance(claims, dict) or not isinstance(claims.get("nonce"), str):
            raise InvalidInput("login payload must be the challenge object the server issued")
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            challenge = (
                await session.execute(
                    select(LoginChallenge).where(LoginChallenge.nonce == claims["nonce"])
                )
            ).scalar_one_or_none()
            if challenge is None:
                raise AuthenticationFailed("the challenge is unknown; ask for a new one")
            # Checked whole: a signature over another audience, purpose or expiry was
            # made for something else, even if it carries this nonce.
            issued = self._challenge_claims(challenge.nonce, challenge.key_id, challenge.expires_at)
            wrong = sorted(
                name
                for name in issued.keys() | claims.keys()
                if claims.get(name) != issued.get(name)
            )
            if wrong or canonicalize(issued) != envelope.payload:
                raise AuthenticationFailed(
                    "the signed payload is not the challenge as issued"
                    + (f" (wrong or extra: {', '.join(wrong)})" if wrong else "")
                    + "; sign the challenge's payload byte for byte"
                )
            if challenge.used_at is not None:
                raise Conflict("this challenge was already used; ask for a new one")
            if challenge.expires_at <= now:
                raise AuthenticationFailed("the challenge expired; ask for a new one")
            key = await _active_key(session, challenge.key_id, now)
            if key is None:
                raise AuthenticationFailed("the key of this challenge is no longer active")
            try:
                verify_envelope(
                    envelope, {key.key_id: PublicKey(key.public_key)}, require={key.key_id}
                )
            except AttestationError as exc:
                raise InvalidSignature(exc.reason) from exc
            # Claim the challenge atomically: a concurrent replay updates zero rows.
            claimed = await session.execute(
                update(LoginChallenge)
                .where(LoginChallenge.id == challenge.id, LoginChallenge.used_at.is_(None))
                .values(used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("this challenge was already used; ask for a new one")
            principal, vendor_slug = await _principal_for_key(
                session, key, now, self._auditor_principal
            )
            return await self._mint(
                session,
                principal,
                self.ctx.settings.login_token_ttl,
                f"login with key {key.key_id[:16]}",
                association_slug=None,
                vendor_slug=vendor_slug,
                via_key_id=key.key_id,
            )


async def _resolve_scope(
    session: AsyncSession, role: Role, association_slug: str | None, vendor_slug: str | None
) -> tuple[int | None, int | None]:
    association_id: int | None = None
    vendor_id: int | None = None
    if role in _ASSOCIATION_SCOPED:
        if not association_slug:
            raise InvalidInput(f"a {role.value} token needs --association")
        association_id = (
            await session.execute(
                select(Association.id).where(Association.slug == association_slug)
            )
        ).scalar_one_or_none()
        if association_id is None:
            raise NotFound(f"no association with slug {association_slug!r}")
    if role is Role.VENDOR_ADMIN:
        if not vendor_slug:
            raise InvalidInput("a vendor_admin token needs --vendor")
        vendor = await vendor_by_slug(session, vendor_slug)
        if vendor is None:
            raise NotFound(f"no vendor with slug {vendor_slug!r}")
        vendor_id, association_id = vendor.id, vendor.association_id
    return association_id, vendor_id


async def _active_key(session: AsyncSession, key_id: str, now: datetime) -> SigningKeyRecord | None:
    key = (
        await session.execute(select(SigningKeyRecord).where(SigningKeyRecord.key_id == key_id))
    ).scalar_one_or_none()
    if key is None or key.status is not KeyStatus.ACTIVE:
        return None
    if key.revoked_at is not None and key.revoked_at <= now:
        return None
    return key


async def _why_not_active(session: AsyncSession, key_id: str) -> str:
    """Say why a key cannot log in, so its holder knows whether to wait or rotate."""
    key = (
        await session.execute(select(SigningKeyRecord).where(SigningKeyRecord.key_id == key_id))
    ).scalar_one_or_none()
    if key is None:
        return f"no signing key with id {key_id} is registered"
    if key.status is KeyStatus.PENDING:
        return f"key {key_id} is not active yet: its application has not been approved"
    revoked = isoformat(key.revoked_at) if key.revoked_at else "an earlier time"
    return (
        f"key {key_id} was revoked at {revoked} ({key.revocation_reason or 'no reason given'});"
        " log in with a current key"
    )


async def _principal_for_key(
    session: AsyncSession,
    key: SigningKeyRecord,
    now: datetime,
    auditor_principal: AuditorPrincipal,
) -> tuple[Principal, str | None]:
    """The principal a key logs in as; a vendor key acts as that vendor's admin, an
    accredited auditor's key as its organisation while the accreditation lasts."""
    if key.owner_kind is KeyOwnerKind.PRINCIPAL and key.principal_id is not None:
        principal = await session.get(Principal, key.principal_id)
        if principal is None or principal.disabled_at is not None:
            raise AuthenticationFailed("the account of this key is disabled")
        return principal, None
    if key.owner_kind is KeyOwnerKind.VENDOR and key.vendor_id is not None:
        vendor = await vendor_by_id(session, key.vendor_id)
        if vendor is None:
            raise AuthenticationFailed("the vendor of this key no longer exists")
        principal = (
            await session.execute(
                select(Principal)
                .where(
                    Principal.vendor_id == vendor.id,
                    Principal.role == Role.VENDOR_ADMIN,
                    Principal.disabled_at.is_(None),
                )
                .order_by(Principal.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if principal is None:
            principal = Principal(
                role=Role.VENDOR_ADMIN,
                display_name=vendor.name_en,
                association_id=vendor.association_id,
                vendor_id=vendor.id,
                created_at=now,
            )
            session.add(principal)
            await session.flush()
        return principal, vendor.slug
    if key.owner_kind is KeyOwnerKind.AUDITOR and key.auditor_id is not None:
        try:
            principal_id = await auditor_principal(session, key, now)
        except RegistryError as exc:
            raise AuthenticationFailed(f"this auditor key cannot log in: {exc.detail}") from exc
        principal = await session.get(Principal, principal_id)
        if principal is None or principal.disabled_at is not None:
            raise AuthenticationFailed("the account of this auditor is disabled")
        return principal, None
    raise AuthenticationFailed("this key cannot be used to log in")
