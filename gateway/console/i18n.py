"""Two languages, per user: English (the source strings) and Simplified Chinese (gettext
catalogues in translations/zh_Hans/*.po, one file per page, merged when the console starts;
no compile step, so a changed .po is in force at the next start).

Times are shown in the user's time zone (a cookie the page's script sets from the browser, or
the user's choice), with the UTC time on hover.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import g
from markupsafe import Markup, escape

TRANSLATIONS = Path(__file__).parent / "translations"
#: Language code (cookie, <html lang>) -> the babel locale of its dates and numbers.
LANGUAGES: Mapping[str, str] = {"en": "en_GB", "zh-Hans": "zh_Hans_CN"}
#: The catalogue folder of each translated language.
_CATALOGUES = {"zh-Hans": "zh_Hans"}
DEFAULT_LANGUAGE = "en"
#: The time zones a user may choose (IANA names).
ZONES = [*sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")), "UTC"]


def load_catalogue(folder: Path, locale: str) -> Catalog:
    """Every .po file of ``folder`` in one catalogue (a msgid in two files must agree)."""
    merged = Catalog(locale=locale)
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as po:
            for message in read_po(po, locale=locale):
                if message.id:
                    merged[message.id] = message
    return merged


def _translations(language: str) -> NullTranslations:
    folder = _CATALOGUES.get(language)
    if folder is None:
        return NullTranslations()
    out = io.BytesIO()
    write_mo(out, load_catalogue(TRANSLATIONS / folder, folder))  # fuzzy entries left out
    out.seek(0)
    return Translations(out)


class Languages:
    """The translations of every language, loaded once."""

    def __init__(self) -> None:
        self._loaded = {code: _translations(code) for code in LANGUAGES}

    def get(self, language: str) -> NullTranslations:
        return self._loaded.get(language, self._loaded[DEFAULT_LANGUAGE])


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The user's choice (cookie), else the browser's first acceptable language, else English."""
    if cookie is not None and cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def time_zone(name: str | None) -> ZoneInfo:
    """The user's time zone; UTC when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def as_datetime(value: Any) -> datetime | None:
    """A protobuf Timestamp (unset: None) or a datetime, as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not (value.seconds or value.nanos):
        return None
    return datetime.fromtimestamp(value.seconds + value.nanos / 1e9, UTC)


def when(value: Any, language: str, zone: ZoneInfo) -> Markup:
    """``<time>`` in the user's zone and language; the UTC time on hover; "—" when unset."""
    moment = as_datetime(value)
    if moment is None:
        return Markup("—")
    locale = Locale.parse(LANGUAGES.get(language, LANGUAGES[DEFAULT_LANGUAGE]))
    local = format_datetime(moment, "yyyy-MM-dd HH:mm:ss zzz", tzinfo=zone, locale=locale)
    utc = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.astimezone(UTC).isoformat().replace("+00:00", "Z"), utc, escape(local)
    )


def gettext(message: str, **variables: Any) -> str:
    """The current user's translation of ``message`` (jinja's newstyle: %(name)s filled)."""
    translated = g.translations.gettext(message) if "translations" in g else message
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    translations = g.translations if "translations" in g else NullTranslations()
    translated = translations.ngettext(singular, plural, n)
    return translated % {"num": n, **variables}


_: Callable[[str], str] = gettext
