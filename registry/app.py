"""The app factory: the composition root that wires registry services into both web packages."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import InitPlugin
from litestar.routes import HTTPRoute
from litestar.types import ControllerRouterHandler

from member_api.access import access_guard
from member_api.accounts.controllers import AuthController
from member_api.audits.controllers import AuditController, AuditorController
from member_api.blacklist.check import BlacklistCheckController
from member_api.blacklist.committee import (
    BlacklistAppealPanelController,
    BlacklistBallotController,
    BlacklistCommitteeMembersController,
    BlacklistCommitteeQueueController,
)
from member_api.blacklist.controllers import (
    BlacklistCaseController,
    BlacklistRulebookController,
    BlacklistVendorCaseController,
)
from member_api.blacklist.snapshots import BlacklistSnapshotController
from member_api.certification.controllers import (
    AttestationController,
    CertificationController,
    SchemeController,
)
from member_api.complaints.controllers import (
    ComplaintFiguresController,
    ConsumerComplaintController,
    MediationController,
    VendorComplaintController,
)
from member_api.contract import ClosedStructSchemaPlugin, answers_of, problems, summary_of
from member_api.deps import DEPENDENCIES
from member_api.docs import OfflineSwaggerPlugin
from member_api.errors import EXCEPTION_HANDLERS
from member_api.federation.controllers import FederationController, HealthController
from member_api.keys.controllers import KeyRevocationController, VendorKeyController
from member_api.media import json_body_guard
from member_api.membership.controllers import ApplicationController, VendorDirectoryController
from member_api.membership.domains import VendorDomainController
from member_api.notifications.controllers import MediatorNotificationController, WebhookController
from member_api.reports.blacklist import BlacklistFiguresController
from member_api.reports.controllers import ReportController
from member_api.transparency.controllers import TransparencyLogController
from registry.accounts.access import ACCESS_OPT, PUBLIC, Access
from registry.client_address import ClientAddressMiddleware, parse_networks
from registry.context import RegistryContext
from registry.db.session import Database, create_engine
from registry.federation.keyring import load_or_create_federation_key
from registry.kernel.clock import Clock, OffsetClock, SystemClock
from registry.logs import configure_logging
from registry.services import Services
from registry.settings import Settings

logger = logging.getLogger("registry.app")

API_ROUTES: Sequence[ControllerRouterHandler] = (
    HealthController,
    FederationController,
    ApplicationController,
    VendorDirectoryController,
    VendorDomainController,
    VendorKeyController,
    KeyRevocationController,
    AuthController,
    CertificationController,
    AttestationController,
    SchemeController,
    AuditorController,
    AuditController,
    WebhookController,
    TransparencyLogController,
    ReportController,
    BlacklistFiguresController,
    ConsumerComplaintController,
    VendorComplaintController,
    MediationController,
    MediatorNotificationController,
    ComplaintFiguresController,
    BlacklistRulebookController,
    BlacklistVendorCaseController,
    BlacklistCaseController,
    BlacklistCommitteeQueueController,
    BlacklistBallotController,
    BlacklistCommitteeMembersController,
    BlacklistAppealPanelController,
    BlacklistCheckController,
    BlacklistSnapshotController,
)


def build_context(settings: Settings, clock: Clock | None = None) -> RegistryContext:
    """Engine, clock and federation key: what every service needs."""
    return RegistryContext(
        settings=settings,
        db=Database(create_engine(settings)),
        clock=clock or SystemClock(),
        federation_key=load_or_create_federation_key(settings),
    )


def create_app(
    settings: Settings | None = None,
    *,
    context: RegistryContext | None = None,
    run_scheduler: bool | None = None,
    clock: Clock | None = None,
) -> Litestar:
    """Build the ASGI app; `context` lets tests share a database and move the clock,
    `clock` gives an app of its own another clock than the wall's (`serve --now`)."""
    settings = context.settings if context is not None else (settings or Settings.from_env())
    configure_logging(settings.log_level)
    ctx = context or build_context(settings, clock)
    services = Services(ctx)
    scheduler_on = settings.scheduler_enabled if run_scheduler is None else run_scheduler
    proxies = parse_networks(settings.trusted_proxies)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.services = services
        runner = None
        if scheduler_on:
            from registry.scheduling import start_scheduler

            runner = await start_scheduler(services)
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            if context is None:
                await ctx.db.dispose()

    app = Litestar(
        route_handlers=[*API_ROUTES, *_public_site_routes()],
        dependencies=DEPENDENCIES,
        guards=[access_guard, json_body_guard],
        # First: every limit keys on the address it resolves.
        middleware=[DefineMiddleware(ClientAddressMiddleware, trusted=proxies)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        request_max_body_size=settings.max_body_bytes,
        # Badges and blacklist snapshots stay uncompressed: their strong ETags name these
        # bytes (a snapshot's are the signed envelope's, byte for byte as logged).
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=1024,
            exclude=["^/badges/", "^/api/v1/blacklist/snapshot$"],
        ),
        plugins=[_public_site_plugin(services), ClosedStructSchemaPlugin()],
        openapi_config=OpenAPIConfig(
            title="Trust Registry member API",
            version="1",
            description=(
                "Signed applications, keys, certification and the transparency log of the "
                "software-industry trust federation. Errors are RFC 9457 problem+json."
            ),
            path="/api/docs",
            render_plugins=[OfflineSwaggerPlugin(path=["/", "/swagger"])],
            components=Components(
                security_schemes={
                    BEARER_SCHEME: SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description=(
                            "A token from `POST /api/v1/auth/token` (sign a login challenge "
                            "with a registered key) or `registry admin create-token`."
                        ),
                    )
                }
            ),
        ),
        state=_initial_state(services),
        debug=False,
    )
    _require_declared_access(app)
    return app


def _initial_state(services: Services) -> Any:
    from litestar.datastructures import State

    return State({"services": services})


def _public_site_routes() -> list[ControllerRouterHandler]:
    from public_site.routes import public_site_routes

    return public_site_routes()


def _public_site_plugin(services: Services) -> InitPlugin:
    """Templates, security headers, HTML error pages and the badge cache of the site."""
    from public_site.plugin import PublicSitePlugin

    return PublicSitePlugin(services)


BEARER_SCHEME = "BearerToken"


def _require_declared_access(app: Litestar) -> None:
    """Refuse to start if any route does not state who may call it (deny-by-default)."""
    undeclared: list[str] = []
    for route in app.routes:
        handlers = route.route_handlers if isinstance(route, HTTPRoute) else [route.route_handler]
        for handler in handlers:
            if ACCESS_OPT in handler.opt:
                _document_access(handler, route)
                continue
            # Litestar's own OpenAPI pages and automatic OPTIONS answers reveal nothing private.
            if route.path.startswith("/api/docs") or handler.handler_name == "options_handler":
                handler.opt[ACCESS_OPT] = PUBLIC
                continue
            undeclared.append(f"{route.path} ({handler.handler_name})")
    if undeclared:
        raise RuntimeError("routes without an access declaration: " + ", ".join(undeclared))


def _document_access(handler: Any, route: Any) -> None:
    """State in the OpenAPI document who may call the operation, as the guard enforces it,
    what it is in a few words, and every error status it can answer with."""
    access: Access = handler.opt[ACCESS_OPT]
    what = handler.description or inspect.cleandoc(getattr(handler.fn, "__doc__", None) or "")
    who = f"**Who may call:** {access.describe()}"
    handler.description = f"{what}\n\n{who}" if what else who
    handler.summary = handler.summary or summary_of(handler)
    if not access.public:
        handler.security = [{BEARER_SCHEME: []}]
    # The public site's pages answer errors as pages; the API and the badges as problems.
    if isinstance(route, HTTPRoute) and route.path.startswith(("/api/v1/", "/badges/")):
        answers = answers_of(handler, set(route.path_parameters), access)
        handler.responses = {**problems(*sorted(answers)), **(handler.responses or {})}


def create_app_from_env() -> Litestar:
    """Factory for `uvicorn --factory` workers: settings from the environment, and the
    clock offset `registry serve --now` hands its workers."""
    settings = Settings.from_env()
    app = create_app(settings, clock=clock_of(settings))
    app.on_startup.append(settle_worker_heap)
    return app


def clock_of(settings: Settings) -> Clock:
    """The wall clock, or the wall clock moved by `clock_offset_seconds` (`serve --now`)."""
    if settings.clock_offset_seconds:
        return OffsetClock(timedelta(seconds=settings.clock_offset_seconds))
    return SystemClock()


def settle_worker_heap() -> None:
    """Keep the garbage collector off what a worker holds for its whole life.

    After startup the heap is mostly modules, routes, compiled SQL and mappers, some
    150,000 objects that every full collection would traverse again. Freezing them and
    collecting the youngest generation every 10,000 allocations instead of 700 took the
    collector from 11 % to 1 % of a 500-envelope batch (docs/performance.md, "Attestation
    ingestion"). Only server workers do this: tests build many apps in one process,
    and frozen objects are never freed.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
