from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gateway.registry import RegistryError, load_home, load_partner, load_partners

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_partner_files_load_with_their_mra_dates_and_keys() -> None:
    """partners/ as shipped. Result: SG and KR, with in-force dates and pinned algorithms."""
    entries = load_partners(ROOT / "partners", ("b",))
    assert set(entries) >= {"SG", "KR"}
    sg = entries["SG"].partner
    assert sg.mra_in_force == date(2013, 3, 15)
    assert sg.recognised_tiers == {"STP-Plus"}
    assert sg.signing_keys[0].algorithm == "ed25519"
    assert entries["KR"].partner.signing_keys[0].algorithm == "ecdsa-p256-sha256"
    assert sg.benefits == ("b",)


def test_home_file_has_dated_grade_schemes() -> None:
    """home/CN.toml. Result: Decree 282 in force on 2026-11-27, Decree 251 on 2022-01-01."""
    home = load_home(ROOT / "home" / "CN.toml")
    assert home.scheme_at(date(2026, 11, 27)).name == "Decree 282"  # type: ignore[union-attr]
    assert home.scheme_at(date(2022, 1, 1)).name == "Decree 251"  # type: ignore[union-attr]
    assert home.scheme_at(date(2017, 1, 1)) is None


def _write(tmp_path: Path, text: str, name: str = "XX") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


VALID = """
code = "XX"
name = "Example"
programme = "X AEO"
tiers = ["AEO"]
recognised_tiers = ["AEO"]
[mra]
in_force = 2020-01-01
[identifiers]
prefix = "XX"
patterns = ["XX[0-9]{5}"]
[trust]
ca = "ca.pem"
[[signing_keys]]
key_id = "XX-1"
algorithm = "ed25519"
public_key = "k.pem"
"""


def test_a_new_partner_is_a_file(tmp_path: Path) -> None:
    """A partner file in the shape of the shipped ones. Result: it loads; no code needed."""
    entry = load_partner(_write(tmp_path, VALID), ())
    assert entry.partner.code == "XX"
    assert entry.partner.identifiers.canonical("12345") == "XX12345"
    assert entry.trust.ca == tmp_path / "ca.pem"


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda t: t.replace('recognised_tiers = ["AEO"]', 'recognised_tiers = ["GOLD"]'), "XX"),
        (lambda t: t.replace('code = "XX"', 'code = "YY"'), "XX"),
        (lambda t: t.replace('patterns = ["XX[0-9]{5}"]', 'patterns = ["XX[0-9"]'), "XX"),
        (lambda t: t.split("[[signing_keys]]")[0], "XX"),
        (lambda t: t.replace("in_force = 2020-01-01", 'in_force = "soon"'), "XX"),
        (
            lambda t: (
                t + "\n[[signing_keys]]\nkey_id = 'XX-1'\nalgorithm='ed25519'\npublic_key='k'\n"
            ),
            "XX",
        ),
        (lambda t: t.replace("[trust]", "[notrust]"), "XX"),
        (lambda t: "code = [", "XX"),
    ],
)
def test_inconsistent_partner_files_are_refused_with_the_file_named(
    tmp_path: Path, change: object, name: str
) -> None:
    """Unknown recognised tier, wrong file name, bad pattern, no keys, bad date, duplicate key,
    no trust anchor, broken TOML. Result: RegistryError naming the file."""
    path = _write(tmp_path, change(VALID), name)  # type: ignore[operator]
    with pytest.raises(RegistryError, match=str(path)):
        load_partner(path, ())
