"""Operators' consent decisions in the store (migration 0011): the repository a unit of work
records and reads them through, and the listing Admin reads.

Decisions are appended, never updated; an operator's current state with a partner is its latest
entry. They are written through the group committer, in the transaction that holds the home
administration's row, so a decision and the grade changes queued for partners are serialised:
a change is queued for a consent-requiring partner only if the operator's consent is granted
when the change is written (gateway.app.home_registry).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from adapters.store.database import Database
from adapters.store.dialects import Dialect
from gateway.domain.consent import ConsentEntry, ConsentState
from gateway.times import from_us, to_us

COLUMNS = ("partner", "identifier", "state", "recorded_at", "actor", "reason")
_STATES = {s.value: s for s in ConsentState}
#: Identifiers per IN list: under every database's limit on bound parameters.
_CHUNK = 500
#: The latest entry of each (partner, identifier).
_LATEST = (
    "SELECT c.identifier, c.state FROM operator_consents c WHERE c.partner = ? "
    "AND c.identifier IN ({in}) AND c.id = (SELECT MAX(d.id) FROM operator_consents d "
    "WHERE d.partner = c.partner AND d.identifier = c.identifier)"
)


def entry(row: Sequence[Any]) -> ConsentEntry:
    partner, identifier, state, recorded_at, actor, reason = row
    return ConsentEntry(partner, identifier, _STATES[state], from_us(recorded_at), actor, reason)


class SqlConsents:
    """The ConsentRepository of one group commit (see GroupUnitOfWork)."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self._cur = cur
        self._q = dialect.sql
        #: Latest states read from the database (None: no decision), and those the group's
        #: works recorded: kept (works that ended well) and staged (the running work's).
        self._stored: dict[tuple[str, str], ConsentState | None] = {}
        self._kept: dict[tuple[str, str], ConsentState] = {}
        self._staged: dict[tuple[str, str], ConsentState] = {}
        self._rows_kept: list[tuple[Any, ...]] = []
        self._rows_staged: list[tuple[Any, ...]] = []

    def current(self, partner: str, identifiers: Collection[str]) -> Mapping[str, ConsentState]:
        unread = [i for i in dict.fromkeys(identifiers) if (partner, i) not in self._stored]
        for start in range(0, len(unread), _CHUNK):
            chunk = unread[start : start + _CHUNK]
            for i in chunk:
                self._stored[(partner, i)] = None
            self._cur.execute(
                self._q(_LATEST.format(**{"in": ", ".join("?" * len(chunk))})), (partner, *chunk)
            )
            for identifier, state in self._cur.fetchall():
                self._stored[(partner, identifier)] = _STATES[state]
        found = {}
        for i in identifiers:
            key = (partner, i)
            state = self._staged.get(key) or self._kept.get(key) or self._stored[key]
            if state is not None:
                found[i] = state
        return found

    def append(self, item: ConsentEntry) -> None:
        self._staged[(item.partner, item.identifier)] = item.state
        self._rows_staged.append(
            (
                uuid.uuid4().hex, item.partner, item.identifier, item.state.value,
                to_us(item.recorded_at), item.actor, item.reason,
            )
        )  # fmt: skip

    def settle(self, keep: bool) -> None:
        if keep:
            self._kept.update(self._staged)
            self._rows_kept.extend(self._rows_staged)
        self._staged.clear()
        self._rows_staged.clear()

    def flush(self) -> None:
        if self._rows_kept:
            names = ("entry_id", *COLUMNS)
            self._cur.executemany(
                self._q(
                    f"INSERT INTO operator_consents ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})"
                ),
                self._rows_kept,
            )
            self._rows_kept.clear()
        self._stored.update(self._kept)
        self._kept.clear()


class SqlConsentLog:
    """Operators' decisions as Admin lists them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def current(
        self,
        partner: str | None,
        identifier: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[ConsentEntry]:
        """Each operator's latest decision per partner, by partner then identifier, after
        ``after`` (a page's last partner and identifier)."""
        where, params = self._filters(partner, identifier)
        if after is not None:
            where.append("(partner, identifier) > (?, ?)")
            params.extend(after)
        where.append(
            "id = (SELECT MAX(d.id) FROM operator_consents d WHERE d.partner = c.partner "
            "AND d.identifier = c.identifier)"
        )
        return [
            entry(row)
            for row in self._db.rows(
                f"SELECT {', '.join(COLUMNS)} FROM operator_consents c "
                f"WHERE {' AND '.join(where)} ORDER BY partner, identifier LIMIT ?",
                (*params, limit),
            )
        ]

    def history(
        self, partner: str | None, identifier: str | None, before: int | None, limit: int
    ) -> list[tuple[int, ConsentEntry]]:
        """Every decision, newest first, with its id (a page ends at the last id)."""
        where, params = self._filters(partner, identifier)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        return [
            (int(row[0]), entry(row[1:]))
            for row in self._db.rows(
                f"SELECT id, {', '.join(COLUMNS)} FROM operator_consents c "
                f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
                (*params, limit),
            )
        ]

    @staticmethod
    def _filters(partner: str | None, identifier: str | None) -> tuple[list[str], list[Any]]:
        where, params = ["1 = 1"], []
        if partner is not None:
            where.append("partner = ?")
            params.append(partner)
        if identifier is not None:
            where.append("identifier = ?")
            params.append(identifier)
        return where, params
