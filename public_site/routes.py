"""Every route of the public site, in the order the app registers them."""

from __future__ import annotations

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from public_site.badges.controllers import BadgeController
from public_site.blacklist.controllers import BlacklistPagesController
from public_site.complaints.controllers import ComplaintPagesController
from public_site.pages.controllers import (
    DeveloperPageController,
    GuidePagesController,
    HomeController,
    PingController,
    TransparencyController,
)
from public_site.partners.controllers import PartnerDashboardController, PartnerSignInController
from public_site.plugin import STATIC_DIR
from public_site.statistics.controllers import StatisticsController
from public_site.vendors.controllers import VendorController, VerifyController
from registry.accounts.access import PUBLIC, opt


def public_site_routes() -> list[ControllerRouterHandler]:
    """Pages, badges and the static files (CSS) they use."""
    return [
        HomeController,
        GuidePagesController,
        TransparencyController,
        DeveloperPageController,
        PingController,
        VendorController,
        VerifyController,
        BadgeController,
        ComplaintPagesController,
        PartnerDashboardController,
        PartnerSignInController,
        StatisticsController,
        BlacklistPagesController,
        create_static_files_router(
            path="/static", directories=[STATIC_DIR], opt=opt(PUBLIC), include_in_schema=False
        ),
    ]
