"""A vendor's public complaint figures over HTTP on both databases: only complaints whose
clocks have run their course count, so a burst of fresh anonymous filings moves nothing
until the vendor had its chance to answer; the page states the rule, shows substantiated
complaints apart, and says "fewer than 5" only where a count is hidden."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from registry.complaints.filing import ComplaintSubmission
from registry.kernel.clock import ManualClock
from registry.services import Services
from tests.factories import member_vendor


async def settled_complaints(services: Services, slug: str, token: str, count: int) -> None:
    """Earlier complaints the vendor answered and resolved; the consumer accepted each."""
    vendor = await services.accounts.authenticate(token)
    for index in range(count):
        filed = await services.complaints.consumers.file(
            ComplaintSubmission(
                vendor=slug,
                product="会员",
                category="quality_below_standard",
                description="视频经常卡顿",
                desired_remedy="修复",
                region="320000",
                occurred_on="2026-11-20",
                contact_name="周敏",
                contact_phone=f"1370000000{index}",
                consent_to_share=True,
            ),
            client_ip=f"192.0.2.{index}",
        )
        assert filed.secret is not None
        await services.complaints.vendors.acknowledge(vendor, filed.tracking_code, "收到")
        await services.complaints.vendors.propose_resolution(
            vendor, filed.tracking_code, "已修复", concede=False
        )
        await services.complaints.consumers.accept(filed.tracking_code, filed.secret)


def shown_figures(html: str) -> dict[str, str]:
    """Each figure on the profile page, by its id."""
    return {name: value.strip() for name, value in re.findall(r'id="figure-(\w+)">([^<]*)<', html)}


async def test_a_burst_of_fresh_filings_does_not_move_the_public_figures(
    api: httpx.AsyncClient, services: Services, association: str, clock: ManualClock
) -> None:
    """Eighteen anonymous filings in a row leave the API's figures and the page as they
    were; once their first-response deadline passes unanswered, they count."""
    vendor = await member_vendor(services, association, "burst-target")
    await settled_complaints(services, vendor.slug, vendor.token, 6)
    figures_url = f"/api/v1/vendors/{vendor.slug}/complaint-figures"
    before = (await api.get(figures_url)).json()
    page_before = shown_figures((await api.get(f"/vendors/{vendor.slug}")).text)
    assert before["received"] == 6
    assert before["resolved_share"] == 1.0
    assert page_before["received"] == "6"
    assert page_before["resolved"] == "100%"

    for index in range(18):
        filed = await api.post(
            "/api/v1/complaints/",
            json={
                "vendor": vendor.slug,
                "product": "会员",
                "category": "other",
                "description": f"匿名投诉第 {index} 件",
                "desired_remedy": "无",
                "region": "110000",
                "occurred_on": "2026-11-01",
                "contact_name": "匿名",
                "contact_phone": f"1390000{index:04d}",
            },
        )
        assert filed.status_code == 201, filed.text

    assert (await api.get(figures_url)).json() == before
    page_after = await api.get(f"/vendors/{vendor.slug}")
    assert shown_figures(page_after.text) == page_before
    assert 'id="figures-rule"' in page_after.text

    clock.advance(timedelta(hours=24, seconds=1))
    late = (await api.get(figures_url)).json()
    assert late["received"] == 24  # unanswered past the deadline: now they count
    assert late["answered_on_time_share"] == 0.25


async def test_fewer_than_k_only_where_a_count_is_hidden(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """With six settled complaints and none substantiated, the count of substantiated
    complaints reads "fewer than 5", shown apart; shares never say "fewer than"."""
    vendor = await member_vendor(services, association, "few-figures")
    await settled_complaints(services, vendor.slug, vendor.token, 6)
    html = (await api.get(f"/vendors/{vendor.slug}", params={"lang": "zh"})).text
    figures = shown_figures(html)
    assert figures["substantiated"] == "少于 5 件"
    assert figures["satisfaction"] == "数量太少，不予显示"  # no ratings: a share, not a count
    assert figures["resolved"] == "100%"
    assert "少于" not in figures["satisfaction"]
    assert html.index('id="figure-substantiated"') > html.index('id="figure-satisfaction"')
    assert 'class="figure-grid figure-apart"' in html
