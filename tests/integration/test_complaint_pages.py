"""The complaint form over plain HTTP (no JavaScript): CSRF, honeypot, bilingual field
errors, filing, and following the complaint with its code and secret."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from public_site.form_token import FormTokens
from registry.complaints.messages import ComplaintRefused
from registry.complaints.models import Complaint
from registry.context import RegistryContext
from registry.kernel.caller import Role
from registry.kernel.clock import ManualClock
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


async def test_a_form_token_holds_only_while_fresh_and_unaltered(
    ctx: RegistryContext, clock: ManualClock
) -> None:
    """A token checks against itself until its lifetime ends; a different cookie, an
    altered MAC or issue time, or an expired token is refused as an expired form."""
    tokens = FormTokens(ctx)
    token = tokens.issue()
    assert token.max_age_seconds == int(ctx.settings.complaint_form_token_ttl.total_seconds())
    tokens.check(token.value, token.value)
    issued, nonce, mac = token.value.split(".")
    later = str(int(issued) + 1)
    refused = [
        (None, token.value),
        (tokens.issue().value, token.value),
        (f"{issued}.{nonce}.{mac[::-1]}",) * 2,
        (f"{later}.{nonce}.{mac}",) * 2,
    ]
    for cookie, field in refused:
        with pytest.raises(ComplaintRefused):
            tokens.check(cookie, field)
    clock.advance(ctx.settings.complaint_form_token_ttl + timedelta(seconds=1))
    with pytest.raises(ComplaintRefused):
        tokens.check(token.value, token.value)


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


async def test_every_page_links_to_the_complaint_form_in_both_languages(
    api: httpx.AsyncClient,
) -> None:
    """The navigation and the home page lead to /complaints/new, worded from the catalogs."""
    for lang, label, intro in (
        ("zh", "投诉与反馈", "遇到个人信息泄露"),
        ("en", "File a complaint", "Met a personal-data leak"),
    ):
        home = await api.get(f"/?lang={lang}", headers=HTML)
        assert f'<a href="/complaints/new">{label}</a>' in home.text
        assert home.text.count('href="/complaints/new"') == 2  # navigation and home page
        handbook = await api.get(f"/handbook?lang={lang}", headers=HTML)
        assert f'<a href="/complaints/new">{label}</a>' in handbook.text
        form = await api.get(f"/complaints/new?lang={lang}", headers=HTML)
        assert f'<a href="/complaints/new" aria-current="page">{label}</a>' in form.text
        assert intro in form.text


async def test_attached_complaint_reads_in_both_languages(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """A complaint filed against a domain, then linked by the federation admin to a member
    vendor: the consumer's page names the step and the actor in the page's language."""
    vendor = await member_vendor(services, association, "linked-shop")
    token = await open_form(api)
    filed = await api.post(
        "/complaints/new",
        data=form_fields(
            "", token, subject_kind="domain", subject_value="pay.linked-shop.example.net"
        ),
        headers=HTML,
    )
    assert filed.status_code == 200, filed.text
    code = re.search(r'id="tracking-code">([^<]+)<', filed.text)
    secret = re.search(r'id="tracking-secret">([^<]+)<', filed.text)
    assert code is not None
    assert secret is not None
    admin = await services.accounts.create_principal_with_token(
        role=Role.FEDERATION_ADMIN, display_name="federation admin"
    )
    linked = await api.post(
        f"/api/v1/mediation/complaints/{code.group(1)}/vendor",
        headers={"Authorization": f"Bearer {admin.token}"},
        json={"vendor": vendor.slug},
    )
    assert linked.status_code == 200, linked.text
    for lang, actor, step, status in (
        ("zh", "管理员", "已转交所涉会员企业", "已转交企业"),
        (
            "en",
            "Administrator",
            "passed to the member vendor it concerns",
            "forwarded to the vendor",
        ),
    ):
        token = await open_form(api, f"/complaints/track?lang={lang}")
        page = await api.post(
            f"/complaints/track?lang={lang}",
            data={"csrf_token": token, "tracking_code": code.group(1), "secret": secret.group(1)},
            headers=HTML,
        )
        assert page.status_code == 200, page.text
        assert f"<strong>{actor}</strong>" in page.text
        assert step in page.text
        assert f'data-status="forwarded">{status}<' in page.text


async def test_a_score_in_other_digits_is_refused_not_an_error(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """`score=²` (a digit to `str.isdigit`, not to `int`), Arabic-Indic digits and a
    5,000-digit number are all refused as "choose 1 to 5", never a 500; nothing is rated."""
    vendor = await member_vendor(services, association, "pingfen")
    token = await open_form(api)
    page = await api.post("/complaints/new", data=form_fields(vendor.slug, token), headers=HTML)
    code = re.search(r'id="tracking-code">([A-Z0-9-]+)<', page.text)
    secret = re.search(r'id="tracking-secret">([^<]+)<', page.text)
    assert code is not None
    assert secret is not None
    token = await open_form(api, f"/complaints/track?code={code.group(1)}")
    for score in ("²", "٣", "1" * 5000):
        rated = await api.post(
            "/complaints/track/rate",
            data={
                "csrf_token": token,
                "tracking_code": code.group(1),
                "secret": secret.group(1),
                "score": score,
            },
            headers=HTML,
        )
        assert rated.status_code == 409, rated.text
        assert "请选择 1 至 5 分" in rated.text
        token = next_token(rated)
    async with services.ctx.db.read() as session:
        ratings = await session.scalar(select(Complaint.rating))
    assert ratings is None
