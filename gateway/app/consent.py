"""Use cases: record an operator's consent decision about a partner, and list decisions.

The gate on operator data acts where the outbox row is written (gateway.app.home_registry),
in the transaction that holds the home administration's row; a decision takes the same row.
So the queue always agrees with the decisions: a change is queued for a consent-requiring
partner only while the operator's consent is granted; a grant queues the operator's current
state in its own transaction; a withdrawal takes the operator's unsealed changes out of the
partner's queue and queues the withdrawal record after whatever is already sealed, in the same
transaction, so nothing queued before it goes out after it. What a decision sends is a record
for that partner's stream alone (a consent record, gateway.domain.consent): the home record,
its history and the change feed are left as they are. Gating when a message is sealed
would instead need every seal to read the decisions and could not queue the current state on
a grant (docs/data-protection.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from gateway.app.unit_of_work import Transactions, UnitOfWork
from gateway.domain import consent
from gateway.domain.consent import ConsentDecision, ConsentEntry, ConsentState, Told
from gateway.domain.directory import Directory
from gateway.domain.errors import ConsentNotRequired, PartnerNotFound
from gateway.domain.home_registry import enterprise_identifier
from gateway.domain.ports import Clock
from gateway.domain.records import AeoRecord


@dataclass(frozen=True, slots=True)
class ConsentResult:
    entry: ConsentEntry
    #: The decision changed the operator's state with the partner (a repeat does not).
    changed: bool
    #: The record version queued for the partner by the decision, if any.
    queued: AeoRecord | None


def _no_wake(partners: Collection[str]) -> None:
    pass


def _never_retired(partner: str) -> bool:
    return False


class RecordConsent:
    """RecordOperatorConsent and ``aeo-gateway consent grant|withdraw``."""

    def __init__(
        self,
        transactions: Transactions,
        clock: Clock,
        key_id: str,
        algorithm: str,
        queued: Callable[[Collection[str]], None] = _no_wake,
        retired: Callable[[str], bool] = _never_retired,
    ) -> None:
        self._transactions = transactions
        self._clock = clock
        self._key_id = key_id
        self._algorithm = algorithm
        self._queued = queued
        #: Whether a partner is retired (gateway.app.lifecycle): it is queued nothing more.
        self._retired = retired

    def __call__(self, decision: ConsentDecision, directory: Directory) -> ConsentResult:
        partner = directory.partners.get(decision.partner)
        if partner is None:
            raise PartnerNotFound(
                f"no partner {decision.partner!r} is defined", partner=decision.partner
            )
        if not partner.data_protection.consent_required:
            raise ConsentNotRequired(
                f"partner {partner.code} does not ask for operators' consent (its "
                "[data_protection] has no consent_required = true): nothing to record",
                partner=partner.code,
            )
        consent.check_decision(decision)
        home = directory.home
        identifier = enterprise_identifier(home, decision.enterprise_code)
        now = self._clock.now()
        item = ConsentEntry(
            partner.code,
            identifier,
            decision.state,
            now,
            decision.actor.strip(),
            decision.reason.strip(),
        )
        sends = consent.receives_operator_data(partner, home.day_of(now)) and not self._retired(
            partner.code
        )
        result = self._transactions.run(
            lambda uow: self._apply(uow, directory, item, sends), partners=(home.code,)
        )
        if result.queued is not None:
            self._queued([partner.code])
        return result

    def _apply(
        self, uow: UnitOfWork, directory: Directory, item: ConsentEntry, sends: bool
    ) -> ConsentResult:
        home = directory.home.code
        code, identifier = item.partner, item.identifier
        before = uow.consents.current(code, (identifier,)).get(identifier)
        uow.consents.append(item)
        changed = consent.granted(before) != (item.state is ConsentState.GRANTED)
        if item.state is ConsentState.WITHDRAWN:
            # Whatever the partner was still to be sent of the operator stays unsent; a
            # partner never sent anything of it is not told of it by its withdrawal either.
            uow.outbox.drop_unsealed(code, identifier)
            if not uow.outbox.was_sealed(code, identifier):
                return ConsentResult(item, changed, None)
            # Nor what was sealed but not settled: those messages are resealed without it
            # (same sequence). If the partner had in fact taken the earlier bytes (its receipt
            # lost), the withdrawal record that follows corrects what it holds.
            uow.outbox.withhold_unsent(code, identifier)
        if not (changed and sends):
            return ConsentResult(item, changed, None)
        history = uow.records.histories(home, (identifier,)).get(identifier, ())
        current = history[-1] if history else None
        if current is None or not consent.shared(current):
            return ConsentResult(item, changed, None)  # partners have nothing to hear of it
        # A record for this partner's stream alone: no home record version, no change-feed
        # event; the home administration's own state is the operator's, whatever it decides.
        issued = uow.outbox.consent_versions((identifier,)).get(identifier)
        if item.state is ConsentState.GRANTED and not consent.needs_consent_record(current, issued):
            uow.outbox.enqueue(code, identifier, current.version, item.recorded_at)
            return ConsentResult(item, changed, current)
        told = Told.GRANTED if item.state is ConsentState.GRANTED else Told.WITHDRAWN
        version = consent.consent_version(current, issued)
        uow.outbox.enqueue_told(code, identifier, version, current.version, told, item.recorded_at)
        return ConsentResult(
            item, changed, consent.as_told(current, told, version, item.recorded_at)
        )


class ConsentLog(Protocol):
    def current(
        self,
        partner: str | None,
        identifier: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[ConsentEntry]: ...

    def history(
        self, partner: str | None, identifier: str | None, before: int | None, limit: int
    ) -> list[tuple[int, ConsentEntry]]: ...
