from __future__ import annotations

from gateway.domain.codes import CodeBook, CodeMatch, normalise
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
