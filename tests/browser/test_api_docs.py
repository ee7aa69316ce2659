"""The API reference at /api/docs in a real browser with every non-loopback request
blocked: Swagger UI comes from this server, starts under the page's strict CSP, and
renders the operations of the served OpenAPI document."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.demo_site import CHROMIUM, NEEDS_CHROMIUM

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, ConsoleMessage, Route, expect

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def test_api_docs_render_offline_under_a_strict_csp(site: str, browser: Browser) -> None:
    """No request leaves the machine, no CSP violation is reported, operations render."""
    context = browser.new_context(locale="en-GB")
    blocked: list[str] = []
    requested: list[str] = []

    def only_loopback(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).hostname in LOOPBACK or url.startswith("data:"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(_line(message)))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))

    answer = page.goto(site + "/api/docs")
    assert answer is not None
    assert answer.ok
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp

    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    summaries = page.locator(".opblock-summary-path")
    expect(summaries.filter(has_text="/api/v1/vendors/{slug}/attestations").first).to_be_visible()
    assert summaries.count() > 40
    # Open one operation: its parameters and problem+json answers are listed.
    page.locator(".opblock-summary", has_text="/api/v1/vendors/{slug}/webhooks").first.click()
    expect(page.locator(".opblock-body").first).to_contain_text("application/problem+json")

    assert blocked == [], f"the page asked the network for {blocked}"
    assert any(url.endswith("/api/docs/assets/swagger-ui-bundle.js") for url in requested)
    violations = [line for line in console if "Content Security Policy" in line]
    assert violations == [], violations
    assert [line for line in console if line.startswith("pageerror")] == []
    context.close()


def _line(message: ConsoleMessage) -> str:
    return f"{message.type}: {message.text}"
