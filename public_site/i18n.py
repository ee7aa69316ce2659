"""Languages of the public site: Babel catalogs, the language a request gets, gettext for Jinja.

Simplified Chinese is the default; English is the other language. Message ids are the
English text; `translations/<locale>/LC_MESSAGES/messages.po` holds each language's
strings and the compiled `.mo` beside it is what runs (a unit test keeps the `.mo`
files in step with the `.po` files; a missing `.mo` is compiled in memory at start).

A request's language is, in order: `?lang=zh|en`, the `lang` cookie that an explicit
choice sets, the best match in Accept-Language (RFC 9110 §12.5.4), then Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TRANSLATIONS_DIR: Final = Path(__file__).parent / "translations"
DOMAIN: Final = "messages"
DEFAULT_LANGUAGE: Final = "zh"
LANGUAGES: Final = ("zh", "en")
LANGUAGE_COOKIE: Final = "lang"
LOCALE_DIRS: Final = {"zh": "zh_CN", "en": "en"}
HTML_LANG: Final = {"zh": "zh-CN", "en": "en"}
LANGUAGE_NAMES: Final = {"zh": "中文", "en": "English"}
"""Each language named in itself, as the switch control shows it."""


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext no-op marker
    """Mark a string for extraction without translating it yet (translated at render)."""
    return message


def catalog_paths(lang: str) -> tuple[Path, Path]:
    """The `.po` source and compiled `.mo` of a language."""
    directory = TRANSLATIONS_DIR / LOCALE_DIRS[lang] / "LC_MESSAGES"
    return directory / f"{DOMAIN}.po", directory / f"{DOMAIN}.mo"


def compile_catalog(po_path: Path) -> bytes:
    """The `.mo` bytes of a `.po` file, as `pybabel compile` writes them (fuzzy entries out)."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


@cache
def translations(lang: str) -> Translations:
    """The compiled catalog of `lang`; compiled from the `.po` in memory if the `.mo` is absent."""
    po_path, mo_path = catalog_paths(lang)
    data = mo_path.read_bytes() if mo_path.exists() else compile_catalog(po_path)
    return Translations(io.BytesIO(data), domain=DOMAIN)


@dataclass(frozen=True)
class Language:
    """One language with the gettext functions templates and code translate through."""

    code: str
    catalog: Translations

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for `<html lang>`."""
        return HTML_LANG[self.code]

    def gettext(self, message: str) -> str:
        """The translation of `message`, or `message` itself."""
        return str(self.catalog.gettext(message))

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """Singular or plural translation for `count`."""
        return str(self.catalog.ngettext(singular, plural, count))

    def jinja_functions(self) -> Mapping[str, Callable[..., Any]]:
        """`_`, `gettext` and `ngettext` for a template context, with Jinja's newstyle rules.

        Like `jinja2.ext`'s newstyle gettext: the translation is a format string whose
        %(name)s variables are escaped when autoescaping is on, so a variable can never
        inject markup even though the translated text itself may carry trusted tags.
        """
        return _jinja_functions(self.code)


@cache
def language(code: str) -> Language:
    """The `Language` for a supported code (anything else is a programming error)."""
    if code not in LANGUAGES:
        raise ValueError(f"unsupported language {code!r}")
    return Language(code, translations(code))


@cache
def _jinja_functions(code: str) -> Mapping[str, Callable[..., Any]]:
    lang = language(code)

    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text: str = lang.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - catalog text is ours; variables are escaped by %
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, count: int, **variables: Any) -> str:
        variables.setdefault("num", count)
        text: str = lang.ngettext(singular, plural, count)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - catalog text is ours; variables are escaped by %
        return text % variables

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def parse_language(value: str | None) -> str | None:
    """`zh` or `en` when `value` names one of them (`zh-CN`, `en_GB`, `EN` count), else None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else None


def accept_language(header: str | None) -> str | None:
    """The supported language with the highest q-value in Accept-Language (RFC 9110 §12.5.4)."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        code = parse_language(tag)
        if code is None or quality <= 0:
            continue
        candidate = (quality, -position, code)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def negotiate(query: str | None, cookie: str | None, header: str | None) -> str:
    """The language for a request: explicit choice, remembered choice, browser, default."""
    return (
        parse_language(query)
        or parse_language(cookie)
        or accept_language(header)
        or DEFAULT_LANGUAGE
    )
