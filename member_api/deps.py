"""Dependency providers: the same `Services` the CLI and jobs use, and the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from member_api.access import current_caller
from registry.kernel.caller import Caller
from registry.services import Services


def provide_services(state: State) -> Services:
    """The app's service container."""
    services: Services = state.services
    return services


def provide_caller(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
) -> Caller:
    """The authenticated caller.

    Takes `services` only to be resolved after it: Litestar resolves the dependencies
    of one level concurrently, in a task group per request, which cost more than both
    providers (docs/performance.md, "Attestation ingestion").
    """
    return current_caller(request)


DEPENDENCIES = {
    "services": Provide(provide_services, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
}

ServicesDep = NamedDependency[Services]
"""Explicit dependency marker for the service container."""
CallerDep = NamedDependency[Caller]
"""Explicit dependency marker for the authenticated caller."""
