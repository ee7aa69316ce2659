"""A `registry` client command starts without loading the registry's services, the ORM or
the web framework: those load only when a command opens the database or serves. Every
command a walkthrough runs pays the start-up, so it stays small (about a quarter of
what it was when the CLI imported `registry.services` up front)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("registry.services", "registry.app", "sqlalchemy", "litestar")


def test_the_cli_imports_nothing_heavy_until_a_command_needs_it() -> None:
    probe = f"import sys, registry.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    assert loaded == ""
