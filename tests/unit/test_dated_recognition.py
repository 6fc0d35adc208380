"""Recognition by the rules in force on the declaration's day: dated tiers and mapping rules,
entry into force by mode of transport, and partners whose data has gone stale."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gateway.app.recognise import Recognise
from gateway.domain.errors import InvalidQuery
from gateway.domain.partners import (
    MappingRule,
    Partner,
    TierRecognition,
    TradeDirection,
    TransportMode,
)
from gateway.domain.recognition import Outcome, Treatment, partner_treatment
from gateway.domain.records import AeoRecord, MessageMeta, StoredRecord
from tests.factories import (
    NOW,
    belarus,
    directory,
    freshness,
    home,
    hong_kong,
    record,
    singapore,
)

IMPORT = TradeDirection.IMPORT


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def treat(
    partner: Partner, r: AeoRecord, day: date, mode: TransportMode | None = None
) -> Treatment:
    at = on(day)
    scheme = home().scheme_at(day)
    return partner_treatment(partner, r, scheme, at, IMPORT, mode=mode)


def hk_operator() -> AeoRecord:
    return record("HK12345678", tier="Tier1", effective_at=on(date(2014, 1, 1)))


@pytest.mark.parametrize(
    ("mode", "day", "reason"),
    [
        (TransportMode.ROAD, date(2014, 6, 1), "recognised"),
        (TransportMode.RAIL, date(2014, 6, 1), "recognised"),
        (TransportMode.AIR, date(2014, 6, 1), "mra.not_in_force"),
        (TransportMode.SEA, date(2014, 8, 31), "mra.not_in_force"),
        (TransportMode.AIR, date(2014, 9, 2), "recognised"),
        (TransportMode.POSTAL, date(2014, 6, 1), "recognised"),
        (TransportMode.ROAD, date(2014, 5, 17), "mra.not_in_force"),
    ],
)
def test_hong_kong_enters_into_force_mode_by_mode(
    mode: TransportMode, day: date, reason: str
) -> None:
    """An HK Tier1 operator declared by each mode around the two entry dates (land ports
    2014-05-18, air and sea 2014-09-01; postal not listed, so in_force). Result: recognised
    only once the MRA is in force for the declaration's mode."""
    assert treat(hong_kong(), hk_operator(), day, mode).reason == reason


def test_hong_kong_by_road_in_2014_earns_the_aa_treatment_of_decree_197() -> None:
    """An HK Tier1 operator by road on 2014-06-01, before Decree 225. Result: recognised with
    the AA treatment, through the mapping rule restricted to Decree 197."""
    found = treat(hong_kong(), hk_operator(), date(2014, 6, 1), TransportMode.ROAD)
    assert (found.recognised, found.grade) == (True, "AA")


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2014, 5, 1), "mra.not_in_force"),
        (date(2014, 6, 1), "mra.mode_required"),
        (date(2014, 9, 1), "recognised"),
    ],
)
def test_without_a_mode_benefits_wait_for_every_mode(day: date, reason: str) -> None:
    """An HK operator, no mode stated: before any mode, between land and air/sea, after both.
    Result: not in force; mra.mode_required (the answer depends on the mode not stated);
    recognised once every mode is in force."""
    assert treat(hong_kong(), hk_operator(), day).reason == reason


def test_a_partner_without_dates_by_mode_needs_no_mode() -> None:
    """An SG operator, no mode stated, and by air. Result: recognised both ways: in_force holds
    for every mode."""
    day = date(2026, 11, 27)
    assert treat(singapore(), record(), day).recognised
    assert treat(singapore(), record(), day, TransportMode.AIR).recognised


def test_an_mra_not_yet_in_force_is_not_in_force_for_any_mode() -> None:
    """A partner whose in_force is unknown (Kazakhstan), asked by sea and without a mode.
    Result: mra.not_in_force both times."""
    kz = singapore(mra_in_force=None)
    for mode in (TransportMode.SEA, None):
        assert treat(kz, record(), date(2026, 11, 27), mode).reason == "mra.not_in_force"


@pytest.mark.parametrize(("tier", "recognised"), [("Type1", False), ("Type3", True)])
def test_belarus_recognises_only_its_third_type(tier: str, recognised: bool) -> None:
    """A Belarusian Type1 and a Type3 AEO on an import in 2026. Result: Type1 not recognised
    (tier.not_recognised), Type3 recognised as advanced certified."""
    found = treat(belarus(), record("BY123456789", tier=tier), date(2026, 11, 27))
    assert found.recognised is recognised
    assert found.reason == ("recognised" if recognised else "tier.not_recognised")


@pytest.mark.parametrize(
    ("day", "recognised"),
    [(date(2026, 12, 31), False), (date(2027, 1, 1), True), (date(2028, 1, 1), False)],
)
def test_a_tier_recognised_for_a_period_only(day: date, recognised: bool) -> None:
    """SG's STP is recognised from 2027-01-01 until 2028-01-01 (closed-open) and mapped to
    certified. Result: an STP operator is recognised only within the period."""
    sg = singapore(
        recognised_tiers=(
            TierRecognition("STP-Plus"),
            TierRecognition("STP", date(2027, 1, 1), date(2028, 1, 1)),
        ),
        mapping=(MappingRule("STP-Plus", "advanced certified"), MappingRule("STP", "certified")),
    )
    found = treat(sg, record(tier="STP"), day)
    assert found.recognised is recognised
    assert found.reason == ("recognised" if recognised else "tier.not_recognised")


def test_a_mapping_rule_applies_only_in_its_period() -> None:
    """SG's STP-Plus maps to advanced certified until 2027-01-01 and to certified from then
    on. Result: the grade follows the declaration's day."""
    sg = singapore(
        mapping=(
            MappingRule("STP-Plus", "advanced certified", end=date(2027, 1, 1)),
            MappingRule("STP-Plus", "certified", start=date(2027, 1, 1)),
        )
    )
    assert treat(sg, record(), date(2026, 12, 31)).grade == "advanced certified"
    assert treat(sg, record(), date(2027, 1, 1)).grade == "certified"


def test_a_gap_between_mapping_periods_is_a_missing_mapping() -> None:
    """SG's only rule for STP-Plus starts 2027-01-01; a declaration on 2026-12-01. Result:
    NOT recognised, mapping.missing."""
    sg = singapore(mapping=(MappingRule("STP-Plus", "advanced certified", start=date(2027, 1, 1)),))
    assert treat(sg, record(), date(2026, 12, 1)).reason == "mapping.missing"


class Reader:
    """One SG record; SG last heard from ``last`` (None: never)."""

    def __init__(self, last: datetime | None, r: AeoRecord) -> None:
        self.last = last
        self.record = r

    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        if administration != "SG" or identifier != self.record.identifier:
            return None
        received = self.last or self.record.effective_at
        meta = MessageMeta("SG-1-ab", 1, received, "SG-2026-1", "ed25519")
        return StoredRecord("SG", self.record, meta)

    def last_received(self, administration: str) -> datetime | None:
        return self.last


class Clock:
    def now(self) -> datetime:
        return NOW


def ask(partner: Partner, last: datetime | None, code: str = "SG000000000001") -> object:
    old = record(effective_at=NOW - timedelta(days=400))
    handler = Recognise(Reader(last, old), Clock(), max_codes=10)
    return handler.one(directory(partner), code, IMPORT, NOW - timedelta(days=10))


@pytest.mark.parametrize(
    ("grants", "outcome", "reason"),
    [
        (True, Outcome.RECOGNISED, "recognised"),
        (False, Outcome.NOT_RECOGNISED, "partner.data_stale"),
    ],
)
def test_stale_partner_data_follows_the_partners_policy(
    grants: bool, outcome: Outcome, reason: str
) -> None:
    """SG last sent four days ago (stale after three), a recognised operator is asked about as
    of ten days ago. Result: partner_data_stale either way (judged at the gateway's now, not
    at as_of); recognised where stale data grants benefits, else NOT_RECOGNISED
    partner.data_stale with no benefits."""
    answer = ask(singapore(freshness=freshness(grants)), NOW - timedelta(days=4))
    assert answer.data_stale  # type: ignore[attr-defined]
    assert (answer.outcome, answer.reason) == (outcome, reason)  # type: ignore[attr-defined]
    assert bool(answer.benefits) is grants  # type: ignore[attr-defined]


def test_a_partner_heard_from_within_its_staleness_is_fresh() -> None:
    """SG last sent two days ago (stale after three) and grants nothing when stale. Result:
    recognised, not stale."""
    answer = ask(singapore(freshness=freshness(False)), NOW - timedelta(days=2))
    assert not answer.data_stale  # type: ignore[attr-defined]
    assert answer.outcome is Outcome.RECOGNISED  # type: ignore[attr-defined]


def test_a_partner_never_heard_from_is_stale_and_so_is_its_unknown_operator() -> None:
    """SG never sent a message; a domestic system asks about a code SG has no record of.
    Result: UNKNOWN_OPERATOR, and the answer says SG's data is stale."""
    answer = ask(singapore(freshness=freshness(True)), None, "SG999999999999")
    assert answer.outcome is Outcome.UNKNOWN_OPERATOR  # type: ignore[attr-defined]
    assert answer.data_stale  # type: ignore[attr-defined]


def test_a_partner_without_a_freshness_policy_is_never_stale() -> None:
    """SG's definition has no [freshness], SG last sent a year ago. Result: not stale."""
    answer = ask(singapore(), NOW - timedelta(days=365))
    assert not answer.data_stale  # type: ignore[attr-defined]
    assert answer.outcome is Outcome.RECOGNISED  # type: ignore[attr-defined]


def test_the_answer_echoes_the_mode() -> None:
    """An HK operator asked about by air after 2014-09-01. Result: the answer says air."""
    hk = hong_kong()
    handler = Recognise(Reader(None, record()), Clock(), max_codes=10)
    answer = handler.one(
        directory(hk), "HK12345678", IMPORT, on(date(2014, 9, 2)), TransportMode.AIR
    )
    assert answer.mode is TransportMode.AIR
    assert answer.outcome is Outcome.UNKNOWN_OPERATOR


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        # 05:00 in Beijing on the day air entered into force: still 31 August in UTC.
        (datetime(2014, 9, 1, 5, 0, tzinfo=timezone(timedelta(hours=8))), "recognised"),
        # 23:30 UTC on 31 August is 07:30 on 1 September in Beijing.
        (datetime(2014, 8, 31, 23, 30, tzinfo=UTC), "recognised"),
        # 15:30 UTC on 31 August is 23:30 on 31 August in Beijing: not yet.
        (datetime(2014, 8, 31, 15, 30, tzinfo=UTC), "mra.not_in_force"),
    ],
)
def test_calendar_days_are_the_home_administrations(at: datetime, reason: str) -> None:
    """An HK Tier1 operator declared by air around midnight of 2014-09-01, with the home
    administration in Asia/Shanghai. Result: the MRA is in force from midnight Beijing time,
    whatever the offset of the time asked about."""
    china = replace(home(), zone=ZoneInfo("Asia/Shanghai"))
    day = china.day_of(at)
    scheme = china.scheme_at(day)
    treatment = partner_treatment(
        hong_kong(), hk_operator(), scheme, at, IMPORT, mode=TransportMode.AIR, day=day
    )
    assert treatment.reason == reason


@pytest.mark.parametrize("as_of", [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime.min])
def test_an_as_of_whose_home_day_cannot_be_computed_is_an_invalid_query(as_of: datetime) -> None:
    """as_of on the last minute of year 9999 in UTC (already year 10000 in Beijing), and the
    first instant of year 1. Result: InvalidQuery (INVALID_ARGUMENT), never an overflow."""
    china = replace(home(), zone=ZoneInfo("Asia/Shanghai"))
    handler = Recognise(Reader(None, record()), Clock(), max_codes=10)
    with pytest.raises(InvalidQuery, match="outside the years 1 to 9999"):
        handler.one(
            replace(directory(singapore()), home=china),
            "SG000000000001",
            IMPORT,
            as_of.replace(tzinfo=UTC),
        )
