"""The guard that enforces each route's declared `Access`, deny-by-default."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from registry.accounts.access import ACCESS_OPT, Access
from registry.errors import AuthenticationFailed, PermissionDenied
from registry.kernel.caller import Caller
from registry.services import Services

CALLER_STATE = "caller"


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Authenticate the bearer token if any, then allow only what the route declares."""
    access = handler.opt.get(ACCESS_OPT)
    if not isinstance(access, Access):
        # A route that does not say who may call it is closed to everyone.
        raise PermissionDenied("this endpoint is not open to anyone")
    caller = await _authenticate(connection)
    connection.state[CALLER_STATE] = caller
    if access.permits(caller):
        return
    if caller is None:
        raise AuthenticationFailed("this endpoint needs a bearer token: " + access.describe())
    raise PermissionDenied(
        f"a {caller.role.value} token may not call this endpoint; {access.describe()}"
    )


async def _authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller | None:
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("use the header 'Authorization: Bearer <token>'")
    services: Services = connection.app.state.services
    return await services.accounts.authenticate(token.strip())


def current_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The caller the guard authenticated; routes that use it are never public."""
    caller = connection.state.get(CALLER_STATE)
    if not isinstance(caller, Caller):
        raise AuthenticationFailed("this endpoint needs a bearer token")
    return caller
