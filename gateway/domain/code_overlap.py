"""Can two administrations' declared-code patterns match one same code?

Exact, not sampled: each full-match pattern is parsed as ``re`` parses it, turned into a
Thompson NFA whose moves carry character sets, and the product of the two sides is searched
breadth first, so the first accepting pair of states spells a shortest common string.

Characters. A set is a frozenset over one finite alphabet shared by both sides: all of ASCII,
every code point either side mentions (literals, range ends), a few non-ASCII representatives
(a letter, a digit, a space, a symbol) and OTHER, which stands for every remaining character.
Membership is exact for each listed character. OTHER is put in a set whenever the set *may*
hold an unlisted character: ``.``, negated classes, ``\\d \\w \\s \\D \\W \\S`` (Python str
patterns match non-ASCII digits, letters and spaces) and ranges wider than the listed
characters they hold. That over-approximates each language, so no overlap is ever missed; an
overlap may be reported that exists only among unlisted characters (``\\d`` against ``\\s``).
Such a witness carries U+FFFD where OTHER stands; a witness of listed characters is always
preferred and always fully matches both sides.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence

# re._parser (sre_parse before 3.11; importing sre_parse now warns) is CPython's private
# parser. It is the only way to read a pattern exactly as re does; it has no type stubs, so
# its trees are Any here, and the tests pin the shapes relied on.
from re import _parser as _sre  # type: ignore[attr-defined]
from typing import Any

OTHER = -1
PLACEHOLDER = "\ufffd"
_REPRESENTATIVES = frozenset({0xE9, 0x663, 0x2003, 0xA7})  # é, Arabic-Indic 3, em space, §
_MAX_REPEAT = 1000  # a{m,n} is expanded into copies; beyond this it is refused
_MAX_STATES = 50_000  # nested repeats multiply; refuse rather than exhaust memory
_CATEGORY_PROBES = {
    _sre.CATEGORY_DIGIT: r"\d",
    _sre.CATEGORY_NOT_DIGIT: r"\D",
    _sre.CATEGORY_SPACE: r"\s",
    _sre.CATEGORY_NOT_SPACE: r"\S",
    _sre.CATEGORY_WORD: r"\w",
    _sre.CATEGORY_NOT_WORD: r"\W",
}
_ASCII_ONLY = (_sre.CATEGORY_DIGIT, _sre.CATEGORY_SPACE, _sre.CATEGORY_WORD)  # under (?a)
_NAMES = {
    _sre.GROUPREF: "backreference",
    _sre.GROUPREF_EXISTS: "conditional group",
    _sre.ATOMIC_GROUP: "atomic group",
    _sre.POSSESSIVE_REPEAT: "possessive repeat",
}
_STARTS = (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING)
_ENDS = (_sre.AT_END, _sre.AT_END_STRING)

Pair = tuple[int, int]


class UnsupportedPattern(ValueError):
    """A pattern is not a plain regular expression (or does not compile); names the construct."""


def common_match(a: Sequence[str], b: Sequence[str]) -> str | None:
    """A short string that fully matches some pattern of ``a`` and some of ``b``, or None.

    Raises UnsupportedPattern for lookaround, backreferences, conditionals, inner anchors,
    atomic groups, possessive repeats, case-insensitive flags and patterns that do not compile.
    """
    left, right = _Nfa(a), _Nfa(b)
    alphabet = frozenset(range(128)) | left.mentioned | right.mentioned | _REPRESENTATIVES
    alphabet |= {OTHER}
    left.finish(alphabet)
    right.finish(alphabet)
    # Listed characters first: if that finds a witness it is real. Only then allow OTHER.
    witness = _search(left, right, frozenset({OTHER}))
    return witness if witness is not None else _search(left, right, frozenset())


#: What a normalised declared code is made of (codes.normalise keeps printable ASCII only).
_PRINTABLE = frozenset(range(0x20, 0x7F))


def first_characters(patterns: Sequence[str]) -> frozenset[str] | None:
    """The printable ASCII characters a string fully matching one of ``patterns`` can begin
    with; None when that cannot be told (a pattern matching the empty string, or one this
    module does not read). Lets a code book try only the schemes a code's first character
    allows, whatever the number of administrations."""
    try:
        nfa = _Nfa(patterns)
    except UnsupportedPattern:
        return None
    nfa.finish(_PRINTABLE | {OTHER})
    start = nfa.closure(nfa.start)
    if nfa.end in start:
        return None
    found = frozenset().union(*(nfa.sets[c] for s in start for c, _ in nfa.moves[s]))
    return frozenset(chr(c) for c in found - {OTHER})


def _checked_flags(flags: int) -> int:
    if flags & (re.IGNORECASE | re.LOCALE):
        raise UnsupportedPattern("case-insensitive or locale flag")
    return flags


class _Nfa:
    """Thompson NFA of one side: start, end, epsilon edges and moves on character classes."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[int, int]]] = []  # (index into classes, target)
        self.classes: list[tuple[Any, Any, int]] = []  # (opcode, argument, flags) as parsed
        self.sets: list[frozenset[int]] = []
        self.mentioned: set[int] = set()
        self._closures: dict[int, frozenset[int]] = {}
        self.start, self.end = self._state(), self._state()
        for pattern in patterns:
            try:
                re.compile(pattern)  # some errors surface only when compiling
                tree = _sre.parse(pattern)
                s, e = self._seq(tree.data, _checked_flags(tree.state.flags), True, True)
            except re.error as exc:
                raise UnsupportedPattern(f"{pattern!r} does not compile: {exc}") from exc
            except UnsupportedPattern as exc:
                raise UnsupportedPattern(f"{pattern!r}: {exc} is not supported") from None
            self.eps[self.start].append(s)
            self.eps[e].append(self.end)

    def _state(self) -> int:
        if len(self.eps) >= _MAX_STATES:
            raise UnsupportedPattern(f"an automaton of more than {_MAX_STATES} states")
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def _seq(self, items: list[Any], flags: int, first: bool, last: bool) -> Pair:
        # first/last: this sequence starts at position 0 / ends at the end of the string.
        start = end = self._state()
        for i, (op, av) in enumerate(items):
            s, e = self._item(op, av, flags, first and i == 0, last and i == len(items) - 1)
            self.eps[end].append(s)
            end = e
        return start, end

    def _item(self, op: Any, av: Any, flags: int, first: bool, last: bool) -> Pair:
        if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN):
            s, e = self._state(), self._state()
            self.moves[s].append((len(self.classes), e))
            self.classes.append((op, av, flags))
            if op in (_sre.LITERAL, _sre.NOT_LITERAL):
                self.mentioned.add(av)
            elif op == _sre.IN:
                for kind, value in av:
                    if kind == _sre.LITERAL:
                        self.mentioned.add(value)
                    elif kind == _sre.RANGE:
                        self.mentioned.update(value)
            return s, e
        if op == _sre.SUBPATTERN:
            _group, add, remove, sub = av
            return self._seq(sub.data, _checked_flags((flags | add) & ~remove), first, last)
        if op == _sre.BRANCH:
            s, e = self._state(), self._state()
            for alternative in av[1]:
                bs, be = self._seq(alternative.data, flags, first, last)
                self.eps[s].append(bs)
                self.eps[be].append(e)
            return s, e
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):  # lazy or greedy: same language
            return self._repeat(av, flags)
        if op == _sre.AT and ((av in _STARTS and first) or (av in _ENDS and last)):
            s = self._state()  # full-match semantics already anchor both ends
            return s, s
        if op == _sre.AT:
            raise UnsupportedPattern(f"anchor {av} inside the pattern")
        if op in (_sre.ASSERT, _sre.ASSERT_NOT):
            negative = "negative " if op == _sre.ASSERT_NOT else ""
            raise UnsupportedPattern(negative + ("lookahead" if av[0] > 0 else "lookbehind"))
        raise UnsupportedPattern(_NAMES.get(op, str(op)))

    def _repeat(self, av: Any, flags: int) -> Pair:
        low, high, sub = av
        unbounded = high == _sre.MAXREPEAT
        if low > _MAX_REPEAT or (not unbounded and high > _MAX_REPEAT):
            raise UnsupportedPattern(f"a repeat bound above {_MAX_REPEAT}")
        start = end = self._state()
        for _ in range(low):  # the mandatory copies
            s, e = self._seq(sub.data, flags, False, False)
            self.eps[end].append(s)
            end = e
        if unbounded:  # then a star: one loop state that is both entry and exit
            loop = self._state()
            s, e = self._seq(sub.data, flags, False, False)
            self.eps[end].append(loop)
            self.eps[loop].append(s)
            self.eps[e].append(loop)
            return start, loop
        # Then the optional copies, nested as (x(x(x)?)?)?: every skip goes straight to one
        # exit, so epsilon closures stay small (a chain of x? would make them quadratic).
        exit_ = self._state()
        for _ in range(high - low):
            s, e = self._seq(sub.data, flags, False, False)
            self.eps[end] += [s, exit_]
            end = e
        self.eps[end].append(exit_)
        return start, exit_

    def finish(self, alphabet: frozenset[int]) -> None:
        # Copies of one repeated item share their parsed argument: compute its set once.
        cache: dict[tuple[Any, int, int], frozenset[int]] = {}
        for op, av, flags in self.classes:
            key = (op, id(av), flags)
            if key not in cache:
                cache[key] = _members(op, av, flags, alphabet)
            self.sets.append(cache[key])

    def closure(self, state: int) -> frozenset[int]:
        found = self._closures.get(state)
        if found is None:
            seen, todo = {state}, [state]
            while todo:
                for nxt in self.eps[todo.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            found = self._closures[state] = frozenset(seen)
        return found


def _members(op: Any, av: Any, flags: int, alphabet: frozenset[int]) -> frozenset[int]:
    """The alphabet members one parsed character item matches (OTHER: may match unlisted)."""
    if op == _sre.LITERAL:
        return frozenset({av})
    if op == _sre.NOT_LITERAL:  # av is listed, so every unlisted character differs from it
        return alphabet - {av}
    if op == _sre.ANY:
        return alphabet if flags & re.DOTALL else alphabet - {ord("\n")}
    negated = bool(av) and av[0][0] == _sre.NEGATE
    parts = av[1:] if negated else av
    listed = alphabet - {OTHER}
    hits = frozenset(c for c in listed if any(_part_has(p, c, flags) for p in parts))
    if negated:  # conservative: the complement may always hold some unlisted character
        return alphabet - hits
    may_other = any(_part_may_other(p, listed, flags) for p in parts)
    return hits | {OTHER} if may_other else hits


def _part_has(part: Any, c: int, flags: int) -> bool:
    kind, value = part
    if kind == _sre.LITERAL:
        return bool(c == value)
    if kind == _sre.RANGE:
        return bool(value[0] <= c <= value[1])
    # Ask re itself (cached), under the same ASCII flag, rather than restate its tables.
    return re.fullmatch(_CATEGORY_PROBES[value], chr(c), flags & re.ASCII) is not None


def _part_may_other(part: Any, listed: frozenset[int], flags: int) -> bool:
    kind, value = part
    if kind == _sre.LITERAL:
        return False
    if kind == _sre.RANGE:
        low, high = value
        return bool(high - low + 1 > sum(1 for c in listed if low <= c <= high))
    # Unicode categories all hold non-ASCII characters; under ASCII only the negated ones do.
    return not (flags & re.ASCII and value in _ASCII_ONLY)


def _search(left: _Nfa, right: _Nfa, excluded: frozenset[int]) -> str | None:
    """Breadth-first search of the product automaton; epsilon moves are folded into closures."""
    start = (left.start, right.start)
    parent: dict[Pair, tuple[Pair, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        pair = queue.popleft()
        here, there = left.closure(pair[0]), right.closure(pair[1])
        if left.end in here and right.end in there:
            return _spell(pair, parent)
        for p in here:
            for lclass, ltarget in left.moves[p]:
                for q in there:
                    for rclass, rtarget in right.moves[q]:
                        common = (left.sets[lclass] & right.sets[rclass]) - excluded
                        nxt = (ltarget, rtarget)
                        if common and nxt not in parent:
                            parent[nxt] = (pair, min(common, key=_readability))
                            queue.append(nxt)
    return None


def _readability(c: int) -> tuple[int, int]:
    """Witnesses read best with ASCII digits and letters, then printable ASCII."""
    if c == OTHER:
        return (3, 0)
    if c < 128 and chr(c).isalnum():
        return (0, c)
    return (1 if 32 <= c < 127 else 2, c)


def _spell(pair: Pair, parent: dict[Pair, tuple[Pair, int] | None]) -> str:
    chars: list[str] = []
    step = parent[pair]
    while step is not None:
        pair, c = step
        chars.append(PLACEHOLDER if c == OTHER else chr(c))
        step = parent[pair]
    return "".join(reversed(chars))
