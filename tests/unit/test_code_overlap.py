from __future__ import annotations

import itertools
import random
import re
from collections.abc import Sequence

import pytest

from gateway.domain.code_overlap import (
    PLACEHOLDER,
    UnsupportedPattern,
    common_match,
    first_characters,
)

EORI = r"[A-Z]{2}[A-Z0-9]{1,15}"
EU_AEO = r"[A-Z]{2}AEO[CSF][A-Z0-9]+"
SG = r"SG[0-9]{12}"


def matches_both(witness: str, a: Sequence[str], b: Sequence[str]) -> bool:
    return any(re.fullmatch(p, witness) for p in a) and any(re.fullmatch(p, witness) for p in b)


def test_singapore_and_korea_codes_never_coincide() -> None:
    """Given SG + 12 digits and KR + 10 digits. Result: no common code."""
    assert common_match([SG], [r"KR[0-9]{10}"]) is None


def test_eori_pattern_overlaps_singapore_with_a_witness_both_match() -> None:
    """Given the broad EU EORI pattern and SG + 12 digits. Result: a 14-character SG code."""
    witness = common_match([EORI], [SG])
    assert witness is not None
    assert len(witness) == 14
    assert matches_both(witness, [EORI], [SG])


def test_home_code_and_the_older_chinese_form_do_not_overlap() -> None:
    """Given AEOCN + 10 digits and the alias CN(10 digits). Result: no common code."""
    assert common_match([r"AEOCN[0-9]{10}"], [r"CN([0-9]{10})"]) is None


def test_eu_aeo_certificate_overlaps_a_german_eori() -> None:
    """Given DE..AEOC.. certificates and DE + up to 15 alphanumerics. Result: a shortest one."""
    witness = common_match([EU_AEO], [r"DE[A-Z0-9]{1,15}"])
    assert witness is not None
    assert len(witness) == 7
    assert matches_both(witness, [EU_AEO], [r"DE[A-Z0-9]{1,15}"])


def test_lengths_that_share_one_value_overlap() -> None:
    """Given SG + 12 digits and SG + 12 or 13 digits. Result: an SG code of 12 digits."""
    witness = common_match([SG], [r"SG[0-9]{12,13}"])
    assert witness is not None
    assert len(witness) == 14
    assert re.fullmatch(SG, witness)


def test_alternation_and_optional_parts_meet_on_one_branch() -> None:
    """Given (AB|CD)E? against CDE, AB?C against AC, (AB|CD) against AD. Result: CDE, AC, none."""
    assert common_match([r"(?:AB|CD)E?"], ["CDE"]) == "CDE"
    assert common_match([r"AB?C"], ["AC"]) == "AC"
    assert common_match([r"(?:AB|CD)"], ["AD"]) is None


def test_any_pattern_of_either_side_may_meet() -> None:
    """Given two patterns a side, only the second of each can meet. Result: their overlap."""
    witness = common_match([SG, r"CHE[0-9]{9}"], [r"KR[0-9]{10}", r"CH[A-Z][0-9]{9,10}"])
    assert witness is not None
    assert witness.startswith("CHE")
    assert len(witness) == 12


def test_negated_class_excludes_only_its_own_characters() -> None:
    """Given [^A-Z] against Q, and against [0-9Q]. Result: none, then a digit."""
    assert common_match([r"[^A-Z]"], ["Q"]) is None
    assert common_match([r"[^A-Z]"], ["[0-9Q]"]) == "0"


def test_dot_matches_every_character_but_newline() -> None:
    """Given . against é and against a newline; then (?s). Result: é, none, the newline."""
    assert common_match(["."], ["é"]) == "é"
    assert common_match(["."], ["\n"]) is None
    assert common_match(["(?s)."], ["\n"]) == "\n"


def test_shortest_witness_is_returned() -> None:
    """Given a*b against a{2,}b?. Result: aab, the shortest string of both."""
    assert common_match([r"a*b"], [r"a{2,}b?"]) == "aab"


def test_lazy_and_greedy_repeats_have_one_language() -> None:
    """Given a+?b against a{3}b. Result: aaab."""
    assert common_match([r"a+?b"], [r"a{3}b"]) == "aaab"


def test_a_longer_minimum_than_the_other_maximum_means_no_overlap() -> None:
    """Given EU AEO certificates (at least 7 characters) and any 0-5 characters. Result: none."""
    assert common_match([EU_AEO], [r".{0,5}"]) is None


def test_anchors_at_the_very_ends_are_ignored() -> None:
    """Given ^SG..$, ^A|^B and SG..\\Z. Result: they overlap as if unanchored."""
    assert common_match([r"^SG[0-9]{12}$"], [r"SG[0-9]{12}\Z"]) is not None
    assert common_match([r"^A|^B$"], [r"\AB"]) == "B"


def test_empty_pattern_matches_only_the_empty_code() -> None:
    """Given an empty pattern and A?; then no patterns at all. Result: the empty string; none."""
    assert common_match([""], ["A?"]) == ""
    assert common_match([], [EORI]) is None


def test_non_ascii_digit_is_a_real_overlap() -> None:
    """Given \\d (Unicode) and [^0-9]. Result: a non-ASCII digit both really match."""
    witness = common_match([r"\d"], [r"[^0-9]"])
    assert witness is not None
    assert witness != PLACEHOLDER
    assert matches_both(witness, [r"\d"], [r"[^0-9]"])


def test_ascii_flag_makes_digits_ascii_only() -> None:
    """Given (?a:\\d) and [^0-9]. Result: no common code."""
    assert common_match([r"(?a:\d)"], [r"[^0-9]"]) is None


def test_categories_match_their_ascii_members_exactly() -> None:
    """Given \\w against [ -/], \\s against [^ ], \\W against _. Result: none, a tab, none."""
    assert common_match([r"\w"], [r"[ -/]"]) is None
    assert common_match([r"\s"], [r"[^ ]"]) == "\t"
    assert common_match([r"\W"], ["_"]) is None


def test_overlap_among_unlisted_characters_is_reported_conservatively() -> None:
    """Given \\d and \\s, which share no character. Result: a placeholder, a possible overlap."""
    assert common_match([r"\d"], [r"\s"]) == PLACEHOLDER


def test_lookahead_is_refused() -> None:
    """Given (?!), the usual way to write an empty language. Result: UnsupportedPattern."""
    with pytest.raises(UnsupportedPattern, match="lookahead"):
        common_match(["(?!)"], [SG])


def test_backreference_is_refused() -> None:
    """Given (A)\\1. Result: UnsupportedPattern naming the backreference."""
    with pytest.raises(UnsupportedPattern, match="backreference"):
        common_match([SG], [r"(A)\1"])


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(?<=A)B", "lookbehind"),
        (r"(?<!A)B", "negative lookbehind"),
        (r"(A)?(?(1)B|C)", "conditional"),
        (r"A^B", "anchor"),
        (r"A\b", "anchor"),
        (r"(?:A$)B", "anchor"),
        (r"A++", "possessive"),
        (r"(?>A)", "atomic"),
        (r"(?i)sg", "case-insensitive"),
        (r"A(?i:b)", "case-insensitive"),
        (r"A{1001}", "repeat bound"),
        (r"(?:(?:A{1000}){1000})", "states"),
        (r"SG[0-9", "does not compile"),
    ],
)
def test_constructs_that_are_not_plain_regular_expressions_are_refused(
    pattern: str, construct: str
) -> None:
    """Given lookaround, conditionals, inner anchors and the like. Result: refused, named."""
    with pytest.raises(UnsupportedPattern, match=construct):
        common_match([pattern], ["A"])


# Random cross-check against brute force. Literals come from "abc"; every class leaves out at
# most one of those letters, so two classes that meet always share a letter of "abc" and brute
# force over that alphabet sees every overlap of length <= 6.
LETTERS = "abc"
CLASSES = ("[ab]", "[bc]", "[a-b]", "[^a]", "[^c]", ".")
UNBOUNDED = 10**6


def random_atom(rng: random.Random, depth: int) -> tuple[str, int]:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(LETTERS), 1
    if roll < 0.75 or depth == 0:
        return rng.choice(CLASSES), 1
    inner, width = random_alternation(rng, depth - 1)
    return f"(?:{inner})", width


def random_piece(rng: random.Random, depth: int) -> tuple[str, int]:
    atom, width = random_atom(rng, depth)
    low = rng.randint(0, 2)
    high = rng.randint(low, 2)
    quantifier, factor = rng.choice(
        [
            ("", 1),
            ("", 1),
            ("?", 1),
            ("*", UNBOUNDED),
            ("+", UNBOUNDED),
            (f"{{{low},{high}}}", high),
        ]
    )
    return atom + quantifier, min(width * factor, UNBOUNDED)


def random_alternation(rng: random.Random, depth: int) -> tuple[str, int]:
    branches = []
    for _ in range(rng.choice([1, 1, 2])):
        pieces = [random_piece(rng, depth) for _ in range(rng.randint(1, 3))]
        branches.append(("".join(p for p, _ in pieces), sum(w for _, w in pieces)))
    return "|".join(b for b, _ in branches), max(w for _, w in branches)


def brute_force_common(a: str, b: str, longest: int) -> str | None:
    for length in range(longest + 1):
        for letters in itertools.product(LETTERS, repeat=length):
            text = "".join(letters)
            if re.fullmatch(a, text) and re.fullmatch(b, text):
                return text
    return None


def test_random_patterns_agree_with_brute_force() -> None:
    """Given 200 random pattern pairs over a, b, c. Result: same verdict as brute force."""
    rng = random.Random(20240611)
    outcomes = {"overlap": 0, "none": 0}
    for _ in range(200):
        (a, width_a), (b, width_b) = random_alternation(rng, 2), random_alternation(rng, 2)
        witness = common_match([a], [b])
        found = brute_force_common(a, b, 6)
        if witness is not None:
            assert matches_both(witness, [a], [b]), (a, b, witness)
        if found is not None:  # a real overlap: never missed, never beaten in length
            assert witness is not None, (a, b, found)
            assert len(witness) <= len(found), (a, b, witness, found)
        elif min(width_a, width_b) <= 6:  # one language is finite and short: brute is exact
            assert witness is None, (a, b, witness)
        outcomes["overlap" if witness is not None else "none"] += 1
    assert min(outcomes.values()) >= 30, outcomes


def test_first_characters_are_those_a_full_match_can_begin_with() -> None:
    """A literal prefix, an alternation of prefixes, a class, an optional start, and patterns
    this module does not read or that match the empty string. Result: the exact printable
    ASCII set where it can be told, None where it cannot."""
    assert first_characters(["SG[0-9]{12}"]) == frozenset("S")
    assert first_characters(["(?:AT|BE|XI)[A-Z0-9]{1,15}", "CN[0-9]{10}"]) == frozenset("ABXC")
    assert first_characters(["[0-3][0-9]"]) == frozenset("0123")
    assert first_characters(["(?:AEO)?CN[0-9]{10}"]) == frozenset("AC")
    assert first_characters(["[0-9]*"]) is None
    assert first_characters(["(?=S)SG"]) is None
