"""The partner directory read from files: validation with the file and field named, snapshots,
and reloads that either put a whole new snapshot in force or change nothing."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from adapters.directory.files import FileDirectory, read_definitions, read_partner
from adapters.wire.registry import codecs
from gateway.clock import SystemClock
from gateway.domain.directory import definition_changes
from gateway.domain.errors import DefinitionInvalid
from gateway.domain.events import DefinitionChange
from gateway.domain.partners import TradeDirection
from tests.conftest import ROOT, Workspace


def test_shipped_partner_files_load_with_their_mra_dates_and_keys() -> None:
    """partners/ as shipped. Result: SG and KR, with in-force dates, directions and keys."""
    definitions = read_definitions(ROOT / "home" / "CN.toml", ROOT / "partners")
    assert set(definitions.partners) >= {"SG", "KR"}
    sg = definitions.partners["SG"].partner
    assert sg.mra_in_force == date(2013, 3, 15)
    assert sg.recognised_tier_names == {"STP-Plus"}
    assert sg.directions == {TradeDirection.IMPORT, TradeDirection.EXPORT}
    assert sg.signing_keys[0].algorithm == "ed25519"
    assert definitions.partners["KR"].partner.signing_keys[0].algorithm == "ecdsa-p256-sha256"


def test_home_file_has_dated_grade_schemes() -> None:
    """home/CN.toml. Result: Decree 282 in force on 2026-11-27, Decree 251 on 2022-01-01,
    Decree 225 on 2017-01-01, Decree 197 on 2014-06-01, none on 2010-01-01."""
    home = read_definitions(ROOT / "home" / "CN.toml", ROOT / "partners").home
    assert home.scheme_at(date(2026, 11, 27)).name == "Decree 282"  # type: ignore[union-attr]
    assert home.scheme_at(date(2022, 1, 1)).name == "Decree 251"  # type: ignore[union-attr]
    assert home.scheme_at(date(2017, 1, 1)).name == "Decree 225"  # type: ignore[union-attr]
    assert home.scheme_at(date(2014, 6, 1)).name == "Decree 197"  # type: ignore[union-attr]
    assert home.scheme_at(date(2010, 1, 1)) is None


@pytest.fixture
def folder(tmp_path: Path, workspace: Workspace) -> Path:
    """A copy of the workspace's definitions, whose key and CA paths still resolve."""
    root = tmp_path / "defs"
    shutil.copytree(workspace.root / "partners", root / "partners")
    shutil.copytree(workspace.root / "home", root / "home")
    for toml in (root / "partners").glob("*.toml"):
        text = toml.read_text().replace("../certs/", f"{workspace.root}/certs/")
        toml.write_text(text)
    return root


def directory(root: Path) -> FileDirectory:
    return FileDirectory(root / "home" / "CN.toml", root / "partners", codecs(), SystemClock())


def edit(root: Path, code: str, old: str, new: str) -> Path:
    path = root / "partners" / f"{code}.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('tier = "STP-Plus"', 'tier = "STP-Pluss"', "mapping[0].tier"),
        ('grade = "advanced certified"', 'grade = "advanced certifed"', "mapping[0].grade"),
        ('direction = "import+export"', 'direction = "sideways"', "direction"),
        (
            'recognised_tiers = ["STP-Plus"]',
            'recognised_tiers = ["STP-Gold"]',
            "recognised_tiers[0]",
        ),
        ("recognised_tiers =", "recognized_tiers =", "recognized_tiers"),
        ('patterns = ["SG[0-9]{12}"]', 'patterns = ["SG[0-9"]', "identifiers.patterns"),
        ("in_force = 2013-03-15", 'in_force = "soon"', "mra.in_force"),
        ('signed = "2012-06"', 'signed = "June 2012"', "mra.signed"),
        ('wire_formats = ["native"]', 'wire_formats = ["xml-dsig"]', "wire_formats[0]"),
        ('algorithm = "ed25519"', 'algorithm = "ed25519ph"', "signing_keys[0].algorithm"),
        ('ca = "', 'ca = "missing/', "trust.ca"),
        ('code = "SG"', 'code = "SX"', "code"),
    ],
)
def test_a_definition_that_fails_validation_names_the_file_and_the_field(
    folder: Path, old: str, new: str, field: str
) -> None:
    """One mistake in SG's file. Result: DefinitionInvalid with SG's file and the field."""
    path = edit(folder, "SG", old, new)
    with pytest.raises(DefinitionInvalid) as refused:
        directory(folder)
    assert refused.value.metadata["file"] == str(path)
    assert refused.value.metadata["field"] == field
    assert str(path) in refused.value.message


def test_two_administrations_claiming_one_code_are_refused_unless_one_wins(folder: Path) -> None:
    """KR's patterns also match SG's codes. Result: refused, naming an example code; once SG's
    file says it takes precedence over KR, it loads and SG is asked first."""
    edit(folder, "KR", 'patterns = ["KR[0-9]{10}"]', 'patterns = ["KR[0-9]{10}", "SG[0-9]+"]')
    with pytest.raises(DefinitionInvalid, match=r"both match 'SG\d+'") as refused:
        directory(folder)
    assert refused.value.metadata["field"] == "identifiers.patterns"
    edit(folder, "SG", 'prefix = "SG"', 'prefix = "SG"\ntakes_precedence_over = ["KR"]')
    snapshot = directory(folder).current()
    candidates = snapshot.codebook.candidates("SG123456789012")
    assert [c.administration for c in candidates] == ["SG", "KR"]


def test_an_invalid_reload_leaves_the_snapshot_in_force(folder: Path) -> None:
    """A typo in SG's mapping, then a reload. Result: refused; the snapshot in force is the
    same object, so every request keeps seeing the last valid definitions."""
    d = directory(folder)
    before = d.current()
    edit(folder, "SG", 'tier = "STP-Plus"', 'tier = "STP-Pluss"')
    with pytest.raises(DefinitionInvalid):
        d.load()
    assert d.current() is before


def test_a_valid_reload_is_a_new_numbered_snapshot_with_its_changes(folder: Path) -> None:
    """SG's in-force date changes, KR's file is removed. Result: version 2, SG changed, KR
    removed, and the old snapshot unchanged."""
    d = directory(folder)
    before = d.current()
    edit(folder, "SG", "in_force = 2013-03-15", "in_force = 2013-04-01")
    (folder / "partners" / "KR.toml").unlink()
    after = d.load()
    d.install(after)
    assert (before.version, after.version) == (1, 2)
    assert d.current() is after
    assert before.partners["SG"].mra_in_force == date(2013, 3, 15)
    assert after.partners["SG"].mra_in_force == date(2013, 4, 1)
    changes = {(e.partner, e.change) for e in definition_changes(before, after)}
    assert changes == {("SG", DefinitionChange.CHANGED), ("KR", DefinitionChange.REMOVED)}


def test_a_new_partner_is_a_file(tmp_path: Path) -> None:
    """A partner file in the shape of the shipped ones, keys not yet made. Result: its
    definition reads; no code needed."""
    path = tmp_path / "XX.toml"
    path.write_text(
        (ROOT / "partners" / "SG.toml")
        .read_text()
        .replace('code = "SG"', 'code = "XX"')
        .replace("SG[0-9]{12}", "XX[0-9]{5}")
        .replace('prefix = "SG"', 'prefix = "XX"')
        .replace('"SG201912345678"', '"XX12345"')
    )
    entry = read_partner(path, ())
    assert entry.partner.code == "XX"
    assert entry.partner.identifiers.canonical("12345") == "XX12345"
    assert entry.partner.identifiers.examples == ("XX12345",)


def test_an_example_the_patterns_refuse_is_refused_with_its_field(tmp_path: Path) -> None:
    """SG's file gives the example "SG12345" (SG codes have 12 digits). Result:
    DefinitionInvalid naming identifiers.examples[0]: an example documents the patterns."""
    path = tmp_path / "SG.toml"
    path.write_text(
        (ROOT / "partners" / "SG.toml").read_text().replace('"SG201912345678"', '"SG12345"')
    )
    with pytest.raises(DefinitionInvalid) as refused:
        read_partner(path, ())
    assert refused.value.metadata["field"] == "identifiers.examples[0]"


def ca_path(root: Path, code: str) -> Path:
    text = (root / "partners" / f"{code}.toml").read_text()
    return Path(text.split('ca = "', 1)[1].split('"', 1)[0])


def test_two_partners_naming_one_ca_are_refused_however_the_file_is_written(
    folder: Path, tmp_path: Path
) -> None:
    """KR's file points at a copy of SG's CA with a comment and blank lines added. Result:
    refused: it is the same certificate, and either partner could speak for the other."""
    copy = tmp_path / "sg-ca-copy.pem"
    copy.write_text("# SG's CA, reformatted\n\n" + ca_path(folder, "SG").read_text() + "\n\n")
    edit(folder, "KR", str(ca_path(folder, "KR")), str(copy))
    with pytest.raises(DefinitionInvalid, match=r"same CA as partner (SG|KR)") as refused:
        directory(folder)
    assert refused.value.metadata["field"] == "trust.ca"


def test_a_partner_naming_the_home_ca_is_refused(folder: Path, workspace: Workspace) -> None:
    """SG's file points at the home CA. Result: refused: every domestic and admin certificate
    would otherwise count as SG's."""
    home_ca = workspace.root / "certs" / "dev" / "ca.pem"
    edit(folder, "SG", str(ca_path(folder, "SG")), str(home_ca))
    with pytest.raises(DefinitionInvalid, match="home administration"):
        FileDirectory(
            folder / "home" / "CN.toml",
            folder / "partners",
            codecs(),
            SystemClock(),
            home_ca.read_bytes(),
        )


def test_a_trust_anchor_file_with_several_certificates_is_refused(
    folder: Path, tmp_path: Path
) -> None:
    """SG's CA file also holds KR's CA. Result: refused: TLS would trust the whole bundle while
    identity is matched against one certificate."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(ca_path(folder, "SG").read_text() + ca_path(folder, "KR").read_text())
    edit(folder, "SG", str(ca_path(folder, "SG")), str(bundle))
    with pytest.raises(DefinitionInvalid, match="holds 2 certificates"):
        directory(folder)


def test_a_national_form_without_prefix_is_not_a_claimed_code(folder: Path) -> None:
    """KR's file claims bare 12-digit numbers on declarations; SG adds its prefix only to the
    identifiers it sends itself. Result: no overlap; a bare 12-digit declared code is KR's
    alone, and SG's own bare identifier still becomes SG + 12 digits."""
    edit(folder, "KR", 'patterns = ["KR[0-9]{10}"]', 'patterns = ["KR[0-9]{10}", "[0-9]{12}"]')
    snapshot = directory(folder).current()
    assert [c.administration for c in snapshot.codebook.candidates("123456789012")] == ["KR"]
    assert snapshot.partners["SG"].identifiers.canonical("123456789012") == "SG123456789012"


def test_a_misspelt_key_in_the_home_file_is_refused(folder: Path) -> None:
    """home/CN.toml says `nmae`. Result: refused with the home file and the key named."""
    home = folder / "home" / "CN.toml"
    home.write_text(home.read_text().replace('name = "General', 'nmae = "General', 1))
    with pytest.raises(DefinitionInvalid) as refused:
        directory(folder)
    assert refused.value.metadata["file"] == str(home)
    assert refused.value.metadata["field"] == "nmae"


def test_the_home_time_zone_is_read_and_an_unknown_one_refused(folder: Path) -> None:
    """home/CN.toml names Asia/Shanghai; then Mars/Olympus. Result: the home administration
    judges days in Beijing time; the unknown zone is refused with time_zone named."""
    assert directory(folder).current().home.zone.key == "Asia/Shanghai"  # type: ignore[attr-defined]
    home = folder / "home" / "CN.toml"
    home.write_text(home.read_text().replace("Asia/Shanghai", "Mars/Olympus", 1))
    with pytest.raises(DefinitionInvalid) as refused:
        directory(folder)
    assert refused.value.metadata["field"] == "time_zone"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            'prefix = "SG"',
            'prefix = "SG"\ntakes_precedence_over = ["ZZ"]',
            "identifiers.takes_precedence_over",
        ),
    ],
)
def test_precedence_must_name_a_known_administration(
    folder: Path, old: str, new: str, field: str
) -> None:
    """SG says it wins over ZZ, which no file defines. Result: refused, field named."""
    edit(folder, "SG", old, new)
    with pytest.raises(DefinitionInvalid, match="ZZ is not a known administration") as refused:
        directory(folder)
    assert refused.value.metadata["field"] == field


def test_two_files_that_each_claim_to_win_are_refused(folder: Path) -> None:
    """SG says it wins over KR and KR says it wins over SG. Result: refused."""
    edit(folder, "SG", 'prefix = "SG"', 'prefix = "SG"\ntakes_precedence_over = ["KR"]')
    edit(folder, "KR", 'prefix = "KR"', 'prefix = "KR"\ntakes_precedence_over = ["SG"]')
    with pytest.raises(DefinitionInvalid, match="says it wins too"):
        directory(folder)
