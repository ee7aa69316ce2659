"""Server workers keep the garbage collector off their startup heap."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_worker_factory_freezes_the_startup_heap_when_the_app_starts(tmp_path: Path) -> None:
    # In a child process: freezing is for the process's whole life.
    script = textwrap.dedent(
        """
        import asyncio, gc, os, sys
        os.environ["REGISTRY_DATA_DIR"] = sys.argv[1]
        os.environ["REGISTRY_SCHEDULER"] = "0"
        from registry.app import create_app_from_env, settle_worker_heap
        app = create_app_from_env()
        assert settle_worker_heap in app.on_startup
        assert gc.get_freeze_count() == 0
        async def start():
            async with app.lifespan():
                print(gc.get_freeze_count(), gc.get_threshold()[0])
        asyncio.run(start())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frozen, threshold = done.stdout.split()
    assert int(frozen) > 10_000
    assert int(threshold) == 10_000
