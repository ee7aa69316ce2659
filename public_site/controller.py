"""The base of every page controller: language, cached reads, HTML error pages."""

from __future__ import annotations

from litestar import Controller
from litestar.di import Provide

from public_site.errors import PAGE_EXCEPTION_HANDLERS
from public_site.site import provide_reads, provide_site


class SitePageController(Controller):
    """Pages get `site` (the request in its language) and `reads`; errors render as pages."""

    include_in_schema = False
    dependencies = {
        "site": Provide(provide_site, sync_to_thread=False),
        "reads": Provide(provide_reads, sync_to_thread=False),
    }
    exception_handlers = PAGE_EXCEPTION_HANDLERS
