"""/blacklist: the governed blacklist for people — the list with its search and filters, a
listing's record, and the public notices of cases about subjects that are not members.

A plain GET form, no JavaScript. Everything shown comes from
`registry.blacklist.public_reads`, which decides what is public (every listing; before a
decision only a non-member's notice) and leaves personal data out.
"""

from __future__ import annotations

import enum
import math
from typing import Annotated, Final, TypeVar
from urllib.parse import urlencode

from litestar import get
from litestar.params import PathParameter, QueryParameter
from litestar.response import Template

from public_site.blacklist.wording import blacklist_words
from public_site.controller import SitePageController
from public_site.i18n import N_
from public_site.site import ServicesDep, SiteDep
from registry.accounts.access import PUBLIC, opt
from registry.blacklist.public_reads import NOTICE
from registry.blacklist.public_views import BlacklistQuery
from registry.blacklist.states import ListingState, RuleKind, Tier
from registry.errors import InvalidInput

E = TypeVar("E", bound=enum.Enum)

Filter = Annotated[str | None, QueryParameter(max_length=64, pattern=r"^[a-z0-9_-]*$")]
StateFilter = Annotated[
    str | None, QueryParameter(name="state", max_length=40, pattern=r"^[a-z_-]*$")
]
"""`?state=`: Litestar reserves the parameter name `state` for the app state."""
SearchText = Annotated[
    str | None,
    QueryParameter(max_length=200, description="name (zh or en), credit code, domain or app id"),
]
PageNumber = Annotated[int, QueryParameter(ge=1, le=100_000)]
Reference = Annotated[str, PathParameter(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
FILTERS: Final = ("q", "tier", "association", "state", "kind")
BAD_FILTER: Final = N_("unknown value")


def _choice(kind: type[E], value: str | None, field: str) -> E | None:
    """An enum filter from the form: empty means all, an unknown value is refused."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"unknown {field} {value!r}", fields={field: BAD_FILTER}) from None


class BlacklistPagesController(SitePageController):
    """The list, a listing's record and a notice's page; open to everyone."""

    path = "/blacklist"

    @get("/", opt=opt(PUBLIC))
    async def blacklist(  # noqa: PLR0917 - one query parameter per filter
        self,
        site: SiteDep,
        services: ServicesDep,
        q: SearchText = None,
        tier: Filter = None,
        association: Filter = None,
        listing_state: StateFilter = None,
        kind: Filter = None,
        page: PageNumber = 1,
    ) -> Template:
        """Listings in force and ended, and published notices, searched and filtered."""
        size = services.ctx.settings.page_size_default
        query = BlacklistQuery(
            text=(q or "").strip() or None,
            tier=_choice(Tier, tier, "tier"),
            association=association or None,
            state=None
            if listing_state == NOTICE
            else _choice(ListingState, listing_state, "state"),
            notices_only=listing_state == NOTICE,
            rule_kind=_choice(RuleKind, kind, "kind"),
            offset=(page - 1) * size,
            limit=size,
        )
        found = await services.blacklist_public.search(query)
        chosen = {"q": query.text or "", "tier": tier or "", "association": association or ""}
        chosen |= {"state": listing_state or "", "kind": kind or ""}
        filters = [(name, chosen[name]) for name in FILTERS if chosen[name]]
        pages = max(1, math.ceil(found.listings.total / size))
        return site.page(
            "blacklist/list.html",
            found=found,
            chosen=chosen,
            filtered=bool(filters),
            page=page,
            pages=pages,
            previous_url=_page_url(filters, page - 1, site.lang.code) if page > 1 else None,
            next_url=_page_url(filters, page + 1, site.lang.code) if page < pages else None,
            tiers=list(Tier),
            states=[*(s.value for s in ListingState), NOTICE],
            kinds=list(RuleKind),
            **blacklist_words(site.lang),
        )

    @get("/{reference:str}", opt=opt(PUBLIC))
    async def listing(self, site: SiteDep, services: ServicesDep, reference: Reference) -> Template:
        """A listing's public record; the 404 page for anything that is not a listing."""
        record = await services.blacklist_public.listing(reference)
        return site.page("blacklist/listing.html", record=record, **blacklist_words(site.lang))

    @get("/notices/{reference:str}", opt=opt(PUBLIC))
    async def notice(self, site: SiteDep, services: ServicesDep, reference: Reference) -> Template:
        """A non-member subject's case, published while it runs; the 404 page otherwise."""
        record = await services.blacklist_public.notice(reference)
        return site.page("blacklist/notice.html", record=record, **blacklist_words(site.lang))


def _page_url(filters: list[tuple[str, str]], page: int, lang: str) -> str:
    """The list with the same search and filters, at `page`."""
    return "/blacklist?" + urlencode([*filters, ("page", str(page)), ("lang", lang)])
