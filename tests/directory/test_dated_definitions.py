"""Partner files' dated rules, modes, freshness and assumed fields: each read as written, each
mistake refused with the file and the field named."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.directory.files import read_partner
from gateway.domain.errors import DefinitionInvalid
from gateway.domain.partners import Freshness, MappingRule, TierRecognition, TransportMode
from tests.conftest import ROOT

SG = (ROOT / "partners" / "SG.toml").read_text()


def sg_file(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SG, old
    path = tmp_path / "SG.toml"
    path.write_text(SG.replace(old, new, 1))
    return path


def test_dated_tiers_mapping_modes_freshness_and_assumed_are_read(tmp_path: Path) -> None:
    """SG's file recognises STP for 2027 only, maps it to certified from 2027, enters into
    force by air later, expects a message every 90 minutes and assumes its tiers. Result:
    each value read as written."""
    path = sg_file(
        tmp_path,
        'recognised_tiers = ["STP-Plus"]',
        'recognised_tiers = ["STP-Plus", { tier = "STP", start = 2027-01-01, end = 2028-01-01 }]',
    )
    text = path.read_text().replace(
        "in_force = 2013-03-15", "in_force = 2013-03-15\nin_force_by_mode = { air = 2013-09-01 }"
    )
    text = text.replace('expected_cadence = "1h"', 'expected_cadence = "90m"')
    text = text.replace('assumed = ["freshness"]', 'assumed = ["freshness", "tiers"]')
    text += '\n[[mapping]]\ntier = "STP"\ngrade = "certified"\nstart = 2027-01-01\n'
    path.write_text(text)
    sg = read_partner(path, ()).partner
    assert sg.recognised_tiers == (
        TierRecognition("STP-Plus"),
        TierRecognition("STP", date(2027, 1, 1), date(2028, 1, 1)),
    )
    assert sg.mapping[-1] == MappingRule("STP", "certified", start=date(2027, 1, 1))
    assert sg.mra_in_force_by_mode == ((TransportMode.AIR, date(2013, 9, 1)),)
    assert sg.in_force_for(TransportMode.AIR) == date(2013, 9, 1)
    assert sg.in_force_for(TransportMode.SEA) == date(2013, 3, 15)
    assert sg.freshness == Freshness(timedelta(minutes=90), timedelta(hours=24), False)
    assert sg.assumed == ("freshness", "tiers")


def test_an_unknown_entry_into_force_means_none(tmp_path: Path) -> None:
    """in_force = "unknown" (Kazakhstan's case). Result: no date: never in force."""
    path = sg_file(tmp_path, "in_force = 2013-03-15", 'in_force = "unknown"')
    assert read_partner(path, ()).partner.mra_in_force is None


def test_a_file_without_freshness_expects_nothing(tmp_path: Path) -> None:
    """SG's file without its [freshness] table (and without assuming it). Result: freshness
    None: the partner is never judged stale."""
    head, _, tail = SG.partition("[freshness]")
    rest = tail.split("\n\n", 1)[1]
    path = tmp_path / "SG.toml"
    path.write_text((head + rest).replace('assumed = ["freshness"]', "assumed = []"))
    assert read_partner(path, ()).partner.freshness is None


BAD = [
    pytest.param(
        'recognised_tiers = ["STP-Plus"]',
        'recognised_tiers = [{ tier = "STP-Plus", start = "2027" }]',
        "recognised_tiers[0].start",
        id="tier start not a date",
    ),
    pytest.param(
        'recognised_tiers = ["STP-Plus"]',
        'recognised_tiers = [{ tier = "STP-Plus", start = 2027-01-01, end = 2027-01-01 }]',
        "recognised_tiers[0].end",
        id="tier end not after start",
    ),
    pytest.param(
        'recognised_tiers = ["STP-Plus"]',
        'recognised_tiers = [{ tier = "STP-Plus", from = 2027-01-01 }]',
        "recognised_tiers[0].from",
        id="tier entry with an unknown key",
    ),
    pytest.param(
        'recognised_tiers = ["STP-Plus"]',
        "recognised_tiers = [{ start = 2027-01-01 }]",
        "recognised_tiers[0].tier",
        id="tier entry without a tier",
    ),
    pytest.param(
        'recognised_tiers = ["STP-Plus"]',
        "recognised_tiers = [3]",
        "recognised_tiers[0]",
        id="tier entry neither name nor table",
    ),
    pytest.param(
        'tier = "STP-Plus"\ngrade = "advanced certified"',
        'tier = "STP-Plus"\ngrade = "advanced certified"\nstart = 2027-01-01\nend = 2026-01-01',
        "mapping[0].end",
        id="mapping end before start",
    ),
    pytest.param(
        'tier = "STP-Plus"\ngrade = "advanced certified"',
        'tier = "STP-Plus"\ngrade = "advanced certified"\nstart = "next year"',
        "mapping[0].start",
        id="mapping start not a date",
    ),
    pytest.param(
        "in_force = 2013-03-15",
        "in_force = 2013-03-15\nin_force_by_mode = { ship = 2014-01-01 }",
        "mra.in_force_by_mode.ship",
        id="unknown mode",
    ),
    pytest.param(
        "in_force = 2013-03-15",
        'in_force = 2013-03-15\nin_force_by_mode = { air = "2014" }',
        "mra.in_force_by_mode.air",
        id="mode date not a date",
    ),
    pytest.param(
        "in_force = 2013-03-15",
        'in_force = 2013-03-15\nin_force_by_mode = ["air"]',
        "mra.in_force_by_mode",
        id="modes not a table",
    ),
    pytest.param(
        "in_force = 2013-03-15", 'in_force = "later"', "mra.in_force", id="in force neither"
    ),
    pytest.param(
        'expected_cadence = "1h"',
        'expected_cadence = "1 hour"',
        "freshness.expected_cadence",
        id="duration in words",
    ),
    pytest.param(
        'expected_cadence = "1h"',
        "expected_cadence = 3600",
        "freshness.expected_cadence",
        id="duration as a number",
    ),
    pytest.param(
        'max_staleness = "24h"',
        'max_staleness = "0h"',
        "freshness.max_staleness",
        id="zero staleness",
    ),
    pytest.param(
        'max_staleness = "24h"',
        'max_staleness = "30m"',
        "freshness.max_staleness",
        id="staleness shorter than the cadence",
    ),
    pytest.param(
        "stale_grants_benefits = false",
        'stale_grants_benefits = "no"',
        "freshness.stale_grants_benefits",
        id="policy not a boolean",
    ),
    pytest.param(
        "stale_grants_benefits = false",
        "stale_grants_benefit = false",
        "freshness.stale_grants_benefit",
        id="misspelt freshness key",
    ),
    pytest.param(
        'assumed = ["freshness"]',
        'assumed = ["freshness", "identifiers.pattern"]',
        "assumed[1]",
        id="assumed names no field",
    ),
    pytest.param(
        'assumed = ["freshness"]',
        'assumed = ["mapping[5].grade"]',
        "assumed[0]",
        id="assumed names an entry out of range",
    ),
    pytest.param(
        'assumed = ["freshness"]', 'assumed = ["assumed"]', "assumed[0]", id="assumed itself"
    ),
    pytest.param('assumed = ["freshness"]', 'assumed = "freshness"', "assumed", id="not a list"),
]


@pytest.mark.parametrize(("old", "new", "field"), BAD)
def test_a_bad_dated_rule_names_the_file_and_the_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    """One mistake in a new key of SG's file. Result: DefinitionInvalid naming SG's file and
    the field."""
    path = sg_file(tmp_path, old, new)
    with pytest.raises(DefinitionInvalid) as refused:
        read_partner(path, ())
    assert refused.value.metadata == {"file": str(path), "field": field}
    assert str(path) in refused.value.message


def test_assumed_may_name_a_table_entry_and_a_nested_field(tmp_path: Path) -> None:
    """assumed names mapping[0].grade and mra.in_force. Result: accepted as written."""
    path = sg_file(
        tmp_path, 'assumed = ["freshness"]', 'assumed = ["mapping[0].grade", "mra.in_force"]'
    )
    assert read_partner(path, ()).partner.assumed == ("mapping[0].grade", "mra.in_force")
