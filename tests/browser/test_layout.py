"""The public pages at a phone's width (375 px) and a laptop's (1280 px), in both
languages: no page scrolls sideways, tables stack into cards on the phone instead of
wrapping a character a line, the English header fits one row at 1280 px, and the
tracking page's button keeps clear of the footer. Screenshots of every page at both
widths go to tests/artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.demo_site import ARTIFACTS, CHROMIUM, NEEDS_CHROMIUM, get, vendor_with_badge

pytestmark = [pytest.mark.browser, NEEDS_CHROMIUM]

if CHROMIUM.exists():
    from playwright.sync_api import Browser, Page

WIDTHS = (375, 1280)
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter(e => {
        const box = e.getBoundingClientRect();
        return box.width > 0 && box.right > width + 1 && !e.closest('.table-scroll, pre');
    }).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className);
    return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""
"""How far the page reaches past the viewport, and the first elements that do (a
scrolling region such as a code block may hold wider content; the page itself may not)."""


def main_pages(site: str) -> dict[str, str]:
    """The pages a person meets most, by the name their screenshots get."""
    certified = vendor_with_badge(site, "certified L3")
    suspended = vendor_with_badge(site, "suspended")
    return {
        "home": "/",
        "search": "/?q=科技",
        "profile-certified": f"/vendors/{certified}",
        "profile-suspended": f"/vendors/{suspended}",
        "verify": f"/verify/{certified}",
        "handbook": "/handbook",
        "guide": "/guide",
        "transparency": "/transparency",
        "log-entry": "/transparency/entries/5",
        "developers": "/developers",
        "complaint-form": "/complaints/new?q=科技",
        "track": "/complaints/track",
        "statistics": "/statistics",
        "partner-sign-in": "/partners",
        "blacklist": "/blacklist",
        "blacklist-record": re.findall(
            r'href="(/blacklist/BL-[0-9-]+)"', get(f"{site}/blacklist").decode()
        )[0],
    }


def open_page(browser: Browser, site: str, path: str, lang: str, width: int) -> Page:
    """A fresh page of `width` px showing `path` in `lang`."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{site}{path}{'&' if '?' in path else '?'}lang={lang}")
    return page


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(site: str, browser: Browser, lang: str, width: int) -> None:
    """Every main page fits its width; a screenshot of each is saved."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for name, path in main_pages(site).items():
        page = open_page(browser, site, path, lang, width)
        measured = page.evaluate(OVERFLOW)
        page.screenshot(path=str(ARTIFACTS / f"layout-{name}-{lang}-{width}.png"), full_page=True)
        if measured["scroll"] > measured["width"] or measured["wide"]:
            problems.append(f"{path}: {measured}")
        page.close()
    assert problems == [], "pages wider than the screen:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_history_table_stacks_on_a_phone(site: str, browser: Browser, lang: str) -> None:
    """At 375 px each change of the certificate is a card: every cell spans the card, so
    no column is squeezed to a character a line."""
    slug = vendor_with_badge(site, "suspended")
    page = open_page(browser, site, f"/vendors/{slug}", lang, 375)
    cells = page.locator("#history-title ~ .table-scroll td")
    assert cells.count() >= 2
    widths = [
        box["width"] for box in (cells.nth(i).bounding_box() for i in range(cells.count())) if box
    ]
    assert min(widths) > 250, widths
    page.close()


def test_english_header_fits_one_row_at_1280(site: str, browser: Browser) -> None:
    """Brand, navigation and language switch share one row on a laptop screen."""
    page = open_page(browser, site, "/", "en", 1280)
    brand = page.locator(".brand").bounding_box()
    switch = page.locator(".lang-switch").bounding_box()
    assert brand is not None
    assert switch is not None
    assert abs((brand["y"] + brand["height"] / 2) - (switch["y"] + switch["height"] / 2)) < 8
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_track_button_keeps_clear_of_the_footer(site: str, browser: Browser, width: int) -> None:
    """The tracking form's button stands at least 1.5 rem (24 px) above the footer."""
    page = open_page(browser, site, "/complaints/track", "zh", width)
    button = page.locator(".complaint-track button.primary").bounding_box()
    footer = page.locator(".site-footer").bounding_box()
    assert button is not None
    assert footer is not None
    assert footer["y"] - (button["y"] + button["height"]) >= 24
    page.close()
