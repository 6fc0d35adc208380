"""partners/ as shipped: thirteen administrations that load together, claim no code twice,
and say what they assume."""

from __future__ import annotations

from datetime import date

import pytest

from adapters.directory.files import FileDirectory, read_definitions
from adapters.wire.registry import codecs
from gateway.clock import SystemClock
from gateway.domain.code_overlap import common_match
from gateway.domain.codes import CodeBook, CodeMatch
from gateway.domain.definitions import declared_patterns
from gateway.domain.directory import Directory
from gateway.domain.partners import TradeDirection, TransportMode
from tests.conftest import ROOT, Workspace

CODES = {"EU", "KR", "SG", "HK", "CH", "NZ", "IL", "AU", "JP", "BY", "KZ", "MN", "UY"}
HOME, PARTNERS = ROOT / "home" / "CN.toml", ROOT / "partners"


@pytest.fixture(scope="module")
def snapshot(workspace: Workspace) -> Directory:
    """The shipped files loaded by the gateway's own loader: keys, CAs and every check."""
    root = workspace.root
    return FileDirectory(
        root / "home" / "CN.toml", root / "partners", codecs(), SystemClock()
    ).current()


def test_thirteen_partners_load_with_every_check(snapshot: Directory) -> None:
    """The shipped partner files with the development PKI. Result: the thirteen partners of
    partners.csv, each with a key and a CA."""
    assert set(snapshot.partners) == CODES
    assert set(snapshot.trust_anchors) == CODES
    assert {code for code, _ in snapshot.keys} == CODES


def test_no_two_of_the_fourteen_administrations_claim_one_code() -> None:
    """Every pair among CN and the thirteen partners, declared patterns and aliases. Result:
    no common code, so no file needs takes_precedence_over."""
    d = read_definitions(HOME, PARTNERS)
    schemes = {d.home.code: d.home.identifiers}
    schemes.update((c, e.partner.identifiers) for c, e in d.partners.items())
    names = sorted(schemes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            found = common_match(declared_patterns(schemes[a]), declared_patterns(schemes[b]))
            assert found is None, (a, b, found)
    assert all(not e.takes_precedence_over for e in d.partners.values())


@pytest.mark.parametrize(
    ("code", "administration"),
    [
        ("XI123456789", "EU"),
        ("DE123456789012345", "EU"),
        ("GR094259216", "EU"),
        ("DEAEOF1234567890", "EU"),
        ("FRAEOS12345", "EU"),
        ("SG123456789012", "SG"),
        ("KR1234567890", "KR"),
        ("HK12345678", "HK"),
        ("CHE123456789", "CH"),
        ("NZ1234567890123", "NZ"),
        ("IL123456789", "IL"),
        ("AU12345678901", "AU"),
        ("JP12345678901234567", "JP"),
        ("BY123456789", "BY"),
        ("KZ123456789012", "KZ"),
        ("MN1234567", "MN"),
        ("UY123456789012", "UY"),
        ("AEO<SG123456789012>", "SG"),
        ("AEOCN0123456789", "CN"),
    ],
)
def test_each_code_belongs_to_exactly_one_administration(
    snapshot: Directory, code: str, administration: str
) -> None:
    """A declared code of each administration, EORI numbers of Northern Ireland and Greece and
    AEO certificates among them. Result: one candidate, the right one: the EU's member-state
    list swallows no other partner's code."""
    assert [c.administration for c in snapshot.codebook.candidates(code)] == [administration]


@pytest.mark.parametrize(
    "code",
    ["EL094259216", "GB123456789", "US123456789", "123456789012", "SG12345678901", "CH123456789"],
)
def test_codes_of_no_partner_are_unknown(snapshot: Directory, code: str) -> None:
    """Greece's VAT prefix EL, GB and US numbers, a bare 12-digit number (SG, KZ or UY?), SG with
    11 digits, CH without the E of CHE. Result: no administration claims them."""
    assert snapshot.codebook.candidates(code) == []


def test_partners_own_bare_identifiers_still_get_their_prefix(snapshot: Directory) -> None:
    """SG, KZ and UY each send 123456789012 for themselves. Result: each gets its own prefix."""
    for code in ("SG", "KZ", "UY"):
        canonical = snapshot.partners[code].identifiers.canonical("123456789012")
        assert canonical == f"{code}123456789012"


def test_the_csv_terms_are_in_the_files(snapshot: Directory) -> None:
    """partners.csv's special cases. Result: BY recognises Type3 only; KZ has no dates; MN is in
    force from 2025-06-01 with its signature unknown; HK by mode; JP and NZ import only."""
    p = snapshot.partners
    assert p["BY"].recognised_tier_names == {"Type3"}
    assert (p["KZ"].mra_signed, p["KZ"].mra_in_force) == (None, None)
    assert (p["MN"].mra_signed, p["MN"].mra_in_force) == (None, date(2025, 6, 1))
    assert p["HK"].in_force_for(TransportMode.ROAD) == date(2014, 5, 18)
    assert p["HK"].in_force_for(TransportMode.SEA) == date(2014, 9, 1)
    assert p["JP"].directions == p["NZ"].directions == {TradeDirection.IMPORT}
    assert p["EU"].recognised_tier_names == {"AEOS", "AEOF"}
    assert [k.algorithm for k in p["EU"].signing_keys] == ["rsa-pkcs1-sha256", "ecdsa-p256-sha256"]


def test_every_assumed_pattern_in_the_csv_is_marked_assumed(snapshot: Directory) -> None:
    """The partners whose declared-code pattern partners.csv calls assumed. Result: each file
    lists identifiers.patterns among its assumed fields; the confirmed ones do not."""
    assumed = {"KR", "HK", "NZ", "AU", "BY", "KZ", "MN", "UY", "CH"}
    for code, partner in snapshot.partners.items():
        assert ("identifiers.patterns" in partner.assumed) is (code in assumed), code
        assert "freshness" in partner.assumed, code


FINAL_FORMATS = {"EU": ("xmldsig",), "KR": ("jws", "native"), "JP": ("xmldsig",), "NZ": ("jws",)}


def test_partners_name_their_final_wire_formats() -> None:
    """EU and JP sign XML-DSig, NZ JWS, Korea JWS first and native while it migrates. Result:
    each file names those formats."""
    d = read_definitions(HOME, PARTNERS)
    assert {c: d.partners[c].partner.wire_formats for c in FINAL_FORMATS} == FINAL_FORMATS


def test_the_first_character_index_finds_what_trying_every_scheme_finds() -> None:
    """The fourteen shipped administrations' schemes, and codes made from every example by
    changing, adding and dropping characters. Result: the code book's matches are exactly
    those of trying every scheme in turn, in the same order."""
    d = read_definitions(HOME, PARTNERS)
    schemes = [(d.home.code, d.home.identifiers)] + [
        (code, e.partner.identifiers) for code, e in d.partners.items()
    ]
    book = CodeBook(schemes)
    examples = [e for _, s in schemes for e in s.examples]
    codes = {c for e in examples for c in (e, e[1:], e[:-1], e + "0", "X" + e, e.lower())}
    codes |= {"CN0123456789", "AEO", "0", "DEAEOF1", "CHE123456789"}
    for code in sorted(codes):
        brute = [CodeMatch(a, m) for a, s in schemes if (m := s.declared(code)) is not None]
        assert book.matches(code) == brute, code
