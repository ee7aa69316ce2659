"""The registry's one error hierarchy; `member_api` maps it to problem+json once.

Each error says what was wrong in a sentence a person can act on (`detail`), and has a
stable `code` that becomes the problem `type` URI. `fields` names the offending input
fields so forms can highlight them.
"""

from __future__ import annotations

from collections.abc import Mapping


class RegistryError(Exception):
    """Base of every domain error."""

    code = "registry-error"
    title = "Request could not be processed"

    def __init__(self, detail: str, *, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = dict(fields or {})


class InvalidInput(RegistryError):
    """The request is well-formed but its content breaks a rule (bad credit code...)."""

    code = "invalid-input"
    title = "Invalid input"


class InvalidSignature(RegistryError):
    """A signature, envelope or statement does not verify."""

    code = "invalid-signature"
    title = "Signature not accepted"


class NotFound(RegistryError):
    """The named thing does not exist (or the caller may not know that it does)."""

    code = "not-found"
    title = "Not found"


class Conflict(RegistryError):
    """The request clashes with the current state (already decided, duplicate...)."""

    code = "conflict"
    title = "Conflict with current state"


class AuthenticationFailed(RegistryError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    title = "Authentication required"


class PermissionDenied(RegistryError):
    """The caller is known but may not do this."""

    code = "forbidden"
    title = "Not allowed"


class RateLimited(RegistryError):
    """Too many writes from one client or for one subject within a window (HTTP 429)."""

    code = "rate-limited"
    title = "Too many requests"
