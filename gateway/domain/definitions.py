"""Checks across definitions: what no single file can check on its own.

Each problem names the administration and the field, so the loader can name the file; the
first problem found refuses the whole set, and the definitions in force stay in force.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from gateway.domain.code_overlap import UnsupportedPattern, common_match
from gateway.domain.codes import IdentifierScheme
from gateway.domain.partners import HomeAdministration, Partner


@dataclass(frozen=True, slots=True)
class DefinitionProblem(Exception):
    administration: str
    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def declared_patterns(scheme: IdentifierScheme) -> tuple[str, ...]:
    """Every form of code the administration claims on a declaration: its patterns and its
    aliases. The national form without the prefix is not one (the CodeBook never reads it:
    only a partner's own identifiers get the prefix), so 12-digit SG, KZ and UY numbers do not
    collide."""
    return scheme.patterns + tuple(a.pattern for a in scheme.aliases)


def check_scheme(administration: str, scheme: IdentifierScheme) -> None:
    for i, pattern in enumerate(scheme.patterns + tuple(a.pattern for a in scheme.aliases)):
        field = (
            f"identifiers.patterns[{i}]"
            if i < len(scheme.patterns)
            else f"identifiers.aliases[{i - len(scheme.patterns)}].pattern"
        )
        try:
            re.compile(pattern)
        except re.error as exc:
            raise DefinitionProblem(
                administration, field, f"{pattern!r} is not a regular expression: {exc}"
            ) from exc


def check_partner(partner: Partner, home: HomeAdministration, formats: Collection[str]) -> None:
    """Tiers, mapping and formats of one partner against its vocabulary and the home schemes."""
    code = partner.code

    def problem(field: str, message: str) -> DefinitionProblem:
        return DefinitionProblem(code, field, message)

    for i, recognition in enumerate(partner.recognised_tiers):
        if recognition.tier not in partner.tiers:
            raise problem(
                f"recognised_tiers[{i}]",
                f"{recognition.tier!r} is not among tiers {list(partner.tiers)}",
            )
    schemes = {s.name: s for s in home.grade_schemes}
    for i, rule in enumerate(partner.mapping):
        if rule.tier not in partner.tiers:
            raise problem(
                f"mapping[{i}].tier", f"{rule.tier!r} is not among tiers {list(partner.tiers)}"
            )
        if rule.scheme is not None and rule.scheme not in schemes:
            raise problem(
                f"mapping[{i}].scheme",
                f"{rule.scheme!r} is not a home grade scheme ({', '.join(schemes)})",
            )
        candidates = [schemes[rule.scheme]] if rule.scheme else list(schemes.values())
        if not any(rule.grade in s.grades for s in candidates):
            known = sorted({g for s in candidates for g in s.grades})
            raise problem(f"mapping[{i}].grade", f"{rule.grade!r} is not a home grade {known}")
    for i, wire_format in enumerate(partner.wire_formats):
        if wire_format not in formats:
            raise problem(
                f"wire_formats[{i}]",
                f"{wire_format!r} is not a wire format this gateway speaks ({', '.join(formats)})",
            )
    if partner.outbound is not None and partner.outbound.wire_format not in formats:
        raise problem(
            "outbound.wire_format",
            f"{partner.outbound.wire_format!r} is not a wire format this gateway speaks "
            f"({', '.join(formats)})",
        )
    check_scheme(code, partner.identifiers)


def check_overlaps(
    schemes: Mapping[str, IdentifierScheme], precedence: Mapping[str, Collection[str]]
) -> None:
    """No two administrations may claim one code unless one of them declares it wins."""
    names = list(schemes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if b in precedence.get(a, ()) or a in precedence.get(b, ()):
                continue
            try:
                example = common_match(declared_patterns(schemes[a]), declared_patterns(schemes[b]))
            except UnsupportedPattern as exc:
                raise DefinitionProblem(b, "identifiers.patterns", f"{a} or {b}: {exc}") from exc
            if example is not None:
                raise DefinitionProblem(
                    b,
                    "identifiers.patterns",
                    f"{b}'s declared-code patterns and {a}'s both match {example!r}; declare "
                    f"which wins with identifiers.takes_precedence_over in one of the two files",
                )
