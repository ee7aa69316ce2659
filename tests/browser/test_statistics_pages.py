"""/statistics and the partner dashboard in chromium: the charts are images with a name
and the same numbers as a table, in Chinese and English, without JavaScript; both pages
pass axe; a province partner signs in with its token into a Secure, HttpOnly,
SameSite=Strict session, sees its dashboard and signs out."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.serving import REGISTRY, registry_env
from tests.browser.demo_site import (
    ARTIFACTS,
    AXE_OPTIONS,
    AXE_RUN,
    AXE_SCRIPT,
    CHROMIUM,
    NEEDS_CHROMIUM,
    blocking_findings,
    report,
)

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect

LOCALES = {"zh": "zh-CN", "en": "en-GB"}


def axe(page: Page, where: str) -> list[str]:
    """Run axe-core in the open page; its blocking findings."""
    page.evaluate(AXE_SCRIPT)
    results: dict[str, Any] = page.evaluate(AXE_RUN, AXE_OPTIONS)
    return blocking_findings(results, where)


def partner_token(site_data: Path) -> str:
    """A government partner scoped to Beijing, made with the CLI beside the demo server."""
    made = subprocess.run(
        [REGISTRY, "admin", "create-token", "--role", "government_partner", "--region", "110000"],
        env=registry_env(site_data),
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.split()[0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_statistics_page_draws_its_charts_with_their_numbers(
    site: str, browser: Browser, lang: str
) -> None:
    """Every chart is an image named by its title, beside a table of its numbers; the page
    needs no script and passes axe."""
    context = browser.new_context(locale=LOCALES[lang], java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site}/statistics?lang={lang}")
    charts = page.locator("figure.chart")
    count = charts.count()
    # Four KPIs with figures in the demo (compliance and renewal have none yet), by
    # category, by month.
    assert count >= 6
    for index in range(count):
        figure = charts.nth(index)
        image = figure.get_by_role("img")
        expect(image).to_be_visible()
        title = figure.locator("table.chart-table caption").text_content() or ""
        expect(image).to_have_accessible_name(title)
        assert image.evaluate("e => e.complete && e.naturalWidth > 0")  # the SVG draws
        assert figure.locator("table.chart-table tbody tr").count() >= 7
    expect(page.locator("#kpi-satisfaction [data-field=met]")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"statistics-{lang}.png"), full_page=True)
    context.close()

    scripted = browser.new_context(locale=LOCALES[lang])
    page = scripted.new_page()
    page.goto(f"{site}/statistics?lang={lang}")
    findings = axe(page, f"{lang} /statistics")
    scripted.close()
    assert findings == [], report(findings)


def test_a_partner_signs_in_sees_its_province_and_signs_out(
    site: str, site_data: Path, browser: Browser
) -> None:
    """Sign-in with a token, the session cookie's attributes, the dashboard, sign-out."""
    token = partner_token(site_data)
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site}/partners?lang=zh")
    findings = axe(page, "zh /partners sign-in")
    page.fill("#token", token)
    page.locator("#token-form button").click()
    expect(page.locator("#sign-out-form")).to_be_visible()
    expect(page.locator("#partner-scope")).to_contain_text("北京市")
    (session,) = [c for c in context.cookies() if c["name"] == "partner_session"]
    assert session["secure"]
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert session["path"] == "/partners"
    expect(page.locator("#chart-complaints-by-prefecture")).to_be_visible()
    findings += axe(page, "zh /partners dashboard")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "partners-dashboard-zh.png"), full_page=True)

    page.locator("#sign-out-form button").click()
    expect(page.locator("#token-form")).to_be_visible()
    assert not [c for c in context.cookies() if c["name"] == "partner_session"]
    context.close()
    assert findings == [], report(findings)
