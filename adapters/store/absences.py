"""Absences of operators a snapshot left out: the repository the ingest writes them through.

Each note becomes at most two set-based statements, run when the group flushes, in the order
the works ran: closing the named operators' open absences, and for a snapshot that replaces
the set, opening one for every other operator of the administration (one INSERT ... SELECT,
however many operators it has). A delta of a partner without open absences costs nothing but
one small indexed read per group.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.store.dialects import Dialect
from gateway.domain.snapshots import Presence
from gateway.times import to_us

#: Closes open absences of the named operators that a snapshot numbered below the message
#: opened; the operator is present again from the message's time, never before its absence.
_CLOSE = (
    "UPDATE record_absences SET present_again = "
    "CASE WHEN absent_from > CAST(? AS BIGINT) THEN absent_from ELSE CAST(? AS BIGINT) END "
    "WHERE administration = ? AND present_again IS NULL AND sequence < CAST(? AS BIGINT) "
    "AND identifier IN ({named})"
)
#: Opens an absence for every operator the administration has sent that the snapshot does not
#: name and that is not absent already. NOT IN over the bound set: SQLite builds an index of
#: it, PostgreSQL a hash.
_OPEN = (
    "INSERT INTO record_absences "
    "(administration, identifier, absent_from, message_id, sequence) "
    "SELECT CAST(? AS TEXT), known.identifier, CAST(? AS BIGINT), CAST(? AS TEXT), "
    "CAST(? AS BIGINT) "
    "FROM (SELECT DISTINCT identifier FROM record_versions WHERE administration = ?) known "
    "WHERE known.identifier NOT IN ({named}) AND NOT EXISTS (SELECT 1 FROM record_absences a "
    "WHERE a.administration = ? AND a.identifier = known.identifier "
    "AND a.present_again IS NULL)"
)
#: Absences opened by one snapshot from which the planner's statistics are refreshed at once
#: (see Dialect.analyze_absences); fewer are left to autovacuum.
ANALYZE_AFTER = 1_000

_ANY_OPEN = (
    "SELECT 1 FROM record_absences WHERE administration = ? AND present_again IS NULL LIMIT 1"
)


class SqlAbsences:
    """The AbsenceRepository of one group commit (see GroupUnitOfWork)."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self._cur = cur
        q = dialect.sql
        self._close = q(_CLOSE.format(named=dialect.json_texts))
        self._open = q(_OPEN.format(named=dialect.json_texts))
        self._any_open = q(_ANY_OPEN)
        self._analyze = dialect.analyze_absences
        #: Whether each partner may have an open absence: read once per group, and set when a
        #: snapshot of the group opens some.
        self._open_somewhere: dict[str, bool] = {}
        self._kept: list[tuple[str, tuple[Any, ...]]] = []
        self._staged: list[tuple[str, tuple[Any, ...]]] = []
        self._opens_staged = False
        self.opens_kept = False

    def _has_open(self, administration: str) -> bool:
        known = self._open_somewhere.get(administration)
        if known is None:
            self._cur.execute(self._any_open, (administration,))
            known = self._cur.fetchone() is not None
            self._open_somewhere[administration] = known
        return known

    def note(self, administration: str, presence: Presence) -> None:
        closes = bool(presence.named) and self._has_open(administration)
        if not (closes or presence.replaces_set):
            return  # the hot path: a delta of a partner with no open absence
        named = json.dumps(sorted(presence.named))
        at = to_us(presence.at)
        if closes:
            self._staged.append((self._close, (at, at, administration, presence.sequence, named)))
        if presence.replaces_set:
            params = (
                administration,
                at,
                presence.message_id,
                presence.sequence,
                administration,
                named,
                administration,
            )
            self._staged.append((self._open, params))
            self._opens_staged = True
            self._open_somewhere[administration] = True

    def settle(self, keep: bool) -> None:
        if keep:
            self._kept.extend(self._staged)
            self.opens_kept = self.opens_kept or self._opens_staged
        self._staged.clear()
        self._opens_staged = False

    def flush(self) -> None:
        """Runs the kept statements in the order their works ran; records must be written
        first (a snapshot's absences are the operators stored before it, minus those it names)."""
        for sql, params in self._kept:
            done = self._cur.execute(sql, params)
            if sql is self._open and self._analyze and done.rowcount >= ANALYZE_AFTER:
                self._cur.execute(self._analyze)
        self._kept.clear()
        self.opens_kept = False
