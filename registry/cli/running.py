"""How a `registry` command runs: its services, its shared options, its errors and output.

Every command group uses these, so that an in-process command gets the same `Services`
the web app uses (it can never skip a rule the API enforces) and every failure ends as
one clear line on stderr and exit status 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from attestations.errors import AttestationError
from registry.client import RegistryClient, RegistryClientError
from registry.datadir import PRIVATE_UMASK
from registry.errors import RegistryError
from registry.kernel.clock import Clock, SystemClock
from registry.settings import Settings

if TYPE_CHECKING:
    from attestations.keys import PublicKey
    from registry.services import Services

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
url_option = click.option(
    "--url", envvar="REGISTRY_URL", default=DEFAULT_URL, show_default=True, help="registry base URL"
)
token_option = click.option(
    "--token", envvar="REGISTRY_TOKEN", required=True, help="bearer token (or REGISTRY_TOKEN)"
)


def period_option(name: str, help_text: str) -> Callable[[Callable[..., Any]], Any]:
    """A required ISO 8601 bound of a signed period (`--period-start`, `--period-end`)."""
    return click.option(name, required=True, help=help_text + " (ISO 8601 with zone)")


def run_with_services(
    work: Callable[[Services], Awaitable[T]], *, migrate: bool = True, clock: Clock | None = None
) -> T:
    """Build services from the environment, run `work`, dispose of the engine.

    `clock` sets the time the services see (`jobs run --now`); default the wall clock.
    """
    from registry.app import build_context
    from registry.db.migrate import upgrade
    from registry.db.session import DatabaseUnavailable, check_connection
    from registry.services import Services  # the whole registry: only a command that needs it

    # Whatever this process writes under the data directory is the registry's alone.
    os.umask(PRIVATE_UMASK)
    settings = Settings.from_env()

    async def main() -> T:
        ctx = build_context(settings, clock or SystemClock())
        try:
            await check_connection(ctx.db, settings)
            if migrate:
                await upgrade(ctx.db)
            return await work(Services(ctx))
        finally:
            await ctx.db.dispose()

    try:
        return asyncio.run(main())
    except DatabaseUnavailable as exc:
        fail(str(exc))


def call(url: str, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One request to the registry at `url`, as `token` (or anonymously); its JSON answer."""
    with closing(RegistryClient(url, token)) as client:
        return client.request(method, path, **kwargs)


def fail(message: str) -> NoReturn:
    """Print an error to stderr and exit 1."""
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


def guarded(coro: Callable[[], Coroutine[Any, Any, T]] | Callable[[], T]) -> T:
    """Run a command body, turning known errors into one clear line and exit 1."""
    import httpx

    try:
        result = coro()
    except RegistryClientError as exc:
        fail(client_error_message(exc))
    except httpx.TransportError as exc:
        fail(unreachable_message(exc))
    except RegistryError as exc:
        fail(exc.detail)
    except AttestationError as exc:
        fail(exc.reason)
    return result  # type: ignore[return-value]


def client_error_message(exc: RegistryClientError) -> str:
    """The problem's sentence, then the fields it names: what a person can act on."""
    fields = exc.problem.get("errors")
    if isinstance(fields, dict) and fields:
        named = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        return f"{exc} ({named})"
    return str(exc)


def unreachable_message(exc: Exception) -> str:
    """Why no answer came, naming the registry that was asked."""
    import httpx

    where = "the registry"
    if isinstance(exc, httpx.RequestError):
        try:
            url = exc.request.url
        except RuntimeError:
            pass
        else:
            where = f"the registry at {url.scheme}://{url.netloc.decode('ascii')}"
    return (
        f"cannot reach {where} ({exc or type(exc).__name__}); is it running? "
        "Start it with `registry serve`, or give --url / REGISTRY_URL"
    )


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def federation_public_key(path: Path) -> PublicKey:
    """A registry public key file, or the saved JSON answer of GET /api/v1/federation/key
    (the offline `verify` commands take either)."""
    from attestations.keys import PublicKey, load_public_key

    raw = path.read_bytes()
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    try:
        if isinstance(document, dict) and "public_key" in document:
            return PublicKey.from_base64(str(document["public_key"]))
        return load_public_key(path)
    except AttestationError as exc:
        fail(f"{path}: {exc.reason}")
