"""A member vendor's public profile and the verify page a badge links to."""

from __future__ import annotations

from litestar import get
from litestar.params import FromPath
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND

from public_site.badges.rendering import badge_message
from public_site.blacklist.wording import TIER_NAMES
from public_site.complaints.controllers import figures_context
from public_site.controller import SitePageController
from public_site.i18n import N_
from public_site.reads import VendorProfile
from public_site.site import ReadsDep, SiteDep
from registry.accounts.access import PUBLIC, opt
from registry.certification.verdict import NOT_CERTIFIED, verdict
from registry.errors import NotFound

EMBED_ALT = N_("Trust registry badge: select to verify")


def embed_snippets(base_url: str, slug: str, alt: str) -> dict[str, str]:
    """HTML and Markdown that show the live badge and link it to the verify page.

    The link is what makes a copied static image worthless: a badge that does not lead
    to this registry's verify page for the same vendor proves nothing.
    """
    badge = f"{base_url}/badges/{slug}.svg"
    verify_url = f"{base_url}/verify/{slug}"
    return {
        "html": f'<a href="{verify_url}"><img src="{badge}" alt="{alt}" height="20"></a>',
        "markdown": f"[![{alt}]({badge})]({verify_url})",
        "verify_url": verify_url,
        "badge_url": badge,
    }


class VendorController(SitePageController):
    """/vendors/{slug}: certificate, history with log links, audits, complaint figures."""

    path = "/vendors"

    @get("/{slug:str}", opt=opt(PUBLIC))
    async def profile(self, site: SiteDep, reads: ReadsDep, slug: FromPath[str]) -> Template:
        """The vendor's profile page; 404 page for anyone who is not a member."""
        profile = await reads.profile(slug)
        decided = verdict(profile.certification, reads.services.ctx.clock.now())
        # Fixed words only: vendor-supplied text never goes into markup others copy.
        alt = site.gettext(EMBED_ALT)
        return site.page(
            "vendors/profile.html",
            profile=profile,
            verdict=decided,
            badge_message=badge_message(decided.kind, decided.level, site.lang.code),
            embed=embed_snippets(site.settings.public_base_url.rstrip("/"), profile.slug, alt),
            tier_names={key: site.gettext(name) for key, name in TIER_NAMES.items()},
            # Not cached: not every complaint step is logged, and the figures must be current.
            **figures_context(await reads.services.complaints.figures.for_vendor(slug)),
        )


class VerifyController(SitePageController):
    """/verify/{slug}: what the badge means and the live status behind it."""

    path = "/verify"

    @get("/{slug:str}", opt=opt(PUBLIC))
    async def verify(self, site: SiteDep, reads: ReadsDep, slug: FromPath[str]) -> Template:
        """Live status, the meaning of each badge, and how to check a token offline."""
        profile: VendorProfile | None
        try:
            profile = await reads.profile(slug)
        except NotFound:
            profile = None
        decided = (
            verdict(profile.certification, reads.services.ctx.clock.now())
            if profile is not None
            else NOT_CERTIFIED
        )
        return site.page(
            "vendors/verify.html",
            status_code=HTTP_200_OK if profile is not None else HTTP_404_NOT_FOUND,
            slug=slug,
            profile=profile,
            verdict=decided,
            badge_message=badge_message(decided.kind, decided.level, site.lang.code),
        )
