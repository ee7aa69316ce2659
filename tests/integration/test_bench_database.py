"""A bench's setup and the server it starts use one database, on SQLite and PostgreSQL.

`bench/attestation_ingest.py` once filled a SQLite file while its server, reading
`REGISTRY_DATABASE_URL`, served PostgreSQL and refused every request with 401.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.engine import make_url

from bench.harness import bench_server_env, bench_settings
from registry.settings import Settings
from tests import conftest


def _server_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """The settings a `registry serve` started with `env` reads."""
    for name in ("REGISTRY_DATA_DIR", "REGISTRY_DATABASE_URL"):
        monkeypatch.setenv(name, env[name])
    return Settings.from_env()


def test_sqlite_setup_and_server_share_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a PostgreSQL URL both use the SQLite file in the scratch directory, even
    when the environment names another SQLite database."""
    monkeypatch.setenv("REGISTRY_DATABASE_URL", "sqlite+aiosqlite:////elsewhere/registry.db")
    with bench_settings("probe") as settings:
        assert settings.is_sqlite
        server = _server_settings(monkeypatch, bench_server_env(settings))
        assert server.effective_database_url == settings.effective_database_url
        assert str(settings.data_dir) in settings.effective_database_url


@pytest.mark.postgres
def test_postgres_setup_and_server_share_one_scratch_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a PostgreSQL URL both use one scratch database beside it, dropped afterwards."""
    if not conftest.POSTGRES_AVAILABLE:
        pytest.skip(conftest.PG_SKIP_REASON)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", conftest._pg_url(conftest.PG_ADMIN_DB))
    with bench_settings("probe") as settings:
        scratch = make_url(settings.database_url).database
        assert scratch is not None
        assert scratch != conftest.PG_ADMIN_DB
        server = _server_settings(monkeypatch, bench_server_env(settings))
        assert server.effective_database_url == settings.database_url
        assert scratch in asyncio.run(_databases())
    assert scratch not in asyncio.run(_databases())


async def _databases() -> set[str]:
    connection = await conftest._pg_admin()
    try:
        return {row["datname"] for row in await connection.fetch("SELECT datname FROM pg_database")}
    finally:
        await connection.close()
