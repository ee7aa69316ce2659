"""The JSON API reads JSON only: any other Content-Type gets 415 problem+json.

A cross-site HTML form can POST `text/plain`, form-encoded or multipart bodies without a
CORS preflight; were they decoded as JSON, a visitor's browser could be made to file a
complaint. The routes are read from the app, so a JSON endpoint added later is covered.
"""

from __future__ import annotations

import json

import httpx
from litestar.routes import HTTPRoute
from sqlalchemy import func, select

from member_api.media import reads_json
from registry.accounts.access import ACCESS_OPT, Access
from registry.app import create_app
from registry.complaints.models import Complaint
from registry.kernel.caller import Role
from registry.services import Services
from registry.settings import Settings
from tests.factories import member_vendor
from tests.integration.test_access_matrix import _concrete
from tests.integration.test_complaints_api import complaint_body

NOT_JSON = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonp",
    "",
]


def json_routes() -> list[tuple[str, str, Access]]:
    """(method, concrete path, access) of every handler that decodes a JSON body."""
    app = create_app(Settings(), run_scheduler=False)
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if reads_json(handler):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    found.append((method, _concrete(route.path), handler.opt[ACCESS_OPT]))
    return found


JSON_ROUTES = json_routes()


async def _complaints(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(Complaint)) or 0


async def test_a_cross_site_form_cannot_file_a_complaint(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    vendor = await member_vendor(services, association, "form-target")
    body = json.dumps(complaint_body(vendor.slug)).encode()
    for content_type in NOT_JSON:
        refused = await api.post(
            "/api/v1/complaints/",
            content=body,
            headers={"Content-Type": content_type, "Origin": "https://elsewhere.example"},
        )
        assert refused.status_code == 415, (content_type, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "application/json" in refused.json()["detail"]
    assert await _complaints(services) == 0
    # JSON, with or without parameters, or a +json type, is read as before.
    filed = await api.post(
        "/api/v1/complaints/",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert filed.status_code == 201, filed.text
    again = await api.post(
        "/api/v1/complaints/", content=body, headers={"Content-Type": "application/vnd.x+json"}
    )
    # The same complaint again is a repeat filing: a complaint of its own (201), linked to
    # the first for mediators only.
    assert again.status_code == 201, again.text
    assert await _complaints(services) == 2


async def test_every_json_endpoint_refuses_other_content_types(
    api: httpx.AsyncClient,
    services: Services,
    association: str,
    role_tokens: dict[Role, str],
) -> None:
    assert len(JSON_ROUTES) > 20
    vendor = await member_vendor(services, association, "sample")
    tokens = {**role_tokens, Role.VENDOR_ADMIN: vendor.token}
    for method, path, access in JSON_ROUTES:
        # A token the route admits, so the request reaches the body check.
        headers = {"Content-Type": "text/plain"}
        if not access.public:
            role = sorted(access.roles)[0]
            headers["Authorization"] = f"Bearer {tokens[role]}"
        answer = await api.request(method, path, content=b"{}", headers=headers)
        assert answer.status_code == 415, (method, path, answer.text)
        assert answer.json()["type"].endswith("/unsupported-media-type")
