"""In-process operator commands: they open the database themselves, on the server's machine.

The server and its schema, the demo federation, tokens and associations, the log's
checkpoints, the scheduled jobs and the scheduler. Each builds the same `Services` the
web app uses (`run_with_services`), so it can never skip a rule the API enforces.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from registry.cli.running import fail, guarded, run_with_services
from registry.kernel.caller import Role
from registry.kernel.clock import SystemClock
from registry.settings import Settings

if TYPE_CHECKING:
    from registry.services import Services


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--now",
    "now_text",
    default=None,
    help="start the server's clock at this ISO 8601 instant and let it run on from there "
    "(a throwaway federation's walkthrough; never in production); default: the wall clock",
)
def serve(host: str, port: int, workers: int, now_text: str | None) -> None:
    """Migrate the database, create keys if absent, and serve the API and site."""
    import uvicorn

    from registry.federation.keyring import load_or_create_federation_key
    from registry.kernel.clock import OffsetClock, parse_iso
    from registry.settings import hand_clock_offset_to_workers
    from registry.workers import reuse_port_available, serve_workers

    settings = Settings.from_env()
    if now_text:
        try:
            start = parse_iso(now_text)
        except ValueError:
            fail(f"--now must be an ISO 8601 time with a zone, not {now_text!r}")
        # Every worker reads it: one offset, fixed here, so they all tell the same time.
        offset = OffsetClock.starting_at(start).offset
        hand_clock_offset_to_workers(round(offset.total_seconds()))
    load_or_create_federation_key(settings)
    run_with_services(backfill_rollups)
    from registry.db.session import describe_database

    click.echo(f"Trust Registry on http://{host}:{port}; database: {describe_database(settings)}")
    if now_text:
        click.echo(f"the server's clock runs from {now_text}, not the wall clock")
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


async def backfill_rollups(services: Services) -> None:
    """After migrating: rebuild empty report rollups from existing complaints and
    certificates, saying so (a deployment upgraded past 0015_reports)."""
    from registry.reports.rollups import backfill_if_empty

    done = await backfill_if_empty(services.ctx.db)
    if done is not None:
        click.echo(
            f"report rollups were empty: rebuilt from {done.complaints} complaints, "
            f"{done.history} certificate transitions and audits and {done.case_steps} "
            "blacklist case steps",
            err=True,
        )


def _safe_url(settings: Settings) -> str:
    """The database URL without any password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (and fill the report rollups if they are empty while
    complaints exist, as after the upgrade to 0015_reports)."""
    run_with_services(backfill_rollups)
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


@click.command()
@click.option("--if-empty", is_flag=True, help="do nothing when vendors already exist")
@click.option(
    "--reset",
    is_flag=True,
    help="delete everything in the database first, then load the demo (asks first)",
)
@click.option("--yes", is_flag=True, help="with --reset: do not ask")
@click.option(
    "--complaints",
    "history",
    type=click.IntRange(min=0),
    default=None,
    help="complaints of history to write in bulk (default 3000; 1000000 for the bench)",
)
@click.option(
    "--months",
    type=click.IntRange(min=1, max=120),
    default=None,
    help="months the history spans, ending with the current one (default 24; 36 for the bench)",
)
def demo(if_empty: bool, reset: bool, yes: bool, history: int | None, months: int | None) -> None:
    """Load a realistic demo federation into an empty database (keys kept under
    <data dir>/demo-keys). With --reset, empty the database first: stop the server."""
    from registry.db.migrate import drop_everything, upgrade
    from registry.demo import load_demo
    from registry.demo_history import DEMO_HISTORY_COMPLAINTS, HISTORY_MONTHS

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
        return await load_demo(
            services,
            if_empty=if_empty,
            history=DEMO_HISTORY_COMPLAINTS if history is None else history,
            months=HISTORY_MONTHS if months is None else months,
        )

    click.echo(guarded(lambda: run_with_services(work)))


# --- administration -------------------------------------------------------------------


@click.group()
def admin() -> None:
    """Operator commands that act on the database directly."""


@admin.command("create-token")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--association", default=None, help="association slug (scoped roles; a partner's scope)"
)
@click.option("--vendor", default=None, help="vendor slug (vendor_admin)")
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="government_partner: GB/T 2260 province or prefecture code it may see; repeatable",
)
@click.option("--name", "display_name", default=None, help="who the token is for")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
def admin_create_token(
    role: str,
    association: str | None,
    vendor: str | None,
    regions: tuple[str, ...],
    display_name: str | None,
    days: int,
) -> None:
    """Create a principal with ROLE and print its token (shown once)."""
    chosen = Role(role)
    if regions and chosen is not Role.GOVERNMENT_PARTNER:
        fail("--region scopes government_partner tokens only")

    async def work(services: Services) -> Any:
        partner_scope: tuple[tuple[str, ...], tuple[int, ...]] | None = None
        if chosen is Role.GOVERNMENT_PARTNER:
            # Checked before anything is written: a bad code creates no principal.
            partner_scope = await services.reports.check_partner_scope(
                regions, [association] if association else []
            )
        issued = await services.accounts.create_principal_with_token(
            role=chosen,
            display_name=display_name or f"{role} (cli)",
            association_slug=None if partner_scope else association,
            vendor_slug=vendor,
            ttl=timedelta(days=days),
        )
        if partner_scope is not None:
            await services.reports.grant_partner_scope(issued.token_id, *partner_scope)
        return issued

    issued = guarded(lambda: run_with_services(work))
    # The token alone goes to stdout, so `TOKEN=$(registry admin create-token …)` works.
    click.echo(issued.token)
    scope = f"  regions: {' '.join(regions)}" if regions else ""
    click.echo(
        f"role: {issued.role.value}  expires: {issued.expires_at.isoformat()}{scope}\n"
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


@click.group()
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


# --- scheduled work -------------------------------------------------------------------


@click.group()
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


@click.command()
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
