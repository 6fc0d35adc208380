"""Declared operator codes: which administration a code belongs to and its canonical form."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from gateway.domain.code_overlap import first_characters

# Before November 2018 a foreign AEO code went in the remarks column as AEO<SG...>.
_LEGACY_WRAPPER = re.compile(r"AEO<([A-Z0-9]+)>")

#: What a person types between the characters of a code, removed wherever it stands.
#: Spaces: the ASCII space and the ideographic space U+3000 (a CJK keyboard's space bar).
#: Dashes: the ASCII hyphen-minus, the full-width one U+FF0D (an IME in full-width mode), and
#: the dashes word processors and IMEs put in its place: U+2010 hyphen, U+2011 non-breaking
#: hyphen, U+2012 figure dash, U+2013 en dash, U+2014 em dash, U+2212 minus sign.
#: Dots: the ASCII full stop, the full-width one U+FF0E and the ideographic full stop U+3002
#: (the "." key of a Chinese or Japanese IME).
#: Nothing else: tab, CR, LF and every other control character, the no-break and other
#: typographic spaces (U+00A0, U+2000-U+200A, U+202F), zero-width characters, the soft hyphen
#: and every other non-ASCII character are not typed between characters; they arrive hidden in
#: copied text or are put there on purpose, and a code holding one is not normalised at all.
SEPARATORS = frozenset(" \u3000-\uff0d\u2010\u2011\u2012\u2013\u2014\u2212.\uff0e\u3002")

#: NFKC, but only where it turns a full-width form into its ASCII character: the full-width
#: ASCII variants U+FF01-U+FF5E (what an IME in full-width mode types: U+FF33 for S). NFKC as a
#: whole also folds what no person means as a code character (U+017F long s to "s", U+212A
#: Kelvin sign to "K", superscripts, circled digits, Roman numerals, ligatures), so it is never
#: applied to anything else: those characters are refused instead.
_FULL_WIDTH = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0xFF01, 0xFF5F)}

_TRANSLATION = {**_FULL_WIDTH, **dict.fromkeys(map(ord, SEPARATORS))}


@dataclass(frozen=True, slots=True)
class Alias:
    """An older or national form and the template that turns it into the canonical form."""

    pattern: str
    template: str


@dataclass(frozen=True, slots=True)
class IdentifierScheme:
    """How one administration's operators are written on declarations.

    ``patterns`` are full-match regular expressions of the canonical declared form; ``aliases``
    map older forms onto it; ``prefix`` turns a national identifier into that form, but only
    for the identifiers a partner sends for itself: on a declaration a bare number cannot say
    which country it is (SG, KZ and UY codes are all 12 digits), so ``declared`` ignores it.
    """

    patterns: tuple[str, ...]
    prefix: str = ""
    aliases: tuple[Alias, ...] = ()
    #: Codes in the canonical declared form, for people and tools (``partners show``, the demo).
    examples: tuple[str, ...] = ()
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

    def declared(self, code: str) -> str | None:
        """The canonical form of a code written on a declaration (a pattern or an alias), or
        None when it is not this scheme's."""
        if self._canonical.fullmatch(code):
            return code
        for pattern, template in self._aliases:
            match = pattern.fullmatch(code)
            if match:
                return match.expand(template)
        return None

    def canonical(self, code: str) -> str | None:
        """The canonical form of an identifier the administration sends for itself: as
        ``declared``, and a national identifier without the prefix gets it."""
        found = self.declared(code)
        if found is not None:
            return found
        if self.prefix and not code.startswith(self.prefix):
            prefixed = self.prefix + code
            if self._canonical.fullmatch(prefixed):
                return prefixed
        return None


def normalise(raw: str) -> str | None:
    """The code as the administrations' patterns are written, or None when it cannot be read.

    Full-width forms become their ASCII characters, SEPARATORS are removed wherever they
    stand, ASCII letters are upper-cased and the legacy AEO<...> wrapper is removed. Any
    other character outside printable ASCII makes the code unreadable (None): it is never
    dropped or folded into a letter, so no unusual spelling can match a real operator's code.
    An empty result means the code was blank. Declared codes and the identifiers partners
    send go through this one function, so both sides of a match are read the same way.
    """
    code = raw.translate(_TRANSLATION)
    # Only printable ASCII is left in a readable code, so upper() touches only a-z.
    if not (code.isascii() and code.isprintable()):
        return None
    code = code.upper()
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
        # Per first character, the schemes whose codes may begin with it, winners first: a
        # code is tried against two or three schemes, not every administration's.
        firsts = [
            first_characters(s.patterns + tuple(a.pattern for a in s.aliases))
            for _, s in self._schemes
        ]
        self._by_first = {
            chr(c): tuple(
                item
                for item, first in zip(self._schemes, firsts, strict=True)
                if first is None or chr(c) in first
            )
            for c in range(0x20, 0x7F)
        }

    def candidates(self, raw: str) -> list[CodeMatch]:
        """The administrations a declared code may belong to; none when it cannot be read."""
        code = normalise(raw)
        return self.matches(code) if code else []

    def matches(self, code: str) -> list[CodeMatch]:
        """As ``candidates``, for a code already normalised."""
        found = []
        for administration, scheme in self._by_first.get(code[:1], self._schemes):
            canonical = scheme.declared(code)
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
