from __future__ import annotations

import pytest

from gateway.domain.codes import SEPARATORS, CodeBook, CodeMatch, normalise
from tests.factories import home, singapore


def book() -> CodeBook:
    return CodeBook([("CN", home().identifiers), ("SG", singapore().identifiers)])


def test_iso_prefixed_code_belongs_to_the_partner() -> None:
    """A declaration names SG + 12 digits. Result: Singapore's operator, code unchanged."""
    assert book().candidates("SG123456789012") == [CodeMatch("SG", "SG123456789012")]


def test_code_is_normalised_before_matching() -> None:
    """Lower case and spaces on the declaration. Result: the canonical upper-case code."""
    assert book().candidates(" sg 1234 5678 9012 ") == [CodeMatch("SG", "SG123456789012")]


def test_legacy_remarks_form_is_unwrapped() -> None:
    """Before Nov 2018 the code went in remarks as AEO<SG...>. Result: parsed as SG."""
    assert normalise("AEO<SG123456789012>") == "SG123456789012"
    assert book().candidates("AEO<SG123456789012>") == [CodeMatch("SG", "SG123456789012")]


def test_home_code_and_its_older_form_share_one_canonical_form() -> None:
    """AEOCN + 10 digits and the older CN + 10 digits. Result: both AEOCN + 10 digits."""
    assert book().candidates("AEOCN0123456789") == [CodeMatch("CN", "AEOCN0123456789")]
    assert book().candidates("CN0123456789") == [CodeMatch("CN", "AEOCN0123456789")]


def test_code_of_the_wrong_length_matches_no_administration() -> None:
    """SG with 11 digits. Result: no candidate (format unknown)."""
    assert book().candidates("SG12345678901") == []


def test_national_identifier_gets_the_partner_prefix() -> None:
    """A partner sends its bare 12-digit enterprise code. Result: the declared SG form."""
    assert singapore().identifiers.canonical("123456789012") == "SG123456789012"
    assert singapore().identifiers.canonical("12345") is None


def test_a_bare_number_on_a_declaration_names_no_administration() -> None:
    """A declaration names 123456789012 without a country prefix (SG, KZ and UY codes are
    all 12 digits). Result: no candidate: the prefix is added only to what a partner sends
    for itself, never guessed for a declared code."""
    assert book().candidates("123456789012") == []
    assert singapore().identifiers.declared("123456789012") is None
    assert singapore().identifiers.declared("SG123456789012") == "SG123456789012"


# What a person types between characters, and NFKC's full-width forms: each read as SG + 12.
READABLE = [
    pytest.param("sg000000000001", id="lower case"),
    pytest.param(" SG 0000 0000 0001 ", id="ASCII spaces, leading and trailing too"),
    pytest.param("SG-0000-0000-0001", id="hyphen-minus"),
    pytest.param("SG.0000.0000.0001", id="full stop"),
    pytest.param("SG 0000-0000.0001", id="spaces, dashes and dots mixed"),
    pytest.param(
        "".join(chr(ord(c) + 0xFEE0) for c in "SG000000000001"), id="full-width letters and digits"
    ),
    pytest.param("\uff53\uff47000000000001", id="full-width lower case"),
    pytest.param("SG\u30000000\u30000000\u30000001", id="ideographic space"),
    pytest.param("SG\uff0d0000\uff0d0000\uff0d0001", id="full-width hyphen-minus"),
    pytest.param("SG\uff0e0000\uff0e0000\uff0e0001", id="full-width full stop"),
    pytest.param("SG\u30020000\u30020000\u30020001", id="ideographic full stop"),
    pytest.param("SG\u20100000\u20110000\u20120001", id="hyphen, non-breaking hyphen, figure dash"),
    pytest.param("SG\u20130000\u20140000\u22120001", id="en dash, em dash, minus sign"),
    pytest.param("AEO<SG000000000001>", id="legacy wrapper"),
    pytest.param("aeo<sg 0000-0000-0001>", id="legacy wrapper, lower case and separators"),
    pytest.param("\uff21\uff25\uff2f\uff1cSG000000000001\uff1e", id="legacy wrapper, full width"),
]


@pytest.mark.parametrize("raw", READABLE)
def test_typed_separators_and_full_width_forms_are_read_as_the_code(raw: str) -> None:
    """A code written as people type it. Result: SG000000000001, Singapore's operator."""
    assert normalise(raw) == "SG000000000001"
    assert book().candidates(raw) == [CodeMatch("SG", "SG000000000001")]


# Characters nobody types between a code's characters: each makes the code unreadable.
UNREADABLE = [
    pytest.param("\u017fg000000000001", id="long s (upper() and NFKC both make it S)"),
    pytest.param("SG00000\x1c0000001", id="file separator (str.split splits on it)"),
    pytest.param("SG00000\x850000001", id="next line (str.split splits on it)"),
    pytest.param("SG00000\x000000001", id="NUL"),
    pytest.param("SG00000\t0000001", id="tab"),
    pytest.param("SG000000000001\n", id="trailing line feed"),
    pytest.param("\r\nSG000000000001", id="leading carriage return and line feed"),
    pytest.param("SG00000\x7f0000001", id="DEL"),
    pytest.param("SG00000\u200b0000001", id="zero-width space"),
    pytest.param("SG00000\u200d0000001", id="zero-width joiner"),
    pytest.param("\ufeffSG000000000001", id="byte order mark"),
    pytest.param("SG00000\u00ad0000001", id="soft hyphen"),
    pytest.param("SG 0000\u00a00000 0001", id="no-break space"),
    pytest.param("SG 0000\u202f0000 0001", id="narrow no-break space"),
    pytest.param("SG 0000\u20090000 0001", id="thin space"),
    pytest.param("SG0000\ufe630000\ufe630001", id="small hyphen-minus (NFKC makes it -)"),
    pytest.param("SG0000\uff610000\uff610001", id="half-width ideographic full stop"),
    pytest.param("SG0000\u00b70000\u00b70001", id="middle dot"),
    pytest.param("\u0455G000000000001", id="Cyrillic dze for S"),
    pytest.param("S\u0262000000000001", id="small capital G"),
    pytest.param("SG00000000000\u00b9", id="superscript one (NFKC makes it 1)"),
    pytest.param("SG00000000000\u2460", id="circled digit one (NFKC makes it 1)"),
    pytest.param("SG00000000000\u0661", id="Arabic-Indic digit one (a decimal digit to int())"),
    pytest.param("SG00000000000\U0001d7cf", id="mathematical bold digit one (NFKC makes it 1)"),
    pytest.param("SG0000000000\u2170", id="small Roman numeral one (NFKC makes it i)"),
    pytest.param("S\u0301G000000000001", id="combining acute accent"),
    pytest.param("AEO<SG000000000001\u200b>", id="zero-width space inside the legacy wrapper"),
    pytest.param("SG00000000000\ud800", id="lone surrogate"),
]


@pytest.mark.parametrize("raw", UNREADABLE)
def test_any_other_character_makes_the_code_unreadable(raw: str) -> None:
    """A code holding a control, invisible or look-alike character. Result: not normalised
    (None) and no candidate: it can never match a real operator through a lossy fold."""
    assert normalise(raw) is None
    assert book().candidates(raw) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("\u212a" + "R0000000001", None),  # Kelvin sign: NFKC and upper() read it as K
        ("a\u0131b", None),  # dotless i: upper() makes it I
        ("stra\u00dfe", None),  # sharp s: upper() makes it SS
        ("\ufb01", None),  # fi ligature: NFKC and upper() make it FI
        ("", ""),
        (" \u3000-.\u2013\uff0e ", ""),
        ("XX-1", "XX1"),
        ("AEO<>", "AEO<>"),
    ],
)
def test_normalisation_folds_nothing_beyond_ascii_case(raw: str, expected: str | None) -> None:
    """Characters str.upper() or NFKC would fold into ASCII, blank codes, ASCII that matches
    no format. Result: unreadable; blank (the empty string); ASCII kept but for separators."""
    assert normalise(raw) == expected


def test_every_character_is_either_kept_dropped_or_refused() -> None:
    """Every code point, alone between two digits. Result: printable ASCII is kept (letters
    upper-cased), the separators dropped, full-width forms read as their ASCII character, and
    every other character makes the code unreadable."""
    for cp in range(0x110000):
        char = chr(cp)
        got = normalise(f"1{char}2")
        if char in SEPARATORS:
            assert got == "12", hex(cp)
        elif 0x21 <= cp <= 0x7E:
            assert got == f"1{char.upper()}2", hex(cp)
        elif 0xFF01 <= cp <= 0xFF5E:
            assert got == f"1{chr(cp - 0xFEE0).upper()}2", hex(cp)
        else:
            assert got is None, hex(cp)


def test_normalising_twice_changes_nothing() -> None:
    """A normalised code normalised again (partners' identifiers are stored normalised and
    declarations are normalised before matching). Result: the same code."""
    for raw in ["sg 0000-0000.0001", "AEO<SG000000000001>", "AEO<AEO<X>>", "XX-1"]:
        once = normalise(raw)
        assert once is not None
        assert normalise(once) == once
