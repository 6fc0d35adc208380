"""A partner file's ``[data_protection]`` table: whether operators' consent is needed before
their data goes to the partner, whether the partner's data protection is adequate at all, and
how long raw messages exchanged with it are kept (docs/data-protection.md)::

    [data_protection]
    consent_required = true   # default false
    adequate = true           # default true: false sends the partner no operator data
    retention = "400d"        # default: raw messages kept until purged by hand
"""

from __future__ import annotations

from typing import Any

from adapters.directory.dated_terms import Source, duration
from gateway.domain.partners import DataProtection

KEYS = {"consent_required", "adequate", "retention"}


def data_protection(f: Source, data: dict[str, Any]) -> DataProtection:
    """``[data_protection]``; absent: no consent asked, adequate, raw messages kept."""
    if "data_protection" not in data:
        return DataProtection()
    section = f.require(data, "data_protection", dict)
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise f.error(
            f"data_protection.{unknown[0]}",
            f"unknown key (expected one of {', '.join(sorted(KEYS))})",
        )
    flags = {}
    for key, default in (("consent_required", False), ("adequate", True)):
        value = section.get(key, default)
        if not isinstance(value, bool):
            raise f.error(f"data_protection.{key}", "must be true or false")
        flags[key] = value
    retention = None
    if "retention" in section:
        retention = duration(f, section["retention"], "data_protection.retention")
    return DataProtection(flags["consent_required"], flags["adequate"], retention)
