"""The data directory is private (0700, every file 0600), and a bad
REGISTRY_DATABASE_URL stops the `registry` command with one clear line."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from bench.serving import REGISTRY, free_port, registry_env, registry_server
from registry.db.migrate import upgrade
from registry.db.session import Database, create_engine
from registry.settings import Settings

UNREGISTERED_FILING = {
    "subject_kind": "domain",
    "subject_value": "private-files.example.com",
    "product": "会员",
    "category": "billing_refund",
    "description": "扣费后无法退款",
    "desired_remedy": "退款",
    "region": "110000",
    "occurred_on": "2026-11-01",
    "contact_name": "王五",
    "contact_phone": "13700137000",
}


def _modes(root: Path) -> dict[str, int]:
    """Every path under `root` (itself included) with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_a_serving_registry_keeps_its_data_dir_private(tmp_path: Path) -> None:
    """`registry serve` on a new data directory, a complaint filed (database, WAL, keys):
    the directories are 0700 and every file 0600, whatever the umask of the caller."""
    data_dir = tmp_path / "var"
    previous = os.umask(0o022)
    try:
        with registry_server(data_dir) as base_url:
            filed = httpx.post(f"{base_url}/api/v1/complaints/", json=UNREGISTERED_FILING)
            assert filed.status_code == 201, filed.text
            modes = _modes(data_dir)
    finally:
        os.umask(previous)
    assert {"registry.db", "registry.db-wal", "keys/pii.key", "keys/federation.key"} <= set(modes)
    for name, mode in modes.items():
        expected = 0o700 if (data_dir / name).is_dir() else 0o600
        assert mode == expected, f"{name} is {mode:o}, expected {expected:o}"


async def test_an_older_install_is_tightened_at_start(tmp_path: Path) -> None:
    """Files an older version left 0644 (and a 0755 directory) become private when the
    registry opens the database again."""
    settings = Settings(data_dir=tmp_path / "var")
    settings.data_dir.mkdir(mode=0o755)
    os.chmod(settings.data_dir, 0o755)  # noqa: S103 - what an older install left
    for name in ("registry.db", "registry.db-wal", "registry.db-shm"):
        (settings.data_dir / name).touch()
        os.chmod(settings.data_dir / name, 0o644)
    db = Database(create_engine(settings))
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    modes = _modes(settings.data_dir)
    assert modes.pop(".") == 0o700
    assert "registry.db" in modes
    assert dict.fromkeys(modes, 0o600) == modes


UPGRADE = ["db", "upgrade"]
SERVE = ["serve", "--port", "0"]


@pytest.mark.parametrize(
    ("command", "url", "says"),
    [
        (UPGRADE, "mysql://registry@127.0.0.1/registry", "mysql://"),
        (UPGRADE, "postgresql+nosuchdriver://registry@127.0.0.1/registry", "nosuchdriver"),
        (UPGRADE, "postgresql://registry@127.0.0.1/registry", "postgresql://"),
        (UPGRADE, "not a url at all", "not a database URL"),
        (UPGRADE, "postgresql+asyncpg://registry@127.0.0.1:{port}/registry", "cannot connect"),
        (SERVE, "postgresql+nosuchdriver://registry@127.0.0.1/registry", "nosuchdriver"),
        (SERVE, "postgresql+asyncpg://registry@127.0.0.1:{port}/registry", "cannot connect"),
    ],
)
def test_a_bad_database_url_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str], url: str, says: str
) -> None:
    """Wrong scheme, missing driver, unreachable host (a closed loopback port): exit 1
    with one line on stderr that names REGISTRY_DATABASE_URL, and no traceback."""
    env = {
        **registry_env(tmp_path / "var"),
        "REGISTRY_DATABASE_URL": url.format(port=free_port()),
    }
    result = subprocess.run(
        [REGISTRY, *command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "REGISTRY_DATABASE_URL" in lines[0]
    assert says in lines[0]
    assert "Traceback" not in result.stderr
