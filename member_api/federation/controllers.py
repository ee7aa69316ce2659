"""/api/v1/federation/key, /healthz and /readyz."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from member_api.deps import ServicesDep
from registry.accounts.access import PUBLIC, opt
from registry.db.migrate import readiness


class FederationKeyOut(msgspec.Struct):
    """Everything needed to verify what the federation signs."""

    algorithm: str
    public_key: str
    key_id: str
    verifier_key: str
    """C2SP signed-note verifier key: checkpoints verify with it."""
    log_origin: str
    federation: str


class HealthOut(msgspec.Struct):
    """Liveness or readiness."""

    status: str
    detail: str | None = None


class FederationController(Controller):
    """The federation's public signing key."""

    path = "/api/v1/federation"
    tags = ["federation"]

    @get("/key", opt=opt(PUBLIC))
    async def key(self, services: ServicesDep) -> FederationKeyOut:
        """The public key that signs checkpoints, badge tokens and webhooks."""
        public = services.ctx.federation_key.public_key
        return FederationKeyOut(
            algorithm="ed25519",
            public_key=public.to_base64(),
            key_id=public.key_id,
            verifier_key=services.log.verifier_key(),
            log_origin=services.ctx.settings.log_origin,
            federation=services.ctx.settings.federation_name,
        )


class HealthController(Controller):
    """Probes for load balancers and orchestrators."""

    path = "/"
    tags = ["health"]
    include_in_schema = False

    @get("/healthz", opt=opt(PUBLIC))
    async def healthz(self) -> HealthOut:
        """The process is alive."""
        return HealthOut(status="ok")

    @get("/readyz", opt=opt(PUBLIC))
    async def readyz(self, services: ServicesDep) -> Response[HealthOut]:
        """The database answers and its schema is at the latest migration."""
        ready, detail = await readiness(services.ctx.db)
        status = 200 if ready else HTTP_503_SERVICE_UNAVAILABLE
        return Response(
            HealthOut(status="ready" if ready else "not-ready", detail=detail), status_code=status
        )
