"""One page request: its language, the language switch, and the Template it answers with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.response import Template

from public_site.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    Language,
    language,
    negotiate,
    parse_language,
)
from public_site.reads import PublicReads
from public_site.wording import Wording
from registry.services import Services
from registry.settings import Settings


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the language switch."""

    code: str
    name: str
    url: str
    current: bool


@dataclass(frozen=True)
class SiteRequest:
    """The page being asked for, in the language it will be answered in."""

    lang: Language
    chosen: bool
    """The language came from `?lang=` and is remembered in a cookie."""
    path: str
    query: tuple[tuple[str, str], ...]
    settings: Settings
    now: datetime
    """The registry clock's time when the page was asked for (relative times count from it)."""

    @classmethod
    def from_request(
        cls, request: Request[Any, Any, Any], settings: Settings, now: datetime
    ) -> SiteRequest:
        """Negotiate the language of `request` (query, cookie, Accept-Language, default)."""
        asked = request.query_params.get("lang")
        code = negotiate(
            asked, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
        )
        query = tuple((k, v) for k, v in request.query_params.multi_items() if k != "lang")
        return cls(
            language(code),
            parse_language(asked) is not None,
            request.url.path,
            query,
            settings,
            now,
        )

    @property
    def wording(self) -> Wording:
        """Times and registry values as this page writes them."""
        return Wording(self.lang, self.now)

    @property
    def federation_name(self) -> str:
        """The federation's name in this page's language."""
        return self.wording.pick(self.settings.federation_name_zh, self.settings.federation_name)

    def url_in(self, code: str) -> str:
        """This page in language `code`, other query parameters kept."""
        return self.path + "?" + urlencode([*self.query, ("lang", code)])

    def language_links(self) -> list[LanguageLink]:
        """The switch control: every language, the current one marked."""
        return [
            LanguageLink(code, LANGUAGE_NAMES[code], self.url_in(code), code == self.lang.code)
            for code in LANGUAGES
        ]

    def gettext(self, message: str) -> str:
        """Translate a message id into this request's language."""
        return self.lang.gettext(message)

    def page(self, template_name: str, *, status_code: int = 200, **context: Any) -> Template:
        """Render `template_name` in this language; remember an explicit choice in a cookie."""
        cookies = []
        if self.chosen:
            cookies.append(
                Cookie(
                    key=LANGUAGE_COOKIE,
                    value=self.lang.code,
                    max_age=int(self.settings.language_cookie_max_age.total_seconds()),
                    path="/",
                    httponly=True,
                    secure=self.settings.serves_https,
                    samesite="lax",
                )
            )
        return Template(
            template_name=template_name,
            context={
                **self.lang.jinja_functions(),
                "lang": self.lang.code,
                "html_lang": self.lang.html_lang,
                "language_links": self.language_links(),
                "current_path": self.path,
                "base_url": self.settings.public_base_url.rstrip("/"),
                "federation_name": self.federation_name,
                "w": self.wording,
                **context,
            },
            status_code=status_code,
            cookies=cookies,
            headers={"Vary": "Accept-Language, Cookie", "Cache-Control": "no-cache"},
            media_type=MediaType.HTML,
        )


def provide_site(request: Request[Any, Any, Any]) -> SiteRequest:
    """The page request, from the request and the app's settings."""
    services: Services = request.app.state.services
    return SiteRequest.from_request(request, services.ctx.settings, services.ctx.clock.now())


def provide_reads(request: Request[Any, Any, Any]) -> PublicReads:
    """The worker's cached public read models."""
    reads: PublicReads = request.app.state.public_reads
    return reads


SiteDep = NamedDependency[SiteRequest]
"""Explicit dependency marker for the page request."""
ReadsDep = NamedDependency[PublicReads]
"""Explicit dependency marker for the cached public reads."""
ServicesDep = NamedDependency[Services]
"""Explicit dependency marker for the service container (provided by the app)."""
