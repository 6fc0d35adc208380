"""What a reported outcome and a baseline aggregate must satisfy, whatever the wire format."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.outcome_reports import (
    AggregateDraft,
    OutcomeDraft,
    check_aggregate,
    check_outcome,
)
from gateway.domain.partners import TradeDirection

ARRIVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
GOOD = OutcomeDraft(
    "D-1",
    "AEOCN0123456789",
    TradeDirection.IMPORT,
    None,
    ARRIVED,
    ARRIVED + timedelta(hours=4),
    document_review=False,
    inspected=False,
    baseline=False,
)
TOTALS = AggregateDraft(
    TradeDirection.EXPORT, ARRIVED, ARRIVED + timedelta(days=30), 100, 8, 20, 10.0, 12.0, 30.0
)


def test_a_complete_outcome_passes() -> None:
    """Every field read, released after arrival. Result: no problem."""
    assert check_outcome(GOOD) is None


def test_release_at_arrival_passes() -> None:
    """Released the instant it arrived (a green lane). Result: no problem."""
    assert check_outcome(replace(GOOD, released_at=ARRIVED)) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"released_at": ARRIVED - timedelta(seconds=1)}, "outcome.release_before_arrival"),
        ({"declaration_id": ""}, "outcome.field_missing"),
        ({"declaration_id": "D\x00"}, "outcome.field_invalid"),
        ({"declaration_id": "D" * 65}, "outcome.field_invalid"),
        ({"declared_code": "  "}, "outcome.field_missing"),
        ({"declared_code": "AEOCN\x85"}, "outcome.field_invalid"),
        ({"direction": None}, "outcome.field_missing"),
        ({"arrived_at": None}, "outcome.field_invalid"),
        ({"released_at": datetime(2026, 11, 20, 9, 0)}, "outcome.field_invalid"),
        ({"problem": ("outcome.field_invalid", "mode 'boat'")}, "outcome.field_invalid"),
    ],
)
def test_a_faulty_outcome_is_ignored_with_its_reason(
    change: dict[str, object], reason: str
) -> None:
    """One field wrong. Result: the outcome's rejection names the reason."""
    rejection = check_outcome(replace(GOOD, **change))  # type: ignore[arg-type]
    assert rejection is not None
    assert rejection.reason == reason


def test_an_unshowable_declaration_id_is_not_echoed() -> None:
    """A declaration id with a control character. Result: the rejection names no identifier
    (the receipt must not carry what the store could not hold)."""
    rejection = check_outcome(replace(GOOD, declaration_id="D\x07"))
    assert rejection is not None
    assert rejection.identifier == ""


def test_consistent_totals_pass() -> None:
    """Counts within the declarations, median below p90. Result: no problem."""
    assert check_aggregate(0, TOTALS) is None


@pytest.mark.parametrize(
    "change",
    [
        {"inspected": 101},
        {"document_reviews": 101},
        {"declarations": 0},
        {"end": ARRIVED},
        {"direction": None},
        {"release_mean_hours": float("nan")},
        {"release_median_hours": -1.0},
        {"release_median_hours": 40.0},
        {"start": datetime(2026, 1, 1)},
    ],
)
def test_inconsistent_totals_are_ignored_naming_the_aggregate(change: dict[str, object]) -> None:
    """More inspected than declared, an empty span, NaN hours... Result: aggregate.invalid,
    identifier aggregate[3]."""
    rejection = check_aggregate(3, replace(TOTALS, **change))  # type: ignore[arg-type]
    assert rejection is not None
    assert (rejection.identifier, rejection.reason) == ("aggregate[3]", "aggregate.invalid")
