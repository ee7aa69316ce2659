"""The `registry` command: server, database, demo data, keys and the vendor-side client.

Part of the composition root: it builds the same `Services` the web app uses, so a
command can never skip a rule the API enforces.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from attestations.canonical import parse_json
from attestations.envelope import PAYLOAD_TYPE_INTOTO, sign_envelope
from attestations.errors import AttestationError
from attestations.keys import SigningKey, load_signing_key
from registry.client import (
    RegistryClient,
    RegistryClientError,
    application_envelope,
    rotation_envelope,
)
from registry.datadir import PRIVATE_UMASK
from registry.errors import RegistryError
from registry.kernel.caller import Role
from registry.kernel.clock import Clock, SystemClock
from registry.services import Services
from registry.settings import Settings

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"
url_option = click.option(
    "--url", envvar="REGISTRY_URL", default=DEFAULT_URL, show_default=True, help="registry base URL"
)
token_option = click.option(
    "--token", envvar="REGISTRY_TOKEN", required=True, help="bearer token (or REGISTRY_TOKEN)"
)


def run_with_services(
    work: Callable[[Services], Awaitable[T]], *, migrate: bool = True, clock: Clock | None = None
) -> T:
    """Build services from the environment, run `work`, dispose of the engine.

    `clock` sets the time the services see (`jobs run --now`); default the wall clock.
    """
    from registry.app import build_context
    from registry.db.migrate import upgrade
    from registry.db.session import DatabaseUnavailable, check_connection

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
        fail(_client_error_message(exc))
    except httpx.TransportError as exc:
        fail(_unreachable_message(exc))
    except RegistryError as exc:
        fail(exc.detail)
    except AttestationError as exc:
        fail(exc.reason)
    return result  # type: ignore[return-value]


def _client_error_message(exc: RegistryClientError) -> str:
    """The problem's sentence, then the fields it names: what a person can act on."""
    fields = exc.problem.get("errors")
    if isinstance(fields, dict) and fields:
        named = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        return f"{exc} ({named})"
    return str(exc)


def _unreachable_message(exc: Exception) -> str:
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


@click.group()
@click.version_option(package_name="trust-registry")
def main() -> None:
    """Trust Registry: signed vendor certification with a verifiable transparency log."""


# --- server and database -------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Migrate the database, create keys if absent, and serve the API and site."""
    import uvicorn

    from registry.federation.keyring import load_or_create_federation_key
    from registry.workers import reuse_port_available, serve_workers

    settings = Settings.from_env()
    load_or_create_federation_key(settings)
    run_with_services(lambda _s: asyncio.sleep(0))
    from registry.db.session import describe_database

    click.echo(f"Trust Registry on http://{host}:{port}; database: {describe_database(settings)}")
    config: dict[str, Any] = {
        "app": "registry.app:create_app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        # The app reads forwarding headers itself, from REGISTRY_TRUSTED_PROXIES only;
        # uvicorn's own handling would trust any local peer's X-Forwarded-For.
        "proxy_headers": False,
    }
    if workers > 1 and reuse_port_available():
        # Each worker accepts on its own socket (see registry.workers).
        try:
            status = serve_workers(workers, **config)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
        sys.exit(status)
    uvicorn.run(workers=workers, **config)


def _safe_url(settings: Settings) -> str:
    """The database URL without any password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    run_with_services(lambda _s: asyncio.sleep(0))
    click.echo("database is at the newest migration")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (like `alembic check`)."""
    from registry.db.check import pending_model_changes

    diff = run_with_services(pending_model_changes)
    if diff:
        fail("models differ from migrations: " + "; ".join(diff))
    click.echo("models and migrations agree")


# --- demo data ------------------------------------------------------------------------


@main.command()
@click.option("--if-empty", is_flag=True, help="do nothing when vendors already exist")
@click.option(
    "--reset",
    is_flag=True,
    help="delete everything in the database first, then load the demo (asks first)",
)
@click.option("--yes", is_flag=True, help="with --reset: do not ask")
def demo(if_empty: bool, reset: bool, yes: bool) -> None:
    """Load a realistic demo federation into an empty database (keys kept under
    <data dir>/demo-keys). With --reset, empty the database first: stop the server."""
    from registry.db.migrate import drop_everything, upgrade
    from registry.demo import load_demo

    if if_empty and reset:
        raise click.UsageError("give --if-empty or --reset, not both")
    if yes and not reset:
        raise click.UsageError("--yes only confirms --reset")
    settings = Settings.from_env()
    if reset and not yes:
        click.confirm(
            f"This deletes every vendor, certificate, complaint and log entry in "
            f"{_safe_url(settings)} and loads the demo again (the federation key is "
            "kept). Stop any server using it first. Continue?",
            abort=True,
        )

    async def work(services: Services) -> str:
        if reset:
            await drop_everything(services.ctx.db)
            await upgrade(services.ctx.db)
        return await load_demo(services, if_empty=if_empty)

    click.echo(guarded(lambda: run_with_services(work)))


# --- keys and signing -----------------------------------------------------------------


@main.group()
def keys() -> None:
    """Ed25519 signing keys."""


@keys.command("generate")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def keys_generate(out: Path) -> None:
    """Write a new private key file (mode 0600) and print its key id."""
    if out.exists():
        fail(f"{out} exists; choose another file name")
    key = SigningKey.generate()
    key.save(out)
    public_path = out.with_suffix(".pub.json")
    public_path.write_text(json.dumps(key.public_key.to_file_dict(), indent=2) + "\n")
    click.echo(f"key id {key.key_id}\nprivate key {out} (keep it secret)\npublic key {public_path}")


@keys.command("rotate")
@click.option("--vendor", required=True, help="vendor slug")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--new-key", "new_key_path", required=True, type=click.Path(exists=True, path_type=Path)
)
@url_option
def keys_rotate(vendor: str, key_path: Path, new_key_path: Path, url: str) -> None:
    """Register NEW-KEY for VENDOR, signed by the current KEY and the new one."""

    def work() -> Any:
        current, new = load_signing_key(key_path), load_signing_key(new_key_path)
        client = RegistryClient(url)
        try:
            client.login(current)
            envelope = rotation_envelope(current, new, vendor=vendor, issued_at=SystemClock().now())
            return client.request(
                "POST", f"/api/v1/vendors/{vendor}/keys/", json=envelope.to_dict()
            )
        finally:
            client.close()

    print_json(guarded(work))


@keys.command("list")
@click.option("--vendor", required=True, help="vendor slug")
@click.option(
    "--status",
    type=click.Choice(["pending", "active", "revoked"]),
    default=None,
    help="only keys in this state",
)
@click.option(
    "--ids-only",
    is_flag=True,
    help="print only the key ids, one a line, e.g. for KEY_ID=$(registry keys list … | sed -n 1p)",
)
@url_option
def keys_list(vendor: str, status: str | None, ids_only: bool, url: str) -> None:
    """Every key VENDOR ever registered, oldest first, with its state (public)."""
    listed = guarded(lambda: _call(url, None, "GET", f"/api/v1/vendors/{vendor}/keys/"))
    chosen = [key for key in listed if status is None or key["status"] == status]
    for key in chosen:
        if ids_only:
            click.echo(key["key_id"])
            continue
        line = f"{key['key_id']}  {key['status']:<8}  registered {key['created_at']}"
        if key.get("revoked_at"):
            line += f"  revoked {key['revoked_at']}: {key.get('revocation_reason') or ''}"
        click.echo(line.rstrip(": "))
    if not chosen and not ids_only:
        click.echo(f"no {status + ' ' if status else ''}keys for {vendor}", err=True)


@keys.command("revoke")
@click.argument("key_id")
@click.option("--reason", required=True)
@click.option(
    "--compromised-since",
    default=None,
    help="ISO 8601 instant the key was compromised from (between its registration and now); "
    "what it signed since is listed by `registry keys compromised`",
)
@token_option
@url_option
def keys_revoke(
    key_id: str, reason: str, compromised_since: str | None, token: str, url: str
) -> None:
    """Revoke a key now, with every token it logged in for (vendor or association admin)."""

    def work() -> Any:
        client = RegistryClient(url, token)
        try:
            body: dict[str, Any] = {"reason": reason}
            if compromised_since:
                body["compromised_since"] = compromised_since
            return client.request("POST", f"/api/v1/keys/{key_id}/revoke", json=body)
        finally:
            client.close()

    print_json(guarded(work))


@keys.command("compromised")
@click.argument("key_id")
@token_option
@url_option
def keys_compromised(key_id: str, token: str, url: str) -> None:
    """List the records KEY_ID signed after it was compromised (vendor, its association's
    admins or the federation admin)."""

    def work() -> Any:
        client = RegistryClient(url, token)
        try:
            return client.request("GET", f"/api/v1/keys/{key_id}/compromised-records")
        finally:
            client.close()

    print_json(guarded(work))


@main.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--in", "in_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_path", type=click.Path(path_type=Path), help="default: stdout")
@click.option("--payload-type", default=PAYLOAD_TYPE_INTOTO, show_default=True)
def sign(key_path: Path, in_path: Path, out_path: Path | None, payload_type: str) -> None:
    """Wrap a JSON statement file into a DSSE envelope signed with KEY."""
    from attestations.canonical import canonicalize

    def work() -> str:
        statement = parse_json(in_path.read_bytes())
        envelope = sign_envelope(
            canonicalize(statement), [load_signing_key(key_path)], payload_type
        )
        return json.dumps(envelope.to_dict(), indent=2)

    text = guarded(work)
    if out_path is None:
        click.echo(text)
    else:
        out_path.write_text(text + "\n")
        click.echo(f"wrote {out_path}")


# --- vendor-side client ---------------------------------------------------------------


@main.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--association", required=True, help="association slug, e.g. csia")
@click.option("--credit-code", required=True, help="18-character unified social credit code")
@click.option("--slug", required=True, help="URL name, e.g. acme-cloud")
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option("--domain", "domains", multiple=True, help="repeat for each domain")
@click.option("--website", default=None)
@click.option("--email", "contact_email", default=None)
@click.option(
    "--id-only",
    is_flag=True,
    help="print only the application id, e.g. for APPLICATION_ID=$(registry apply … --id-only)",
)
@url_option
def apply(
    key_path: Path,
    association: str,
    credit_code: str,
    slug: str,
    name_zh: str,
    name_en: str,
    domains: tuple[str, ...],
    website: str | None,
    contact_email: str | None,
    id_only: bool,
    url: str,
) -> None:
    """Apply to join an association, signing the application with KEY."""

    def work() -> Any:
        envelope = application_envelope(
            load_signing_key(key_path),
            association=association,
            credit_code=credit_code,
            slug=slug,
            name_zh=name_zh,
            name_en=name_en,
            domains=domains,
            issued_at=SystemClock().now(),
            website=website,
            contact_email=contact_email,
        )
        client = RegistryClient(url)
        try:
            return client.request("POST", "/api/v1/applications/", json=envelope.to_dict())
        finally:
            client.close()

    answer = guarded(work)
    if id_only:
        click.echo(answer["id"])
    else:
        print_json(answer)


@main.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--token-only",
    is_flag=True,
    help="print only the token, e.g. for export REGISTRY_TOKEN=$(registry login … --token-only)",
)
@url_option
def login(key_path: Path, url: str, token_only: bool) -> None:
    """Sign a login challenge with KEY and print the bearer token."""

    def work() -> Any:
        client = RegistryClient(url)
        try:
            return client.login(load_signing_key(key_path))
        finally:
            client.close()

    answer = guarded(work)
    if token_only:
        click.echo(answer["token"])
    else:
        print_json(answer)


@main.group()
def applications() -> None:
    """Review applications (association admin token)."""


@applications.command("list")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected"]), default=None)
@token_option
@url_option
def applications_list(status: str | None, token: str, url: str) -> None:
    """List applications to your association."""
    params = {"status": status} if status else {}
    print_json(guarded(lambda: _call(url, token, "GET", "/api/v1/applications/", params=params)))


@applications.command("approve")
@click.argument("application_id", type=int)
@click.option("--reason", default="")
@token_option
@url_option
def applications_approve(application_id: int, reason: str, token: str, url: str) -> None:
    """Approve an application."""
    path = f"/api/v1/applications/{application_id}/approve"
    print_json(guarded(lambda: _call(url, token, "POST", path, json={"reason": reason})))


@applications.command("reject")
@click.argument("application_id", type=int)
@click.option("--reason", required=True)
@token_option
@url_option
def applications_reject(application_id: int, reason: str, token: str, url: str) -> None:
    """Reject an application with a reason."""
    path = f"/api/v1/applications/{application_id}/reject"
    print_json(guarded(lambda: _call(url, token, "POST", path, json={"reason": reason})))


@main.group()
def domains() -> None:
    """Prove control of your listed domains (vendor admin token)."""


@domains.command("list")
@click.argument("vendor")
@token_option
@url_option
def domains_list(vendor: str, token: str, url: str) -> None:
    """Your domains, each pending or verified, with the token to serve and where."""
    path = f"/api/v1/vendors/{vendor}/domains/"
    print_json(guarded(lambda: _call(url, token, "GET", path)))


@domains.command("verify")
@click.argument("vendor")
@click.argument("domain")
@token_option
@url_option
def domains_verify(vendor: str, domain: str, token: str, url: str) -> None:
    """Ask the registry to fetch https://DOMAIN/.well-known/trust-registry.txt now."""
    path = f"/api/v1/vendors/{vendor}/domains/{domain}/verify"
    print_json(guarded(lambda: _call(url, token, "POST", path)))


def _call(url: str, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    client = RegistryClient(url, token)
    try:
        return client.request(method, path, **kwargs)
    finally:
        client.close()


# --- administration -------------------------------------------------------------------


@main.group()
def admin() -> None:
    """Operator commands that act on the database directly."""


@admin.command("create-token")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--association", default=None, help="association slug (scoped roles)")
@click.option("--vendor", default=None, help="vendor slug (vendor_admin)")
@click.option("--name", "display_name", default=None, help="who the token is for")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
def admin_create_token(
    role: str, association: str | None, vendor: str | None, display_name: str | None, days: int
) -> None:
    """Create a principal with ROLE and print its token (shown once)."""

    async def work(services: Services) -> Any:
        return await services.accounts.create_principal_with_token(
            role=Role(role),
            display_name=display_name or f"{role} (cli)",
            association_slug=association,
            vendor_slug=vendor,
            ttl=timedelta(days=days),
        )

    issued = guarded(lambda: run_with_services(work))
    # The token alone goes to stdout, so `TOKEN=$(registry admin create-token …)` works.
    click.echo(issued.token)
    click.echo(
        f"role: {issued.role.value}  expires: {issued.expires_at.isoformat()}\n"
        "store it now: it is not shown again and only its hash is kept",
        err=True,
    )


@admin.command("create-association")
@click.option("--slug", required=True)
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
def admin_create_association(slug: str, name_zh: str, name_en: str) -> None:
    """Create an association of the federation."""

    async def work(services: Services) -> str:
        association = await services.federation.ensure_association(slug, name_zh, name_en)
        return association.slug

    click.echo(f"association {guarded(lambda: run_with_services(work))} ready")


# --- transparency log -----------------------------------------------------------------


def _verifier_key_option(
    verifier_key: str | None, public_key_path: Path | None, origin: str | None
) -> str:
    """The C2SP verifier key from `--verifier-key`, or from `--public-key` and `--origin`.

    A public key file may be a registry key file or the saved answer of
    GET /api/v1/federation/key (which names its verifier key and origin).
    """
    from attestations.checkpoint import verifier_key as make_verifier_key
    from attestations.errors import KeyFormatError
    from attestations.keys import load_public_key

    if verifier_key and public_key_path:
        raise click.UsageError("give --verifier-key or --public-key, not both")
    if verifier_key:
        return verifier_key.strip()
    if public_key_path is None:
        raise click.UsageError("give the federation key: --verifier-key or --public-key FILE")
    try:
        public_key = load_public_key(public_key_path)
    except KeyFormatError:
        document = parse_json(public_key_path.read_bytes())
        if isinstance(document, dict) and isinstance(document.get("verifier_key"), str):
            return str(document["verifier_key"])
        raise
    if not origin:
        raise click.UsageError("--public-key needs --origin, the log origin (its key name)")
    return make_verifier_key(origin, public_key)


@main.command()
@click.option(
    "--entry",
    "entry_path",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="saved answer of GET /api/v1/log/entries/{index}",
)
@click.option("--verifier-key", default=None, help="C2SP verifier key of the federation")
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, path_type=Path),
    help="federation public key file (with --origin)",
)
@click.option("--origin", default=None, help="log origin; pins the checkpoint's origin line")
@click.option(
    "--envelope",
    "envelope_path",
    type=click.Path(exists=True, path_type=Path),
    help="a DSSE envelope that must be the one logged in the entry",
)
@click.option(
    "--signer-key",
    "signer_key_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="public key file that must have signed the envelope; repeat for each",
)
def verify(
    entry_path: Path,
    verifier_key: str | None,
    public_key_path: Path | None,
    origin: str | None,
    envelope_path: Path | None,
    signer_key_paths: tuple[Path, ...],
) -> None:
    """Check a log entry, its inclusion proof and signed checkpoint offline.

    Prints "valid" and what was checked, or exits 1 with the reason it is not.
    """
    from attestations.envelope import Envelope
    from attestations.keys import b64encode, load_public_key
    from registry.transparency.offline import verify_entry_bundle

    try:
        key = _verifier_key_option(verifier_key, public_key_path, origin)
        bundle = parse_json(entry_path.read_bytes())
        envelope = Envelope.from_json(envelope_path.read_bytes()) if envelope_path else None
        signers = [load_public_key(path) for path in signer_key_paths]
        result = verify_entry_bundle(
            bundle, key, origin=origin, envelope=envelope, signer_keys=signers
        )
    except AttestationError as exc:
        click.secho(f"invalid: {exc.reason}", fg="red", err=True)
        sys.exit(1)
    checkpoint = result.checkpoint
    click.echo("valid")
    click.echo(
        f"  checkpoint  {checkpoint.origin}, tree size {checkpoint.size}, "
        f"root {b64encode(checkpoint.root_hash)}, signed by {result.signer}"
    )
    click.echo(
        f"  inclusion   leaf {result.index} (leaf hash {result.leaf_hash.hex()}) is in that "
        f"tree, by {result.proof_length} proof hashes"
    )
    vendor = result.entry.get("vendor")
    click.echo(
        f"  entry       {result.entry.get('type')} recorded at {result.entry.get('recorded_at')}"
        + (f" for vendor {vendor}" if vendor else "")
    )
    if result.envelope_digest is not None:
        which = "the given envelope is the one logged" if envelope else "the logged envelope"
        click.echo(f"  envelope    {which} (sha256 {result.envelope_digest})")
    for key_id in result.envelope_signers:
        click.echo(f"  signature   by key {key_id} verifies")


@main.group()
def log() -> None:
    """Transparency log: checkpoints and monitoring."""


@log.command("sign-checkpoint")
def log_sign_checkpoint() -> None:
    """Sign a checkpoint now if the log grew since the last one."""

    async def work(services: Services) -> str:
        checkpoint = await services.log.sign_checkpoint_if_grown()
        if checkpoint is None:
            return "the log did not grow since the last checkpoint; nothing signed"
        return f"signed the checkpoint of size {checkpoint.size}"

    click.echo(guarded(lambda: run_with_services(work)))


@log.command("monitor")
@click.option("--url", envvar="REGISTRY_URL", required=True, help="registry base URL")
@click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file holding the pinned key and the last checkpoint seen",
)
def log_monitor(url: str, state_path: Path) -> None:
    """Verify the latest checkpoint extends the last one seen; exit 2 on a fork or rollback.

    The first run pins the federation's verifier key (trust on first use); a later change
    of key is refused. Exit 0: consistent; 1: could not check; 2: the log misbehaved.
    """
    import httpx

    from registry.transparency.monitor import MonitorAlarm, MonitorError, check_log

    async def work() -> str:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            report = await check_log(client, state_path)
        return report.summary()

    try:
        click.echo(asyncio.run(work()))
    except MonitorAlarm as exc:
        click.secho(f"ALARM: {exc}", fg="red", err=True)
        sys.exit(2)
    except MonitorError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)


@main.group()
def badge() -> None:
    """Signed badge tokens."""


@badge.command("verify")
@click.argument("token")
@click.option(
    "--public-key",
    "public_key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="federation public key: a key file or the saved answer of /api/v1/federation/key",
)
@click.option("--url", default=None, help="fetch the federation key from this registry instead")
@click.option("--vendor", default=None, help="also require the token to be about this vendor")
def badge_verify(
    token: str, public_key_path: Path | None, url: str | None, vendor: str | None
) -> None:
    """Check a badge token's signature and lifetime offline; print what it states.

    Exit 0 when the token is genuine and current (whether or not the vendor is
    certified: read the `certified` line); 1 when it is forged, expired or malformed.
    """
    import httpx

    from attestations.badge_token import verify_badge_token
    from attestations.keys import PublicKey

    if (public_key_path is None) == (url is None):
        raise click.UsageError("give exactly one of --public-key FILE or --url URL")
    try:
        if public_key_path is not None:
            public_key = _federation_public_key_file(public_key_path)
        else:
            public_key = PublicKey.from_base64(
                _call(str(url), None, "GET", "/api/v1/federation/key")["public_key"]
            )
        claims = verify_badge_token(token, public_key, SystemClock().now())
    except RegistryClientError as exc:
        fail(_client_error_message(exc))
    except httpx.TransportError as exc:
        fail(_unreachable_message(exc))
    except AttestationError as exc:
        click.secho(f"invalid: {exc.reason}", fg="red", err=True)
        sys.exit(1)
    if vendor is not None and claims.vendor != vendor:
        click.secho(
            f"invalid: the token is about {claims.vendor!r}, not {vendor!r}", fg="red", err=True
        )
        sys.exit(1)
    click.echo("valid")
    print_json(claims.to_dict())


def _federation_public_key_file(path: Path) -> Any:
    """A public key from a key file, or from a saved /api/v1/federation/key answer."""
    from attestations.keys import PublicKey, load_public_key

    try:
        return load_public_key(path)
    except AttestationError:
        document = parse_json(path.read_bytes())
        if isinstance(document, dict) and isinstance(document.get("public_key"), str):
            return PublicKey.from_base64(document["public_key"])
        raise


# --- certification: jobs, scheduler, attestations and audits ----------------------------


@main.group()
def jobs() -> None:
    """Scheduled jobs (expiry, renewal reminders, overdue audits, webhooks, checkpoints...)."""


@jobs.command("list")
def jobs_list() -> None:
    """The jobs the scheduler runs, in the order `jobs run` runs them."""
    from registry.scheduling import JOBS

    settings = Settings.from_env()
    for job in JOBS:
        click.echo(f"{job.id}\tevery {job.interval(settings)} s")


@jobs.command("run")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="ISO 8601 instant to run at (e.g. 2027-06-01T00:00:00Z); default: the wall clock",
)
@click.option("--job", "job_ids", multiple=True, help="run only these job ids (repeatable)")
def jobs_run(now_text: str | None, job_ids: tuple[str, ...]) -> None:
    """Run every job once, at the wall clock or at --now: due work is caught up, idempotently."""
    from registry.kernel.clock import ManualClock, parse_iso
    from registry.scheduling import JOBS, run_jobs_once

    try:
        clock = ManualClock(parse_iso(now_text)) if now_text else SystemClock()
    except ValueError:
        fail(f"--now must be an ISO 8601 time with a zone, not {now_text!r}")
    unknown = set(job_ids) - {job.id for job in JOBS}
    if unknown:
        fail(f"no job {', '.join(sorted(unknown))}; see `registry jobs list`")
    selected = [job for job in JOBS if not job_ids or job.id in job_ids]
    ran = guarded(lambda: run_with_services(lambda s: run_jobs_once(s, selected), clock=clock))
    click.echo(f"ran {', '.join(ran)} at {clock.now().isoformat()}")


@main.command()
def scheduler() -> None:
    """Run the scheduler alone (for multi-worker deployments: start `serve` with
    REGISTRY_SCHEDULER=0). A database lock keeps exactly one scheduler active."""
    from registry.scheduling import start_scheduler

    async def work(services: Services) -> None:
        runner = await start_scheduler(services)
        click.echo("scheduler running; Ctrl-C to stop")
        try:
            await asyncio.Event().wait()
        finally:
            await runner.stop()

    try:
        run_with_services(work)
    except KeyboardInterrupt:
        click.echo("scheduler stopped")


def _period_option(name: str, help_text: str) -> Callable[[Callable[..., Any]], Any]:
    return click.option(name, required=True, help=help_text + " (ISO 8601 with zone)")


@main.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--vendor", required=True, help="vendor slug")
@_period_option("--period-start", "start of the attested period")
@_period_option("--period-end", "end of the attested period")
@click.option("--scheme", default="consumer-protection@1", show_default=True)
@click.option("--unmet", multiple=True, help="criterion id claimed as not met (repeatable)")
@url_option
def attest(
    key_path: Path,
    vendor: str,
    period_start: str,
    period_end: str,
    scheme: str,
    unmet: tuple[str, ...],
    url: str,
) -> None:
    """Sign a self-regulation attestation with KEY, log in with it and submit it."""
    from registry.certification.signing import attestation_envelope
    from registry.kernel.clock import parse_iso

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = attestation_envelope(
            key,
            vendor=vendor,
            period=(parse_iso(period_start), parse_iso(period_end)),
            issued_at=SystemClock().now(),
            scheme=scheme,
            unmet=unmet,
        )
        client = RegistryClient(url)
        try:
            client.login(key)
            client.request(
                "POST", f"/api/v1/vendors/{vendor}/attestations", json=envelope.to_dict()
            )
            return client.request("GET", f"/api/v1/vendors/{vendor}/certification")
        finally:
            client.close()

    print_json(guarded(work))


@main.group()
def auditors() -> None:
    """Accredited auditor organisations (accredited by a federation admin token)."""


@auditors.command("list")
@url_option
def auditors_list(url: str) -> None:
    """Every accredited auditor organisation, with scope and validity (public)."""
    print_json(guarded(lambda: _call(url, None, "GET", "/api/v1/auditors/")))


@auditors.command("accredit")
@click.option("--slug", required=True, help="URL name of the organisation, e.g. zhengxin-audit")
@click.option("--name-zh", required=True)
@click.option("--name-en", required=True)
@click.option(
    "--public-key",
    "key_paths",
    required=True,
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="the auditor's public key file (registry keys generate writes one); repeat for each",
)
@click.option("--scope", required=True, multiple=True, help="association slug it may audit; repeat")
@click.option("--from", "accredited_from", required=True, help="ISO 8601, start of validity")
@click.option("--until", "accredited_until", required=True, help="ISO 8601, end of validity")
@token_option
@url_option
def auditors_accredit(
    slug: str,
    name_zh: str,
    name_en: str,
    key_paths: tuple[Path, ...],
    scope: tuple[str, ...],
    accredited_from: str,
    accredited_until: str,
    token: str,
    url: str,
) -> None:
    """Accredit an auditor organisation; its keys can then log in and sign audit results."""
    from attestations.keys import load_public_key

    def work() -> Any:
        body = {
            "slug": slug,
            "name_zh": name_zh,
            "name_en": name_en,
            "public_keys": [load_public_key(path).to_base64() for path in key_paths],
            "scope": list(scope),
            "accredited_from": accredited_from,
            "accredited_until": accredited_until,
        }
        return _call(url, token, "POST", "/api/v1/auditors/", json=body)

    print_json(guarded(work))


@main.group()
def audit() -> None:
    """Audit results (accredited auditors)."""


@audit.command("submit")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--auditor", required=True, help="auditor slug")
@click.option("--vendor", required=True, help="vendor slug")
@_period_option("--period-start", "start of the audited period")
@_period_option("--period-end", "end of the audited period")
@click.option("--report", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--fail", "failed", is_flag=True, help="the vendor failed the audit")
@click.option("--next-due", default=None, help="when the next audit is due (ISO 8601)")
@url_option
def audit_submit(
    key_path: Path,
    auditor: str,
    vendor: str,
    period_start: str,
    period_end: str,
    report: Path,
    failed: bool,
    next_due: str | None,
    url: str,
) -> None:
    """Sign an audit result (with the report's SHA-256) with KEY, log in and submit it."""
    from registry.certification.signing import audit_envelope
    from registry.kernel.clock import parse_iso

    def work() -> Any:
        key = load_signing_key(key_path)
        envelope = audit_envelope(
            key,
            auditor=auditor,
            vendor=vendor,
            period=(parse_iso(period_start), parse_iso(period_end)),
            issued_at=SystemClock().now(),
            report=report.read_bytes(),
            passed=not failed,
            next_audit_due=parse_iso(next_due) if next_due else None,
        )
        client = RegistryClient(url)
        try:
            client.login(key)
            client.request("POST", "/api/v1/audits", json=envelope.to_dict())
            return client.request("GET", f"/api/v1/vendors/{vendor}/certification")
        finally:
            client.close()

    print_json(guarded(work))


@main.command()
@click.argument("slug")
@click.option("--history", is_flag=True, help="also list every transition and its cause")
@url_option
def certificate(slug: str, history: bool, url: str) -> None:
    """Show a vendor's public certificate (state, level, validity, scheme, log index)."""
    status = guarded(lambda: _call(url, None, "GET", f"/api/v1/vendors/{slug}/certification"))
    if history:
        status["history"] = guarded(
            lambda: _call(url, None, "GET", f"/api/v1/vendors/{slug}/certification/history")
        )
    print_json(status)


# Groups in modules of their own import the helpers above, so they are loaded last.
main.add_command(importlib.import_module("registry.cli_blacklist").blacklist)
importlib.import_module("registry.cli_blacklist_votes")  # committee commands join `blacklist`

if __name__ == "__main__":
    main()
