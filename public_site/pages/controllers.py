"""Home with vendor search, the consumer handbook, the vendor guide, the transparency page."""

from __future__ import annotations

import math
from typing import Annotated

from litestar import get
from litestar.enums import MediaType
from litestar.params import QueryParameter
from litestar.response import Template

from public_site.badges.rendering import badge_message
from public_site.controller import SitePageController
from public_site.site import ReadsDep, ServicesDep, SiteDep
from registry.accounts.access import PUBLIC, opt
from registry.errors import NotFound

SearchText = Annotated[
    str | None,
    QueryParameter(max_length=200, description="name (zh or en), credit code or domain"),
]
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]


class HomeController(SitePageController):
    """The front page: what the registry is, and a search over member vendors."""

    path = "/"

    @get("/", opt=opt(PUBLIC))
    async def home(
        self,
        site: SiteDep,
        services: ServicesDep,
        reads: ReadsDep,
        q: SearchText = None,
        page: PageNumber = 1,
    ) -> Template:
        """Search by name in either language, credit code or domain; list members otherwise."""
        size = services.ctx.settings.page_size_default
        found = await services.membership.directory(q, (page - 1) * size, size)
        results = []
        for vendor in found.items:
            decided = await reads.verdict(vendor.slug)
            results.append(
                (vendor, decided, badge_message(decided.kind, decided.level, site.lang.code))
            )
        return site.page(
            "pages/home.html",
            query=(q or "").strip(),
            results=results,
            total=found.total,
            page=page,
            pages=max(1, math.ceil(found.total / size)),
        )


class GuidePagesController(SitePageController):
    """The consumer-rights handbook and the vendor guide (static text, both languages)."""

    path = "/"

    @get("/handbook", opt=opt(PUBLIC))
    async def handbook(self, site: SiteDep) -> Template:
        """Consumers' rights to information and choice, complaints, the badge, escalation."""
        return site.page("pages/handbook.html")

    @get("/guide", opt=opt(PUBLIC))
    async def guide(self, site: SiteDep) -> Template:
        """How a vendor applies, attests, is audited and renews."""
        return site.page("pages/guide.html")


class TransparencyController(SitePageController):
    """The log's current signed checkpoint and how to watch the log."""

    path = "/transparency"

    @get("/", opt=opt(PUBLIC))
    async def transparency(self, site: SiteDep, services: ServicesDep) -> Template:
        """Current checkpoint (signed on demand if the log grew), verifier key, monitoring."""
        try:
            checkpoint = await services.log.current_checkpoint()
        except NotFound:
            checkpoint = None
        return site.page(
            "pages/transparency.html",
            checkpoint=checkpoint,
            verifier_key=services.log.verifier_key(),
            key_id=services.ctx.federation_key.key_id,
            log_origin=services.ctx.settings.log_origin,
        )


class PingController(SitePageController):
    """A plain-text liveness answer of the site (also the bench's baseline)."""

    path = "/ping"

    @get("/", opt=opt(PUBLIC), media_type=MediaType.TEXT)
    async def ping(self) -> str:
        """Always `pong`."""
        return "pong"
