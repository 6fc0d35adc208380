"""Per-operator consent to the exchange of its data with a partner that asks for it, and what
a decision sends that partner (docs/data-protection.md).

Pure rules only: the use case (gateway.app.consent) stores the decision and queues what it
sends in the transaction that holds the home administration's row, as grade changes do.

A withdrawal is told to the partner as a record of its own, made for that partner's stream
alone: the operator's current home record with event CONSENT_WITHDRAWN and consent_withdrawn
set, under a version above every version the partner may have been sent. It is no home record
version: the home administration's own recognition, history and change feed do not see it. A
grant after a withdrawal sends the operator's current state again the same way, without the
flag (event AMENDED), when the partner may hold a version at or above it; otherwise (a first
grant) the current home version is queued as it is. The home registry numbers later versions
above every such consent record version (``home_floor``), so a partner is never sent a version
it would find stale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum

from gateway.domain.errors import ConsentInvalid
from gateway.domain.partners import Partner
from gateway.domain.records import AeoRecord, StatusEvent
from gateway.domain.validation import NOT_TEXT

#: Longest actor and reason, in characters.
MAX_ACTOR = 128
MAX_REASON = 1024


class ConsentState(Enum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """An operator's decision about one partner, as the caller states it."""

    partner: str
    enterprise_code: str
    state: ConsentState
    actor: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """A recorded decision: ``identifier`` is the operator's canonical home identifier."""

    partner: str
    identifier: str
    state: ConsentState
    recorded_at: datetime
    actor: str
    reason: str


def check_decision(decision: ConsentDecision) -> None:
    """What holds of a decision on its own: an actor, and printable, bounded texts."""
    if not decision.actor.strip():
        raise ConsentInvalid("actor is required: who recorded the decision", field="actor")
    for field, text, limit in (
        ("actor", decision.actor, MAX_ACTOR),
        ("reason", decision.reason, MAX_REASON),
    ):
        if len(text) > limit:
            raise ConsentInvalid(f"{field} is longer than {limit} characters", field=field)
        if NOT_TEXT.search(text):
            raise ConsentInvalid(
                f"{field} contains control characters or non-characters", field=field
            )


def receives_operator_data(partner: Partner, day: date) -> bool:
    """Whether ``partner`` is queued home operators' changes on ``day``: it has an endpoint,
    its MRA is in force and its data protection is adequate (a partner not adequate is sent
    no operator data at all)."""
    return (
        partner.outbound is not None
        and partner.data_protection.adequate
        and partner.in_force_on(day)
    )


def granted(state: ConsentState | None) -> bool:
    """No decision recorded is no consent."""
    return state is ConsentState.GRANTED


def shared(record: AeoRecord | None) -> bool:
    """Partners are told of the operator: it is or was an AEO (the home registry sets
    authorised_from when an operator is first granted an AEO grade and keeps it after)."""
    return record is not None and record.authorised_from is not None


class Told(Enum):
    """What a consent record queued for a partner tells it (an outbox row's ``consent``)."""

    WITHDRAWN = "withdrawn"
    GRANTED = "granted"


def consent_version(current: AeoRecord, issued: int | None) -> int:
    """The version of a consent record built from ``current``: above the home version and
    above ``issued``, the highest consent record version issued for the operator so far."""
    return max(current.version, issued or 0) + 1


def needs_consent_record(current: AeoRecord, issued: int | None) -> bool:
    """Whether a grant must send ``current`` as a consent record of its own (a partner may
    hold a consent record version at or above it) rather than as it is."""
    return issued is not None and issued >= current.version


def home_floor(version: int, issued: int | None) -> int:
    """The version the home registry stores for a new record numbered ``version``: above
    every consent record version ``issued`` for the operator, so partners never find it
    stale."""
    return max(version, (issued or 0) + 1)


def as_told(basis: AeoRecord, told: Told, version: int, at: datetime) -> AeoRecord:
    """The record a consent record tells the partner, from the home version it carries."""
    if told is Told.WITHDRAWN:
        return withdrawal(basis, version, at)
    return regrant(basis, version, at)


def withdrawal(current: AeoRecord, version: int, at: datetime) -> AeoRecord:
    """The record that tells a partner the operator withdrew its consent."""
    return replace(
        current,
        version=version,
        effective_at=at,
        event=StatusEvent.CONSENT_WITHDRAWN,
        consent_withdrawn=True,
    )


def regrant(current: AeoRecord, version: int, at: datetime) -> AeoRecord:
    """The record that sends the operator's state again after a withdrawal."""
    return replace(
        current,
        version=version,
        effective_at=at,
        event=StatusEvent.AMENDED,
        consent_withdrawn=False,
    )
