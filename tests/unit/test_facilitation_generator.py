"""The generator draws what it says it draws, the same for a seed, as the import CSV."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime
from pathlib import Path

import pytest

from gateway import cli
from gateway import facilitation_generator as generator
from gateway.domain.facilitation import Jurisdiction, Outcome
from tests.factories import home


def _year(seed: int = 11, outcomes: int = 40_000, year: int = 2026) -> list[Outcome]:
    return list(generator.generate(seed, year, outcomes))


def test_the_same_seed_makes_the_same_year_and_another_seed_another() -> None:
    assert _year(seed=3, outcomes=2000) == _year(seed=3, outcomes=2000)
    assert _year(seed=3, outcomes=2000) != _year(seed=4, outcomes=2000)


def test_every_group_gets_its_share_and_declaration_ids_are_unique_per_reporter() -> None:
    outcomes = _year(outcomes=10_001)
    assert len(outcomes) == 10_001
    assert len({(o.reporter, o.declaration_id) for o in outcomes}) == 10_001
    sized = generator.counts(10_001)
    assert sized["home advanced certified"] == 2500
    assert sum(sized.values()) == 10_001


def test_outcomes_arrive_within_the_year_in_home_days_and_are_released_after() -> None:
    start, end = generator.year_span(2026)
    assert start == datetime.fromisoformat("2025-12-31T16:00:00+00:00")
    outcomes = _year(outcomes=5000)
    assert all(start <= o.arrived_at < end for o in outcomes)
    assert all(o.released_at > o.arrived_at for o in outcomes)


@pytest.mark.parametrize(
    "name", ["home advanced certified", "home regular", "home discredited", "home AEOs in KR"]
)
def test_each_group_is_drawn_at_its_true_inspection_rate(name: str) -> None:
    """Four standard errors: a draw outside it would mean the generator lies about its truth."""
    group = next(g for g in generator.GROUPS if g.name == name)
    drawn = [o for o in _year(outcomes=200_000) if _group_of(o) == name]
    rate = group.rates.inspection
    error = 4 * math.sqrt(rate * (1 - rate) / len(drawn))
    assert abs(sum(o.inspected for o in drawn) / len(drawn) - rate) < error


def test_home_aeos_abroad_are_released_at_seven_tenths_of_the_partner_baseline_median() -> None:
    outcomes = _year(outcomes=100_000)
    aeo = _median_hours([o for o in outcomes if _group_of(o) == "home AEOs in KR"])
    baseline = _median_hours([o for o in outcomes if _group_of(o) == "KR baseline abroad"])
    assert aeo == pytest.approx(7.0, rel=0.05)
    assert baseline == pytest.approx(10.0, rel=0.05)


def test_partner_outcomes_before_the_mra_entered_into_force_are_marked_and_not_aeo() -> None:
    """MN's MRA entered into force on 2025-06-01 (Beijing time)."""
    mn = [o for o in _year(year=2025) if o.partner == "MN" and o.jurisdiction.value == "home"]
    in_force = datetime.fromisoformat("2025-06-01T00:00:00+08:00")
    before = [o for o in mn if o.before_recognition]
    assert before
    assert all(o.arrived_at < in_force and not o.aeo for o in before)
    assert all(o.arrived_at >= in_force and o.aeo for o in mn if not o.before_recognition)
    assert {(o.reason, o.grade) for o in before} == {("mra.not_in_force", "regular")}


def test_home_aeos_abroad_are_the_home_advanced_certified_operators() -> None:
    outcomes = _year(outcomes=20_000)
    home = set(generator.operator_codes(11)["home advanced certified"])
    abroad = {o.declared_code for o in outcomes if _group_of(o) == "home AEOs in KR"}
    assert len(abroad) > 1000
    assert abroad <= home
    regular = {o.declared_code for o in outcomes if _group_of(o) == "home regular"}
    assert len(regular) > 1000
    assert not regular & home


def test_the_files_are_one_per_reporter_and_a_partner_marks_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "year.csv"
    files = generator.write_files(generator.generate(5, 2026, 3000), out)
    assert files == {"CN": (out, 2340), "KR": (tmp_path / "year.KR.csv", 660)}
    home = list(csv.DictReader(io.StringIO(out.read_text())))
    assert tuple(home[0]) == generator.COLUMNS
    assert len(home) == 2340
    kr = list(csv.DictReader(io.StringIO((tmp_path / "year.KR.csv").read_text())))
    assert tuple(kr[0]) == (*generator.COLUMNS, "baseline")
    assert {r["baseline"] for r in kr} == {"true", "false"}
    assert datetime.fromisoformat(home[0]["arrived_at"]).utcoffset() is not None


def test_home_operators_are_graded_from_before_the_year_or_when_their_grade_exists(
    tmp_path: Path,
) -> None:
    """Decree 282 (from 2026-04-01) brought "certified"; Decree 251 before it had none."""
    path = tmp_path / "grades.csv"
    assert generator.write_home_grades(3, 2026, home(), path) == 6600
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    when = {(r["grade"], r["effective_at"]) for r in rows}
    assert when == {
        ("regular", "2025-12-01T00:00:00+08:00"),
        ("advanced certified", "2025-12-01T00:00:00+08:00"),
        ("discredited", "2025-12-01T00:00:00+08:00"),
        ("certified", "2026-04-01T00:00:00+08:00"),
    }
    codes = generator.operator_codes(3)["home advanced certified"]
    assert {r["enterprise_code"] for r in rows if r["grade"] == "advanced certified"} == {
        c.removeprefix("AEOCN") for c in codes
    }


def test_the_command_writes_the_files_and_tells_the_true_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "year.csv"
    argv = ["facilitation", "generate", "--seed", "9", "--year", "2026", "--out", str(out)]
    assert cli.main([*argv, "--outcomes", "500", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [f["outcomes"] for f in report["files"]] == [390, 110]
    assert len(out.read_text().splitlines()) == 391
    assert report["imports"][0].startswith("aeo-gateway home import ")
    assert report["imports"][2] == (
        f"aeo-gateway facilitation import {tmp_path / 'year.KR.csv'} --reporter KR"
    )
    advanced = next(g for g in report["groups"] if g["group"] == "home advanced certified")
    assert advanced["inspection"] == 0.0052


def test_a_bad_year_or_an_unwritable_file_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no" / "year.csv"
    argv = ["facilitation", "generate", "--seed", "1", "--year", "2026", "--out", str(missing)]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"aeo-gateway: cannot write {missing}: No such file or directory"
    )
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv[:4], "--year", "26x", "--out", str(tmp_path / "y.csv")])
    assert exited.value.code == 2


def _group_of(outcome: Outcome) -> str:
    if outcome.jurisdiction is Jurisdiction.ABROAD:
        return "home AEOs in KR" if outcome.aeo else "KR baseline abroad"
    if outcome.partner:
        return f"{outcome.partner} AEOs at home"
    return f"home {outcome.grade}"


def _median_hours(outcomes: list[Outcome]) -> float:
    hours = sorted((o.released_at - o.arrived_at).total_seconds() / 3600 for o in outcomes)
    return hours[len(hours) // 2]
