"""Outcomes classified by the recognition answer at arrival, and the report's rows: who is
compared with whom, on fakes of the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.app.facilitation import RecordOutcomes, ReportFacilitation
from gateway.app.recognise import Recognise
from gateway.domain.errors import OutcomeInvalid, PartnerNotFound, ReleaseBeforeArrival
from gateway.domain.facilitation import (
    DeclarationFacts,
    GroupKey,
    GroupStats,
    Jurisdiction,
    Outcome,
    OutcomeAggregate,
)
from gateway.domain.facilitation_report import build_rows
from gateway.domain.partners import TradeDirection
from gateway.domain.records import AeoRecord, MessageMeta, StoredRecord
from tests.factories import NOW, directory, record, singapore

IMPORT = TradeDirection.IMPORT
HOME, ABROAD = Jurisdiction.HOME, Jurisdiction.ABROAD
SG_CODE = "SG000000000001"


class Reader:
    def __init__(self, *records: tuple[str, AeoRecord]) -> None:
        self.records = dict((r.identifier, (admin, r)) for admin, r in records)

    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        found = self.records.get(identifier)
        if found is None or found[0] != administration or found[1].effective_at > at:
            return None
        meta = MessageMeta("m", 1, found[1].effective_at, "k", "ed25519")
        return StoredRecord(administration, found[1], meta)

    def last_received(self, administration: str) -> datetime | None:
        return NOW


class Clock:
    def now(self) -> datetime:
        return NOW


class Store:
    """Keeps outcomes by (reporter, declaration id); a repeat adds nothing."""

    def __init__(self, groups: Sequence[GroupStats] = ()) -> None:
        self.outcomes: dict[tuple[str, str], Outcome] = {}
        self._groups = list(groups)
        self.aggregate_list: list[OutcomeAggregate] = []
        self.asked: list[tuple[datetime, datetime, str]] = []

    def record(
        self, outcomes: Sequence[Outcome], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        before = len(self.outcomes)
        for o in outcomes:
            self.outcomes.setdefault((o.reporter, o.declaration_id), o)
        return len(self.outcomes) - before

    def record_batches(
        self, batches: Iterable[Sequence[Outcome]], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        return sum(self.record(b) for b in batches)

    def groups(self, start: datetime, end: datetime, partner: str = "") -> list[GroupStats]:
        self.asked.append((start, end, partner))
        return self._groups

    def home_aeos_trading(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> dict[str, int]:
        return {"KR": 3}

    def aggregates(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> list[OutcomeAggregate]:
        return self.aggregate_list


def facts(**changes: object) -> DeclarationFacts:
    arrived = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    base = DeclarationFacts(
        declaration_id="531620261000000001",
        declared_code=SG_CODE,
        direction=IMPORT,
        mode=None,
        arrived_at=arrived,
        released_at=arrived + timedelta(hours=5),
        document_review=False,
        inspected=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def recorder(store: Store) -> RecordOutcomes:
    sg = record(SG_CODE, effective_at=datetime(2010, 1, 1, tzinfo=UTC))
    return RecordOutcomes(Recognise(Reader(("SG", sg)), Clock(), max_codes=10), store)


def test_a_recognised_partner_operator_is_counted_under_the_home_grade_it_earns() -> None:
    store = Store()
    recorded = recorder(store)(directory(singapore()), facts())
    o = recorded.outcome
    assert (o.jurisdiction, o.partner, o.administration) == (HOME, "SG", "SG")
    assert (o.grade, o.aeo, o.reason, o.before_recognition) == (
        "advanced certified",
        True,
        "recognised",
        False,
    )
    assert recorded.duplicate is False
    assert store.outcomes[("CN", "531620261000000001")] == o


def test_before_entry_into_force_is_the_before_recognition_baseline() -> None:
    """SG's MRA entered into force on 2013-03-15; a declaration in 2012 under Decree 197."""
    arrived = datetime(2012, 6, 1, tzinfo=UTC)
    o = recorder(Store())(
        directory(singapore()), facts(arrived_at=arrived, released_at=arrived + timedelta(hours=9))
    ).outcome
    assert (o.partner, o.grade, o.aeo, o.reason, o.before_recognition) == (
        "SG",
        "B",
        False,
        "mra.not_in_force",
        True,
    )


def test_an_unknown_code_is_recorded_with_no_grade() -> None:
    o = recorder(Store())(directory(singapore()), facts(declared_code="SG999999999999")).outcome
    assert (o.partner, o.administration, o.grade, o.aeo, o.reason) == (
        "SG",
        "SG",
        "",
        False,
        "operator.unknown",
    )


def test_the_same_declaration_again_is_a_duplicate_and_changes_nothing() -> None:
    store = Store()
    first = recorder(store)(directory(singapore()), facts())
    again = recorder(store)(directory(singapore()), facts(inspected=False))
    assert again.duplicate is True
    assert list(store.outcomes.values()) == [first.outcome]


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"declaration_id": ""}, OutcomeInvalid, "declaration_id"),
        ({"declaration_id": "x" * 65}, OutcomeInvalid, "declaration_id"),
        ({"declaration_id": "a\nb"}, OutcomeInvalid, "declaration_id"),
        ({"arrived_at": datetime(2026, 7, 1)}, OutcomeInvalid, "arrived_at"),
        ({"declared_code": " "}, OutcomeInvalid, "declared_code"),
        ({"declared_code": "SG" * 200}, OutcomeInvalid, "declared_code"),
        ({"declared_code": "AEO\x00CN0123456789"}, OutcomeInvalid, "declared_code"),
        ({"declared_code": "AEO\x85CN0123456789"}, OutcomeInvalid, "declared_code"),
        ({"released_at": datetime(2026, 6, 30, tzinfo=UTC)}, ReleaseBeforeArrival, None),
    ],
)
def test_bad_outcomes_are_refused_and_not_stored(
    changes: dict[str, object], error: type[Exception], field: str | None
) -> None:
    store = Store()
    with pytest.raises(error) as caught:
        recorder(store)(directory(singapore()), facts(**changes))
    if field is not None:
        assert caught.value.metadata["field"] == field  # type: ignore[attr-defined]
    assert store.outcomes == {}


def stats(
    j: Jurisdiction,
    partner: str,
    grade: str,
    aeo: bool,
    n: int,
    inspected: int,
    minutes: int,
    before: bool = False,
) -> GroupStats:
    return GroupStats(
        GroupKey(j, partner, IMPORT, grade, aeo, before), n, inspected, 0, ((minutes, n),)
    )


REGULAR = frozenset({"regular"})


def test_home_grades_and_partner_operators_are_compared_with_the_home_baseline() -> None:
    rows = build_rows(
        [
            stats(HOME, "", "regular", False, 1000, 50, 600),
            stats(HOME, "", "advanced certified", True, 1000, 5, 120),
            stats(HOME, "", "", False, 77, 70, 1),  # named nobody: counted nowhere
            stats(HOME, "SG", "advanced certified", True, 200, 2, 180),
            stats(HOME, "SG", "regular", False, 90, 9, 600, before=True),
            stats(HOME, "SG", "regular", False, 30, 3, 600),  # not recognised: no row
        ],
        [],
        {"": 4},
        REGULAR,
    )
    assert [(r.partner, r.grade, r.before_recognition) for r in rows] == [
        ("", "advanced certified", False),
        ("SG", "advanced certified", False),
        ("SG", "regular", True),
    ]
    home_aeo = rows[0]
    assert home_aeo.baseline is not None
    assert home_aeo.baseline.declarations == 1000
    assert home_aeo.inspection is not None
    assert home_aeo.inspection.ratio.value == pytest.approx(0.1)
    assert home_aeo.inspection.reduction.value == pytest.approx(0.9)
    assert home_aeo.release_median is not None
    assert home_aeo.release_median.ratio.value == pytest.approx(120 / 600)
    assert home_aeo.home_aeos_trading == 4
    assert rows[2].inspection is not None
    assert rows[2].inspection.ratio.value == pytest.approx(2.0)


def test_abroad_without_single_baseline_declarations_uses_reported_totals() -> None:
    aggregate = OutcomeAggregate(
        "KR",
        IMPORT,
        datetime(2026, 7, 1, tzinfo=UTC),
        datetime(2026, 8, 1, tzinfo=UTC),
        declarations=10_000,
        inspected=400,
        document_reviews=0,
        release_median_hours=10.0,
        release_mean_hours=12.0,
        release_p90_hours=30.0,
    )
    rows = build_rows(
        [stats(ABROAD, "KR", "advanced certified", True, 500, 10, 420)],
        [aggregate],
        {"KR": 3},
        REGULAR,
    )
    (row,) = rows
    assert row.baseline is not None
    assert row.baseline.release_median_hours is not None
    assert row.baseline.release_median_hours.value == 10.0
    assert row.inspection is not None
    assert row.inspection.ratio.value == pytest.approx(0.5)
    assert row.release_median is not None
    assert row.release_median.ratio.value == pytest.approx(0.7)
    assert row.document_review is None  # the baseline reviewed nothing: not available
    assert row.home_aeos_trading == 3


def test_no_baseline_is_not_available_never_zero() -> None:
    (row,) = build_rows(
        [stats(ABROAD, "KR", "advanced certified", True, 5, 1, 60)], [], {}, REGULAR
    )
    assert row.baseline is None
    assert (row.inspection, row.document_review, row.release_median) == (None, None, None)
    assert row.group.inspection_rate is not None
    assert row.group.inspection_rate.value == 0.2


def test_the_report_use_case_asks_the_period_and_the_trend_in_the_home_zone() -> None:
    store = Store([stats(HOME, "", "discredited", False, 10, 10, 60)])
    report = ReportFacilitation(store)(directory(singapore()), "2026Q3")
    assert report.period.label == "2026Q3"
    assert [t.period.label for t in report.trend] == ["2025Q4", "2026Q1", "2026Q2"]
    assert len(store.asked) == 4
    assert report.rows[0].grade == "discredited"
    assert report.rows[0].baseline is None
    with pytest.raises(PartnerNotFound):
        ReportFacilitation(store)(directory(singapore()), "2026Q3", "ZZ")
