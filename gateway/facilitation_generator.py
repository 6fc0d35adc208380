"""A year of declaration outcomes with known true rates, deterministic from a seed.

The recovery tests and `bench.facilitation` load what this makes and check that the report
finds the rates it was made with; `aeo-gateway facilitation generate` writes it as the
facilitation import CSV. Records are the domain's `Outcome`, already classified (grade, aeo,
before recognition), so the store can take them in bulk without recognition at arrival.

The true values are those the issue quotes from GACC: at home, advanced certified enterprises
inspected at 0.52 %, 80 % below the regular grade (2.6 %), discredited ones at 98 %; home AEOs'
shipments in Korea inspected 50 % below Korea's baseline and released 30 % faster (median 0.7
of the baseline's).
"""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gateway.cli_facilitation import BASELINE as BASELINE  # the file the import reads
from gateway.cli_facilitation import COLUMNS as COLUMNS
from gateway.domain.facilitation import Jurisdiction, Outcome
from gateway.domain.partners import HomeAdministration, TradeDirection, TransportMode

HOME = "CN"
#: The home administration's days (China keeps one offset all year: no daylight saving).
HOME_OFFSET = timezone(timedelta(hours=8))
DEFAULT_OUTCOMES = 100_000
#: Log-scale spread of release times: lognormal, so the median is exactly the one set.
RELEASE_SIGMA = 0.9
_MODES = (TransportMode.SEA, TransportMode.AIR, TransportMode.ROAD, TransportMode.RAIL)
_MODE_WEIGHTS = (0.5, 0.25, 0.15, 0.1)


@dataclass(frozen=True, slots=True)
class Rates:
    """The truth a group's declarations are drawn from."""

    inspection: float
    document_review: float
    release_median_hours: float


@dataclass(frozen=True, slots=True)
class Group:
    """One population of declarations: who reports them, how they are counted, their truth.

    ``in_force``: the partner's MRA entry into force, for partner operators at home; outcomes
    arriving before it are counted before recognition, drawn from ``before`` (not yet an AEO).
    """

    name: str
    jurisdiction: Jurisdiction
    reporter: str
    partner: str
    administration: str
    grade: str
    aeo: bool
    share: float
    rates: Rates
    operators: int
    code_prefix: str
    code_digits: int
    in_force: date | None = None
    before: Rates | None = None
    #: Another group whose operators these are (home AEOs abroad are the home AEOs at home).
    operators_of: str = ""
    #: Of the declarations, imports (all where the MRA covers imports only, as MN's).
    import_share: float = 0.6


REGULAR_GRADE = "regular"
#: The regular grade's truth at home: the baseline of every AEO grade at home.
REGULAR = Rates(inspection=0.026, document_review=0.10, release_median_hours=6.0)
KR_BASELINE = Rates(inspection=0.08, document_review=0.20, release_median_hours=10.0)


def _home(grade: str, aeo: bool, share: float, rates: Rates, operators: int) -> Group:
    return Group(
        f"home {grade}",
        Jurisdiction.HOME,
        HOME,
        "",
        HOME,
        grade,
        aeo,
        share,
        rates,
        operators,
        "AEOCN",
        10,
    )


def _partner_at_home(
    partner: str,
    digits: int,
    in_force: date,
    share: float,
    rates: Rates,
    operators: int,
    import_share: float = 0.6,
) -> Group:
    # A recognised partner AEO gets the treatment of the home grade its tiers map to.
    return Group(
        f"{partner} AEOs at home",
        Jurisdiction.HOME,
        HOME,
        partner,
        partner,
        "advanced certified",
        True,
        share,
        rates,
        operators,
        partner,
        digits,
        in_force=in_force,
        before=REGULAR,
        import_share=import_share,
    )


GROUPS: tuple[Group, ...] = (
    _home(REGULAR_GRADE, False, 0.30, REGULAR, 4000),
    _home("advanced certified", True, 0.25, Rates(0.0052, 0.02, 2.0), 1500),
    _home("certified", True, 0.10, Rates(0.013, 0.05, 3.5), 1000),
    _home("discredited", False, 0.02, Rates(0.98, 0.99, 30.0), 100),
    _partner_at_home("KR", 10, date(2014, 4, 1), 0.08, Rates(0.0078, 0.03, 2.5), 600),
    # MN's MRA entered into force on 2025-06-01 (a 2025 year has outcomes before recognition)
    # and covers imports only.
    _partner_at_home("MN", 7, date(2025, 6, 1), 0.03, Rates(0.01, 0.03, 3.0), 150, 1.0),
    Group(
        "KR baseline abroad",
        Jurisdiction.ABROAD,
        "KR",
        "KR",
        "",
        "",
        False,
        0.12,
        KR_BASELINE,
        5000,
        "KR",
        10,
    ),
    Group(
        "home AEOs in KR",
        Jurisdiction.ABROAD,
        "KR",
        "KR",
        HOME,
        "advanced certified",
        True,
        0.10,
        Rates(0.04, 0.10, 7.0),
        0,
        "AEOCN",
        10,
        operators_of="home advanced certified",
    ),
)


def year_span(year: int) -> tuple[datetime, datetime]:
    """The year in the home administration's days, as UTC instants: [start, end)."""
    start = datetime(year, 1, 1, tzinfo=HOME_OFFSET).astimezone(UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=HOME_OFFSET).astimezone(UTC)


def counts(total: int, groups: tuple[Group, ...] = GROUPS) -> dict[str, int]:
    """How many outcomes each group gets: its share, the rounding left to the largest."""
    shares = sum(group.share for group in groups)
    sized = {group.name: int(total * group.share / shares) for group in groups}
    largest = max(groups, key=lambda group: group.share).name
    sized[largest] += total - sum(sized.values())
    return sized


def operator_codes(seed: int, groups: tuple[Group, ...] = GROUPS) -> dict[str, list[str]]:
    """Each group's operators' declared codes: distinct across groups that share a code
    format, and the same for a seed."""
    rng = random.Random(f"{seed}:operators")  # noqa: S311 (test data, not secrets)
    codes: dict[str, list[str]] = {}
    for group in groups:
        if group.operators_of:
            continue
        low = 10 ** (group.code_digits - 1)
        taken = {code for listed in codes.values() for code in listed}
        drawn: list[str] = []
        while len(drawn) < group.operators:
            code = f"{group.code_prefix}{rng.randrange(low, low * 10)}"
            if code not in taken:
                taken.add(code)
                drawn.append(code)
        codes[group.name] = drawn
    for group in groups:
        if group.operators_of:
            codes[group.name] = codes[group.operators_of]
    return codes


def generate(
    seed: int,
    year: int,
    outcomes: int = DEFAULT_OUTCOMES,
    groups: tuple[Group, ...] = GROUPS,
    tag: str = "",
) -> Iterator[Outcome]:
    """Yields ``outcomes`` outcomes arriving in ``year``, group after group (lazily: a
    million need not be held at once). Each group has its own stream from the seed, so adding
    outcomes to one group leaves the others' draws as they were. ``tag`` goes into every
    declaration id, so two generations can be stored side by side."""
    start, end = year_span(year)
    seconds = int((end - start).total_seconds())
    sized = counts(outcomes, groups)
    operators = operator_codes(seed, groups)
    for index, group in enumerate(groups):
        rng = random.Random(f"{seed}:{group.name}")  # noqa: S311 (test data)
        codes = operators[group.name]
        in_force = (
            datetime.combine(group.in_force, datetime.min.time(), HOME_OFFSET)
            if group.in_force
            else None
        )
        for number in range(sized[group.name]):
            arrived = start + timedelta(seconds=rng.randrange(seconds))
            before = in_force is not None and arrived < in_force
            rates = group.before if before and group.before else group.rates
            hours = rng.lognormvariate(math.log(rates.release_median_hours), RELEASE_SIGMA)
            yield Outcome(
                reporter=group.reporter,
                declaration_id=f"{group.reporter}{year}{tag}-{index}-{number:07d}",
                declared_code=rng.choice(codes),
                direction=(
                    TradeDirection.IMPORT
                    if rng.random() < group.import_share
                    else TradeDirection.EXPORT
                ),
                mode=rng.choices(_MODES, _MODE_WEIGHTS)[0],
                arrived_at=arrived,
                # Whole minutes, as the store measures release times.
                released_at=arrived + timedelta(minutes=max(1, round(hours * 60))),
                document_review=rng.random() < rates.document_review,
                inspected=rng.random() < rates.inspection,
                jurisdiction=group.jurisdiction,
                partner=group.partner,
                administration=group.administration,
                # Before the MRA a partner's operator gets the regular grade's treatment.
                grade=REGULAR_GRADE if before else group.grade,
                aeo=group.aeo and not before,
                before_recognition=before,
                reason=_reason(group, before),
            )


def _reason(group: Group, before: bool) -> str:
    if group.jurisdiction is Jurisdiction.ABROAD:
        return "reported"
    if before:
        return "mra.not_in_force"
    return "recognised" if group.aeo else "grade.not_aeo"


def _time(moment: datetime) -> str:
    return moment.astimezone(HOME_OFFSET).isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def header(abroad: bool) -> tuple[str, ...]:
    """A file's columns: a partner's report (``abroad``) adds ``baseline``."""
    return (*COLUMNS, BASELINE) if abroad else COLUMNS


def fields(row: Outcome) -> list[str]:
    """One outcome as `facilitation import` reads it; abroad, ``baseline`` is true for the
    partner's non-AEO declarations."""
    values = [
        row.declaration_id,
        row.declared_code,
        row.direction.value,
        row.mode.value if row.mode else "",
        _time(row.arrived_at),
        _time(row.released_at),
        _flag(row.document_review),
        _flag(row.inspected),
    ]
    return [*values, _flag(not row.aeo)] if row.jurisdiction is Jurisdiction.ABROAD else values


def reporter_path(out: Path, reporter: str) -> Path:
    """Where a partner's report goes: beside ``out``, named for it (year.csv: year.KR.csv)."""
    return out if reporter == HOME else out.with_name(f"{out.stem}.{reporter}{out.suffix}")


def write_files(
    rows: Iterable[Outcome], out: Path, counted: Callable[[int], None] | None = None
) -> dict[str, tuple[Path, int]]:
    """Writes the home administration's outcomes to ``out`` and each partner's report to its
    ``reporter_path`` (one file per reporter, as the import takes them); returns, per
    reporter, the file and how many rows. ``counted`` hears the running total."""
    written: dict[str, tuple[Path, int]] = {}
    with ExitStack() as files:
        writers: dict[str, Any] = {}
        for total, row in enumerate(rows, 1):
            if row.reporter not in writers:
                path = reporter_path(out, row.reporter)
                handle = files.enter_context(path.open("w", encoding="utf-8", newline=""))
                writers[row.reporter] = csv.writer(handle, lineterminator="\n")
                writers[row.reporter].writerow(header(row.jurisdiction is Jurisdiction.ABROAD))
                written[row.reporter] = (path, 0)
            writers[row.reporter].writerow(fields(row))
            path, count = written[row.reporter]
            written[row.reporter] = (path, count + 1)
            if counted is not None:
                counted(total)
    return written


def home_grades_path(out: Path) -> Path:
    """Where the home operators go, for `home import`: beside ``out`` (year.home-grades.csv)."""
    return out.with_name(f"{out.stem}.home-grades{out.suffix}")


def write_home_grades(
    seed: int, year: int, home: HomeAdministration, out: Path, groups: tuple[Group, ...] = GROUPS
) -> int:
    """The home operators the outcomes name, graded as their group, as a `home import` file;
    returns how many. Each grade takes effect a month before the year, or, for a grade no
    scheme had then (Decree 282's "certified" in 2026), on the day the first scheme with it
    enters into force: outcomes of such an operator before that name nobody known."""
    before = date(year - 1, 12, 1)
    starts = [before, *sorted(s.in_force for s in home.grade_schemes if s.in_force > before)]
    codes = operator_codes(seed, groups)
    written = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("enterprise_code", "name", "address", "grade", "effective_at"))
        for group in groups:
            if group.jurisdiction is not Jurisdiction.HOME or group.partner:
                continue
            day = next((d for d in starts if _has(home, d, group.grade)), None)
            if day is None:
                continue
            effective = datetime.combine(day, datetime.min.time(), HOME_OFFSET).isoformat()
            for code in codes[group.name]:
                enterprise = code.removeprefix(group.code_prefix)
                writer.writerow(
                    (enterprise, f"Enterprise {enterprise}", "Beijing", group.grade, effective)
                )
                written += 1
    return written


def _has(home: HomeAdministration, day: date, grade: str) -> bool:
    scheme = home.scheme_at(day)
    return scheme is not None and grade in scheme.grades
