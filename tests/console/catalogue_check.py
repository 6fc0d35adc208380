"""The strings one page shows (its module and templates) and which of them lack a Chinese
translation: each page's own check, beside test_catalogues' check of the whole console."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file

from gateway.console import i18n
from tests.console.test_catalogues import _KEYWORDS, CONSOLE

_TEMPLATE_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}


def page_messages(page: str) -> set[str]:
    """Every msgid of pages/PAGE.py and templates/PAGE*.html."""
    files: list[tuple[str, Path, dict[str, str]]] = [
        ("python", CONSOLE / "pages" / f"{page}.py", {})
    ]
    files += [
        ("jinja2", path, _TEMPLATE_OPTIONS)
        for path in sorted((CONSOLE / "templates").glob(f"{page}*.html"))
    ]
    found: set[str] = set()
    for method, path, options in files:
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=_KEYWORDS, options=options
        ):
            found.update(m for m in (message if isinstance(message, tuple) else (message,)) if m)
    return found


def untranslated(messages: set[str]) -> list[str]:
    catalogue = i18n.load_catalogue(i18n.TRANSLATIONS / "zh_Hans", "zh_Hans")
    return sorted(
        text
        for text in messages
        if (entry := catalogue.get(text)) is None or not entry.string or entry.fuzzy
    )
