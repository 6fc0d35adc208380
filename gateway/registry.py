"""Loads partner definitions (partners/*.toml) and the home administration (home/*.toml).

Partners are data: a partner that speaks a wire format the gateway supports is a file here.
Every file is validated at start-up; a bad file stops the gateway with a message naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from gateway.domain.codes import Alias, IdentifierScheme
from gateway.domain.partners import (
    GradeScheme,
    HomeAdministration,
    MappingRule,
    Partner,
    Period,
    SigningKeyInfo,
)


class RegistryError(ValueError):
    """A partner or home file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class PartnerKeyFile:
    key_id: str
    algorithm: str
    public_key: Path


@dataclass(frozen=True)
class PartnerTrust:
    """Where a partner's trust anchors and public keys live (infrastructure, not domain)."""

    ca: Path
    signing_keys: tuple[PartnerKeyFile, ...]


@dataclass(frozen=True)
class PartnerEntry:
    partner: Partner
    trust: PartnerTrust
    source: Path


def _require(data: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise RegistryError(f"{where}: '{key}' must be a {kind.__name__}")
    return value


def _strings(
    data: dict[str, Any], key: str, where: Path, default: list[str] | None = None
) -> tuple[str, ...]:
    value = data.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistryError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _moment(value: Any, where: Path, key: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise RegistryError(f"{where}: '{key}' must be a date or date-time")


def _day(value: Any, where: Path, key: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise RegistryError(f"{where}: '{key}' must be a date (YYYY-MM-DD)")


def _identifiers(data: dict[str, Any], where: Path) -> IdentifierScheme:
    section = _require(data, "identifiers", dict, where)
    aliases = tuple(
        Alias(_require(a, "pattern", str, where), _require(a, "template", str, where))
        for a in section.get("aliases", [])
    )
    try:
        return IdentifierScheme(
            patterns=_strings(section, "patterns", where),
            prefix=section.get("prefix", ""),
            aliases=aliases,
        )
    except Exception as exc:  # re.error: a bad pattern
        raise RegistryError(f"{where}: invalid identifier pattern: {exc}") from exc


def load_partner(path: Path, default_benefits: tuple[str, ...]) -> PartnerEntry:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc
    code = _require(data, "code", str, path)
    if path.stem != code:
        raise RegistryError(f"{path}: file name must be the partner code {code!r}")
    tiers = _strings(data, "tiers", path)
    recognised = _strings(data, "recognised_tiers", path)
    if not set(recognised) <= set(tiers):
        raise RegistryError(f"{path}: recognised_tiers must be among tiers")
    mra = _require(data, "mra", dict, path)
    keys = data.get("signing_keys", [])
    if not keys:
        raise RegistryError(f"{path}: at least one [[signing_keys]] entry is required")
    key_infos, key_files = [], []
    for entry in keys:
        key_id = _require(entry, "key_id", str, path)
        algorithm = _require(entry, "algorithm", str, path)
        key_infos.append(
            SigningKeyInfo(
                key_id,
                algorithm,
                _moment(entry.get("not_before"), path, "not_before"),
                _moment(entry.get("not_after"), path, "not_after"),
            )
        )
        key_files.append(
            PartnerKeyFile(
                key_id, algorithm, path.parent / _require(entry, "public_key", str, path)
            )
        )
    if len({k.key_id for k in key_infos}) != len(key_infos):
        raise RegistryError(f"{path}: duplicate key_id")
    mapping = tuple(
        MappingRule(
            tier=_require(m, "tier", str, path),
            grade=_require(m, "grade", str, path),
            scheme=m.get("scheme"),
            benefits=tuple(m["benefits"]) if "benefits" in m else None,
        )
        for m in data.get("mapping", [])
    )
    suspensions = tuple(
        Period(_day(s.get("start"), path, "start") or date.min, _day(s.get("end"), path, "end"))
        for s in mra.get("suspensions", [])
    )
    signed = mra.get("signed")
    partner = Partner(
        code=code,
        name=_require(data, "name", str, path),
        programme=_require(data, "programme", str, path),
        tiers=tiers,
        recognised_tiers=frozenset(recognised),
        mra_signed=str(signed) if signed is not None else None,
        mra_in_force=_day(mra.get("in_force"), path, "mra.in_force"),
        direction=data.get("direction", "import"),
        identifiers=_identifiers(data, path),
        wire_format=data.get("wire_format", "native"),
        signing_keys=tuple(key_infos),
        mapping=mapping,
        benefits=_strings(data, "benefits", path, list(default_benefits)),
        suspensions=suspensions,
    )
    trust_section = _require(data, "trust", dict, path)
    trust = PartnerTrust(path.parent / _require(trust_section, "ca", str, path), tuple(key_files))
    return PartnerEntry(partner, trust, path)


def load_partners(folder: Path, default_benefits: tuple[str, ...]) -> dict[str, PartnerEntry]:
    if not folder.is_dir():
        raise RegistryError(f"partners folder {folder} does not exist")
    entries = [load_partner(p, default_benefits) for p in sorted(folder.glob("*.toml"))]
    return {e.partner.code: e for e in entries}


def load_home(path: Path) -> HomeAdministration:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc
    schemes = []
    for s in data.get("grade_schemes", []):
        grades = _strings(s, "grades", path)
        aeo = _strings(s, "aeo_grades", path)
        regular = _require(s, "regular", str, path)
        if not set(aeo) <= set(grades) or regular not in grades:
            raise RegistryError(f"{path}: aeo_grades and regular must be among grades")
        in_force = _day(s.get("in_force"), path, "in_force")
        if in_force is None:
            raise RegistryError(f"{path}: grade scheme needs in_force")
        schemes.append(
            GradeScheme(_require(s, "name", str, path), in_force, grades, frozenset(aeo), regular)
        )
    return HomeAdministration(
        code=_require(data, "code", str, path),
        name=_require(data, "name", str, path),
        identifiers=_identifiers(data, path),
        grade_schemes=tuple(schemes),
        standard_benefits=_strings(data, "standard_benefits", path),
    )
