"""Keeps the OpenAPI document true to what the server does.

Each operation lists the error statuses it can really answer with: those that follow
from its shape (below, `answers_of`) plus those its handler declares with
`responses=problems(...)` because its service raises them (409 for a state conflict,
429 for a rate limit, 404 for an object named in the body...). A request schema says
`additionalProperties: false` exactly where the struct refuses unknown members, and
every operation has a human summary: the first sentence of its handler's docstring.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Final

import msgspec

# The built-in plugin that turns a Struct into a schema; only its result is amended.
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.constants import RESERVED_KWARGS
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins import OpenAPISchemaPlugin
from litestar.status_codes import (
    HTTP_304_NOT_MODIFIED,
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
)

from member_api.errors import PROBLEM_MEDIA_TYPE, Problem
from registry.accounts.access import Access

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.spec import Schema
    from litestar.typing import FieldDefinition

_PROBLEMS: Final = {
    HTTP_400_BAD_REQUEST: "The request could not be read: malformed JSON, an unknown member, "
    "a parameter of the wrong type or out of range",
    HTTP_401_UNAUTHORIZED: "No bearer token where one is needed, or a presented token that is "
    "unknown, expired or revoked (refused on every route, public ones too)",
    HTTP_403_FORBIDDEN: "The token's role, vendor or association may not do this",
    HTTP_404_NOT_FOUND: "Nothing by that name, or nothing the caller may know of",
    HTTP_409_CONFLICT: "The request conflicts with the current state (already decided, "
    "already registered, not in a state that allows it)",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "The body is larger than this endpoint accepts",
    HTTP_415_UNSUPPORTED_MEDIA_TYPE: "The body is not sent as application/json",
    HTTP_422_UNPROCESSABLE_ENTITY: "Readable input that breaks a rule, or a signature that "
    "does not verify; `errors` names the fields",
    HTTP_429_TOO_MANY_REQUESTS: "Too many requests from this sender in the window; try later",
}

_NOT_MODIFIED: Final = ResponseSpec(
    data_container=None,
    description="The representation still matches the If-None-Match validator (no body)",
)

BODY_ANSWERS: Final = frozenset(
    {
        HTTP_400_BAD_REQUEST,
        HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        HTTP_422_UNPROCESSABLE_ENTITY,
    }
)
"""What any operation with a JSON body may answer: unreadable, too large, not JSON, or
readable but against a rule."""


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The documented answers of `statuses`: problem+json, or no body for 304."""
    specs: dict[int, ResponseSpec] = {}
    for status in statuses:
        if status == HTTP_304_NOT_MODIFIED:
            specs[status] = _NOT_MODIFIED
            continue
        specs[status] = ResponseSpec(
            data_container=Problem,
            description=_PROBLEMS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
    return specs


def answers_of(handler: HTTPRouteHandler, path_parameters: set[str], access: Access) -> set[int]:
    """The error statuses that follow from an operation's shape.

    The access guard reads a presented token on every route (401); a route closed to
    some roles refuses them (403); a path parameter names something that may not exist
    or may not be the caller's (404); any parameter or body can be unreadable (400); a
    body can also be too large, not JSON, or against a rule.
    """
    answers = {HTTP_401_UNAUTHORIZED}
    if not access.public:
        answers.add(HTTP_403_FORBIDDEN)
    if path_parameters:
        answers.add(HTTP_404_NOT_FOUND)
    signature = handler.parsed_fn_signature.parameters
    dependencies = set(handler.resolve_dependencies())
    inputs = set(signature) - dependencies - RESERVED_KWARGS
    if inputs or path_parameters:
        answers.add(HTTP_400_BAD_REQUEST)
    if "data" in signature:
        answers |= BODY_ANSWERS
    return answers


def summary_of(handler: HTTPRouteHandler) -> str | None:
    """The first sentence of the handler's docstring, without its full stop (Litestar's
    default is the handler's name, `GetVendor`, which tells a reader nothing)."""
    doc = inspect.cleandoc(getattr(handler.fn, "__doc__", None) or "")
    first = doc.split("\n\n", 1)[0].replace("\n", " ")
    sentence = re.split(r"(?<=\.)\s", first, maxsplit=1)[0]
    return sentence.rstrip(".") or None


class ClosedStructSchemaPlugin(OpenAPISchemaPlugin):
    """A struct that refuses unknown members (`forbid_unknown_fields=True`) says so in its
    schema with `additionalProperties: false`; the others keep Litestar's schema."""

    def __init__(self) -> None:
        self._structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        """Only closed structs; open ones fall through to Litestar's own plugin."""
        if field_definition.is_union or not field_definition.is_subclass_of(msgspec.Struct):
            return False
        return bool(field_definition.type_.__struct_config__.forbid_unknown_fields)

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        """Litestar's schema of the struct, closed to other members."""
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
