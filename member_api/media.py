"""JSON endpoints read JSON only: any other Content-Type is refused with 415.

Litestar decodes a JSON body whatever the request calls it, so a plain cross-site HTML
form (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data` need no
CORS preflight) could make a visitor's browser file a complaint or an application. A
request that names JSON cannot be sent cross-site without the preflight the registry
never grants. The public site's own forms are form-encoded endpoints and unaffected.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import BodyKwarg
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or a `+json` suffix type (RFC 6839), parameters aside."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def reads_json(handler: BaseRouteHandler) -> bool:
    """Whether the handler decodes its body as JSON (a `data` parameter without another
    declared encoding)."""
    data = getattr(handler, "parsed_data_field", None)
    if data is None:
        return False
    body = data.kwarg_definition
    return not isinstance(body, BodyKwarg) or body.media_type == RequestEncodingType.JSON


async def json_body_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Refuse a body of a JSON endpoint that does not say it is JSON, before it is read."""
    if reads_json(handler) and not is_json_media_type(connection.headers.get("content-type")):
        raise HTTPException(
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=(
                "this endpoint reads JSON only; send the body with 'Content-Type: application/json'"
            ),
        )
