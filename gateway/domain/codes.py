"""Declared operator codes: which administration a code belongs to and its canonical form."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

# Before November 2018 a foreign AEO code went in the remarks column as AEO<SG...>.
_LEGACY_WRAPPER = re.compile(r"AEO<([A-Z0-9]+)>")


@dataclass(frozen=True, slots=True)
class Alias:
    """An older or national form and the template that turns it into the canonical form."""

    pattern: str
    template: str


@dataclass(frozen=True, slots=True)
class IdentifierScheme:
    """How one administration's operators are written on declarations.

    ``patterns`` are full-match regular expressions of the canonical declared form; ``prefix``
    turns a national identifier (as partners often send it) into that form; ``aliases`` map
    older forms onto it.
    """

    patterns: tuple[str, ...]
    prefix: str = ""
    aliases: tuple[Alias, ...] = ()
    _canonical: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _aliases: tuple[tuple[re.Pattern[str], str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # re.error on a bad pattern: the directory's validation reports it with its field.
        # One alternation of all patterns: one regex call per code on the hot path.
        joined = "|".join(f"(?:{p})" for p in self.patterns) or "(?!)"
        object.__setattr__(self, "_canonical", re.compile(joined))
        object.__setattr__(
            self, "_aliases", tuple((re.compile(a.pattern), a.template) for a in self.aliases)
        )

    def canonical(self, code: str) -> str | None:
        """The canonical declared form of ``code``, or None when it is not this scheme's."""
        if self._canonical.fullmatch(code):
            return code
        for pattern, template in self._aliases:
            match = pattern.fullmatch(code)
            if match:
                return match.expand(template)
        if self.prefix and not code.startswith(self.prefix):
            prefixed = self.prefix + code
            if self._canonical.fullmatch(prefixed):
                return prefixed
        return None


def normalise(raw: str) -> str:
    """Upper case, no white space, legacy AEO<...> wrapper removed."""
    code = "".join(raw.split()).upper()
    match = _LEGACY_WRAPPER.fullmatch(code)
    return match.group(1) if match else code


@dataclass(frozen=True, slots=True)
class CodeMatch:
    administration: str
    code: str


class CodeBook:
    """Finds the administrations a declared code may belong to.

    Several may match where the definitions say which wins (an EORI pattern is broad):
    candidates come winners first, then in registry order, and recognition looks each up in
    turn. ``precedence`` maps an administration to those it takes precedence over.
    """

    def __init__(
        self,
        schemes: Iterable[tuple[str, IdentifierScheme]],
        precedence: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._schemes = _winners_first(tuple(schemes), precedence or {})

    def candidates(self, raw: str) -> list[CodeMatch]:
        code = normalise(raw)
        found = []
        for administration, scheme in self._schemes:
            canonical = scheme.canonical(code)
            if canonical is not None:
                found.append(CodeMatch(administration, canonical))
        return found


def _winners_first(
    schemes: tuple[tuple[str, IdentifierScheme], ...], precedence: Mapping[str, Collection[str]]
) -> tuple[tuple[str, IdentifierScheme], ...]:
    """A stable topological order: an administration comes before those it wins over."""
    pending = list(schemes)
    ordered: list[tuple[str, IdentifierScheme]] = []
    while pending:
        names = {name for name, _ in pending}
        beaten = {loser for name in names for loser in precedence.get(name, ()) if loser != name}
        free = [item for item in pending if item[0] not in beaten] or pending[:1]  # a cycle
        ordered.append(free[0])
        pending.remove(free[0])
    return tuple(ordered)
