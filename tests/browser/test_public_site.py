"""The public site in a real browser: Debian's chromium driven by Playwright, against
`registry serve` on the demo federation. Screenshots go to tests/artifacts/.

Searches, opens a profile, switches language, opens the verify page, checks that a
suspended vendor's badge reads suspended, and that the pages work without JavaScript
and from the keyboard.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.demo_site import ARTIFACTS, CHROMIUM, NEEDS_CHROMIUM, get, vendor_with_badge

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page, expect


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"public-site-{name}.png"), full_page=True)


def test_search_profile_language_and_verify_without_javascript(site: str, browser: Browser) -> None:
    """A consumer's path through the site with scripts off, in Chinese then English."""
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("这家软件企业真的获得认证了吗？")
    shot(page, "home-zh")

    page.get_by_label("企业名称（中文或英文）、统一社会信用代码或域名").fill("云栈")
    page.get_by_role("button", name="查询").click()
    results = page.locator(".vendor-card")
    expect(results).to_have_count(1)
    shot(page, "search-zh")

    results.get_by_role("link", name="云栈科技有限公司").click()
    expect(page).to_have_url(f"{site}/vendors/yunzhan-cloud")
    expect(page.locator("h1")).to_have_text("云栈科技有限公司")
    expect(page.locator("#history-title")).to_have_text("证书历史")
    shot(page, "profile-zh")

    page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Yunzhan Cloud Technology Co., Ltd.")
    shot(page, "profile-en")

    page.get_by_role("link", name="Open the verify page").click()
    expect(page).to_have_url(f"{site}/verify/yunzhan-cloud")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the choice is remembered
    expect(page.locator("#live-title")).to_contain_text("Live status of Yunzhan Cloud")
    shot(page, "verify-en")
    context.close()


def test_suspended_vendor_badge_reads_suspended(site: str, browser: Browser) -> None:
    """The badge image of a suspended vendor says so, in the browser, in both languages."""
    slug = vendor_with_badge(site, "suspended")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{site}/vendors/{slug}")
    badge = page.locator(".status-line img")
    expect(badge).to_have_attribute("alt", "标识：已暂停")  # a full-width colon in Chinese
    assert badge.evaluate("image => image.complete && image.naturalWidth > 0")
    expect(page.locator('[data-field="state"]')).to_have_text("已暂停")
    shot(page, "profile-suspended-zh")

    svg = page.request.get(f"{site}/badges/{slug}.svg?lang=en")
    assert svg.ok
    assert "suspended" in svg.text()
    page.goto(f"{site}/badges/{slug}.svg")
    expect(page.locator("svg title")).to_have_text("可信企业名录：已暂停")
    context.close()


def test_keyboard_and_landmarks(site: str, browser: Browser) -> None:
    """The skip link comes first, every control is labelled, landmarks are present."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(f"{site}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # Accept-Language
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site}/#main")
    for role in ("banner", "main", "contentinfo", "search"):
        expect(page.get_by_role(role)).to_have_count(1)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
            .map(e => e.name)"""
    )
    assert unlabelled == []
    images_without_alt = page.evaluate(
        "() => [...document.images].filter(i => !i.hasAttribute('alt')).length"
    )
    assert images_without_alt == 0
    for path in ("/handbook", "/guide", "/transparency"):
        page.goto(site + path)
        expect(page.locator("h1")).to_have_count(1)
        shot(page, path.strip("/") + "-en")
    context.close()


def test_every_page_renders_for_a_demo_vendor_in_each_state(site: str) -> None:
    """Profile, verify and badge for every demo vendor, both languages; all faces occur."""
    faces: set[str] = set()
    for vendor in json.loads(get(f"{site}/api/v1/vendors/?page_size=100"))["items"]:
        slug = vendor["slug"]
        for lang in ("zh", "en"):
            for path in (f"/vendors/{slug}", f"/verify/{slug}"):
                page = get(f"{site}{path}?lang={lang}").decode()
                assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in page
        badge = json.loads(get(f"{site}/badges/{slug}.json?lang=en"))
        faces.add(
            badge["message"].split(" L")[0]
            if "certified L" in badge["message"]
            else badge["message"]
        )
        if "renewal due" in badge["message"]:
            faces.add("renewal due")
    assert {"certified", "renewal due", "suspended", "revoked", "expired", "not certified"} <= faces


def test_blacklist_search_and_a_record_without_javascript(site: str, browser: Browser) -> None:
    """From the header to a filtered list and a listing's record, scripts off, in Chinese
    then English: the GET form filters, and the record shows tier, rule and every step."""
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.goto(site + "/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="黑名单").click()
    expect(page).to_have_url(f"{site}/blacklist")
    expect(page.locator("h1")).to_have_text("黑名单")
    rows = page.locator('table[data-table="listings"] tbody tr')
    expect(rows).to_have_count(8)  # the demo's seven member listings and one app's
    shot(page, "blacklist-zh")

    page.get_by_label("等级").select_option(label="轻微")
    page.get_by_label("状态").select_option(label="公示中")
    page.get_by_role("button", name="查询").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_label("等级")).to_have_value("minor")
    row = rows.first
    expect(row).to_contain_text("小满电商科技有限公司")
    expect(row).to_contain_text("轻微")

    row.get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("黑名单列入记录 BL-")
    expect(page.locator('[data-field="tier"]')).to_contain_text("轻微")
    expect(page.locator("#timeline-title")).to_have_text("全部步骤")
    expect(page.locator('tr[data-step="listed"] a')).to_have_count(1)
    shot(page, "blacklist-record-zh")

    page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('[data-field="tier"]')).to_contain_text("Minor")
    expect(page.locator('[data-field="rule-title"]')).to_have_text(
        "Substantiated complaints from several consumers"
    )
    page.locator('tr[data-step="listed"] a').click()
    expect(page).to_have_url(re.compile(r"/transparency/entries/\d+$"))
    shot(page, "blacklist-log-entry-en")
    context.close()
