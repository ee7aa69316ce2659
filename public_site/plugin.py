"""Everything the public site adds to the app besides its routes.

Templates (Jinja2, autoescaped everywhere, gettext through the Babel catalogs), the
security headers, HTML error pages for browsers, the forms' CSRF tokens, and the
per-worker cache together with the task that empties it when the transparency log moves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.exceptions import HTTPException
from litestar.plugins import InitPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from public_site.errors import html_for_browsers
from public_site.form_token import FORM_TOKENS_STATE_KEY, FormTokens
from public_site.reads import PublicReads
from public_site.security import add_security_headers, hsts_hook
from registry.public_cache import LogWatchedCache
from registry.services import Services

TEMPLATES_DIR: Final = Path(__file__).parent / "templates"
STATIC_DIR: Final = Path(__file__).parent / "static"
READS_STATE_KEY: Final = "public_reads"


@cache
def template_environment() -> Environment:
    """The one Jinja environment: every template autoescaped, undefined names are errors.

    gettext comes from each page's context (see `public_site.i18n.Language`), so one
    environment serves both languages; null translations set Jinja's newstyle mode.
    """
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


class PublicSitePlugin(InitPlugin):
    """Adds templates, security headers, HTML errors and the public cache to the app."""

    def __init__(self, services: Services) -> None:
        settings = services.ctx.settings
        self.cache: LogWatchedCache[object] = services.public_cache
        self.reads = PublicReads(services, self.cache)
        self.form_tokens = FormTokens(services.ctx)
        self.poll_interval = settings.public_cache_poll_interval.total_seconds()
        self.hsts_max_age = settings.hsts_max_age if settings.serves_https else None

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Wire the site into the app being built."""
        app_config.template_config = TemplateConfig(
            instance=JinjaTemplateEngine.from_environment(template_environment())
        )
        app_config.before_send.append(add_security_headers)
        if self.hsts_max_age is not None:
            app_config.before_send.append(hsts_hook(self.hsts_max_age))
        app_config.lifespan.append(self.watch_log)
        app_config.state[READS_STATE_KEY] = self.reads
        app_config.state[FORM_TOKENS_STATE_KEY] = self.form_tokens
        api_handler = app_config.exception_handlers.get(HTTPException)
        if api_handler is not None:
            app_config.exception_handlers[HTTPException] = html_for_browsers(api_handler)
        return app_config

    @contextlib.asynccontextmanager
    async def watch_log(self, _app: Litestar) -> AsyncIterator[None]:
        """Run this worker's cache invalidation task for as long as the app runs."""
        task = asyncio.create_task(self.cache.watch(self.reads.log_size, self.poll_interval))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
