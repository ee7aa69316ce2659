"""What the browser tests share: where chromium is, how to reach the demo site it drives,
and the axe-core accessibility check.

axe-core comes from the `axe-playwright-python` package (it ships `axe.min.js`), so
nothing is downloaded at test time and the rules are the version pinned by the package.
"""

from __future__ import annotations

import importlib.resources
import json
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pytest

CHROMIUM: Final = Path("/usr/bin/chromium")
ARTIFACTS: Final = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS: Final = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=en-US",  # the browser's own UI locale: fixes the date field's segment order
]
NEEDS_CHROMIUM: Final = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests skipped: /usr/bin/chromium is missing (apt-get install chromium)",
)

AXE_SCRIPT: Final = (
    importlib.resources.files("axe_playwright_python").joinpath("axe.min.js").read_text("utf-8")
)
AXE_OPTIONS: Final = {
    # WCAG 2.0 and 2.1, levels A and AA, plus axe's best practices (landmarks, heading
    # order, one main, unique landmark names): the issue asks for landmarks explicitly.
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations", "incomplete"],
}
BLOCKING_IMPACTS: Final = frozenset({"serious", "critical"})
AXE_RUN: Final = "options => axe.run(document, options)"
"""Evaluated in the page after AXE_SCRIPT; Playwright's evaluate is not subject to the
page's CSP, so the site keeps its strict policy and the test needs no exception."""


def get(url: str) -> bytes:
    """GET a loopback URL (the demo server) and return the body."""
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only
        return bytes(answer.read())


def vendor_with_badge(base: str, message: str) -> str:
    """A demo vendor whose English badge message is `message`."""
    for slug, badge in badge_messages(base).items():
        if badge == message:
            return slug
    pytest.fail(f"the demo has no vendor whose badge reads {message!r}")


def badge_messages(base: str) -> dict[str, str]:
    """Every demo vendor's English badge message, by slug, in directory order."""
    messages: dict[str, str] = {}
    for vendor in json.loads(get(f"{base}/api/v1/vendors/?page_size=100"))["items"]:
        badge = json.loads(get(f"{base}/badges/{vendor['slug']}.json?lang=en"))
        messages[str(vendor["slug"])] = str(badge["message"])
    return messages


def blocking_findings(results: dict[str, Any], where: str) -> list[str]:
    """axe's findings that fail a test, as readable lines, one per rule and element.

    Every violation counts, whatever its impact: the pages have none, and the moderate
    ones are the landmark and heading rules the issue asks for. "Incomplete" results
    (axe could not decide alone, e.g. a name on an element whose role forbids one) count
    when serious or critical; each such case here was a real defect.
    """
    lines = []
    for kind in ("violations", "incomplete"):
        for rule in results.get(kind, []):
            if kind == "incomplete" and rule.get("impact") not in BLOCKING_IMPACTS:
                continue
            for node in rule["nodes"]:
                checks = node.get("any", []) + node.get("all", []) + node.get("none", [])
                why = "; ".join(check["message"] for check in checks) or rule["help"]
                target = " ".join(map(str, node["target"]))
                lines.append(f"{where}: {rule['id']} ({rule['impact']}, {kind}) at {target}: {why}")
    return lines


def report(findings: Iterable[str]) -> str:
    """One message listing every finding, for the assertion."""
    listed = list(findings)
    return f"{len(listed)} accessibility findings:\n" + "\n".join(listed)
