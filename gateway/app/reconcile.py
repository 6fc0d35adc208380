"""Use case: the reconciliation digest over a partner's current set of operators."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.directory import Directory
from gateway.domain.errors import PartnerNotFound
from gateway.domain.ports import Clock
from gateway.domain.reconciliation import CurrentOperator, Reconciliation, digest


@dataclass(frozen=True, slots=True)
class CurrentSet:
    """A partner's current set as one consistent read sees it: its operators (streamed, in no
    particular order) and the partner's last sequence number at that moment."""

    last_sequence: int
    operators: Iterator[CurrentOperator]


class CurrentSetReader(Protocol):
    def current_set(self, administration: str) -> AbstractContextManager[CurrentSet]:
        """Every operator the administration has sent, with its newest version and status,
        except those with an open absence; consumed inside the ``with`` block."""
        ...


class ReconcilePartner:
    def __init__(self, reader: CurrentSetReader, clock: Clock) -> None:
        self._reader = reader
        self._clock = clock

    def __call__(self, directory: Directory, partner: str) -> Reconciliation:
        if partner not in directory.partners:
            raise PartnerNotFound(f"no partner partners/{partner} is registered")
        with self._reader.current_set(partner) as current:
            sha256, operators = digest(current.operators)
        return Reconciliation(partner, sha256, operators, current.last_sequence, self._clock.now())
