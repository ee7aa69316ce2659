"""Badge images and shields JSON are well-formed in both languages, one face per verdict kind."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from public_site.badges.rendering import (
    FACES,
    badge_label,
    pick_language,
    pick_style,
    render_shields_json,
    render_svg,
    text_width,
)
from registry.certification.verdict import VerdictKind

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("style", ["flat", "plain"])
@pytest.mark.parametrize("kind", list(VerdictKind))
def test_svg_is_well_formed_and_accessible(kind: VerdictKind, lang: str, style: str) -> None:
    """Every face parses as SVG, names itself for screen readers and fits its text."""
    level = 2 if kind in {VerdictKind.CERTIFIED, VerdictKind.RENEWAL_DUE} else None
    rendered = render_svg(kind, level, lang, style)
    root = ET.fromstring(rendered.body)  # noqa: S314 - our own output, under test
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert root.get("aria-label") == title.text
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert len(texts) == 2
    assert int(root.get("width", "0")) >= text_width(texts[0]) + text_width(texts[1])
    assert rendered.etag.startswith('"')
    assert rendered.etag.endswith('"')


def test_words_and_colours_per_face() -> None:
    """Chinese by default wording, English on request; green only when certified."""
    assert "已认证 L2" in render_svg(VerdictKind.CERTIFIED, 2, "zh", "flat").body.decode()
    assert "certified L2" in render_svg(VerdictKind.CERTIFIED, 2, "en", "flat").body.decode()
    assert "已暂停" in render_svg(VerdictKind.SUSPENDED, None, "zh", "flat").body.decode()
    assert "未认证" in render_svg(VerdictKind.NOT_CERTIFIED, None, "zh", "plain").body.decode()
    green = "#1a7f37"
    for kind in VerdictKind:
        body = render_svg(kind, 1, "en", "flat").body.decode()
        assert (green in body) == (kind is VerdictKind.CERTIFIED)


def test_styles_differ_only_in_shape() -> None:
    """Flat has rounded corners and a gloss; plain has neither."""
    flat = render_svg(VerdictKind.CERTIFIED, 1, "en", "flat").body.decode()
    plain = render_svg(VerdictKind.CERTIFIED, 1, "en", "plain").body.decode()
    assert 'rx="3"' in flat
    assert "linearGradient" in flat
    assert 'rx="3"' not in plain
    assert "linearGradient" not in plain


@pytest.mark.parametrize("kind", list(VerdictKind))
def test_shields_endpoint_schema(kind: VerdictKind) -> None:
    """schemaVersion 1 with label, message and colour; errors forbid re-colouring."""
    document = json.loads(render_shields_json(kind, 3, "en").body)
    assert document["schemaVersion"] == 1
    assert isinstance(document["label"], str)
    assert isinstance(document["message"], str)
    assert all(c in "0123456789abcdef" for c in document["color"])
    assert document["isError"] == (kind not in {VerdictKind.CERTIFIED, VerdictKind.RENEWAL_DUE})
    assert document["cacheSeconds"] >= 300


def test_unknown_options_fall_back_quietly() -> None:
    """A badge never errors over its options: unknown lang or style take the defaults."""
    assert pick_language("fr") == "zh"
    assert pick_language("en") == "en"
    assert pick_language(None) == "zh"
    assert pick_style("for-the-badge") == "flat"
    assert pick_style("plain") == "plain"


def test_every_face_has_its_own_colour_and_the_label_is_a_name() -> None:
    """Expired and not certified (and every other pair) differ by hue, not only by text;
    the left half is the registry's name, as the site header writes it."""
    colours = [face.color for face in FACES.values()]
    assert len(set(colours)) == len(colours)
    assert badge_label("en") == "Trust Registry"
    assert badge_label("zh") == "可信企业名录"
