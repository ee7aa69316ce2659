"""The README's walkthroughs, run from the README's own text, in order, with bash.

Every ```sh block that follows a `<!-- walkthrough: NAME -->` line is a step. The test
stands in for a fresh clone and `make run`: a scratch "clone" directory whose `.venv` is
this checkout's, the demo loaded into its `var/`, and `registry serve` on it. The
blocks then run as written in one bash (`set -euo pipefail`, so every command must exit
0), with three differences from a person at a terminal, all outside the README's text:

- the ports: `8000` (the `make run` server) and `8001` (the throwaway server of the
  certification and blacklist walkthroughs) become free ports, so that parallel test runs do not collide;
- `curl` fails on an HTTP error status and prints the problem (`fail-with-body` in a
  `.curlrc` under `CURL_HOME`), so a refused request fails the run instead of printing
  a problem nobody reads;
- no `REGISTRY_*` variable of the test's own environment leaks into the shell, and the
  `make run` stand-in runs without its scheduler, so only the walkthroughs change the demo.

On a quiet 2-CPU machine the run takes about a minute, most of it the two `registry
demo` loads and the start-up of each `registry` command.

At the end the `make run` demo must still be whole: every demo vendor's certificate as
it was before the walkthroughs, the L3 vendor still certified, every profile page
answering, and the throwaway server stopped.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.serving import REGISTRY, free_port, wait_until_ready
from public_site.badges.rendering import badge_message
from registry.certification.verdict import VerdictKind
from registry.demo import DEMO_VENDORS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- walkthrough: ([\w-]+) -->\s*\n```sh\n(.*?)\n```", re.S)
L3_VENDOR = DEMO_VENDORS[0][0]


def walkthrough_blocks(text: str) -> list[tuple[str, str]]:
    """(name, shell text) of every block marked for execution, in README order."""
    return BLOCK.findall(text)


def _certificates(base_url: str) -> dict[str, Any]:
    states: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for slug, *_ in DEMO_VENDORS:
            answer = client.get(f"/api/v1/vendors/{slug}/certification")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            states[slug] = (body.get("state"), body.get("level"), body.get("valid_until"))
    return states


@contextlib.contextmanager
def make_run(clone: Path, env: dict[str, str]) -> Iterator[str]:
    """What `make run` does in `clone` (the demo into ./var, then serve), on a free port
    and with the scheduler off so that nothing but the walkthroughs changes the demo;
    yields the base URL."""
    subprocess.run(
        [REGISTRY, "demo", "--if-empty"], cwd=clone, env=env, check=True, stdout=subprocess.DEVNULL
    )
    port = free_port()
    with subprocess.Popen(
        [REGISTRY, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=clone,
        env={**env, "REGISTRY_SCHEDULER": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as server:
        base_url = f"http://127.0.0.1:{port}"
        try:
            # A shared machine can take long to start it; this only guards against a hang.
            wait_until_ready(base_url, server, timeout_s=300)
            yield base_url
        finally:
            server.terminate()
            server.wait(timeout=60)


def test_the_readme_has_the_walkthroughs_in_order() -> None:
    """The blocks the walkthrough test runs are the README's, in the documented order."""
    names = [name for name, _ in walkthrough_blocks(README.read_text(encoding="utf-8"))]
    assert names == [
        "setup",
        "new-vendor",
        "transparency-log",
        "certification",
        "complaints",
        "triage",
        "public-site",
        "blacklist",
        "blacklist-repair",
    ]


def test_the_readme_walkthroughs_run_as_written_and_leave_the_demo_whole(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / ".venv").symlink_to(Path(sys.prefix))
    curl_home = tmp_path / "curl"
    curl_home.mkdir()
    (curl_home / ".curlrc").write_text("fail-with-body\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["CURL_HOME"] = str(curl_home)

    with make_run(clone, env) as base_url:
        main_port, throwaway_port = base_url.rsplit(":", 1)[1], str(free_port())
        script = ["set -euo pipefail"]
        for name, text in walkthrough_blocks(README.read_text(encoding="utf-8")):
            ported = re.sub(r"\b8001\b", throwaway_port, re.sub(r"\b8000\b", main_port, text))
            script += [f"echo '=== walkthrough: {name}' >&2", ported]
        before = _certificates(base_url)
        assert before[L3_VENDOR][:2] == ("active", 3)
        with subprocess.Popen(
            ["bash", "-c", "\n".join(script)],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: whatever the script leaves running is stopped below.
            start_new_session=True,
        ) as shell:
            try:
                output, _ = shell.communicate(timeout=600)  # a hang guard, not a timing check
            finally:
                if shell.poll() is None:
                    shell.kill()
                # The throwaway server, if the script failed before stopping it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(shell.pid, signal.SIGTERM)
        assert shell.returncode == 0, output[-6000:]

        assert _certificates(base_url) == before
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for slug, *_ in DEMO_VENDORS:
                assert client.get(f"/vendors/{slug}").status_code == 200
            badge = client.get(f"/badges/{L3_VENDOR}.json", params={"lang": "en"}).json()
            assert badge["message"] == badge_message(VerdictKind.CERTIFIED, 3, "en")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{throwaway_port}/healthz", timeout=2)
