"""The home registry's rules: a grade change becomes the next record version, and partners are
told of it when the enterprise is or was an AEO."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.app.home_registry import RecordGradeChange
from gateway.domain.errors import (
    EnterpriseCodeInvalid,
    EnterpriseUnknown,
    GradeChangeInvalid,
    GradeChangeTooFarAhead,
    GradeNotInScheme,
    NoGradeSchemeInForce,
)
from gateway.domain.home_registry import GradeChange, NextVersion, check, next_version
from gateway.domain.partners import OutboundEndpoint
from gateway.domain.recognition import home_treatment
from gateway.domain.records import AeoRecord, RecordStatus, StatusEvent
from tests import factories
from tests.unit.fakes import InlineTransactions, MemoryStore

NOW = factories.NOW  # 2026-11-27 12:00 UTC: Decree 282 is in force
HOME = replace(factories.home(), zone=ZoneInfo("Asia/Shanghai"))
CODE = "AEOCN0123456789"


def change(grade: str = "advanced certified", **fields: Any) -> GradeChange:
    base = GradeChange(
        enterprise_code="0123456789",
        name="Shanghai Harbour Trading Co., Ltd.",
        address="1 Bund Road, Shanghai",
        grade=grade,
        effective_at=NOW - timedelta(days=1),
    )
    return replace(base, **fields)


def apply(previous: AeoRecord | None, c: GradeChange, *before: AeoRecord) -> NextVersion:
    history = [*before, previous] if previous is not None else list(before)
    return next_version(HOME, history, check(HOME, c, NOW))


def stored(c: GradeChange, *before: GradeChange) -> AeoRecord:
    """The record after ``before`` then ``c`` were applied in order."""
    previous = None
    for item in (*before, c):
        found = apply(previous, item).record
        assert found is not None
        previous = found
    assert previous is not None
    return previous


# --- the enterprise code -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "0123456789",
        "CN0123456789",
        "AEOCN0123456789",
        "aeocn 0123-456 789",
        "\uff23\uff2e0123456789",
    ],
)
def test_every_form_a_trader_writes_is_the_canonical_declared_form(written: str) -> None:
    """The 10-digit code bare, with CN, with AEOCN, spaced or full-width. Result: AEOCN+10."""
    assert check(HOME, change(enterprise_code=written), NOW).identifier == CODE


@pytest.mark.parametrize("written", ["", "012345678", "SG0123456789", "CN01234567890", "CN\t0123"])
def test_anything_else_is_refused_as_an_invalid_code(written: str) -> None:
    with pytest.raises(EnterpriseCodeInvalid) as caught:
        check(HOME, change(enterprise_code=written), NOW)
    assert caught.value.reason == "enterprise.code_invalid"


# --- the grade and the scheme in force ---------------------------------------------------------


def test_grade_is_checked_against_the_scheme_in_force_on_the_effective_day() -> None:
    """Decree 251's "regular" in 2022; Decree 237's "general credit" is not a grade then."""
    at = datetime(2022, 6, 1, tzinfo=UTC)
    assert check(HOME, change("regular", effective_at=at), NOW).scheme.name == "Decree 251"
    with pytest.raises(GradeNotInScheme) as caught:
        check(HOME, change("general credit", effective_at=at), NOW)
    err = caught.value
    assert err.reason == "grade.not_in_scheme"
    assert err.metadata["grade_scheme"] == "Decree 251"
    assert "Decree 251" in err.message
    assert "advanced certified, regular, discredited" in err.message


def test_the_effective_day_is_the_home_day() -> None:
    """2026-03-31 17:00 UTC is 1 April in Beijing: Decree 282's "certified" is a grade."""
    at = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    checked = check(HOME, change("certified", effective_at=at), NOW)
    assert checked.scheme.name == "Decree 282"
    assert checked.day == date(2026, 4, 1)


def test_grade_spelling_is_read_without_regard_to_case_or_spaces() -> None:
    assert check(HOME, change("  Advanced   Certified "), NOW).grade == "advanced certified"


def test_no_scheme_in_force_has_its_own_reason() -> None:
    with pytest.raises(NoGradeSchemeInForce) as caught:
        check(HOME, change("AA", effective_at=datetime(2009, 1, 1, tzinfo=UTC)), NOW)
    assert caught.value.reason == "grade_scheme.none_in_force"


# --- the effective time ------------------------------------------------------------------------


def test_a_day_ahead_is_accepted_and_more_is_refused() -> None:
    check(HOME, change(effective_at=NOW + timedelta(days=1)), NOW)
    with pytest.raises(GradeChangeTooFarAhead) as caught:
        check(HOME, change(effective_at=NOW + timedelta(days=1, seconds=1)), NOW)
    assert caught.value.reason == "grade_change.too_far_ahead"


@pytest.mark.parametrize(
    "bad",
    [
        {"effective_at": datetime(2026, 1, 1)},  # no time zone
        {"effective_at": datetime(1, 1, 1, tzinfo=UTC)},  # before EARLIEST
        {"name": "Harbour\x00Trading"},
        {"address": "x" * 1025},
    ],
)
def test_fields_that_cannot_be_stored_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(GradeChangeInvalid) as caught:
        check(HOME, change(**bad), NOW)
    assert caught.value.reason == "grade_change.field_invalid"


# --- the record --------------------------------------------------------------------------------


def test_first_change_of_an_unknown_enterprise_must_name_it() -> None:
    with pytest.raises(EnterpriseUnknown) as caught:
        apply(None, change(name=""))
    assert caught.value.reason == "enterprise.unknown"


def test_a_known_enterprise_keeps_its_name_and_address_when_they_are_empty() -> None:
    first = stored(change())
    second = stored(change("certified", name="", address=""), change())
    assert (second.name, second.address) == (first.name, first.address)


def test_into_the_aeo_grades_is_a_grant_valid_from_its_day() -> None:
    result = apply(None, change())
    record = result.record
    assert record is not None
    assert (record.status, record.event, record.tier) == (
        RecordStatus.VALID,
        StatusEvent.GRANTED,
        "advanced certified",
    )
    assert record.version == 1
    assert record.identifier == CODE
    assert record.authorised_from == HOME.day_of(change().effective_at)
    assert result.aeo
    assert result.concerns_partners


def test_out_of_the_aeo_grades_is_a_revocation_partners_must_hear_of() -> None:
    later = change("regular", effective_at=NOW)
    prior = apply(None, change()).record
    result = apply(prior, later)
    assert result.record is not None
    assert result.record.status is RecordStatus.REVOKED
    assert result.record.event is StatusEvent.REVOKED
    assert result.record.revoked_on == HOME.day_of(NOW)
    assert result.record.version == 2
    assert result.concerns_partners
    assert not result.aeo


def test_a_non_aeo_enterprise_is_valid_with_its_grade_and_concerns_no_partner() -> None:
    """Never an AEO: a grade change between non-AEO grades stays at home, and recognition says
    grade.not_aeo."""
    first = apply(None, change("regular"))
    assert first.record is not None
    assert first.record.status is RecordStatus.VALID
    assert not first.concerns_partners
    second = apply(first.record, change("discredited", effective_at=NOW))
    assert second.record is not None
    assert second.record.event is StatusEvent.TIER_CHANGED
    assert not second.concerns_partners
    treatment = home_treatment(HOME, second.record, HOME.scheme_at(HOME.day_of(NOW)), NOW)
    assert (treatment.recognised, treatment.reason) == (False, "grade.not_aeo")


def test_a_revoked_enterprise_moving_between_non_aeo_grades_stays_revoked_at_home() -> None:
    revoked = stored(change("regular", effective_at=NOW - timedelta(hours=2)), change())
    result = apply(revoked, change("discredited", effective_at=NOW))
    assert result.record is not None
    assert result.record.status is RecordStatus.REVOKED
    assert result.record.revoked_on == revoked.revoked_on
    assert not result.concerns_partners


def test_suspension_and_reinstatement() -> None:
    granted = stored(change())
    suspended = apply(granted, change(suspended=True, effective_at=NOW - timedelta(hours=5)))
    assert suspended.record is not None
    assert (suspended.record.status, suspended.record.event) == (
        RecordStatus.SUSPENDED,
        StatusEvent.SUSPENDED,
    )
    assert suspended.record.suspended_on is not None
    assert suspended.concerns_partners
    back = apply(suspended.record, change(effective_at=NOW))
    assert back.record is not None
    assert (back.record.status, back.record.event) == (RecordStatus.VALID, StatusEvent.REINSTATED)
    assert back.record.suspended_on is None
    assert back.record.authorised_from == granted.authorised_from


def test_aeo_grade_to_another_is_a_tier_change() -> None:
    result = apply(stored(change()), change("certified", effective_at=NOW))
    assert result.record is not None
    assert result.record.event is StatusEvent.TIER_CHANGED
    assert result.concerns_partners


def test_recertification_of_the_same_grade_is_a_revalidation() -> None:
    result = apply(stored(change()), change(recertified=True, effective_at=NOW))
    assert result.record is not None
    assert result.record.event is StatusEvent.REVALIDATED
    assert result.concerns_partners


def test_a_new_name_alone_is_an_amendment() -> None:
    result = apply(stored(change()), change(name="Shanghai Harbour Group", effective_at=NOW))
    assert result.record is not None
    assert result.record.event is StatusEvent.AMENDED
    assert result.concerns_partners


def test_an_exact_duplicate_is_no_new_version() -> None:
    first = stored(change())
    result = apply(first, change(enterprise_code="CN0123456789", recertified=True))
    assert result.record is None
    assert result.current == first


def test_a_change_an_older_version_records_is_a_duplicate_not_a_new_version() -> None:
    granted = stored(change())
    suspended = apply(granted, change(suspended=True, effective_at=NOW)).record
    assert suspended is not None
    result = apply(suspended, change(name=""), granted)
    assert result.record is None
    assert result.current == granted
    assert not result.concerns_partners


def test_an_earlier_effective_time_is_still_the_next_version() -> None:
    """History is by version: a late correction is version 2 even if effective earlier."""
    first = stored(change())
    result = apply(first, change("certified", effective_at=first.effective_at - timedelta(days=3)))
    assert result.record is not None
    assert result.record.version == 2


# --- the use case on fakes ---------------------------------------------------------------------


class Clock:
    def now(self) -> datetime:
        return NOW


def registry_case() -> tuple[RecordGradeChange, InlineTransactions, list[Collection[str]]]:
    woken: list[Collection[str]] = []
    transactions = InlineTransactions(MemoryStore())
    use_case = RecordGradeChange(
        transactions, Clock(), "CN-GW-2", "ecdsa-p256-sha256", queued=woken.append
    )
    return use_case, transactions, woken


OUT = OutboundEndpoint("localhost:1", "native")
PARTNERS = factories.directory(
    factories.singapore(outbound=OUT),
    factories.hong_kong(outbound=OUT, mra_in_force=date(2030, 1, 1), mra_in_force_by_mode=()),
    factories.belarus(),
)


def test_a_grant_is_stored_logged_and_queued_for_partners_in_force_with_an_endpoint() -> None:
    use_case, transactions, woken = registry_case()
    result = use_case(change(), PARTNERS)
    store = transactions.store
    assert transactions.locked == [("CN",)]
    assert result.queued_for == ("SG",)  # HK not yet in force, BY without an endpoint
    assert [(p, i, v) for p, i, v, _ in store.outbox] == [("SG", CODE, 1)]
    ((record, meta),) = store.versions[("CN", CODE)]
    assert record == result.record
    assert meta.message_id.startswith("CN-registry-")
    assert meta.key_id == "CN-GW-2"
    assert [(e.administration, e.identifier, e.version) for e in store.changes] == [  # type: ignore[union-attr]
        ("CN", CODE, 1)
    ]
    assert woken == [["SG"]]


def test_a_duplicate_stores_and_queues_nothing() -> None:
    use_case, transactions, woken = registry_case()
    use_case(change(), PARTNERS)
    again = use_case(change(), PARTNERS)
    assert again.duplicate
    assert again.queued_for == ()
    assert len(transactions.store.versions[("CN", CODE)]) == 1
    assert len(transactions.store.outbox) == 1
    assert len(woken) == 1


def test_a_non_aeo_change_is_stored_but_not_queued() -> None:
    use_case, transactions, woken = registry_case()
    result = use_case(change("regular"), PARTNERS)
    assert not result.aeo
    assert result.queued_for == ()
    assert transactions.store.outbox == []
    assert woken == []
    assert ("CN", CODE) in transactions.store.versions


def test_many_applies_in_order_in_one_transaction_and_an_unknown_enterprise_applies_none() -> None:
    use_case, transactions, _ = registry_case()
    result = use_case.many(
        [change(), change("certified", effective_at=NOW), change(), change()], PARTNERS
    )
    # The grant repeated after the tier change is the stored version 1 again, not version 3:
    # loading a file twice must not bring an old state back as the newest.
    assert [r.record.version for r in result.results] == [1, 2, 1, 1]
    assert (result.new_versions, result.duplicates) == (2, 2)
    assert result.queued_per_partner() == {"SG": 2}
    assert len(transactions.locked) == 1
    with pytest.raises(EnterpriseUnknown):
        use_case.many(
            [change(enterprise_code="1111111111"), change(enterprise_code="2222222222", name="")],
            PARTNERS,
        )
    assert ("CN", "AEOCN1111111111") not in transactions.store.versions
