"""Use case: an administrator asks a partner for a snapshot (its whole current set), e.g. after
a reconciliation digest disagreed. The partner learns it from the signed receipt of its next
message (needs_snapshot), the channel it already reads after a write-off of gaps."""

from __future__ import annotations

from gateway.app.unit_of_work import Transactions, UnitOfWork
from gateway.domain.directory import Directory
from gateway.domain.errors import PartnerNotFound, shown
from gateway.domain.sequences import snapshot_requested


class RequestSnapshot:
    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions

    def __call__(self, directory: Directory, partner: str) -> None:
        if partner not in directory.partners:
            raise PartnerNotFound(f"no partner {shown(partner)} is registered")

        def mark(uow: UnitOfWork) -> None:
            states = uow.partner_states
            # None: no message arrived, so the partner's freshness is left as it was.
            states.save(partner, snapshot_requested(states.sequence(partner)), None)

        self._transactions.run(mark, partners=(partner,))
