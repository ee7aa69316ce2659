"""Badge faces fail closed; images and shields JSON are well-formed in both languages."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from public_site.badges.rendering import (
    FACES,
    NOT_CERTIFIED,
    BadgeKind,
    badge_label,
    pick_language,
    pick_style,
    render_shields_json,
    render_svg,
    text_width,
    verdict,
)
from registry.certification.status import CertificationState as S
from registry.certification.status import PublicCertification

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def cert(
    state: S | None, level: int | None = 2, valid_until: datetime | None = NOW + timedelta(days=90)
) -> PublicCertification:
    """A public certificate of a demo vendor."""
    return PublicCertification(
        vendor_slug="yunzhan-cloud",
        name_zh="云栈科技有限公司",
        name_en="Yunzhan Cloud",
        state=state,
        level=level,
        valid_until=valid_until,
        scheme="consumer-protection@1",
        log_index=3,
        changed_at=NOW - timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("certification", "kind", "level"),
    [
        (cert(S.ACTIVE, 1), BadgeKind.CERTIFIED, 1),
        (cert(S.ACTIVE, 3), BadgeKind.CERTIFIED, 3),
        (cert(S.RENEWAL_DUE, 2), BadgeKind.RENEWAL_DUE, 2),
        (cert(S.SUSPENDED, None), BadgeKind.SUSPENDED, None),
        (cert(S.REVOKED, None), BadgeKind.REVOKED, None),
        (cert(S.EXPIRED, None), BadgeKind.EXPIRED, None),
        (cert(S.APPLIED, None), BadgeKind.NOT_CERTIFIED, None),
        (cert(None, None, None), BadgeKind.NOT_CERTIFIED, None),
        (None, BadgeKind.NOT_CERTIFIED, None),
    ],
    ids=[
        "l1",
        "l3",
        "renewal-due",
        "suspended",
        "revoked",
        "expired",
        "applied",
        "none",
        "unknown",
    ],
)
def test_verdict_follows_state(
    certification: PublicCertification | None, kind: BadgeKind, level: int | None
) -> None:
    """Each state has its face; only active and renewal-due carry a level."""
    decided = verdict(certification, NOW)
    assert (decided.kind, decided.level) == (kind, level)
    assert decided.certified == (kind in {BadgeKind.CERTIFIED, BadgeKind.RENEWAL_DUE})


@pytest.mark.parametrize(
    "certification",
    [
        cert(S.ACTIVE, None),
        cert(S.ACTIVE, 4),
        cert(S.ACTIVE, 0),
        cert(S.ACTIVE, 2, valid_until=None),
        cert(S.RENEWAL_DUE, None),
    ],
    ids=["no-level", "level-4", "level-0", "no-validity", "renewal-without-level"],
)
def test_incomplete_certificates_fail_closed(certification: PublicCertification) -> None:
    """A certified state with missing or impossible facts reads "not certified"."""
    assert verdict(certification, NOW) == NOT_CERTIFIED


def test_ended_validity_reads_expired_before_the_job_runs() -> None:
    """Past valid_until the badge says expired even if the state still says active."""
    active = cert(S.ACTIVE, 2, valid_until=NOW)
    assert verdict(active, NOW).kind is BadgeKind.EXPIRED
    assert verdict(active, NOW - timedelta(seconds=1)).kind is BadgeKind.CERTIFIED


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("style", ["flat", "plain"])
@pytest.mark.parametrize("kind", list(BadgeKind))
def test_svg_is_well_formed_and_accessible(kind: BadgeKind, lang: str, style: str) -> None:
    """Every face parses as SVG, names itself for screen readers and fits its text."""
    level = 2 if kind in {BadgeKind.CERTIFIED, BadgeKind.RENEWAL_DUE} else None
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
    assert "已认证 L2" in render_svg(BadgeKind.CERTIFIED, 2, "zh", "flat").body.decode()
    assert "certified L2" in render_svg(BadgeKind.CERTIFIED, 2, "en", "flat").body.decode()
    assert "已暂停" in render_svg(BadgeKind.SUSPENDED, None, "zh", "flat").body.decode()
    assert "未认证" in render_svg(BadgeKind.NOT_CERTIFIED, None, "zh", "plain").body.decode()
    green = "#1a7f37"
    for kind in BadgeKind:
        body = render_svg(kind, 1, "en", "flat").body.decode()
        assert (green in body) == (kind is BadgeKind.CERTIFIED)


def test_styles_differ_only_in_shape() -> None:
    """Flat has rounded corners and a gloss; plain has neither."""
    flat = render_svg(BadgeKind.CERTIFIED, 1, "en", "flat").body.decode()
    plain = render_svg(BadgeKind.CERTIFIED, 1, "en", "plain").body.decode()
    assert 'rx="3"' in flat
    assert "linearGradient" in flat
    assert 'rx="3"' not in plain
    assert "linearGradient" not in plain


@pytest.mark.parametrize("kind", list(BadgeKind))
def test_shields_endpoint_schema(kind: BadgeKind) -> None:
    """schemaVersion 1 with label, message and colour; errors forbid re-colouring."""
    document = json.loads(render_shields_json(kind, 3, "en").body)
    assert document["schemaVersion"] == 1
    assert isinstance(document["label"], str)
    assert isinstance(document["message"], str)
    assert all(c in "0123456789abcdef" for c in document["color"])
    assert document["isError"] == (kind not in {BadgeKind.CERTIFIED, BadgeKind.RENEWAL_DUE})
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
