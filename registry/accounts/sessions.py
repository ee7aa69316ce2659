"""Browser sessions: a person signs in on a web page with a bearer token or a signed
login challenge and then works with a session cookie.

A session is a token of its own, minted for the same principal and scope as the
credential that opened it (so a partner's region scope, read from the principal, is
the same) but short-lived and labelled as a session. Signing out revokes the session
token only: the long-lived token a partner signed in with keeps working in its scripts.
A session never outlives the credential behind it, and one opened by a key login dies
with the key (`via_key_id`), exactly like the login token.

Forms posted with the session cookie carry a synchronizer token (OWASP CSRF cheat
sheet): an HMAC of the session's token id under a key derived from the federation key,
so it needs no storage, is the same on every worker, and is useless for another session.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from attestations.envelope import Envelope
from registry.accounts.models import ApiToken, Principal
from registry.accounts.services import AccountService, IssuedToken
from registry.context import RegistryContext
from registry.errors import AuthenticationFailed, PermissionDenied
from registry.kernel.caller import Caller, Role

SESSION_LABEL = "browser session"
"""The label every session token carries (listings tell them from API tokens)."""


class BrowserSessions:
    """Opens, resumes and ends browser sessions for the roles a site admits."""

    def __init__(self, ctx: RegistryContext, accounts: AccountService) -> None:
        self.ctx = ctx
        self.accounts = accounts
        self._form_key = hashlib.sha256(
            b"trust-registry session form tokens\0" + ctx.federation_key.seed
        ).digest()

    async def sign_in_with_token(self, token: str, *, roles: Collection[Role]) -> IssuedToken:
        """Open a session for the holder of `token`, if its role is one of `roles`."""
        caller = await self.accounts.authenticate(token.strip())
        return await self._open(caller, roles)

    async def sign_in_with_key(self, envelope: Envelope, *, roles: Collection[Role]) -> IssuedToken:
        """Open a session from a signed login challenge (see `AccountService.login`)."""
        login = await self.accounts.login(envelope)
        caller = await self.accounts.authenticate(login.token)
        try:
            return await self._open(caller, roles)
        finally:
            # The login token was only the way in; the session is what the browser keeps.
            await self.accounts.revoke_token(caller)

    async def resume(self, token: str, *, roles: Collection[Role]) -> Caller:
        """The caller behind a session cookie, or AuthenticationFailed / PermissionDenied."""
        caller = await self.accounts.authenticate(token)
        if caller.role not in roles:
            raise PermissionDenied(f"a {caller.role.value} may not use this site")
        return caller

    async def sign_out(self, caller: Caller) -> None:
        """End the session: its token is revoked, whoever holds a copy of the cookie."""
        await self.accounts.revoke_token(caller)

    def form_token(self, caller: Caller) -> str:
        """The synchronizer token every form of this session must carry."""
        return hmac.new(self._form_key, f"{caller.token_id}".encode(), hashlib.sha256).hexdigest()

    def check_form_token(self, caller: Caller, value: str | None) -> None:
        """Refuse a form posted without this session's token (cross-site request forgery)."""
        if not value or not hmac.compare_digest(value.encode(), self.form_token(caller).encode()):
            raise PermissionDenied("the form is not from this session; reload the page and retry")

    async def _open(self, caller: Caller, roles: Collection[Role]) -> IssuedToken:
        if caller.role not in roles:
            raise PermissionDenied(f"a {caller.role.value} token cannot sign in here")
        async with self.ctx.db.transaction() as session:
            source = await session.get(ApiToken, caller.token_id)
            principal = await session.get(Principal, caller.principal_id)
            if source is None or principal is None:  # pragma: no cover - just authenticated
                raise AuthenticationFailed("the token is not known")
            remaining = source.expires_at - self.ctx.clock.now()
            return await self.accounts.mint(
                session,
                principal,
                min(self.ctx.settings.browser_session_ttl, remaining),
                SESSION_LABEL,
                via_key_id=source.via_key_id,
            )
