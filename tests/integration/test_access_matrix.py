"""Deny-by-default, proven: every route x every role (and anonymous).

The routes are read from the app itself, so a route added later is covered without
editing this file. For each route, every role the route does not declare must be
refused with 401 (anonymous or bad token) or 403 (known role, not allowed), as
problem+json, and nothing may be written.
"""

from __future__ import annotations

import re

import httpx
import pytest
from litestar.routes import HTTPRoute

from registry.accounts.access import ACCESS_OPT, Access
from registry.app import create_app
from registry.kernel.caller import Role
from registry.services import Services
from registry.settings import Settings
from tests.factories import member_vendor

PATH_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
SAMPLE_VALUES = {"int": "1", "str": "sample", "path": "sample"}


def _concrete(path: str) -> str:
    return PATH_PARAMETER.sub(lambda m: SAMPLE_VALUES.get(m.group(2), "1"), path)


def declared_routes() -> list[tuple[str, str, Access]]:
    """(method, concrete path, access) for every route handler of the app."""
    app = create_app(Settings(), run_scheduler=False)
    found: list[tuple[str, str, Access]] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            access = handler.opt.get(ACCESS_OPT)
            assert isinstance(access, Access), f"{route.path} declares no access"
            for method in sorted(handler.http_methods):
                if method in {"OPTIONS", "HEAD"}:
                    continue
                found.append((method, _concrete(route.path), access))
    return found


ROUTES = declared_routes()
RESTRICTED = [(m, p, a) for m, p, a in ROUTES if not a.public]


def test_every_route_states_its_access() -> None:
    """The app has routes, and the restricted ones name at least one role."""
    assert len(ROUTES) > 10
    assert RESTRICTED
    for _method, _path, access in RESTRICTED:
        assert access.roles


async def _log_size(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return await services.log.size(session)


async def test_matrix_refuses_every_undeclared_role(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
) -> None:
    """Anonymous, garbage tokens and each role outside a route's declaration are refused."""
    vendor = await member_vendor(services, association, "matrix-vendor")
    tokens = {**role_tokens, Role.VENDOR_ADMIN: vendor.token}
    size_before = await _log_size(services)
    checked = 0
    for method, path, access in RESTRICTED:
        for caller, token in [("anonymous", None), ("garbage", "trt_not-a-real-token")]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await api.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (caller, method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers.get("www-authenticate", "").startswith("Bearer")
            checked += 1
        for role, token in tokens.items():
            if role in access.roles:
                continue
            response = await api.request(
                method, path, headers={"Authorization": f"Bearer {token}"}, json={}
            )
            assert response.status_code == 403, (role.value, method, path, response.text)
            problem = response.json()
            assert problem["status"] == 403
            assert role.value in problem["detail"]
            checked += 1
    assert checked >= len(RESTRICTED) * 2
    assert await _log_size(services) == size_before, "a refused request wrote to the log"


@pytest.mark.parametrize("scheme", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
async def test_malformed_authorization_header_is_refused(
    api: httpx.AsyncClient, scheme: str
) -> None:
    """Only 'Authorization: Bearer <token>' is understood."""
    response = await api.get("/api/v1/applications/", headers={"Authorization": scheme})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_expired_and_revoked_tokens_are_refused(
    api: httpx.AsyncClient, services: Services, association: str, clock: object
) -> None:
    """A logged-out token stops working; an expired one too."""
    from datetime import timedelta

    from registry.kernel.clock import ManualClock

    assert isinstance(clock, ManualClock)
    issued = await services.accounts.create_principal_with_token(
        role=Role.ASSOCIATION_ADMIN,
        display_name="short-lived",
        association_slug=association,
        ttl=timedelta(minutes=5),
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert (await api.get("/api/v1/applications/", headers=headers)).status_code == 200
    clock.advance(timedelta(minutes=6))
    expired = await api.get("/api/v1/applications/", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]

    other = await services.accounts.create_principal_with_token(
        role=Role.ASSOCIATION_ADMIN, display_name="logout", association_slug=association
    )
    headers = {"Authorization": f"Bearer {other.token}"}
    assert (await api.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    revoked = await api.get("/api/v1/applications/", headers=headers)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]


def test_complaint_triage_and_mediator_feed_routes_are_walked() -> None:
    """The triage link and the mediators' feed are in the walk, with the roles they name."""
    declared = {(method, path): access.roles for method, path, access in RESTRICTED}
    assert declared[("POST", "/api/v1/mediation/complaints/sample/vendor")] == frozenset(
        {Role.MEDIATOR, Role.ASSOCIATION_ADMIN, Role.FEDERATION_ADMIN}
    )
    assert declared[("GET", "/api/v1/mediation/notifications")] == frozenset({Role.MEDIATOR})


def test_the_bulk_check_admits_member_principals_only() -> None:
    """Every principal acting for the federation, an association or a member vendor may
    bulk-check the blacklist; a government partner may not (README, "Blacklist")."""
    declared = {(method, path): access.roles for method, path, access in RESTRICTED}
    assert declared[("POST", "/api/v1/blacklist/check")] == frozenset(Role) - {
        Role.GOVERNMENT_PARTNER
    }


async def test_blacklist_snapshots_are_public_to_every_caller(
    api: httpx.AsyncClient, services: Services, role_tokens: dict[Role, str]
) -> None:
    """The snapshot and the changes feed are declared public and answer anonymous callers
    and every role alike (a token changes nothing, a garbage one is still refused)."""
    declared = {(method, path): access for method, path, access in ROUTES}
    for path in ("/api/v1/blacklist/snapshot", "/api/v1/blacklist/changes"):
        assert declared[("GET", path)].public
    await services.blacklist_snapshots.make()
    for path, params in (
        ("/api/v1/blacklist/snapshot", {}),
        ("/api/v1/blacklist/snapshot", {"serial": "1"}),
        ("/api/v1/blacklist/changes", {"since": "0"}),
    ):
        anonymous = await api.get(path, params=params)
        assert anonymous.status_code == 200, (path, anonymous.text)
        for role, token in role_tokens.items():
            answer = await api.get(
                path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            assert (answer.status_code, answer.content) == (200, anonymous.content), role
