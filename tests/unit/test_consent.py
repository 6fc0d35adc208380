"""The consent rules of the core, and delivery's adequacy gate, on fakes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from gateway.domain import consent
from gateway.domain.consent import ConsentDecision, ConsentState
from gateway.domain.errors import ConsentInvalid
from gateway.domain.partners import DataProtection
from gateway.domain.records import StatusEvent
from tests.factories import NOW, record
from tests.unit.test_outbound_delivery import setup

AEO = "AEOCN0123456781"


def test_a_withdrawal_is_the_next_version_flagged_and_a_regrant_clears_the_flag() -> None:
    """Version 3 of an AEO's record, then its withdrawal and a grant after it. Result:
    version 4 with event consent_withdrawn and the flag, the rest as version 3; version 5
    with event amended and no flag; a regrant of a version without the flag is None."""
    current = record(AEO, version=3)
    withdrawn = consent.withdrawal(current, NOW + timedelta(hours=1))
    assert (withdrawn.version, withdrawn.event, withdrawn.consent_withdrawn) == (
        4, StatusEvent.CONSENT_WITHDRAWN, True,
    )  # fmt: skip
    assert (withdrawn.tier, withdrawn.status, withdrawn.name) == (
        current.tier, current.status, current.name,
    )  # fmt: skip
    again = consent.regrant(withdrawn, NOW + timedelta(hours=2))
    assert again is not None
    assert (again.version, again.event, again.consent_withdrawn) == (
        5, StatusEvent.AMENDED, False,
    )  # fmt: skip
    assert consent.regrant(current, NOW) is None


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
