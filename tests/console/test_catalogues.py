"""Every string the console shows has a Chinese translation, and every translation is used."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from gateway.console import i18n

CONSOLE = Path(i18n.__file__).parent
_METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def _source_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        CONSOLE, _METHODS, keywords=_KEYWORDS, options_map=_OPTIONS
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                found.setdefault(text, f"{filename}:{lineno}")
    return found


def test_the_extraction_finds_the_strings_of_templates_and_code() -> None:
    found = _source_messages()
    assert "Skip to content" in found  # base.html
    assert "draft" in found  # views.py, N_
    assert "A client certificate is required." in found  # app.py, _


def test_every_string_has_a_chinese_translation() -> None:
    catalogue = i18n.load_catalogue(i18n.TRANSLATIONS / "zh_Hans", "zh_Hans")
    missing = [
        f"{where}: {text!r}"
        for text, where in sorted(_source_messages().items(), key=lambda item: item[1])
        if (entry := catalogue.get(text)) is None or not entry.string or entry.fuzzy
    ]
    assert missing == []


def test_every_translation_is_of_a_string_the_console_shows() -> None:
    catalogue = i18n.load_catalogue(i18n.TRANSLATIONS / "zh_Hans", "zh_Hans")
    shown = _source_messages()
    assert sorted(m.id for m in catalogue if m.id and m.id not in shown) == []


def test_placeholders_agree_between_english_and_chinese() -> None:
    catalogue = i18n.load_catalogue(i18n.TRANSLATIONS / "zh_Hans", "zh_Hans")
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check() if errors]
    assert problems == []


def test_a_msgid_in_two_files_has_one_translation() -> None:
    from babel.messages.pofile import read_po

    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for path in sorted((i18n.TRANSLATIONS / "zh_Hans").glob("*.po")):
        with path.open("rb") as po:
            for message in read_po(po, locale="zh_Hans"):
                if not message.id:
                    continue
                earlier = seen.setdefault(str(message.id), (path.name, str(message.string)))
                if earlier[1] != message.string:
                    conflicts.append((message.id, earlier[0], path.name))
    assert conflicts == []


def test_no_string_carries_markup() -> None:
    """Translated strings are not escaped when shown (jinja's newstyle gettext): text such as
    "AEO<code>" would vanish as a tag. It goes into a placeholder, which is escaped."""
    assert sorted(t for t in _source_messages() if "<" in t or "&" in t) == []
