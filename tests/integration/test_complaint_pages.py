"""The complaint form over plain HTTP (no JavaScript): CSRF, honeypot, bilingual field
errors, filing, and following the complaint with its code and secret."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from registry.complaints.models import Complaint
from registry.services import Services
from tests.factories import member_vendor

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"Accept": "text/html"}


def form_fields(vendor: str, token: str, **overrides: str) -> dict[str, str]:
    """A complete, valid form post."""
    fields = {
        "csrf_token": token,
        "website": "",
        "subject_kind": "vendor",
        "vendor": vendor,
        "product": "在线课程",
        "category": "false_advertising",
        "description": "宣传称包教包会，实际课程内容与介绍严重不符。",
        "desired_remedy": "退还课程费用",
        "region": "440000",
        "occurred_on": "2026-10-20",
        "contact_name": "陈静",
        "contact_email": "chen.jing@example.cn",
        "consent_to_share": "yes",
    }
    fields.update(overrides)
    return fields


async def open_form(api: httpx.AsyncClient, path: str = "/complaints/new") -> str:
    """GET the form: the CSRF cookie lands in the client, the same token in the page."""
    page = await api.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    match = TOKEN.search(page.text)
    assert match is not None
    assert api.cookies.get("complaint_csrf") == match.group(1)
    return match.group(1)


def next_token(page: httpx.Response) -> str:
    """Each rendering of the form carries a fresh token (and sets it as the cookie)."""
    match = TOKEN.search(page.text)
    assert match is not None
    return match.group(1)


async def _complaints(services: Services) -> int:
    async with services.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(Complaint)) or 0


async def test_form_files_and_tracks_without_javascript(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Search, file, then open the complaint with its code and secret."""
    vendor = await member_vendor(services, association, "kecheng")
    search = await api.get("/complaints/new", params={"q": "kecheng"}, headers=HTML)
    assert f'value="{vendor.slug}"' in search.text
    token = await open_form(api)
    page = await api.post("/complaints/new", data=form_fields(vendor.slug, token), headers=HTML)
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', page.text)
    secret = re.search(r'id="tracking-secret">([^<]+)<', page.text)
    assert code is not None
    assert secret is not None
    assert "密码只显示这一次" in page.text

    token = await open_form(api, f"/complaints/track?code={code.group(1)}")
    view = await api.post(
        "/complaints/track",
        data={"csrf_token": token, "tracking_code": code.group(1), "secret": secret.group(1)},
        headers=HTML,
    )
    assert 'data-status="forwarded"' in view.text
    assert "已转交企业" in view.text
    wrong = await api.post(
        "/complaints/track",
        data={"csrf_token": next_token(view), "tracking_code": code.group(1), "secret": "guess"},
        headers=HTML,
    )
    assert wrong.status_code == 404
    assert "查询码或查询密码不正确" in wrong.text


async def test_form_refuses_forgery_bots_and_bad_fields(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """No token, a filled honeypot, or bad fields: refused, named, nothing written."""
    vendor = await member_vendor(services, association, "jianpan")
    token = await open_form(api)
    forged = await api.post(
        "/complaints/new", data=form_fields(vendor.slug, "forged.token.value"), headers=HTML
    )
    assert forged.status_code == 422
    assert "表单已过期" in forged.text
    token = next_token(forged)
    unicode_forgery = await api.post(
        "/complaints/new", data=form_fields(vendor.slug, "表单.1.伪造"), headers=HTML
    )
    assert unicode_forgery.status_code == 422
    token = next_token(unicode_forgery)
    bot = await api.post(
        "/complaints/new", data=form_fields(vendor.slug, token, website="http://spam"), headers=HTML
    )
    assert bot.status_code == 422
    assert "提交未被接受" in bot.text
    token = next_token(bot)
    bad = await api.post(
        "/complaints/new",
        data=form_fields(vendor.slug, token, description="", region="", contact_email="nope"),
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "问题描述：必填" in bad.text
    assert "所在地区：必填" in bad.text
    assert "电子邮箱：请填写有效的电子邮箱" in bad.text
    assert "宣传称包教包会" not in bad.text  # the cleared field stays empty ...
    assert "在线课程" in bad.text  # ... the others are kept for the next try
    token = next_token(bad)
    english = await api.post(
        "/complaints/new?lang=en",
        data=form_fields(vendor.slug, token, description=""),
        headers=HTML,
    )
    assert "description: required" in english.text
    assert await _complaints(services) == 0
