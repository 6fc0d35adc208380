from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.app.recognise import Recognise
from gateway.domain.errors import InvalidQuery, TooManyCodes
from gateway.domain.partners import MappingRule, Partner, Period, TradeDirection
from gateway.domain.recognition import Answer, Outcome
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus, StoredRecord
from tests.factories import BENEFITS, NOW, directory, record, singapore


class FakeReader:
    """Record versions in memory: the newest version effective at the given time."""

    def __init__(self, *records: tuple[str, AeoRecord]) -> None:
        self.records = list(records)

    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        found = [
            r
            for a, r in self.records
            if a == administration and r.identifier == identifier and r.effective_at <= at
        ]
        if not found:
            return None
        best = max(found, key=lambda r: r.version)
        meta = MessageMeta(f"{administration}-1-ab", 1, best.effective_at, "K1", "ed25519")
        return StoredRecord(administration, best, meta)

    def last_received(self, administration: str) -> datetime | None:
        return NOW - timedelta(minutes=5) if administration == "SG" else None


class FixedClock:
    def now(self) -> datetime:
        return NOW


class Service:
    """The Recognise handler on one directory snapshot, for declarations on import unless
    told otherwise."""

    def __init__(self, reader: FakeReader, partner: Partner | None) -> None:
        self.directory = directory(partner or singapore())
        self.handler = Recognise(reader, FixedClock(), max_codes=3)

    def recognise(
        self,
        code: str,
        as_of: datetime | None = None,
        direction: TradeDirection = TradeDirection.IMPORT,
    ) -> Answer:
        return self.handler.one(self.directory, code, direction, as_of)

    def recognise_many(self, codes: Sequence[str], as_of: datetime | None = None) -> list[Answer]:
        return self.handler.many(self.directory, codes, TradeDirection.IMPORT, as_of)


def service(reader: FakeReader, partner: Partner | None = None) -> Service:
    return Service(reader, partner)


def test_valid_recognised_tier_earns_home_aeo_treatment_and_benefits() -> None:
    """SG sent a valid STP-Plus record. Result: recognised, advanced certified, the bundle."""
    answer = service(FakeReader(("SG", record()))).recognise("SG000000000001")
    assert answer.outcome is Outcome.RECOGNISED
    assert answer.reason == "recognised"
    assert answer.treatment == "advanced certified"
    assert answer.grade_scheme == "Decree 282"
    assert answer.benefits == BENEFITS
    assert answer.basis is not None
    assert answer.basis.message_id == "SG-1-ab"


def test_suspended_operator_gets_no_benefits() -> None:
    """SG suspended the operator. Result: not recognised, regular treatment, no benefits."""
    reader = FakeReader(("SG", record(status=RecordStatus.SUSPENDED)))
    answer = service(reader).recognise("SG000000000001")
    assert (answer.outcome, answer.reason) == (Outcome.NOT_RECOGNISED, "status.suspended")
    assert answer.treatment == "regular"
    assert answer.benefits == ()


def test_unrecognised_tier_is_known_but_not_recognised() -> None:
    """An STP (not STP-Plus) member. Result: NOT_RECOGNISED with tier.not_recognised."""
    answer = service(FakeReader(("SG", record(tier="STP")))).recognise("SG000000000001")
    assert (answer.outcome, answer.reason) == (Outcome.NOT_RECOGNISED, "tier.not_recognised")


def test_unknown_operator_is_distinct_from_unknown_format() -> None:
    """A well-formed SG code with no record, and a code of no known format. Result: distinct."""
    svc = service(FakeReader())
    assert svc.recognise("SG999999999999").outcome is Outcome.UNKNOWN_OPERATOR
    assert svc.recognise("SG999999999999").administration == "SG"
    assert svc.recognise("ZZ1").outcome is Outcome.CODE_FORMAT_UNKNOWN


def test_answer_as_of_a_past_time_uses_the_record_then_in_effect() -> None:
    """Valid from 30 days ago, suspended 2 days ago. Result: recognised 10 days ago, not now."""
    valid = record(version=1, effective_at=NOW - timedelta(days=30))
    suspended = record(
        version=2, status=RecordStatus.SUSPENDED, effective_at=NOW - timedelta(days=2)
    )
    svc = service(FakeReader(("SG", valid), ("SG", suspended)))
    assert svc.recognise("SG000000000001", NOW - timedelta(days=10)).outcome is Outcome.RECOGNISED
    assert svc.recognise("SG000000000001").reason == "status.suspended"


def test_before_the_mra_entered_into_force_no_benefits_apply() -> None:
    """A declaration of 2013-01-01; the SG MRA entered into force 2013-03-15. Result: not yet."""
    early = record(effective_at=datetime(2012, 1, 1, tzinfo=UTC))
    at = datetime(2013, 1, 1, tzinfo=UTC)
    assert (
        service(FakeReader(("SG", early))).recognise("SG000000000001", at).reason
        == "mra.not_in_force"
    )


def test_grade_scheme_in_force_at_the_declaration_names_the_treatment() -> None:
    """The same valid record asked about in 2019 and 2022. Result: Decree 237, then Decree 251."""
    old = record(effective_at=datetime(2019, 1, 1, tzinfo=UTC))
    svc = service(FakeReader(("SG", old)))
    in_2019 = svc.recognise("SG000000000001", datetime(2019, 6, 1, tzinfo=UTC))
    in_2022 = svc.recognise("SG000000000001", datetime(2022, 6, 1, tzinfo=UTC))
    assert (in_2019.grade_scheme, in_2022.grade_scheme) == ("Decree 237", "Decree 251")
    assert in_2019.outcome is in_2022.outcome is Outcome.RECOGNISED


def test_mapping_to_a_grade_a_decree_abolished_is_not_recognised() -> None:
    """Mapping to 'general certified', abolished by Decree 251. Result: mapping.missing in 2022."""
    sg = singapore(mapping=(MappingRule("STP-Plus", "general certified"),))
    old = record(effective_at=datetime(2019, 1, 1, tzinfo=UTC))
    svc = service(FakeReader(("SG", old)), sg)
    assert (
        svc.recognise("SG000000000001", datetime(2019, 6, 1, tzinfo=UTC)).outcome
        is Outcome.RECOGNISED
    )
    assert (
        svc.recognise("SG000000000001", datetime(2022, 6, 1, tzinfo=UTC)).reason
        == "mapping.missing"
    )


def test_programme_level_suspension_stops_recognition() -> None:
    """The MRA's recognition is suspended from 2026-11-01. Result: mra.suspended."""
    sg = singapore(suspensions=(Period(date(2026, 11, 1)),))
    assert (
        service(FakeReader(("SG", record())), sg).recognise("SG000000000001").reason
        == "mra.suspended"
    )


def test_consent_withdrawn_stops_benefits() -> None:
    """The operator withdrew consent. Result: consent.withdrawn."""
    reader = FakeReader(("SG", record(consent_withdrawn=True)))
    assert service(reader).recognise("SG000000000001").reason == "consent.withdrawn"


def test_validity_end_passed_means_expired() -> None:
    """valid_until was last month. Result: status.expired even though status says valid."""
    reader = FakeReader(("SG", record(valid_until=date(2026, 10, 1))))
    assert service(reader).recognise("SG000000000001").reason == "status.expired"


def test_home_operator_recognised_by_its_aeo_grade() -> None:
    """A home operator graded 'certified' under Decree 282. Result: recognised as certified."""
    own = replace(record("AEOCN0123456789"), tier="certified")
    answer = service(FakeReader(("CN", own))).recognise("CN0123456789")
    assert (answer.outcome, answer.treatment, answer.administration) == (
        Outcome.RECOGNISED,
        "certified",
        "CN",
    )


def test_home_operator_with_regular_grade_is_not_an_aeo() -> None:
    """A home operator graded 'regular'. Result: not recognised, grade.not_aeo."""
    own = replace(record("AEOCN0123456789"), tier="regular")
    assert service(FakeReader(("CN", own))).recognise("AEOCN0123456789").reason == "grade.not_aeo"


def test_batch_answers_in_request_order_and_limits_its_size() -> None:
    """Three codes, then four against a limit of three. Result: answers in order, then refused."""
    svc = service(FakeReader(("SG", record())))
    answers = svc.recognise_many(["ZZ", "SG000000000001", "SG000000000002"])
    assert [a.outcome for a in answers] == [
        Outcome.CODE_FORMAT_UNKNOWN,
        Outcome.RECOGNISED,
        Outcome.UNKNOWN_OPERATOR,
    ]
    with pytest.raises(TooManyCodes):
        svc.recognise_many(["A", "B", "C", "D"])


def test_empty_code_and_naive_time_are_invalid_queries() -> None:
    """A blank code asked on its own (empty, spaces, only separators), a time without zone.
    Result: InvalidQuery."""
    svc = service(FakeReader())
    for blank in ("", "  ", "\u3000", " - . "):
        with pytest.raises(InvalidQuery):
            svc.recognise(blank)
    with pytest.raises(InvalidQuery):
        svc.recognise("SG000000000001", datetime(2026, 1, 1))


def test_an_import_only_mra_grants_nothing_on_exports() -> None:
    """An MRA covering imports only; the declaration is an export. Result: not recognised,
    mra.direction_not_covered; the same operator on an import is recognised."""
    importer = singapore(directions=frozenset({TradeDirection.IMPORT}))
    s = service(FakeReader(("SG", record())), importer)
    export = s.recognise("SG000000000001", direction=TradeDirection.EXPORT)
    assert (export.outcome, export.reason) == (Outcome.NOT_RECOGNISED, "mra.direction_not_covered")
    assert export.benefits == ()
    assert s.recognise("SG000000000001").outcome is Outcome.RECOGNISED


def test_an_answer_says_how_fresh_the_partner_data_is() -> None:
    """SG's last message arrived five minutes ago. Result: the answer, known operator or not,
    carries that time; a home operator's answer carries none."""
    s = service(
        FakeReader(("SG", record()), ("CN", record("AEOCN0123456789", tier="advanced certified")))
    )
    fresh = NOW - timedelta(minutes=5)
    assert s.recognise("SG000000000001").data_received_at == fresh
    assert s.recognise("SG999999999999").data_received_at == fresh
    assert s.recognise("AEOCN0123456789").data_received_at is None


def test_a_batch_answers_a_blank_code_in_its_place() -> None:
    """A batch of a recognised code, an empty one, one of separators only. Result: three
    answers in order; the blank ones CODE_FORMAT_UNKNOWN with code.empty."""
    svc = service(FakeReader(("SG", record())))
    answers = svc.recognise_many(["SG000000000001", "", " - "])
    assert [(a.declared_code, a.normalised_code, a.outcome, a.reason) for a in answers] == [
        ("SG000000000001", "SG000000000001", Outcome.RECOGNISED, "recognised"),
        ("", "", Outcome.CODE_FORMAT_UNKNOWN, "code.empty"),
        (" - ", "", Outcome.CODE_FORMAT_UNKNOWN, "code.empty"),
    ]


@pytest.mark.parametrize(
    "declared", ["\u017fg000000000001", "SG00000\x1c0000001", "SG00000\x850000001", "\x85"]
)
def test_a_code_with_a_character_outside_the_rule_is_not_looked_up(declared: str) -> None:
    """A real, recognised SG operator asked about as long-s g..., or with a control character
    between its digits. Result: CODE_FORMAT_UNKNOWN code.format_unknown, alone and in a batch;
    the declared code echoed as given, no normalised code, no administration."""
    svc = service(FakeReader(("SG", record())))
    for answer in (svc.recognise(declared), *svc.recognise_many([declared])):
        assert (answer.outcome, answer.reason) == (
            Outcome.CODE_FORMAT_UNKNOWN,
            "code.format_unknown",
        )
        assert (answer.declared_code, answer.normalised_code) == (declared, "")
        assert (answer.administration, answer.record) == ("", None)


def test_full_width_and_dashed_forms_name_the_operator() -> None:
    """The same operator as a full-width IME types it, and with en dashes. Result: recognised,
    normalised to the declared form."""
    svc = service(FakeReader(("SG", record())))
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "sg000000000001")
    for declared in (full_width, "SG\u20130000\u20130000\u20130001"):
        answer = svc.recognise(declared)
        assert (answer.outcome, answer.normalised_code) == (Outcome.RECOGNISED, "SG000000000001")
