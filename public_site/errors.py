"""Error pages for people: HTML in the visitor's language, never a stack trace.

Page routes answer errors with a page; the API keeps its RFC 9457 problem+json. For
paths that match no route at all, the app-wide handler is wrapped so that a browser
asking for HTML outside /api/ and /badges/ gets the same page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from public_site.i18n import N_
from public_site.site import SiteRequest
from registry.errors import InvalidInput, NotFound, RegistryError
from registry.services import Services

logger = logging.getLogger("public_site.errors")

_MESSAGES: Final = {
    HTTP_400_BAD_REQUEST: (
        N_("This request could not be understood"),
        N_("Check the address or the search words and try again."),
    ),
    HTTP_404_NOT_FOUND: (
        N_("Page not found"),
        N_(
            "There is nothing at this address. If you followed a badge here, the vendor "
            "may not be a member: treat its badge as not certified."
        ),
    ),
    HTTP_500_INTERNAL_SERVER_ERROR: (
        N_("Something went wrong on our side"),
        N_("Nothing was changed. Please try again in a moment."),
    ),
}
_OTHER: Final = (N_("The request could not be completed"), N_("Please go back and try again."))


def status_of(exc: Exception) -> int:
    """The HTTP status a page error answers with."""
    if isinstance(exc, NotFound | NotFoundException):
        return HTTP_404_NOT_FOUND
    if isinstance(exc, InvalidInput | ValidationException):
        return HTTP_400_BAD_REQUEST
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, RegistryError):
        return HTTP_400_BAD_REQUEST
    return HTTP_500_INTERNAL_SERVER_ERROR


def html_error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render the bilingual error page for `exc`; unexpected errors are logged, not shown."""
    status = status_of(exc)
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        logger.error("error on page %s", request.url.path, exc_info=exc)
    services: Services = request.app.state.services
    site = SiteRequest.from_request(request, services.ctx.settings, services.ctx.clock.now())
    title, detail = _MESSAGES.get(status, _OTHER)
    return site.page(
        "errors/error.html",
        status_code=status,
        status=status,
        title=site.gettext(title),
        detail=site.gettext(detail),
    )


PAGE_EXCEPTION_HANDLERS: Final[dict[type[Exception] | int, Any]] = {
    RegistryError: html_error_page,
    HTTPException: html_error_page,
    Exception: html_error_page,
}
"""Exception handlers for page controllers (more specific than the app's problem+json)."""


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page outside the API and the badges."""
    path = request.url.path
    if path.startswith(("/api/", "/badges/")) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


def html_for_browsers(
    fallback: Callable[[Request[Any, Any, Any], Any], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Any], Response[Any]]:
    """Wrap the app-wide handler: HTML for browsers on site paths, `fallback` otherwise."""

    def handler(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        if wants_html(request):
            return html_error_page(request, exc)
        return fallback(request, exc)

    return handler
