"""/badges/{slug}.svg, /badges/{slug}.json and /badges/{slug}/token.

A badge answer comes from the worker's cache (no database session on a hit) and a
memoised rendering, carries a strong ETag (If-None-Match answers 304) and a short
Cache-Control, and can be embedded anywhere: no framing limit, any origin may read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final

import msgspec
from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Reference, Schema
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED

from attestations.badge_token import PAYLOAD_TYPE, TOKEN_TYPE
from public_site.badges.rendering import (
    RenderedBadge,
    pick_language,
    pick_style,
    render_shields_json,
    render_svg,
)
from public_site.site import ReadsDep, provide_reads
from registry.accounts.access import PUBLIC, opt
from registry.certification.badge_tokens import issue_badge_token
from registry.errors import NotFound
from registry.public_cache import matches_validator

SVG_MEDIA_TYPE: Final = "image/svg+xml"
JSON_MEDIA_TYPE: Final = "application/json"

Language = Annotated[
    str | None, QueryParameter(max_length=8, description="zh (default) or en", required=False)
]
Style = Annotated[
    str | None, QueryParameter(max_length=8, description="flat (default) or plain", required=False)
]
IfNoneMatch = Annotated[str | None, HeaderParameter(name="If-None-Match", required=False)]


class ShieldsEndpoint(msgspec.Struct):
    """The shields.io endpoint document (https://shields.io/badges/endpoint-badge)."""

    schemaVersion: int  # noqa: N815 - the shields.io field names
    label: str
    message: str
    color: str
    labelColor: str  # noqa: N815
    isError: bool  # noqa: N815
    """True on every face that is not certified, so shields.io refuses a colour override."""
    cacheSeconds: int  # noqa: N815


BADGE_RESPONSES: Final = {
    HTTP_200_OK: ResponseSpec(
        data_container=ShieldsEndpoint,
        media_type=JSON_MEDIA_TYPE,
        description="`{slug}.svg`: the SVG image; `{slug}.json`: the shields.io endpoint document",
        generate_examples=False,
    ),
    HTTP_304_NOT_MODIFIED: ResponseSpec(
        data_container=None,
        description="The badge still matches the If-None-Match validator (no body)",
    ),
}


@dataclass
class BadgeOperation(Operation):
    """The badge answers in the media type its name asks for: an SVG image or the shields
    JSON object. A handler states one success media type, so the SVG one is added here."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get(str(HTTP_200_OK))
        if ok is not None and not isinstance(ok, Reference) and ok.content is not None:
            svg = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description="SVG"))
            ok.content = {SVG_MEDIA_TYPE: svg, **ok.content}


class BadgeTokenOut(msgspec.Struct):
    """A signed badge token, its decoded claims and how to check it."""

    token: str
    type: str
    payload_type: str
    claims: dict[str, Any]
    public_key_url: str
    verify_command: str


class BadgeController(Controller):
    """Live trust badges and signed badge tokens."""

    path = "/badges"
    tags = ["badges"]
    dependencies = {"reads": Provide(provide_reads, sync_to_thread=False)}

    @get(
        "/{name:str}",
        opt=opt(PUBLIC),
        responses=BADGE_RESPONSES,
        operation_class=BadgeOperation,
    )
    async def badge(
        self,
        reads: ReadsDep,
        name: FromPath[str],
        lang: Language = None,
        style: Style = None,
        if_none_match: IfNoneMatch = None,
    ) -> Response[bytes]:
        """The badge image (`{slug}.svg`) or its shields.io endpoint document (`{slug}.json`).

        Only an active or renewal-due certificate reads certified; an unknown vendor, any
        other state or any failure reads "not certified" (never an error image).
        """
        slug, _, extension = name.rpartition(".")
        if extension not in {"svg", "json"}:
            raise NotFound("badges are served as /badges/{slug}.svg or /badges/{slug}.json")
        decided = await reads.verdict(slug)
        language = pick_language(lang)
        if extension == "svg":
            rendered = render_svg(decided.kind, decided.level, language, pick_style(style))
            media_type = SVG_MEDIA_TYPE
        else:
            rendered = render_shields_json(decided.kind, decided.level, language)
            media_type = JSON_MEDIA_TYPE
        return _cached_response(rendered, media_type, reads.max_age_seconds, if_none_match)

    @get("/{slug:str}/token", opt=opt(PUBLIC))
    async def token(self, reads: ReadsDep, slug: FromPath[str]) -> Response[BadgeTokenOut]:
        """A short-lived statement of the vendor's certification signed by the federation key.

        Verify it offline with `registry badge verify TOKEN --public-key FILE`; the format
        is described in the README and in `attestations/badge_token.py`.
        """
        certification = await reads.certification(slug)
        if certification is None:
            raise NotFound(f"no member vendor with slug {slug!r}")
        ctx = reads.services.ctx
        token, claims = issue_badge_token(certification, ctx)
        base = ctx.settings.public_base_url.rstrip("/")
        body = BadgeTokenOut(
            token=token,
            type=TOKEN_TYPE,
            payload_type=PAYLOAD_TYPE,
            claims=claims.to_dict(),
            public_key_url=f"{base}/api/v1/federation/key",
            verify_command=f"registry badge verify {token} --url {base}",
        )
        return Response(
            body,
            headers={
                "Cache-Control": "no-store",
                "Access-Control-Allow-Origin": "*",
            },
        )


def _cached_response(
    rendered: RenderedBadge, media_type: str, max_age: int, if_none_match: str | None
) -> Response[bytes]:
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": f"public, max-age={max_age}, must-revalidate",
        "Access-Control-Allow-Origin": "*",
    }
    if matches_validator(if_none_match, rendered.etag):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)
