"""The public pages over HTTP, on both databases: every page in both languages,
language negotiation, search, error pages, security headers, escaping of vendor text."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import uvicorn

from attestations import merkle
from attestations.envelope import Envelope
from registry.app import create_app
from registry.client import application_envelope
from registry.context import RegistryContext
from registry.errors import InvalidInput
from registry.services import Services
from registry.transparency.models import LogEntry
from tests.factories import admin_caller, member_vendor, vendor_in_state

PAGES = ["/", "/handbook", "/guide", "/transparency", "/vendors/{slug}", "/verify/{slug}"]
HTML = {"Accept": "text/html"}


async def test_every_page_renders_in_both_languages(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Chinese by default, English with ?lang=en; both name the page in their language."""
    slug = await vendor_in_state(services, association, "yunzhan-cloud", "active")
    for path in PAGES:
        url = path.format(slug=slug)
        zh = await api.get(url)
        assert zh.status_code == 200, (url, zh.text)
        assert zh.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-CN">' in zh.text
        assert "可信企业名录" in zh.text
        en = await api.get(url, params={"lang": "en"})
        assert '<html lang="en">' in en.text
        assert "Trust Registry" in en.text
        assert "可信企业名录" not in en.text
        for body in (zh.text, en.text):
            assert "<script" not in body
            assert 'style="' not in body
            assert 'class="lang-switch"' in body
            assert '<main id="main"' in body
        api.cookies.clear()


async def test_language_choice_is_remembered_and_negotiated(api: httpx.AsyncClient) -> None:
    """?lang sets a cookie; without it Accept-Language decides; otherwise Chinese."""
    assert (
        '<html lang="en">'
        in (await api.get("/handbook", headers={"Accept-Language": "en-GB,en;q=0.9"})).text
    )
    assert (
        '<html lang="zh-CN">'
        in (
            await api.get("/handbook", headers={"Accept-Language": "fr, zh-TW;q=0.5, en;q=0.4"})
        ).text
    )
    chosen = await api.get("/guide", params={"lang": "en"})
    assert "lang=en" in chosen.headers["set-cookie"]
    assert "HttpOnly" in chosen.headers["set-cookie"]
    api.cookies.set("lang", "en")
    assert '<html lang="en">' in (await api.get("/guide")).text
    assert '<html lang="zh-CN">' in (await api.get("/guide", params={"lang": "zh"})).text
    api.cookies.clear()
    assert '<html lang="zh-CN">' in (await api.get("/guide")).text
    assert "Accept-Language" in chosen.headers["vary"]


async def test_search_by_names_code_and_domain(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Either name, the credit code or a proven domain finds the vendor; the result shows
    its state. A domain the vendor only claims finds nothing."""
    member = await member_vendor(services, association, "lanhai-saas")
    await member_vendor(services, association, "other-vendor")
    await services.domains.record_demo_proof("lanhai-saas", "lanhai-saas.example.cn")
    unproven = await api.get("/", params={"q": "other-vendor.example", "lang": "en"})
    assert 'href="/vendors/other-vendor"' not in unproven.text
    for query in (
        "lanhai-saas科技",
        "Lanhai-Saas Technology",
        member.credit_code,
        "lanhai-saas.example",
    ):
        page = await api.get("/", params={"q": query, "lang": "en"})
        assert page.status_code == 200
        assert 'href="/vendors/lanhai-saas"' in page.text, query
        assert 'href="/vendors/other-vendor"' not in page.text, query
        assert "not certified" in page.text
    none = await api.get("/", params={"q": "no such vendor", "lang": "en"})
    assert "No member vendor matches" in none.text


async def test_profile_shows_certificate_history_and_embed(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """State, level, validity, the scheme by name, history linked to the log's entry pages;
    the embed snippet only for a certified vendor (a suspended one is offered none)."""
    slug = await vendor_in_state(services, association, "xinghe-soft", "suspended")
    page = await api.get(f"/vendors/{slug}", params={"lang": "en"})
    assert page.status_code == 200
    text = page.text
    assert "Suspended" in text
    assert "consumer-protection@1" not in text  # the scheme's slug is for machines
    scheme = (await services.certification.public_status(slug)).scheme_title_en  # type: ignore[union-attr]
    assert scheme
    assert scheme in text
    history = await services.certification.history(slug)
    assert len(history) == 2
    for transition in history:
        assert f'href="/transparency/entries/{transition.log_index}"' in text
    assert f"/verify/{slug}" in text
    assert 'id="embed-title"' not in text
    assert 'id="no-embed"' in text
    assert 'id="complaints-title"' in text

    certified = await vendor_in_state(services, association, "qingniao-pay", "active")
    text = (await api.get(f"/vendors/{certified}", params={"lang": "en"})).text
    assert "&lt;a href=" in text  # the HTML snippet is shown as text, not markup
    assert (
        f"[![Trust registry badge: select to verify](http://127.0.0.1:8000/badges/{certified}.svg)]"
        in text
    )


async def test_verify_page_live_status_and_unknown_vendor(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """A certified vendor's verify page says so; an unknown one is a 404 saying not certified."""
    slug = await vendor_in_state(services, association, "qingniao-pay", "active")
    page = await api.get(f"/verify/{slug}", params={"lang": "en"})
    assert "holds a valid certificate" in page.text
    assert "certified L1" in page.text
    unknown = await api.get("/verify/no-such-vendor", params={"lang": "en"})
    assert unknown.status_code == 404
    assert "Treat any badge pointing here as not certified" in unknown.text


async def test_vendor_text_cannot_inject_markup(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """Names a vendor signs are escaped everywhere they appear."""
    from attestations.keys import SigningKey
    from tests.factories import new_credit_code

    def signed(website: str) -> Envelope:
        return application_envelope(
            SigningKey.generate(),
            association=association,
            credit_code=new_credit_code(),
            slug="evil-corp",
            name_zh='<script>alert("zh")</script>',
            name_en='Evil" onmouseover="alert(1)<img src=x>',
            domains=["evil.example.cn"],
            issued_at=services.ctx.clock.now() - timedelta(seconds=5),
            website=website,
        )

    # A script URL never gets in; the names do, and are escaped.
    with pytest.raises(InvalidInput, match="website"):
        await services.membership.submit_application(signed("javascript:alert(1)"))
    submitted = await services.membership.submit_application(signed("https://evil.example.cn"))
    await services.membership.approve(await admin_caller(services), submitted.application.id, "ok")
    for url in (
        "/vendors/evil-corp",
        "/verify/evil-corp",
        "/?q=evil",
        "/vendors/evil-corp?lang=en",
    ):
        body = (await api.get(url)).text
        assert "<script>alert" not in body, url
        assert "<img src=x>" not in body, url
        assert 'href="javascript:' not in body, url
    assert "&lt;script&gt;" in (await api.get("/vendors/evil-corp")).text


async def test_error_pages_are_html_for_pages_and_problems_for_the_api(
    api: httpx.AsyncClient,
) -> None:
    """Unknown pages and bad input render a page; /api keeps problem+json."""
    missing = await api.get("/no-such-page", headers=HTML)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "页面不存在" in missing.text
    vendor = await api.get("/vendors/nobody", params={"lang": "en"})
    assert vendor.status_code == 404
    assert "Page not found" in vendor.text
    bad = await api.get("/", params={"q": "x" * 300, "lang": "en"})
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/html")
    problem = await api.get("/api/v1/no-such-thing", headers=HTML)
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")


async def test_security_headers(api: httpx.AsyncClient) -> None:
    """Strict CSP and no framing for pages; badges embeddable; nosniff everywhere."""
    page = await api.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    badge = await api.get("/badges/anyone.svg")
    assert "frame-ancestors" not in badge.headers["content-security-policy"]
    assert "x-frame-options" not in badge.headers
    assert badge.headers["cross-origin-resource-policy"] == "cross-origin"
    assert badge.headers["x-content-type-options"] == "nosniff"
    missing = await api.get("/nothing-here")
    assert missing.headers["x-content-type-options"] == "nosniff"
    api_answer = await api.get("/api/v1/vendors/")
    assert "frame-ancestors 'none'" in api_answer.headers["content-security-policy"]
    css = await api.get("/static/site.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


async def test_transparency_page_shows_the_signed_checkpoint(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """The current checkpoint (signed on demand) and the log's entries, newest first, each
    linked to its page; the commands live on the developers' page, not here."""
    await member_vendor(services, association, "tianshu-data")
    page = await api.get("/transparency", params={"lang": "en"})
    async with services.ctx.db.read() as session:
        size = await services.log.size(session)
    assert f'data-field="tree-size">{size}<' in page.text
    listed = [int(i) for i in re.findall(r'<a href="/transparency/entries/(\d+)">', page.text)]
    assert listed[0] == size - 1
    assert listed == sorted(listed, reverse=True)
    assert "Tianshu" in page.text or "tianshu-data" in page.text
    assert "registry log monitor" not in page.text
    assert "RFC 6962" not in page.text
    developers = await api.get("/developers", params={"lang": "en"})
    assert "registry log monitor --url" in developers.text
    assert services.log.verifier_key() in developers.text


async def test_log_entry_page_carries_a_proof_that_verifies(
    api: httpx.AsyncClient, services: Services, association: str
) -> None:
    """An entry's page shows its inclusion proof against the signed root; the hashes on
    the page, with the stored leaf, recompute that root (RFC 9162 §2.1.3.2)."""
    await member_vendor(services, association, "tianshu-data")
    async with services.ctx.db.read() as session:
        size = await services.log.size(session)
        entry = await session.get(LogEntry, size - 2)
    assert entry is not None
    page = await api.get(f"/transparency/entries/{entry.index}", params={"lang": "en"})
    assert page.status_code == 200
    root = re.search(r'data-field="root" data-tree-size="(\d+)">([0-9a-f]{64})<', page.text)
    assert root is not None
    proof = re.findall(r'<li><code class="digest">([0-9a-f]{64})</code></li>', page.text)
    merkle.verify_inclusion(
        merkle.leaf_hash(entry.leaf),
        entry.index,
        int(root.group(1)),
        [bytes.fromhex(h) for h in proof],
        bytes.fromhex(root.group(2)),
    )
    assert "RFC 9162" in page.text
    missing = await api.get(f"/transparency/entries/{size + 5}", params={"lang": "en"})
    assert missing.status_code == 404


async def test_ping_is_plain_text(api: httpx.AsyncClient) -> None:
    """The bench's baseline endpoint."""
    answer = await api.get("/ping")
    assert answer.text == "pong"
    assert answer.headers["content-type"].startswith("text/plain")


@contextlib.asynccontextmanager
async def _served(ctx: RegistryContext) -> AsyncIterator[httpx.AsyncClient]:
    """The app over `ctx` on a real loopback server, as the `api` fixture serves it."""
    app = create_app(context=ctx, run_scheduler=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def test_https_base_url_makes_cookies_secure_and_sends_hsts(
    api: httpx.AsyncClient, ctx: RegistryContext
) -> None:
    """With REGISTRY_PUBLIC_BASE_URL on https, the language and form cookies are Secure
    and pages and the API send Strict-Transport-Security; on http neither (a browser
    would drop a Secure cookie there and pin http to https)."""
    plain = await api.get("/complaints/new", params={"lang": "en"}, headers=HTML)
    assert "strict-transport-security" not in plain.headers
    assert all("secure" not in c.lower() for c in plain.headers.get_list("set-cookie"))
    https = replace(ctx, settings=replace(ctx.settings, public_base_url="https://tr.example"))
    async with _served(https) as client:
        page = await client.get("/complaints/new", params={"lang": "en"}, headers=HTML)
        cookies = page.headers.get_list("set-cookie")
        assert {c.split("=", 1)[0] for c in cookies} == {"lang", "complaint_csrf"}
        for cookie in cookies:
            assert "; secure" in cookie.lower(), cookie
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        problem = await client.get("/api/v1/complaints/NO-SUCH-CODE")
        assert problem.headers["strict-transport-security"] == "max-age=31536000"
