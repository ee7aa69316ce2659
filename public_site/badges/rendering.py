"""What a badge looks like, as pure functions: a verdict in, an image or JSON out.

Whether a vendor is certified is decided in one place, `registry.certification.verdict`,
which every face reads; this module only draws each of its kinds. An unknown vendor or
any error on the way renders the neutral "not certified" badge. The images carry only
fixed, translated words, never text a vendor supplied, so nothing a vendor registers can
end up inside an SVG.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from public_site.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, language
from registry.certification.verdict import VerdictKind

STYLES: Final = ("flat", "plain")
DEFAULT_STYLE: Final = "flat"
SHIELDS_MIN_CACHE_SECONDS: Final = 300
"""shields.io ignores endpoint cacheSeconds below 300."""


@dataclass(frozen=True)
class BadgeFace:
    """Message and colours of one kind; colours keep white text at >= 4.5:1 (WCAG 1.4.3)."""

    message: str
    color: str


LABEL: Final = N_("Trust Registry")
"""The brand on the left half: the registry's name, as the site header writes it."""
TITLE: Final = N_("%(label)s: %(message)s")
"""The image's accessible name: both halves, with the language's own colon."""
FACES: Final = {
    VerdictKind.CERTIFIED: BadgeFace(N_("certified L%(level)s"), "1a7f37"),
    VerdictKind.RENEWAL_DUE: BadgeFace(N_("certified L%(level)s · renewal due"), "7d5b00"),
    VerdictKind.SUSPENDED: BadgeFace(N_("suspended"), "b42318"),
    VerdictKind.REVOKED: BadgeFace(N_("revoked"), "7a1212"),
    VerdictKind.EXPIRED: BadgeFace(N_("expired"), "6b3fa0"),
    VerdictKind.NOT_CERTIFIED: BadgeFace(N_("not certified"), "57606a"),
}
LABEL_COLOR: Final = "3d3d3d"


def badge_label(lang: str) -> str:
    """The left half of the badge."""
    return language(lang).gettext(LABEL)


def badge_message(kind: VerdictKind, level: int | None, lang: str) -> str:
    """The right half of the badge."""
    return language(lang).gettext(FACES[kind].message) % {"level": level}


def pick_language(value: str | None) -> str:
    """A supported language for a badge (`?lang=`), else the default; never an error."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def pick_style(value: str | None) -> str:
    """A supported style (`?style=`), else the default; never an error."""
    return value if value in STYLES else DEFAULT_STYLE


@dataclass(frozen=True)
class RenderedBadge:
    """Bytes to send and their strong validator (RFC 9110 §8.8.3)."""

    body: bytes
    etag: str


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# Approximate advance widths at 11 px, so the two halves fit their text (as shields does).
_NARROW = frozenset("fijlrtI!.,:;'|() ")
_WIDE = frozenset("mwMW@")


def text_width(text: str) -> float:
    """Estimated width in pixels of `text` at 11 px: CJK and full-width glyphs take 11."""
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in {"W", "F"}:
            width += 11.0
        elif char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 9.6
        elif char.isupper() or char.isdigit():
            width += 7.2
        else:
            width += 6.3
    return width


_FONT: Final = "Verdana,'DejaVu Sans','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif"
_PAD: Final = 6


@lru_cache(maxsize=256)
def render_svg(kind: VerdictKind, level: int | None, lang: str, style: str) -> RenderedBadge:
    """The badge image: a pure function of its face, language and style (memoised)."""
    label, message = badge_label(lang), badge_message(kind, level, lang)
    color = FACES[kind].color
    label_width = round(text_width(label)) + 2 * _PAD
    message_width = round(text_width(message)) + 2 * _PAD
    width = label_width + message_width
    title = language(lang).gettext(TITLE) % {"label": label, "message": message}
    rounding = ' rx="3"' if style == "flat" else ""
    gloss = (
        '<linearGradient id="g" x2="0" y2="100%"><stop offset="0" stop-color="#fff" '
        'stop-opacity=".12"/><stop offset="1" stop-opacity=".12"/></linearGradient>'
        if style == "flat"
        else ""
    )
    gloss_rect = f'<rect width="{width}" height="20" fill="url(#g)"/>' if style == "flat" else ""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" '
        f'viewBox="0 0 {width} 20" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>{gloss}"
        f'<clipPath id="c"><rect width="{width}" height="20"{rounding}/></clipPath>'
        f'<g clip-path="url(#c)"><rect width="{label_width}" height="20" fill="#{LABEL_COLOR}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="20" fill="#{color}"/>'
        f"{gloss_rect}</g>"
        f'<g fill="#fff" text-anchor="middle" font-family="{_FONT}" font-size="11">'
        f'<text x="{label_width / 2:g}" y="14">{escape(label)}</text>'
        f'<text x="{label_width + message_width / 2:g}" y="14">{escape(message)}</text>'
        "</g></svg>"
    )
    body = svg.encode("utf-8")
    return RenderedBadge(body, _etag(body))


@lru_cache(maxsize=256)
def render_shields_json(kind: VerdictKind, level: int | None, lang: str) -> RenderedBadge:
    """The shields.io endpoint document (schemaVersion 1) for the same face.

    `isError` is set on every face that is not certified: shields.io then refuses a
    `?color=` override, so nobody can re-colour a suspended badge green.
    """
    certified = kind in {VerdictKind.CERTIFIED, VerdictKind.RENEWAL_DUE}
    document = {
        "schemaVersion": 1,
        "label": badge_label(lang),
        "message": badge_message(kind, level, lang),
        "color": FACES[kind].color,
        "labelColor": LABEL_COLOR,
        "isError": not certified,
        "cacheSeconds": SHIELDS_MIN_CACHE_SECONDS,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return RenderedBadge(body, _etag(body))
