"""Consumer-facing complaint errors in the consumer's language, same problem+json shape.

Installed as the complaint controllers' own exception handlers, so the shared mapping in
`member_api.errors` stays as it is for every other route.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from member_api.errors import http_error_handler, problem, registry_error_handler
from registry.complaints.messages import (
    MALFORMED,
    MISSING_HEADER,
    MISSING_PARAMETER,
    Bilingual,
    field_problem,
    pick_language,
)
from registry.errors import RegistryError

SECRET_HEADER = "X-Complaint-Secret"  # noqa: S105 - a header name, not a secret
"""Where a consumer sends the secret shown once at filing."""
MISSING = re.compile(r"Missing required (?P<kind>\w+) parameter '(?P<name>[^']+)'")
"""Litestar's detail for a required header, query or cookie parameter that was not sent."""


def request_language(request: Request[Any, Any, Any]) -> str:
    """`?lang=` first, then Accept-Language, else Chinese."""
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def bilingual_error_handler(
    request: Request[Any, Any, Any], exc: RegistryError
) -> Response[dict[str, Any]]:
    """A domain error, worded in the request's language when it carries both."""
    generic = registry_error_handler(request, exc)
    if not isinstance(exc, Bilingual):
        return generic
    language = request_language(request)
    detail, fields = exc.localised(language)
    response = problem(
        request,
        exc.status_override or generic.status_code or 400,
        exc.code,
        exc.title,
        detail,
        errors=fields,
    )
    response.headers["Content-Language"] = language
    return response


def bilingual_validation_handler(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    """A body that is not the expected shape: name each field in the request's language."""
    if not isinstance(exc, ValidationException):
        return http_error_handler(request, exc)
    language = request_language(request)
    fields: dict[str, str] = {}
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                key = str(item.get("key") or "body")
                fields[key] = field_problem(MALFORMED, key).in_language(language)
    missing = MISSING.match(str(exc.detail or ""))
    if not fields and missing is not None:
        # Litestar names a missing header or query parameter only in its English detail;
        # without this the consumer read "message: malformed" for a missing secret.
        name = missing["name"]
        if name.lower() == SECRET_HEADER.lower():
            fields[SECRET_HEADER] = MISSING_HEADER.format(name=SECRET_HEADER).in_language(language)
        else:
            fields[name] = MISSING_PARAMETER.format(name=name).in_language(language)
    detail = "; ".join(fields.values()) or field_problem(MALFORMED, "body").in_language(language)
    response = problem(
        request, 400, "malformed-request", "Malformed request", detail, errors=fields
    )
    response.headers["Content-Language"] = language
    return response


BILINGUAL_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: bilingual_error_handler,
    HTTPException: bilingual_validation_handler,
}
