"""Every error leaves as RFC 9457 problem+json, in one shape, without internals.

Domain errors carry their own sentence; framework errors (validation, 404, 405, 413)
are re-worded; anything unexpected becomes a generic 500 whose details go only to the
server log, never to the client.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from registry.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidSignature,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegistryError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://trust-registry.dev/problems/"

logger = logging.getLogger("registry.errors")

_STATUS_OF: dict[type[RegistryError], int] = {
    InvalidInput: HTTP_422_UNPROCESSABLE_ENTITY,
    InvalidSignature: HTTP_422_UNPROCESSABLE_ENTITY,
    NotFound: HTTP_404_NOT_FOUND,
    Conflict: HTTP_409_CONFLICT,
    AuthenticationFailed: HTTP_401_UNAUTHORIZED,
    PermissionDenied: HTTP_403_FORBIDDEN,
    RateLimited: HTTP_429_TOO_MANY_REQUESTS,
}


class Problem(msgspec.Struct, omit_defaults=True):
    """The problem+json body every error has (RFC 9457), for the OpenAPI document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: dict[str, str] | None = None
    """Field name to what is wrong with it, when the input was at fault."""


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    """Build a problem+json response (RFC 9457 §3); `headers` are added to it."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v})
    headers = dict(headers or {})
    if status == HTTP_401_UNAUTHORIZED:
        headers["WWW-Authenticate"] = 'Bearer realm="trust-registry"'
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def registry_error_handler(
    request: Request[Any, Any, Any], exc: RegistryError
) -> Response[dict[str, Any]]:
    """Map a domain error to its status and keep its sentence."""
    status = next(
        (code for kind, code in _STATUS_OF.items() if isinstance(exc, kind)),
        HTTP_400_BAD_REQUEST,
    )
    return problem(request, status, exc.code, exc.title, exc.detail, errors=exc.fields)


def http_error_handler(  # noqa: PLR0911 - one branch per framework error
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    """Re-word framework errors so every 4xx reads the same way."""
    status = exc.status_code
    if isinstance(exc, ValidationException):
        return problem(
            request,
            HTTP_400_BAD_REQUEST,
            "malformed-request",
            "Malformed request",
            _validation_detail(exc),
            errors=_validation_fields(exc),
        )
    if status == HTTP_400_BAD_REQUEST:
        return problem(
            request,
            status,
            "malformed-request",
            "Malformed request",
            f"the request could not be read: {exc.detail}",
        )
    if isinstance(exc, NotFoundException) or status == HTTP_404_NOT_FOUND:
        return problem(
            request, status, "not-found", "Not found", f"nothing is served at {request.url.path}"
        )
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return problem(
            request,
            status,
            "body-too-large",
            "Request body too large",
            "the request body exceeds the size this endpoint accepts; send less data",
        )
    if status == HTTP_415_UNSUPPORTED_MEDIA_TYPE:
        return problem(
            request, status, "unsupported-media-type", "Unsupported media type", exc.detail
        )
    if status == HTTP_405_METHOD_NOT_ALLOWED:
        # RFC 9110 §15.5.6: a 405 names the methods the resource does support.
        allow = (exc.headers or {}).get("allow", "")
        return problem(
            request,
            status,
            "method-not-allowed",
            "Method not allowed",
            f"{request.method} is not supported here; use one of: {allow}",
            headers={"Allow": allow},
        )
    if isinstance(exc, NotAuthorizedException):
        return problem(request, status, "unauthenticated", "Authentication required", exc.detail)
    if isinstance(exc, PermissionDeniedException):
        return problem(request, status, "forbidden", "Not allowed", exc.detail)
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        logger.error("http error %s on %s", status, request.url.path)
        return _internal(request)
    return problem(request, status, f"http-{status}", exc.detail or "Request failed", exc.detail)


def internal_error_handler(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    """Log the unexpected failure server-side; tell the client only that it happened."""
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _internal(request)


def recursion_error_handler(
    request: Request[Any, Any, Any], exc: RecursionError
) -> Response[dict[str, Any]]:
    """A JSON body nested deeper than the decoder goes is the client's to fix (400); a
    runaway recursion anywhere else is ours (500)."""
    if not _raised_decoding_json(exc):
        return internal_error_handler(request, exc)
    return problem(
        request,
        HTTP_400_BAD_REQUEST,
        "malformed-request",
        "Malformed request",
        "the request body nests arrays or objects too deeply to be read; flatten it",
    )


def _raised_decoding_json(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        code = frame.tb_frame.f_code
        if code.co_name == "decode_json" and "litestar" in code.co_filename:
            return True
        frame = frame.tb_next
    return False


def _internal(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        "Internal error",
        "the registry could not complete the request; nothing was changed. Try again later",
    )


def _validation_fields(exc: ValidationException) -> dict[str, str]:
    fields: dict[str, str] = {}
    if isinstance(exc.extra, list):
        for item in exc.extra:
            if isinstance(item, dict):
                key = str(item.get("key") or item.get("source") or "body")
                fields[key] = str(item.get("message", "invalid"))
    return fields


def _validation_detail(exc: ValidationException) -> str:
    fields = _validation_fields(exc)
    if fields:
        return "; ".join(f"{key}: {message}" for key, message in fields.items())
    detail = str(exc.detail or "")
    if "JSON" in detail or "decode" in detail.lower():
        return "the request body is not valid JSON"
    return detail or "the request could not be understood"


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RegistryError: registry_error_handler,
    HTTPException: http_error_handler,
    RecursionError: recursion_error_handler,
    Exception: internal_error_handler,
}
