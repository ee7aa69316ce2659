"""Home with vendor search, the consumer handbook, the vendor guide, the transparency log
for people, and the page for developers."""

from __future__ import annotations

import json
import math
from typing import Annotated

from litestar import get
from litestar.enums import MediaType
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from public_site.badges.rendering import badge_message
from public_site.controller import SitePageController
from public_site.site import ReadsDep, ServicesDep, SiteDep
from registry.accounts.access import PUBLIC, opt
from registry.errors import NotFound
from registry.transparency.models import MAX_LOG_SIZE

SearchText = Annotated[
    str | None,
    QueryParameter(max_length=200, description="name (zh or en), credit code or domain"),
]
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]
EntryIndex = Annotated[int, PathParameter(ge=0, le=MAX_LOG_SIZE)]


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
    """The log for people: its signed checkpoint, its entries page by page, one entry with
    its inclusion proof explained."""

    path = "/transparency"

    @get("/", opt=opt(PUBLIC))
    async def transparency(
        self, site: SiteDep, services: ServicesDep, page: PageNumber = 1
    ) -> Template:
        """Current checkpoint (signed on demand if the log grew) and the newest entries."""
        try:
            checkpoint = await services.log.current_checkpoint()
        except NotFound:
            checkpoint = None
        size = services.ctx.settings.page_size_default
        entries = await services.log.recent_entries(offset=(page - 1) * size, limit=size)
        return site.page(
            "pages/transparency.html",
            checkpoint=checkpoint,
            key_id=services.ctx.federation_key.key_id,
            log_origin=services.ctx.settings.log_origin,
            entries=entries.items,
            total=entries.total,
            page=page,
            pages=max(1, math.ceil(entries.total / size)),
        )

    @get("/entries/{index:int}", opt=opt(PUBLIC))
    async def entry(self, site: SiteDep, services: ServicesDep, index: EntryIndex) -> Template:
        """One entry: what it records, and the proof that it is in the signed tree."""
        entry, proof, checkpoint = await services.log.entry_with_proof(index, None)
        document = json.loads(entry.leaf)
        return site.page(
            "pages/log_entry.html",
            entry=entry,
            vendor_slug=document.get("vendor"),
            content=json.dumps(document.get("body"), ensure_ascii=False, indent=2),
            proof_hashes=[value.hex() for value in proof.hashes],
            checkpoint=checkpoint,
            root_hex=checkpoint.root_hash.hex(),
        )


class DeveloperPageController(SitePageController):
    """Commands and endpoints for developers and log monitors, kept off consumer pages."""

    path = "/developers"

    @get("/", opt=opt(PUBLIC))
    async def developers(self, site: SiteDep, services: ServicesDep) -> Template:
        """Badge tokens, the shields.io endpoint, log monitoring and offline proofs."""
        return site.page(
            "pages/developers.html",
            verifier_key=services.log.verifier_key(),
            key_id=services.ctx.federation_key.key_id,
        )


class PingController(SitePageController):
    """A plain-text liveness answer of the site (also the bench's baseline)."""

    path = "/ping"

    @get("/", opt=opt(PUBLIC), media_type=MediaType.TEXT)
    async def ping(self) -> str:
        """Always `pong`."""
        return "pong"
