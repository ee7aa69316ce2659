"""How the public site writes times and registry values: Beijing time on Chinese pages
with the UTC instant in the markup, relative due dates, registry reasons translated,
an admin's reason shown as written and labelled, every log entry type named."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from public_site.i18n import language
from public_site.wording import ENTRY_TYPES, MACHINE_REASONS, Wording, machine_reason
from registry.certification import machine
from registry.transparency.entries import EntryType

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


def wording(code: str) -> Wording:
    """The wording of a page in `code` at NOW."""
    return Wording(language(code), NOW)


def test_chinese_pages_show_beijing_time_with_the_utc_instant() -> None:
    """16:05 UTC is five past midnight the next day in Beijing; the markup keeps UTC."""
    moment = datetime(2026, 10, 24, 16, 5, tzinfo=UTC)
    assert str(wording("zh").date(moment)) == (
        '<time datetime="2026-10-24T16:05:00Z">2026年10月25日</time>'
    )
    assert str(wording("zh").date_time(moment)) == (
        '<time datetime="2026-10-24T16:05:00Z">2026年10月25日 00:05（北京时间）</time>'
    )
    assert str(wording("en").date_time(moment)) == (
        '<time datetime="2026-10-24T16:05:00Z">24 October 2026 16:05 (UTC)</time>'
    )
    assert str(wording("zh").date(None)) == "—"


def test_relative_phrasing() -> None:
    """Days ahead and behind, in each language."""
    assert wording("zh").relative(NOW + timedelta(days=3)) == "3天后"
    assert wording("en").relative(NOW + timedelta(days=3)) == "in 3 days"
    assert wording("zh").relative(NOW - timedelta(days=40)) == "1个月前"


def machine_reason_templates() -> set[str]:
    """Every reason `registry.certification.machine` writes, f-string fields as %(name)s."""
    tree = ast.parse(Path(machine.__file__).read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in {
            "Decision",
            "_changed",
        }:
            reason = node.args[-1]
            if isinstance(reason, ast.Constant) and isinstance(reason.value, str):
                found.add(reason.value)
            elif isinstance(reason, ast.JoinedStr):
                found.add(
                    "".join(
                        part.value
                        if isinstance(part, ast.Constant)
                        else f"%({ast.unparse(part.value)})s"  # type: ignore[attr-defined]
                        for part in reason.values
                    )
                )
    # `why` picks one of two constants, and a fault's reason comes from `_FAULT_REASONS`:
    # read them where they are assigned.
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in {"why", "_FAULT_REASONS"} for t in node.targets
        ):
            found |= {
                c.value
                for c in ast.walk(node.value)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
    return found


def test_every_machine_reason_has_a_translation() -> None:
    """The catalogue holds exactly what the state machine writes, so none shows in English."""
    written = machine_reason_templates()
    assert len(written) > 8
    assert written == set(MACHINE_REASONS)
    for reason in written:
        assert language("zh").gettext(reason) != reason, reason


def test_every_log_entry_type_is_named() -> None:
    """Each entry type has a name for people, in Chinese too."""
    assert set(ENTRY_TYPES) == {kind.value for kind in EntryType}
    for name in ENTRY_TYPES.values():
        assert language("zh").gettext(name) != name


@pytest.mark.parametrize(
    ("reason", "reason_lang", "code", "shown"),
    [
        ("granted at level 2", None, "zh", "授予 2 级认证"),
        ("granted at level 2", None, "en", "granted at level 2"),
        ("演示：广告宣传内容正在核查", "zh", "zh", "演示：广告宣传内容正在核查"),
        (
            "demo: leak not remedied",
            "en",
            "zh",
            '<q lang="en">demo: leak not remedied</q> <span class="original-label">（英文原文）</span>',
        ),
        (
            "广告核查",
            "zh",
            "en",
            '<q lang="zh-CN">广告核查</q> <span class="original-label">(original in Chinese)</span>',
        ),
        # A reason stored before its language was kept: told from its script.
        ("<b>wrong</b> address", None, "zh", '<q lang="en">&lt;b&gt;wrong&lt;/b&gt; address</q>'),
    ],
)
def test_reasons(reason: str, reason_lang: str | None, code: str, shown: str) -> None:
    """Registry wording translated; a person's text as written, marked and labelled."""
    assert str(wording(code).reason(reason, reason_lang)).startswith(shown)


def test_machine_reason_matches_only_whole_phrases() -> None:
    """An admin who writes "revoked for fraud" is not mistaken for the registry's "revoked"."""
    assert machine_reason("revoked") == ("revoked", {})
    assert machine_reason("revoked for fraud") is None
    assert machine_reason("granted at level 7") is None


def test_the_consumers_secret_has_one_name() -> None:
    """Wherever a page speaks of the complaint's secret, Chinese calls it 查询密码, never
    密钥 (which names the signing keys)."""
    from babel.messages.pofile import read_po

    from public_site.i18n import catalog_paths

    with catalog_paths("zh")[0].open("rb") as handle:
        catalog = read_po(handle)
    about_secret = [
        message
        for message in catalog
        if isinstance(message.id, str) and re.search(r"\bsecret\b", message.id, re.IGNORECASE)
    ]
    assert len(about_secret) >= 3
    for message in about_secret:
        assert "密钥" not in message.string, message.id
        assert "密码" in message.string, message.id
