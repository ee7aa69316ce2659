"""Schemathesis against a live demo server: every operation of the served OpenAPI document,
fed generated requests, anonymously and with a vendor's token.

Four of its checks must hold for every answer: no 5xx (`not_a_server_error`), a status
the operation documents (`status_code_conformance`), a content type it documents for
that status (`content_type_conformance`) and a body that matches the documented schema
(`response_schema_conformance`). The run is bounded: a fixed number of
derandomized examples per operation and a timeout on each request (Hypothesis' own
per-example deadline stays off: on a loaded machine it fails on time, not on behaviour),
so it stays near a minute and writes no Hypothesis database.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (  # the registry of built-in checks, by name
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bench.serving import REGISTRY, registry_env, registry_server

pytestmark = pytest.mark.slow

CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION: Final = 5
REQUEST_TIMEOUT_S: Final = 10
"""A request that hangs fails its operation instead of stalling the run."""
DEMO_VENDOR: Final = "yunzhan-cloud"
DEMO_ASSOCIATION: Final = "csia"


def demo_path_values(path: str) -> dict[str, str]:
    """Path parameters of `path` that name something the demo holds (`slug` names an
    association under /associations/, a vendor elsewhere)."""
    slug = DEMO_ASSOCIATION if path.startswith("/api/v1/associations/") else DEMO_VENDOR
    known = {"slug": slug, "association": DEMO_ASSOCIATION, "name": f"{DEMO_VENDOR}.svg"}
    return {name: value for name, value in known.items() if f"{{{name}}}" in path}


BOUNDED: Final = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
"""Derandomized, so a run is repeatable and a failure shows again on the next run."""


@pytest.fixture(scope="module")
def demo_server(
    tmp_path_factory: pytest.TempPathFactory, demo_data: Callable[[Path], Path]
) -> Iterator[tuple[str, str]]:
    """`registry serve` on a copy of the demo; yields (base URL, a demo vendor's token)."""
    data_dir = demo_data(tmp_path_factory.mktemp("schemathesis"))
    with registry_server(data_dir) as base:
        issued = subprocess.run(
            [REGISTRY, "admin", "create-token", "--role", "vendor_admin", "--vendor", DEMO_VENDOR],
            env=registry_env(data_dir),
            check=True,
            capture_output=True,
            text=True,
        )
        yield base, issued.stdout.strip()


@pytest.fixture(scope="module")
def api_schema(demo_server: tuple[str, str]) -> schemathesis.BaseSchema:
    """The OpenAPI document as the server serves it."""
    base, _token = demo_server
    return schemathesis.openapi.from_url(f"{base}/api/docs/openapi.json")


def run_operation(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    """Generated requests to one operation, each answer checked: valid ones, invalid ones,
    and valid ones about the demo's own vendor and association (random names mostly meet
    404, so these reach the code behind it)."""
    known = demo_path_values(operation.path)
    strategy = (
        operation.as_strategy(GenerationMode.POSITIVE)
        | operation.as_strategy(GenerationMode.NEGATIVE)
        | operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known)
    )

    @BOUNDED
    @given(case=strategy)
    def exercise(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)

    exercise()


def failures_of(schema: schemathesis.BaseSchema, headers: dict[str, str]) -> list[str]:
    """Every operation run in turn; the failures of all of them, not just the first."""
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if headers and operation.path in SKIPPED_WITH_TOKEN:
            continue
        operations += 1
        try:
            run_operation(operation, headers)
        except Exception as exc:  # noqa: BLE001 - each operation's failure is collected
            failures.append(f"{operation.label}: {exc}")
    assert operations > 40
    return failures


# Logging out would revoke the token the rest of the run needs; the logout route is
# exercised anonymously, and tests/integration/test_access_matrix.py logs out for real.
SKIPPED_WITH_TOKEN: Final = {"/api/v1/auth/logout"}


def test_anonymous_requests_keep_the_contract(api_schema: schemathesis.BaseSchema) -> None:
    """Without credentials: public operations answer, the others refuse with 401."""
    failures = failures_of(api_schema, {})
    assert failures == [], "\n\n".join(failures)


def test_vendor_requests_keep_the_contract(
    api_schema: schemathesis.BaseSchema, demo_server: tuple[str, str]
) -> None:
    """With a vendor_admin token: its own routes work or refuse input, others say 403."""
    failures = failures_of(api_schema, {"Authorization": f"Bearer {demo_server[1]}"})
    assert failures == [], "\n\n".join(failures)
