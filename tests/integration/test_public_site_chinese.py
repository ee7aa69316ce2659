"""Chinese pages read as Chinese: every public page of the demo, rendered in Chinese over
HTTP by a real `registry serve`, holds no Latin-script word outside an element marked
`lang="en"` (WCAG 3.1.2, language of parts), code, and the short allowlist below, and
no half-width punctuation mark against a Chinese character.

Text nodes count, and so do the attributes a screen reader speaks (alt, title,
aria-label, placeholder). The pages: home and a search, the handbook, the guide, the
transparency log with an entry of every type, the developers' page, every vendor's
profile and verify page, the blacklist with a search and filters and every listing's
record and notice, the complaint form (empty, with a search and sent back with
errors), the filed page, the tracking form and the complaint as its filer sees it, and
a 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

import httpx
import pytest

from bench.serving import registry_server

LATIN_WORD: Final = re.compile(r"[A-Za-z][A-Za-z0-9'’.@:/_-]*[A-Za-z0-9]|[A-Za-z]")
ALLOWED: Final = (
    # Levels of the scheme: "L1"–"L3" are their names in both languages.
    re.compile(r"L[1-3]"),
    # Domains, web addresses and e-mail addresses are written as they are typed.
    re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?", re.IGNORECASE),
    re.compile(r"https?://\S+"),
    # Identifiers: credit codes and tracking codes are upper-case letters with digits.
    re.compile(r"(?=[A-Z0-9-]*\d)[A-Z0-9-]{4,}"),
    # Standards cited by number or name, which have no Chinese name: RFC 9162, SHA-256,
    # the C2SP signed-note format, DSSE envelopes, in-toto statements.
    re.compile(r"RFC|SHA-256|C2SP|DSSE|in-toto"),
)
"""Latin-script tokens a Chinese page may show, each for the reason above it."""
HALF_WIDTH: Final = re.compile(r"[\u3400-\u9fff][,:;!?.](?!\d)|(?<![\w.])[,:;!?]\s*[\u3400-\u9fff]")
"""Half-width punctuation against a Chinese character: Chinese sentences take full-width
marks (，：；！？。)."""
SKIPPED_ELEMENTS: Final = frozenset({"code", "pre", "script", "style", "kbd", "samp"})
SPOKEN_ATTRIBUTES: Final = ("alt", "title", "aria-label", "placeholder")
VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class LatinWords(HTMLParser):
    """Collects Latin-script words outside `lang="en"` elements and code."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        """Open elements and whether each is exempt (English or code)."""
        self.found: list[str] = []

    @property
    def exempt(self) -> bool:
        """Inside an element marked English, or inside code."""
        return any(exempt for _tag, exempt in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element; check the attributes read aloud."""
        values = dict(attrs)
        lang = (values.get("lang") or "").lower()
        exempt = tag in SKIPPED_ELEMENTS or lang.startswith("en")
        if not (exempt or self.exempt):
            for name in SPOKEN_ATTRIBUTES:
                if values.get(name):
                    self.check(f"@{name}", values[name] or "")
        if tag not in VOID:
            self.stack.append((tag, exempt))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open element of this name."""
        for position in range(len(self.stack) - 1, -1, -1):
            if self.stack[position][0] == tag:
                del self.stack[position:]
                return

    def handle_data(self, data: str) -> None:
        """Check text outside exempt elements (the head's title counts, it is spoken)."""
        if not self.exempt:
            self.check("text", data)

    def check(self, where: str, text: str) -> None:
        """Record each Latin word of `text` the allowlist does not cover, and each
        half-width mark in Chinese text."""
        for mark in HALF_WIDTH.findall(text):
            self.found.append(f"{where}: half-width {mark!r} in {text.strip()[:80]!r}")
        for word in LATIN_WORD.findall(text):
            if not any(pattern.fullmatch(word) for pattern in ALLOWED):
                self.found.append(f"{where}: {word!r} in {text.strip()[:80]!r}")


def latin_words(html: str) -> list[str]:
    """The Latin-script words a Chinese reader would meet on the page."""
    parser = LatinWords()
    parser.feed(html)
    return parser.found


@pytest.fixture(scope="module")
def demo_site(
    tmp_path_factory: pytest.TempPathFactory, demo_data: Callable[[Path], Path]
) -> Iterator[str]:
    """The demo federation served by `registry serve` (on a copy of the demo data)."""
    with registry_server(demo_data(tmp_path_factory.mktemp("zh-scan"))) as base:
        yield base


def test_the_scan_finds_english() -> None:
    """The scan is not blind: an English word in Chinese text is found, a marked one not."""
    assert latin_words("<p>结论 pass</p>") == ["text: 'pass' in '结论 pass'"]
    assert latin_words('<p>名称 <span lang="en">Zhengxin Ltd.</span> 与 <code>a.b</code></p>') == []
    assert latin_words('<img alt="Badge: 已认证">') == ["@alt: 'Badge' in 'Badge: 已认证'"]
    assert latin_words("<p>级别 L2，见 https://x.cn/a 与 yunzhan.cn、RFC 9162</p>") == []
    assert latin_words("<p>级别: L2。</p>") == ["text: half-width '别:' in '级别: L2。'"]


def public_pages(client: httpx.Client) -> Iterator[tuple[str, str]]:
    """(path, html) of every public GET page in Chinese, the complaint journey included."""
    fixed = [
        "/",
        "/?q=云栈",
        "/?q=no-such-vendor",
        "/handbook",
        "/guide",
        "/transparency",
        "/transparency?page=2",
        "/developers",
        "/vendors/no-such-vendor",
        "/complaints/new",
        "/complaints/new?q=科技",
        "/complaints/track",
        "/blacklist",
        "/blacklist?q=no-such-subject",
        "/blacklist?state=notice",
        "/blacklist?tier=serious&state=listed",
        "/blacklist/BL-0000-000000",
    ]
    listings = re.findall(
        r'href="(/blacklist/(?:notices/)?BL-[0-9-]+)"', client.get("/blacklist").text
    )
    assert len(listings) >= 7
    fixed += listings
    vendors = client.get("/api/v1/vendors/", params={"page_size": 100}).json()["items"]
    assert len(vendors) > 10
    for vendor in vendors:
        fixed += [f"/vendors/{vendor['slug']}", f"/verify/{vendor['slug']}"]
    fixed.append(f"/complaints/new?vendor={vendors[0]['slug']}")
    for path in fixed:
        yield path, client.get(path).text
    yield from entry_pages(client)
    yield from complaint_journey(client)


def entry_pages(client: httpx.Client) -> Iterator[tuple[str, str]]:
    """One log entry page of every entry type the demo log holds."""
    seen: set[str] = set()
    page = 1
    while len(seen) < 20:
        html = client.get("/transparency", params={"page": page}).text
        rows = re.findall(
            r'href="/transparency/entries/(\d+)">#\d+</a></td>\s*<td data-label="[^"]*">([^<]+)<',
            html,
        )
        if not rows:
            break
        for index, kind in rows:
            if kind not in seen:
                seen.add(kind)
                path = f"/transparency/entries/{index}"
                yield path, client.get(path).text
        page += 1
    assert len(seen) >= 4


def complaint_journey(client: httpx.Client) -> Iterator[tuple[str, str]]:
    """The form sent back with errors, the filed page, and the complaint as filed."""
    form = client.get("/complaints/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    errors = client.post("/complaints/new", data={"csrf_token": token.group(1)})
    yield "/complaints/new (errors)", errors.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', errors.text)
    assert token is not None
    filed = client.post(
        "/complaints/new",
        data={
            "csrf_token": token.group(1),
            "subject_kind": "domain",
            "subject_value": "shop.example.cn",
            "product": "会员服务",
            "category": "billing_refund",
            "description": "取消自动续费后仍被扣款。",
            "desired_remedy": "退还扣款",
            "region": "110000",
            "occurred_on": "2026-11-15",
            "contact_name": "王芳",
            "contact_phone": "13900000031",
        },
    )
    yield "/complaints/new (filed)", filed.text
    code = re.search(r'id="tracking-code">([^<]+)<', filed.text)
    secret = re.search(r'id="tracking-secret">([^<]+)<', filed.text)
    assert code is not None
    assert secret is not None
    track = client.get("/complaints/track").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', track)
    assert token is not None
    shown = client.post(
        "/complaints/track",
        data={
            "csrf_token": token.group(1),
            "tracking_code": code.group(1),
            "secret": secret.group(1),
        },
    )
    assert shown.status_code == 200
    yield "/complaints/track (complaint)", shown.text


def test_every_chinese_page_reads_as_chinese(demo_site: str, tmp_path: Path) -> None:
    """No Latin-script word outside `lang="en"`, code and the allowlist, on any page."""
    problems: list[str] = []
    checked = 0
    with httpx.Client(
        base_url=demo_site, headers={"Accept-Language": "zh-CN"}, timeout=30
    ) as client:
        for path, html in public_pages(client):
            assert '<html lang="zh-CN">' in html, path
            problems += [f"{path}: {found}" for found in latin_words(html)]
            checked += 1
    assert checked > 60
    assert problems == [], f"{len(problems)} Latin-script words on Chinese pages:\n" + "\n".join(
        problems
    )


def test_next_audit_and_renewal_due_are_shown(demo_site: str) -> None:
    """An audited demo vendor's profile and verify page say when the next audit and the
    renewal are due, as a date in Beijing time with the UTC instant and how far off it is;
    the API carries the same audit date."""
    with httpx.Client(base_url=demo_site, timeout=30) as client:
        vendors = client.get("/api/v1/vendors/", params={"page_size": 100}).json()["items"]
        audited = [
            status
            for status in (
                client.get(f"/api/v1/vendors/{v['slug']}/certification").json() for v in vendors
            )
            if status["certified"] and (status["level"] or 0) >= 2
        ]
        assert audited
        status = audited[0]
        assert status["audit_due"]
        for path in (f"/vendors/{status['vendor']}", f"/verify/{status['vendor']}"):
            html = client.get(path, params={"lang": "zh"}).text
            due = re.search(
                r'data-field="audit-due"><time datetime="([^"]+)">[^<]+</time>'
                r'<span class="relative">（([^）]+)）</span>',
                html,
            )
            assert due is not None, path
            assert due.group(1).replace("Z", "+00:00") == status["audit_due"].replace("Z", "+00:00")
            assert due.group(2).endswith("后")
            assert 'data-field="renewal-due"><time datetime=' in html
