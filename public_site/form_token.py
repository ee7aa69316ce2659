"""The CSRF token of the public site's forms: double-submit, HMAC-signed, time-limited.

The same value goes in a cookie (`SameSite=Strict`, HttpOnly) and in a hidden field; a
post is accepted only when both carry the same token this registry signed within
`REGISTRY_COMPLAINT_FORM_TOKEN_TTL`. The MAC key is derived from the PII key (see
`registry.complaints.pii.PiiVault.form_mac`), so every worker of one registry accepts
the tokens of the others and nothing new has to be kept secret.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Final

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import CookieParameter
from litestar.response import Template

from registry.complaints.messages import FORM_EXPIRED, ComplaintRefused
from registry.complaints.pii import PiiVault, load_or_create_pii_key
from registry.context import RegistryContext

CSRF_COOKIE: Final = "complaint_csrf"
FORM_TOKENS_STATE_KEY: Final = "form_tokens"
NONCE_BYTES: Final = 16


@dataclass(frozen=True)
class FormToken:
    """A CSRF token for the public form: the same value goes in a cookie and a hidden field."""

    value: str
    max_age_seconds: int
    secure: bool
    """Whether the cookie is `Secure` (the registry is served over https)."""


class FormTokens:
    """Issues and checks form tokens against the registry's clock and PII key."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    @cached_property
    def _vault(self) -> PiiVault:
        """The PII vault, for its form MAC; the key is loaded (or created, 0600) on first use."""
        return PiiVault(load_or_create_pii_key(self.ctx.settings))

    def issue(self) -> FormToken:
        """A fresh token for the form page."""
        issued = str(int(self.ctx.clock.now().timestamp()))
        body = f"{issued}.{secrets.token_urlsafe(NONCE_BYTES)}"
        ttl = int(self.ctx.settings.complaint_form_token_ttl.total_seconds())
        return FormToken(
            f"{body}.{self._vault.form_mac(body)}", ttl, secure=self.ctx.settings.serves_https
        )

    def check(self, cookie: str | None, field: str | None) -> None:
        """Refuse the post unless cookie and field carry the same fresh token we signed."""
        if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})
        body, _, mac = field.rpartition(".")
        issued, _, _nonce = body.partition(".")
        if not issued.isdigit() or not hmac.compare_digest(
            mac.encode(), self._vault.form_mac(body).encode()
        ):
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})
        age = self.ctx.clock.now().timestamp() - int(issued)
        if not 0 <= age <= self.ctx.settings.complaint_form_token_ttl.total_seconds():
            raise ComplaintRefused(FORM_EXPIRED, {"csrf_token": FORM_EXPIRED})


def with_form_token(page: Template, token: FormToken) -> Template:
    """Set the CSRF cookie that must come back with the form's hidden field."""
    page.cookies.append(
        Cookie(
            key=CSRF_COOKIE,
            value=token.value,
            max_age=token.max_age_seconds,
            path="/complaints",
            httponly=True,
            secure=token.secure,
            samesite="strict",
        )
    )
    page.headers["Cache-Control"] = "no-store"
    return page


def provide_form_tokens(request: Request[Any, Any, Any]) -> FormTokens:
    """The app's form tokens (one per app, so the key is loaded once)."""
    tokens: FormTokens = request.app.state[FORM_TOKENS_STATE_KEY]
    return tokens


CsrfCookie = Annotated[str | None, CookieParameter(name=CSRF_COOKIE)]
"""The form token's cookie, as a handler parameter."""
FormTokensDep = NamedDependency[FormTokens]
"""Explicit dependency marker for the app's form tokens."""
