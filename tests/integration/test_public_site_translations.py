"""The Babel catalogs are complete and compiled: every message the site uses has a
Chinese translation with the same placeholders, and each .mo matches its .po."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from public_site.i18n import LANGUAGES, catalog_paths, compile_catalog, language

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
METHOD_MAP = [("public_site/**.py", "python"), ("public_site/templates/**.html", "jinja2")]
OPTIONS = {"public_site/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def used_messages() -> set[str]:
    """Message ids the code and templates use, as `pybabel extract` finds them."""
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, METHOD_MAP, OPTIONS, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalogs_match_their_sources(lang: str) -> None:
    """The committed .mo is exactly what `pybabel compile` makes of the .po."""
    po_path, mo_path = catalog_paths(lang)
    assert mo_path.read_bytes() == compile_catalog(po_path), (
        f"{mo_path} is stale: run pybabel compile -d public_site/translations"
    )


def test_every_used_message_is_translated_into_chinese() -> None:
    """No English leaks into the Chinese site, and placeholders survive translation."""
    po_path, _ = catalog_paths("zh")
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    used = used_messages()
    assert len(used) > 100
    problems: list[str] = []
    for message_id in sorted(used):
        entry = catalog.get(message_id)
        if entry is None or entry.fuzzy:
            problems.append(f"missing: {message_id!r}")
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            problems.append(f"untranslated: {message_id!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[0]))
        if any(set(PLACEHOLDER.findall(s)) != wanted for s in strings):
            problems.append(f"placeholders differ: {message_id!r}")
    assert problems == []


def test_runtime_translation() -> None:
    """The loaded catalogs translate; English falls back to the message id."""
    assert language("zh").gettext("not certified") == "未认证"
    assert language("en").gettext("not certified") == "not certified"
    assert language("zh").ngettext("%(num)d member vendor", "%(num)d member vendors", 3) == (
        "共 %(num)d 家会员企业"
    )
