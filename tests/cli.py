"""Driving the `registry` CLI from tests, as a user would from a shell."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner, Result

from registry.cli import main
from registry.services import Services


async def run_cli(args: list[str], env: dict[str, str] | None = None) -> Result:
    """Run a `registry` command in a thread (it blocks on HTTP to the test's own server)."""
    return await asyncio.to_thread(CliRunner().invoke, main, args, env=env)


def operator_env(services: Services) -> dict[str, str]:
    """The environment of an operator on the server's machine (commands that open the DB)."""
    settings = services.ctx.settings
    env = {"REGISTRY_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["REGISTRY_DATABASE_URL"] = settings.database_url
    return env
