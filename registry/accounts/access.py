"""Who may call an endpoint, stated on every route; anything unstated is refused.

This is pure data so that both web packages declare access the same way; the guard that
enforces it lives in `member_api.access` and the app factory refuses to start if any
route lacks a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.kernel.caller import Caller, Role

ACCESS_OPT = "access"


@dataclass(frozen=True)
class Access:
    """The roles allowed to call a route; `public` routes need no credentials."""

    roles: frozenset[Role]
    public: bool = False

    def permits(self, caller: Caller | None) -> bool:
        """True when `caller` (None for anonymous) may call the route."""
        if self.public:
            return True
        return caller is not None and caller.role in self.roles

    def describe(self) -> str:
        """A sentence for the OpenAPI description."""
        if self.public:
            return "Public: no credentials needed."
        return "Bearer token with role " + " or ".join(sorted(r.value for r in self.roles)) + "."


PUBLIC = Access(frozenset(), public=True)


def roles(*allowed: Role) -> Access:
    """Access for holders of any of `allowed`."""
    if not allowed:
        raise ValueError("name at least one role, or use PUBLIC")
    return Access(frozenset(allowed))


def opt(access: Access) -> dict[str, Access]:
    """The route `opt` that declares access."""
    return {ACCESS_OPT: access}
