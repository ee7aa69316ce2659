"""Accessibility of every public page, in Chinese and English: axe-core (WCAG 2.0/2.1 A and
AA, plus axe's best practices) runs inside chromium on each page and any serious or
critical finding fails the test; then the home search and the complaint form are used
from the keyboard alone, every stop showing a visible focus ring.

Pages: home, search results (a match and no match), a vendor profile and verify page for
every certification state the demo holds, handbook, guide, transparency, the blacklist
(with and without a search) and a listing record in each listing state, a 404, the
complaint form (empty, with a vendor search, with a vendor preselected, and sent back
with errors), the filed page, the tracking form and the complaint as its filer sees it;
then a complaint about a member vendor once the vendor has answered (the accept and
reject forms), once accepted (the rating form) and once rated.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bench.serving import REGISTRY, registry_env
from tests.browser.demo_site import (
    AXE_OPTIONS,
    AXE_RUN,
    AXE_SCRIPT,
    CHROMIUM,
    NEEDS_CHROMIUM,
    badge_messages,
    blocking_findings,
    get,
    report,
)

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect

LOCALES = {"zh": "zh-CN", "en": "en-GB"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
FOCUS_STATE = """() => {
    const e = document.activeElement;
    const style = getComputedStyle(e);
    return {
        key: e.id || e.getAttribute('name') || e.tagName.toLowerCase() + '.' + e.className,
        outline: style.outlineStyle,
        width: parseFloat(style.outlineWidth),
    };
}"""
"""Which element has focus and how its focus ring is drawn."""


def axe(page: Page, where: str) -> list[str]:
    """Run axe-core in the open page; its blocking findings."""
    page.evaluate(AXE_SCRIPT)
    results: dict[str, Any] = page.evaluate(AXE_RUN, AXE_OPTIONS)
    return blocking_findings(results, where)


def blacklist_records(site: str) -> list[str]:
    """One listing record per listing state the demo holds (in force, retracted, repaired,
    expired), as the list links them."""
    html = get(f"{site}/blacklist?lang=en").decode()
    rows = re.findall(r'data-reference="(BL-[0-9-]+)" data-state="(\w+)"', html)
    by_state = {state: reference for reference, state in reversed(rows)}
    assert set(by_state) == {"listed", "retracted", "repaired", "expired"}
    return [f"/blacklist/{reference}" for reference in by_state.values()]


def public_paths(site: str) -> list[str]:
    """The GET pages to check: fixed pages plus one profile and verify page per badge face."""
    paths = [
        "/",
        "/?q=云栈",
        "/?q=no-such-vendor-anywhere",
        "/handbook",
        "/guide",
        "/transparency",
        "/transparency/entries/0",
        "/transparency/entries/5",
        "/developers",
        "/vendors/no-such-vendor",
        "/complaints/new",
        "/complaints/new?q=科技",
        "/complaints/track",
        "/statistics",
        "/partners",
        "/blacklist",
        "/blacklist?q=no-such-subject&tier=serious",
        *blacklist_records(site),
    ]
    faces: dict[str, str] = {}
    for slug, message in badge_messages(site).items():
        faces.setdefault(message, slug)
    assert {"suspended", "revoked", "expired", "not certified"} <= set(faces)
    for slug in faces.values():
        paths += [f"/vendors/{slug}", f"/verify/{slug}"]
    paths.append(f"/complaints/new?vendor={next(iter(faces.values()))}")
    return paths


def fill_complaint_about_a_domain(page: Page, phone: str) -> None:
    """The filing form completed for a non-member web domain."""
    page.select_option("#field-subject_kind", "domain")
    page.fill("#field-subject_value", "shop.example.cn")
    fill_complaint_details(page, phone)


def fill_complaint_details(page: Page, phone: str) -> None:
    """Every required field of the filing form after its subject."""
    page.fill("#product", "会员服务")
    page.select_option("#category", "billing_refund")
    page.fill("#description", "取消自动续费后仍被扣款。")
    page.fill("#desired_remedy", "退还扣款")
    page.select_option("#region", "110000")
    page.fill("#occurred_on", "2026-11-15")
    page.fill("#contact_name", "王芳")
    page.fill("#contact_phone", phone)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_public_page_passes_axe(site: str, browser: Browser, lang: str) -> None:
    """No serious or critical axe finding on any page, including the complaint journey."""
    context = browser.new_context(locale=LOCALES[lang])
    page = context.new_page()
    findings: list[str] = []
    checked = 0
    for path in public_paths(site):
        page.goto(f"{site}{path}{'&' if '?' in path else '?'}lang={lang}")
        expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[lang])
        findings += axe(page, f"{lang} {path}")
        checked += 1

    page.goto(f"{site}/complaints/new?lang={lang}")
    page.get_by_role("button", name="提交投诉" if lang == "zh" else "File the complaint").click()
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator("#product")).to_have_attribute("aria-invalid", "true")
    findings += axe(page, f"{lang} complaint form with errors")

    fill_complaint_about_a_domain(page, "13900000001" if lang == "zh" else "13900000002")
    page.locator("button.primary").click()
    expect(page.locator("#tracking-code")).to_be_visible()
    findings += axe(page, f"{lang} filed")
    secret = page.locator("#tracking-secret").inner_text().strip()

    page.locator("a[href^='/complaints/track']").click()
    findings += axe(page, f"{lang} tracking form")
    page.fill("#secret", secret)
    page.locator("button.primary").click()
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "submitted")
    findings += axe(page, f"{lang} complaint")
    checked += 4
    context.close()
    assert checked >= 26
    assert findings == [], report(findings)


def vendor_token(site_data: Path, slug: str) -> str:
    """A vendor_admin token for `slug`, made with the CLI beside the running demo server."""
    made = subprocess.run(
        [REGISTRY, "admin", "create-token", "--role", "vendor_admin", "--vendor", slug],
        env=registry_env(site_data),
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.split()[0]


def propose(site: str, token: str, code: str, proposal: str) -> None:
    """The vendor answers complaint `code` through the member API."""
    request = urllib.request.Request(  # noqa: S310 - loopback demo server
        f"{site}/api/v1/inbox/complaints/{code}/proposal",
        data=json.dumps({"proposal": proposal, "concede": True}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        assert answer.status == 200


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_answered_complaint_pages_pass_axe(
    site: str, site_data: Path, browser: Browser, lang: str
) -> None:
    """The filer's page with the vendor's answer (accept and reject forms), after accepting
    (the rating form) and after rating: no serious or critical axe finding."""
    slug = next(iter(badge_messages(site)))
    context = browser.new_context(locale=LOCALES[lang])
    page = context.new_page()
    page.goto(f"{site}/complaints/new?vendor={slug}&lang={lang}")
    fill_complaint_details(page, "13900000011" if lang == "zh" else "13900000012")
    page.check("input[name=consent_to_share]")
    page.locator("button.primary").click()
    code = page.locator("#tracking-code").inner_text().strip()
    secret = page.locator("#tracking-secret").inner_text().strip()
    propose(site, vendor_token(site_data, slug), code, "已退还扣款并关闭自动续费。")

    page.goto(f"{site}/complaints/track?lang={lang}")
    page.fill("#tracking_code", code)
    page.fill("#secret", secret)
    page.locator("button.primary").click()
    expect(page.locator("#complaint-proposal")).to_be_visible()
    expect(page.locator("#reason")).to_be_visible()
    findings = axe(page, f"{lang} complaint answered")
    page.locator("#accept").click()
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "resolved")
    expect(page.locator("#rate")).to_be_visible()
    findings += axe(page, f"{lang} complaint accepted, rating form")
    page.check("input[name=score][value='4']")
    page.locator("#rate").click()
    expect(page.locator("#complaint-rating")).to_contain_text("4")
    findings += axe(page, f"{lang} complaint rated")
    context.close()
    assert findings == [], report(findings)


def tab_to(page: Page, key: str, limit: int = 40) -> list[dict[str, Any]]:
    """Press Tab until the element `key` (id or name) has focus; every stop on the way."""
    stops: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUS_STATE))
        if stops[-1]["key"] == key:
            return stops
    pytest.fail(f"{key!r} was not reached in {limit} presses of Tab: {stops}")


def assert_focus_visible(stops: list[dict[str, Any]]) -> None:
    """Every keyboard stop draws a focus ring at least 2 px wide."""
    hidden = [stop for stop in stops if stop["outline"] == "none" or stop["width"] < 2]
    assert hidden == [], f"keyboard stops without a visible focus ring: {hidden}"


def test_home_search_from_the_keyboard(site: str, browser: Browser) -> None:
    """Skip link, header, search field, search button: all by Tab, each with a focus ring."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{site}/")
    stops = tab_to(page, "q")
    assert stops[0]["key"].startswith("a.skip-link")
    page.keyboard.type("yunzhan")
    stops += tab_to(page, "button.", limit=1)
    assert_focus_visible(stops)
    page.keyboard.press("Enter")
    expect(page.locator(".vendor-card")).to_have_count(1)
    expect(page.locator("#results-title")).to_contain_text("yunzhan")
    context.close()


def test_complaint_form_from_the_keyboard(site: str, browser: Browser) -> None:
    """Every field of the filing form in order by Tab, filled by keys, then submitted."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site}/complaints/new")
    stops = tab_to(page, "vendor-search")
    typed = {
        "field-subject_value": "app.example.cn",
        "product": "会员服务",
        "description": "取消自动续费后仍被扣款。",
        "desired_remedy": "退还扣款",
        "contact_name": "李静",
        "contact_phone": "13900000003",
    }
    arrows = {"field-subject_kind", "category", "region"}
    order = [
        "field-subject_kind",
        "field-subject_value",
        "product",
        "category",
        "description",
        "desired_remedy",
        "region",
        "occurred_on",
        "contact_name",
        "contact_phone",
        "contact_email",
        "consent_to_share",
    ]
    for key in order:
        stops += tab_to(page, key, limit=4 if key != "field-subject_kind" else 2)
        if key in typed:
            page.keyboard.type(typed[key])
        elif key in arrows:
            page.keyboard.press("ArrowDown")
        elif key == "occurred_on":
            page.keyboard.type("11152026")  # month, day, year: chromium runs with --lang=en-US
        elif key == "consent_to_share":
            page.keyboard.press("Space")
    stops += tab_to(page, "button.primary", limit=1)
    assert_focus_visible(stops)
    assert "website" not in {stop["key"] for stop in stops}  # the honeypot is never a stop
    expect(page.locator("#occurred_on")).to_have_value("2026-11-15")
    expect(page.locator("input[name=consent_to_share]")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("投诉已提交")
    expect(page.locator("#tracking-code")).to_be_visible()
    context.close()
