"""The API reference at /api/docs, rendered by Swagger UI from this server alone.

The page loads no third-party script: the Swagger UI bundle and stylesheet come from
the installed `swagger-ui-py` package and are served under /api/docs/assets/, and the
few lines that start it live in `member_api/static/api-docs.js`, so the page has no
inline script or style and runs under a CSP of `script-src 'self'` (see
`public_site.security`). It works with no network at all.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from html import escape
from pathlib import Path
from typing import Any, Final

from litestar import Request, Response, get
from litestar.enums import MediaType
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.router import Router

from registry.accounts.access import PUBLIC, opt
from registry.errors import NotFound


def _swagger_ui_static() -> Path:
    """The `static/` folder of the installed swagger-ui-py, found without importing it
    (its package imports every web framework adapter it ships)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed; it ships the API reference assets")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


ASSETS: Final = {
    "swagger-ui-bundle.js": (_swagger_ui_static() / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_swagger_ui_static() / "swagger-ui.css", MediaType.CSS.value),
    "api-docs.js": (Path(__file__).parent / "static" / "api-docs.js", "text/javascript"),
    "api-docs.css": (Path(__file__).parent / "static" / "api-docs.css", MediaType.CSS.value),
}
"""The only files served under /api/docs/assets/: what the page names, nothing else of
the package (its editor bundles and source maps stay unserved)."""

ASSETS_PATH: Final = "/assets"


@get(f"{ASSETS_PATH}/{{name:str}}", opt=opt(PUBLIC), include_in_schema=False, sync_to_thread=False)
def docs_asset(name: FromPath[str]) -> Response[bytes]:
    """One asset of the API reference page, from the allow-list only."""
    found = ASSETS.get(name)
    if found is None:
        raise NotFound(f"the API reference has no asset {name!r}")
    path, media_type = found
    return Response(
        _read(path),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600"},
    )


@cache
def _read(path: Path) -> bytes:
    """The asset's bytes, read once per process: they change only with the package."""
    return path.read_bytes()


class OfflineSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from local assets, started by a script file rather than inline code."""

    def __init__(self, *, path: str | list[str] = "/swagger") -> None:
        super().__init__(path=path, favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The page: a container that names the document URL, and the local assets."""
        spec_url = self.get_openapi_json_route(request)
        base = escape(spec_url.rsplit("/", 1)[0] + ASSETS_PATH)
        title = escape(str(openapi_schema["info"]["title"]))
        spec_url = escape(spec_url)
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n"
            f'<link rel="stylesheet" href="{base}/swagger-ui.css">\n'
            f'<link rel="stylesheet" href="{base}/api-docs.css">\n'
            f'<script src="{base}/swagger-ui-bundle.js" defer></script>\n'
            f'<script src="{base}/api-docs.js" defer></script>\n'
            "</head>\n<body>\n"
            f'<main id="swagger-ui" data-spec-url="{spec_url}">'
            "<noscript>The interactive API reference needs JavaScript; the document itself "
            f'is at <a href="{spec_url}">{spec_url}</a>.</noscript></main>\n'
            "</body>\n</html>\n"
        ).encode()

    def receive_router(self, router: Router) -> None:
        """Serve the assets beside the page."""
        router.register(docs_asset)
