"""Done-when for complaints, in a real browser (Debian's chromium through Playwright):
a consumer files in Chinese, the vendor answers through the API, the consumer accepts and
rates it, and the vendor's public figures change."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from registry.complaints.filing import ComplaintSubmission
from registry.services import Services
from tests.browser.demo_site import CHROMIUM, CHROMIUM_ARGS, NEEDS_CHROMIUM
from tests.factories import member_vendor

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def seed_resolved_and_rated(services: Services, slug: str, token: str, count: int) -> None:
    """Earlier complaints, answered, resolved and rated 5, so the figures are published."""
    vendor = await services.accounts.authenticate(token)
    form = ComplaintSubmission(
        vendor=slug,
        product="会员",
        category="quality_below_standard",
        description="视频经常卡顿",
        desired_remedy="修复",
        region="320000",
        occurred_on="2026-11-20",
        contact_name="周敏",
        consent_to_share=True,
    )
    for index in range(count):
        filed = await services.complaints.consumers.file(
            replace(form, contact_phone=f"1370000000{index}"), client_ip=f"192.0.2.{index}"
        )
        assert filed.secret is not None
        await services.complaints.vendors.acknowledge(vendor, filed.tracking_code, "收到")
        await services.complaints.vendors.propose_resolution(
            vendor, filed.tracking_code, "已修复", concede=False
        )
        await services.complaints.consumers.accept(filed.tracking_code, filed.secret)
        await services.complaints.consumers.rate(filed.tracking_code, filed.secret, 5, "")


async def figure(page: Page, name: str) -> str:
    """One published figure on the open profile page."""
    return (await page.locator(f"#figure-{name}").inner_text()).strip()


async def test_file_in_chinese_answer_accept_rate_and_figures_change(
    api: httpx.AsyncClient, services: Services, association: str, browser: Browser
) -> None:
    """The whole loop a consumer and a vendor go through, as people would do it."""
    vendor = await member_vendor(services, association, "shipin")
    await seed_resolved_and_rated(services, vendor.slug, vendor.token, 5)
    base = str(api.base_url).rstrip("/")
    context = await browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = await context.new_page()

    await page.goto(f"{base}/vendors/{vendor.slug}")
    assert await figure(page, "received") == "5"
    assert await figure(page, "satisfaction") == "100%"

    await page.click("#complaint-figures a[href^='/complaints/new']")
    await page.fill("#product", "视频会员")
    await page.select_option("#category", "billing_refund")
    await page.fill("#description", "取消自动续费后仍被扣款两次。")
    await page.fill("#desired_remedy", "退还两次扣款")
    await page.select_option("#region", "110000")
    await page.fill("#occurred_on", "2026-11-15")
    await page.fill("#contact_name", "王芳")
    await page.fill("#contact_phone", "13911112222")
    await page.check("input[name=consent_to_share]")
    await page.click("button.primary")
    assert "投诉已提交" in await page.inner_text("h1")
    code = (await page.inner_text("#tracking-code")).strip()
    secret = (await page.inner_text("#tracking-secret")).strip()

    auth = {"Authorization": f"Bearer {vendor.token}"}
    answered = await api.post(
        f"/api/v1/inbox/complaints/{code}/proposal",
        headers=auth,
        json={"proposal": "已为您退还两次扣款，并关闭自动续费。", "concede": True},
    )
    assert answered.status_code == 200, answered.text

    await page.click("a[href^='/complaints/track']")
    await page.fill("#secret", secret)
    await page.click("button.primary")
    assert "已为您退还两次扣款" in await page.inner_text("#complaint-proposal")
    await page.click("#accept")
    assert await page.get_attribute("#complaint-status", "data-status") == "resolved"
    await page.check("input[name=score][value='3']")
    await page.click("#rate")
    assert (await page.inner_text("#complaint-rating")).startswith("3")

    await page.goto(f"{base}/vendors/{vendor.slug}")
    assert await figure(page, "received") == "6"
    assert await figure(page, "satisfaction") == "83%"  # five 5s and one 3: 5 of 6 satisfied
    assert await figure(page, "substantiated") == "少于 5 件"  # one conceded: suppressed
    await context.close()
