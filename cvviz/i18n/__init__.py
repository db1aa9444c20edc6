"""Translations: every sentence cvviz shows, in English or Korean, chosen per visitor.

The language is held in a context variable, never process-wide, so two browser sessions (two script
threads) or a job thread each see their own. Messages are marked with ``_("...")`` (translated now) or
``N_("...")`` (marked for extraction, translated where shown). Placeholders are named and filled after
translation, ``_("{n} images").format(n=count)``, so a translator can move them.

The catalogs are gettext ``.po`` files under ``locales/`` managed with Babel (``pybabel extract``,
``update``); they are compiled in memory on first use, so no compiled file is kept in the repository.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext as _gettext
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "cvviz"
DEFAULT_LANGUAGE = "en"
LANGUAGES = {"en": "English", "ko": "한국어"}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("cvviz_language", default=DEFAULT_LANGUAGE)


def normalize_language(value: str | None) -> str | None:
    """``'ko-KR'``, ``'ko_KR.UTF-8'`` or ``'KO'`` → ``'ko'``; ``None`` for a language cvviz lacks."""
    if not value:
        return None
    code = value.strip().replace("-", "_").split(".")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    """Set the language for the rest of this thread's (or task's) context, e.g. one script run."""
    _language.set(normalize_language(language) or DEFAULT_LANGUAGE)


@contextlib.contextmanager
def use_language(language: str) -> Iterator[None]:
    """Show messages in ``language`` inside the block, then restore the previous one."""
    token = _language.set(normalize_language(language) or DEFAULT_LANGUAGE)
    try:
        yield
    finally:
        _language.reset(token)


@functools.cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``language`` (the identity for English or a missing catalog)."""
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == DEFAULT_LANGUAGE or not po_path.is_file():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def gettext(message: str) -> str:
    """``message`` in the current language (itself when untranslated; "" stays "", not the catalog's header)."""
    if not message:
        return message
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (module constants, catalog prose)."""
    return message


_ = gettext


@functools.cache
def _filled_pattern(template: str, separator: str) -> re.Pattern[str]:
    """``template`` as a pattern matching it, filled in, at the start of a text, its placeholders as groups."""
    parts = re.split(r"\{(\w+)\}", template)
    body = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^;]+?)" for i, part in enumerate(parts))
    return re.compile(body + (f"(?={re.escape(separator)}|$)" if separator else "$"))


def translate_filled(text: str, templates: Iterable[str], separator: str = "") -> str:
    """``text``, made in English from one of ``templates`` (``N_`` messages with named placeholders) and
    kept so because it is cached and shared by every session, shown in the current language: the template
    it was filled from is translated and filled with the same values. With ``separator``, ``text`` is
    several such sentences joined by it (a filled-in value holds no ";"). A part no template matches stays
    as it is."""
    ordered = sorted(templates, key=len, reverse=True)
    parts, rest = [], text
    while rest:
        for template in ordered:
            match = _filled_pattern(template, separator).match(rest)
            if match:
                parts.append(gettext(template).format(**match.groupdict()))
                rest = rest[match.end() :].removeprefix(separator)
                break
        else:
            parts.append(rest)
            break
    return separator.join(parts)
