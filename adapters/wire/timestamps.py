"""Instants and calendar dates as the text formats write them, read by one rule for all.

An instant is an RFC 3339 date-time, which is also an xs:dateTime with its zone: upper-case T,
Z or a numeric offset, any number of fraction digits, of which the store keeps microseconds
(the rest are cut, as XML tools write seven digits and more). A date is YYYY-MM-DD.
Python's fromisoformat alone would also take ISO 8601 forms the partners' parsers may not.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_DATE = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_INSTANT = re.compile(
    rf"({_DATE}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])(?:\.([0-9]{{1,6}})[0-9]*)?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])",
    re.ASCII,
)
_DAY = re.compile(_DATE, re.ASCII)


def instant(text: str) -> datetime:
    """The instant ``text`` writes; ValueError when it is not one (or not a real day)."""
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with a zone (YYYY-MM-DDThh:mm:ssZ)")
    whole, fraction, zone = match.groups()
    if fraction is not None and len(fraction) < len(text) - len(whole) - len(zone) - 1:
        text = f"{whole}.{fraction}{zone}"  # digits past microseconds cut
    return datetime.fromisoformat(text)


def day(text: str) -> date:
    """The calendar date ``text`` writes; ValueError when it is not one."""
    if _DAY.fullmatch(text) is None:
        raise ValueError("not a calendar date (YYYY-MM-DD)")
    return date.fromisoformat(text)


def instant_text(moment: datetime) -> str:
    """``moment`` in UTC, written with Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
