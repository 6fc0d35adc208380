"""The consent rules of the core, and delivery's adequacy gate, on fakes."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.domain import consent
from gateway.domain.consent import ConsentDecision, ConsentState
from gateway.domain.errors import ConsentInvalid
from gateway.domain.partners import DataProtection
from gateway.domain.records import StatusEvent
from tests.factories import NOW, record
from tests.unit.test_outbound_delivery import setup

AEO = "AEOCN0123456781"


def test_a_consent_record_is_numbered_above_home_and_earlier_consent_records() -> None:
    """Version 3 of an AEO's record, told withdrawn with no consent record before, then told
    granted after a consent record 4; home's next version after consent record 5. Result:
    the withdrawal is version 4 with event consent_withdrawn and the flag, the rest as version
    3; the grant is version 5, event amended, no flag; home's next version is 6 (not 4); a
    grant needs a consent record only when one at or above the home version was issued."""
    current = record(AEO, version=3)
    version = consent.consent_version(current, None)
    withdrawn = consent.as_told(current, consent.Told.WITHDRAWN, version, NOW)
    assert (withdrawn.version, withdrawn.event, withdrawn.consent_withdrawn) == (
        4, StatusEvent.CONSENT_WITHDRAWN, True,
    )  # fmt: skip
    assert (withdrawn.tier, withdrawn.status, withdrawn.name) == (
        current.tier, current.status, current.name,
    )  # fmt: skip
    again = consent.as_told(current, consent.Told.GRANTED, consent.consent_version(current, 4), NOW)
    assert (again.version, again.event, again.consent_withdrawn) == (
        5, StatusEvent.AMENDED, False,
    )  # fmt: skip
    assert consent.home_floor(4, 5) == 6
    assert consent.home_floor(7, 5) == 7
    assert consent.needs_consent_record(current, 3)
    assert not consent.needs_consent_record(current, None)
    assert not consent.needs_consent_record(record(AEO, version=6), 5)


def test_only_an_operator_that_is_or_was_an_aeo_is_shared() -> None:
    """A record with an authorisation date, one without, and none. Result: only the first."""
    assert consent.shared(record(AEO))
    assert not consent.shared(record(AEO, authorised_from=None))
    assert not consent.shared(None)


@pytest.mark.parametrize(
    ("actor", "reason", "field"),
    [
        ("", "form", "actor"),
        ("x" * 129, "form", "actor"),
        ("registry", "r" * 1025, "reason"),
        ("registry", "line\nbreak", "reason"),
    ],
)
def test_a_decision_with_a_bad_actor_or_reason_is_refused(
    actor: str, reason: str, field: str
) -> None:
    """A blank or overlong actor, an overlong reason or one with a control character.
    Result: consent.invalid naming the field."""
    decision = ConsentDecision("EU", AEO, ConsentState.GRANTED, actor, reason)
    with pytest.raises(ConsentInvalid) as refused:
        consent.check_decision(decision)
    assert refused.value.metadata == {"field": field}


def test_delivery_sends_nothing_to_a_partner_not_adequate() -> None:
    """A change queued for SG (queued before its file was flagged), SG now not adequate.
    Result: not deliverable: nothing sealed, nothing sent; adequate again, it goes."""
    deliver, store, transport, codec, _, snapshot = setup(
        data_protection=DataProtection(adequate=False)
    )
    store.queue(record(AEO))
    assert not deliver(snapshot, "SG")
    assert codec.batches == []
    assert store.sealed == {}
    assert transport.sent == []
    sg = dataclasses.replace(snapshot.partners["SG"], data_protection=DataProtection())
    adequate = dataclasses.replace(snapshot, partners={"SG": sg})
    assert deliver(adequate, "SG")
    assert [len(b.records) for b in codec.batches] == [1]
    assert transport.sent
