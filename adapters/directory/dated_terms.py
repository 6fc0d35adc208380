"""The parts of a partner file that carry dates, durations or point into the file itself:
dated recognised tiers, per-mode entry into force, freshness and the list of assumed fields.

Each reader takes the file being read (``Source``) so every complaint names file and field.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, Protocol

from gateway.domain.errors import DefinitionInvalid
from gateway.domain.partners import Freshness, TierRecognition, TransportMode

MODES = {m.value: m for m in TransportMode}
_DURATION = re.compile(r"(?:[0-9]+[dhms])+")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class Source(Protocol):
    """What these readers need of the file being read (files._File)."""

    def error(self, field: str, message: str) -> DefinitionInvalid: ...

    def day(self, value: Any, field: str) -> date | None: ...

    def require(self, data: dict[str, Any], key: str, kind: type, field: str = "") -> Any: ...


def period(f: Source, table: dict[str, Any], field: str) -> tuple[date | None, date | None]:
    """``start``/``end`` of a table, closed-open like Period; either may be absent."""
    start = f.day(table.get("start"), f"{field}.start")
    end = f.day(table.get("end"), f"{field}.end")
    if start is not None and end is not None and end <= start:
        raise f.error(f"{field}.end", "must be after start")
    return start, end


def recognised_tiers(f: Source, data: dict[str, Any]) -> tuple[TierRecognition, ...]:
    """Each entry a tier name (recognised while the MRA is) or an inline table
    ``{ tier = "X", start = 2027-01-01, end = 2028-01-01 }``."""
    value = data.get("recognised_tiers")
    if not isinstance(value, list):
        raise f.error("recognised_tiers", "must be a list of tier names or inline tables")
    found = []
    for i, entry in enumerate(value):
        field = f"recognised_tiers[{i}]"
        if isinstance(entry, str):
            found.append(TierRecognition(entry))
            continue
        if not isinstance(entry, dict):
            raise f.error(field, "must be a tier name or { tier = ..., start = ..., end = ... }")
        unknown = sorted(set(entry) - {"tier", "start", "end"})
        if unknown:
            raise f.error(f"{field}.{unknown[0]}", "unknown key (expected one of end, start, tier)")
        tier = f.require(entry, "tier", str, f"{field}.tier")
        found.append(TierRecognition(tier, *period(f, entry, field)))
    return tuple(found)


def in_force_by_mode(f: Source, mra: dict[str, Any]) -> tuple[tuple[TransportMode, date], ...]:
    """``in_force_by_mode = { road = 2014-05-18, air = 2014-09-01 }``: modes whose entry into
    force differs from ``in_force``."""
    value = mra.get("in_force_by_mode", {})
    if not isinstance(value, dict):
        raise f.error("mra.in_force_by_mode", "must be a table of mode = date")
    found = []
    for name, when in value.items():
        field = f"mra.in_force_by_mode.{name}"
        if name not in MODES:
            raise f.error(field, f"{name!r} is not a mode of transport ({', '.join(MODES)})")
        day = f.day(when, field)
        assert day is not None  # TOML has no null: a present key has a value
        found.append((MODES[name], day))
    return tuple(found)


def duration(f: Source, value: Any, field: str) -> timedelta:
    """ "24h", "90m", "7d", "1d12h": a positive whole number of days, hours, minutes, seconds."""
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise f.error(field, f'{value!r} is not a duration such as "24h", "90m" or "7d"')
    parts = re.findall(r"([0-9]+)([dhms])", value)
    total = timedelta()
    for amount, unit in parts:
        total += timedelta(**{_UNITS[unit]: int(amount)})
    if total <= timedelta(0):
        raise f.error(field, "must be longer than zero")
    return total


def freshness(f: Source, data: dict[str, Any]) -> Freshness | None:
    """``[freshness]``; absent: no expectation, and the partner's data is never stale."""
    if "freshness" not in data:
        return None
    section = f.require(data, "freshness", dict)
    cadence = duration(f, section.get("expected_cadence"), "freshness.expected_cadence")
    staleness = duration(f, section.get("max_staleness"), "freshness.max_staleness")
    if staleness < cadence:
        raise f.error("freshness.max_staleness", "must be at least expected_cadence")
    grants = f.require(section, "stale_grants_benefits", bool, "freshness.stale_grants_benefits")
    return Freshness(cadence, staleness, grants)


def assumed(f: Source, data: dict[str, Any]) -> tuple[str, ...]:
    """``assumed = ["identifiers.patterns", ...]``: each must name a field the file has (a
    dotted path, with ``[i]`` for an entry of a list), so the list cannot drift from it."""
    value = data.get("assumed", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise f.error("assumed", "must be a list of field names")
    for i, path in enumerate(value):
        if path == "assumed" or not _has_field(data, path):
            raise f.error(
                f"assumed[{i}]",
                f"{path!r} is not a field of this file; name one, e.g. identifiers.patterns",
            )
    return tuple(value)


_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[0-9]+\])*)")


def _has_field(data: dict[str, Any], path: str) -> bool:
    node: Any = data
    for step in path.split("."):
        match = _STEP.fullmatch(step)
        if match is None or not isinstance(node, dict) or match.group(1) not in node:
            return False
        node = node[match.group(1)]
        for index in re.findall(r"\[([0-9]+)\]", match.group(2)):
            if not isinstance(node, list) or int(index) >= len(node):
                return False
            node = node[int(index)]
    return True
