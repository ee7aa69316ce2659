"""The served OpenAPI document keeps the server's contract.

Read over HTTP from a live server: every operation has a human summary; schema names
carry no module prefix; a request schema is closed (`additionalProperties: false`)
exactly where the server refuses unknown members; each operation lists the error
statuses that follow from what it is, not one list for all; badges are documented as
the SVG image and the shields.io object; a 405 names the allowed methods.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec
import pytest
from litestar.routes import HTTPRoute

from registry.accounts.access import ACCESS_OPT, Access
from registry.app import create_app
from registry.settings import Settings

METHODS = {"get", "post", "put", "delete", "patch"}
SCHEMA_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
BODY_ERRORS = {"400", "413", "415", "422"}


async def _document(api: httpx.AsyncClient) -> dict[str, Any]:
    answer = await api.get("/api/docs/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _errors(operation: dict[str, Any]) -> set[str]:
    return {status for status in operation["responses"] if not status.startswith(("2", "3"))}


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_every_operation_has_a_human_summary(api: httpx.AsyncClient) -> None:
    """A sentence from the handler's docstring, not the handler's CamelCase name."""
    operations = _operations(await _document(api))
    assert len(operations) > 40
    for method, path, operation in operations:
        summary = operation.get("summary", "")
        assert " " in summary, (method, path, summary)
        assert len(summary) <= 90, (method, path, summary)
        assert not summary.endswith("."), (method, path, summary)
    summaries = [operation["summary"] for _, _, operation in operations]
    assert "One member vendor" in summaries


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_schema_names_are_unique_without_module_prefixes(api: httpx.AsyncClient) -> None:
    """Two structs of the same name in two modules would come out as `module_Name`."""
    names = list((await _document(api))["components"]["schemas"])
    assert [name for name in names if not SCHEMA_NAME.match(name)] == []
    assert {"ApplicationDecisionIn", "MediationDecisionIn"} <= set(names)


def _request_structs() -> dict[tuple[str, str], type[msgspec.Struct]]:
    """(method, path) -> the struct each operation reads its JSON body into."""
    app = create_app(Settings(), run_scheduler=False)
    found: dict[tuple[str, str], type[msgspec.Struct]] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None or not data.is_subclass_of(msgspec.Struct):
                continue
            for method in handler.http_methods:
                found[(method, route.path_format)] = data.annotation
    return found


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_closed_request_schemas_say_so_and_the_server_agrees(
    api: httpx.AsyncClient,
) -> None:
    """`additionalProperties: false` exactly on the structs that forbid unknown fields,
    and such a body with an extra member is refused with 400 naming it."""
    document = await _document(api)
    schemas = document["components"]["schemas"]
    structs = _request_structs()
    assert len(structs) > 20
    closed = 0
    for (method, path), struct in structs.items():
        body = document["paths"][path][method.lower()]["requestBody"]
        reference = body["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[reference.rsplit("/", 1)[1]]
        forbids = struct.__struct_config__.forbid_unknown_fields
        assert (schema.get("additionalProperties") is False) is forbids, (method, path)
        closed += forbids
    assert closed > 15
    refused = await api.post("/api/v1/auth/challenge", json={"key_id": "a" * 64, "extra": 1})
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "extra" in refused.text


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_error_statuses_follow_each_operation(api: httpx.AsyncClient) -> None:
    """401 everywhere (a presented token is always checked); 403 only where roles are
    named; 404 where the path names something; body errors only with a body; 409, 429
    and 304 only where the server produces them."""
    document = await _document(api)
    app = create_app(Settings(), run_scheduler=False)
    access_of: dict[tuple[str, str], Access] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    access_of[(method, route.path_format)] = handler.opt[ACCESS_OPT]
    operations = _operations(document)
    for method, path, operation in operations:
        errors = _errors(operation)
        where = (method, path, sorted(errors))
        assert "401" in errors, where
        assert ("403" in errors) is (not access_of[(method, path)].public), where
        if "{" in path:
            assert "404" in errors, where
        assert (errors >= BODY_ERRORS) is ("requestBody" in operation), where
        if "requestBody" not in operation:
            assert not {"413", "415"} & errors, where
        for status in errors:
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], where
            assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert len({frozenset(_errors(op)) for _, _, op in operations}) >= 8, "one generic list"
    by_key = {(method, path): _errors(op) for method, path, op in operations}
    assert by_key[("GET", "/api/v1/vendors")] == {"400", "401"}
    assert by_key[("GET", "/api/v1/federation/key")] == {"401"}
    assert "429" in by_key[("POST", "/api/v1/complaints")]
    assert sorted(key for key, errors in by_key.items() if "429" in errors) == [
        ("POST", "/api/v1/applications"),
        ("POST", "/api/v1/auth/challenge"),
        ("POST", "/api/v1/complaints"),
    ]
    assert "409" in by_key[("POST", "/api/v1/applications/{application_id}/approve")]
    assert "409" not in by_key[("GET", "/api/v1/applications/{application_id}")]
    assert "422" in by_key[("GET", "/api/v1/log/consistency")]


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
async def test_badges_are_documented_as_svg_and_shields_json(api: httpx.AsyncClient) -> None:
    """The badge operation names both media types it serves and its 304."""
    document = await _document(api)
    badge = document["paths"]["/badges/{name}"]["get"]["responses"]
    assert set(badge["200"]["content"]) == {"image/svg+xml", "application/json"}
    shields = badge["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = document["components"]["schemas"][shields]["properties"]
    assert {"schemaVersion", "label", "message", "color", "isError"} <= set(properties)
    assert "content" not in badge["304"]
    served = await api.get("/badges/nobody.json")
    assert served.status_code == 200
    assert set(served.json()) == set(properties)


@pytest.mark.parametrize("test_database", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/vendors", {"GET"}),
        ("PUT", "/api/v1/complaints", {"POST"}),
        ("GET", "/api/v1/auth/token", {"POST"}),
        ("POST", "/api/v1/associations/csia/complaint-sla", {"GET", "PUT"}),
    ],
)
async def test_method_not_allowed_names_the_allowed_methods(
    api: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    """RFC 9110 §15.5.6: a 405 carries Allow; the problem says which methods to use."""
    answer = await api.request(method, path)
    assert answer.status_code == 405
    assert answer.headers["content-type"].startswith("application/problem+json")
    listed = {item.strip() for item in answer.headers["allow"].split(",")}
    assert allowed <= listed, listed
    assert method not in listed
    assert all(name in answer.json()["detail"] for name in allowed)
