"""Outcomes in the store on SQLite and PostgreSQL: bulk insert in one transaction, duplicates
that change nothing, and the report's aggregates grouped and counted in SQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from adapters.store.facilitation import SqlOutcomes
from adapters.store.sql import SqlStore
from gateway.domain.facilitation import GroupKey, Jurisdiction, Outcome, OutcomeAggregate
from gateway.domain.partners import TradeDirection, TransportMode

START = datetime(2026, 7, 1, tzinfo=UTC)
END = datetime(2026, 8, 1, tzinfo=UTC)
IMPORT = TradeDirection.IMPORT


def outcome(n: int, minutes: int, **changes: object) -> Outcome:
    arrived = START + timedelta(minutes=n)
    base = Outcome(
        reporter="CN",
        declaration_id=f"D{n:06d}",
        declared_code="AEOCN0123456789",
        direction=IMPORT,
        mode=TransportMode.SEA,
        arrived_at=arrived,
        released_at=arrived + timedelta(minutes=minutes, seconds=59),
        document_review=n % 2 == 0,
        inspected=n % 5 == 0,
        jurisdiction=Jurisdiction.HOME,
        partner="",
        administration="CN",
        grade="advanced certified",
        aeo=True,
        before_recognition=False,
        reason="recognised",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def outcomes(store: SqlStore) -> SqlOutcomes:
    return SqlOutcomes(store.database)


def test_bulk_insert_counts_new_rows_and_repeats_change_nothing(outcomes: SqlOutcomes) -> None:
    rows = [outcome(n, 30 + n % 7) for n in range(1, 1201)]  # more than one statement's worth
    assert outcomes.record(rows) == 1200
    # Again, plus a repeat inside the batch and one new: only the new one counts.
    changed = [replace(r, inspected=not r.inspected) for r in rows[:10]]
    assert outcomes.record([*changed, outcome(5000, 1), outcome(5000, 1)]) == 1
    (group,) = outcomes.groups(START, END)
    assert group.declarations == 1201
    assert group.inspected == sum(1 for n in range(1, 1201) if n % 5 == 0) + 1


def test_groups_are_histograms_of_release_minutes_per_group(outcomes: SqlOutcomes) -> None:
    outcomes.record(
        [
            outcome(1, 10),
            outcome(2, 10),
            outcome(3, 25),
            outcome(4, 600, grade="regular", aeo=False, declared_code="AEOCN0000000001"),
            outcome(5, 90, partner="SG", administration="SG", declared_code="SG000000000001"),
            outcome(6, 5, before_recognition=True, partner="SG", grade="regular", aeo=False),
            outcome(7, 40, jurisdiction=Jurisdiction.ABROAD, partner="KR", reporter="KR"),
            outcome(
                8,
                40,
                jurisdiction=Jurisdiction.ABROAD,
                partner="KR",
                reporter="KR",
                declared_code="CN0000000002",
            ),
            outcome(9, 1, arrived_at=END, released_at=END),  # after the period
        ]
    )
    found = {g.key: g for g in outcomes.groups(START, END)}
    home_aeo = found[GroupKey(Jurisdiction.HOME, "", IMPORT, "advanced certified", True, False)]
    # Seconds are cut: 10 min 59 s counts as 10 minutes.
    assert home_aeo.release_minutes == ((10, 2), (25, 1))
    assert (home_aeo.declarations, home_aeo.inspected, home_aeo.document_reviews) == (3, 0, 1)
    assert (
        found[GroupKey(Jurisdiction.HOME, "SG", IMPORT, "regular", False, True)].declarations == 1
    )
    assert len(found) == 5
    # Only KR's and the home grades' outcomes when one partner is asked.
    assert {k.partner for k in {g.key for g in outcomes.groups(START, END, "KR")}} == {"", "KR"}
    # Distinct home AEOs: two operators reported by KR, one at home.
    assert outcomes.home_aeos_trading(START, END) == {"KR": 2, "": 1}


def test_aggregates_are_stored_once_and_read_by_their_start(outcomes: SqlOutcomes) -> None:
    aggregate = OutcomeAggregate("KR", IMPORT, START, END, 1000, 40, 100, 10.5, 12.0, 30.25)
    assert outcomes.record([], [aggregate, aggregate]) == 0
    outcomes.record([], [aggregate])
    assert outcomes.aggregates(START, END) == [aggregate]
    assert outcomes.aggregates(START, END, "SG") == []
    assert outcomes.aggregates(END, END + timedelta(days=31)) == []


def test_a_failed_batch_applies_nothing(outcomes: SqlOutcomes) -> None:
    bad = outcome(2, 1, declaration_id=None)  # NOT NULL refuses it, after the first row
    with pytest.raises(Exception):  # noqa: B017 - the store's own refusal
        outcomes.record([outcome(1, 1), bad])
    assert outcomes.groups(START, END) == []
