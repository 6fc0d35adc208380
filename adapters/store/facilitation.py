"""Declaration outcomes and partners' baseline totals in the store (migration 0007), and the
aggregates a facilitation report is computed from: grouped and counted in SQL, on SQLite and
PostgreSQL alike, so a report never reads outcome rows into Python.

Outcomes are written in transactions of their own on a pooled connection, one prepared
statement run for many rows at once, not through the group committer: they touch nothing the
committer orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from adapters.store.database import Database
from gateway.domain.codes import normalise
from gateway.domain.facilitation import (
    GroupKey,
    GroupStats,
    Jurisdiction,
    Outcome,
    OutcomeAggregate,
    release_minutes,
)
from gateway.domain.partners import TradeDirection
from gateway.times import from_us, to_us

OUTCOME_COLUMNS = (
    "reporter",
    "declaration_id",
    "declared_code",
    "operator",
    "direction",
    "mode",
    "arrived_at",
    "released_at",
    "release_minutes",
    "document_review",
    "inspected",
    "jurisdiction",
    "partner",
    "administration",
    "grade",
    "aeo",
    "before_recognition",
    "reason",
)
AGGREGATE_COLUMNS = (
    "reporter",
    "direction",
    "start_at",
    "end_at",
    "declarations",
    "inspected",
    "document_reviews",
    "release_median_hours",
    "release_mean_hours",
    "release_p90_hours",
)
#: Rows converted and sent per executemany: bounds the memory of a large ``record``.
ROWS_PER_STATEMENT = 5000
_GROUP = "jurisdiction, partner, direction, grade, aeo, before_recognition"
_DIRECTIONS = {d.value: d for d in TradeDirection}
_JURISDICTIONS = {j.value: j for j in Jurisdiction}


def outcome_row(outcome: Outcome) -> tuple[Any, ...]:
    return (
        outcome.reporter,
        outcome.declaration_id,
        outcome.declared_code,
        outcome.operator or normalise(outcome.declared_code) or "",
        outcome.direction.value,
        outcome.mode.value if outcome.mode else "",
        to_us(outcome.arrived_at),
        to_us(outcome.released_at),
        release_minutes(outcome.arrived_at, outcome.released_at),
        int(outcome.document_review),
        int(outcome.inspected),
        outcome.jurisdiction.value,
        outcome.partner,
        outcome.administration,
        outcome.grade,
        int(outcome.aeo),
        int(outcome.before_recognition),
        outcome.reason,
    )


def aggregate_row(aggregate: OutcomeAggregate) -> tuple[Any, ...]:
    return (
        aggregate.reporter,
        aggregate.direction.value,
        to_us(aggregate.start),
        to_us(aggregate.end),
        aggregate.declarations,
        aggregate.inspected,
        aggregate.document_reviews,
        aggregate.release_median_hours,
        aggregate.release_mean_hours,
        aggregate.release_p90_hours,
    )


class SqlOutcomes:
    """The outcome store port on SQLite or PostgreSQL."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self, outcomes: Sequence[Outcome], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        """Stores ``outcomes`` and ``aggregates`` in one transaction; durable on return. An
        outcome whose (reporter, declaration id) is stored already, or repeated in
        ``outcomes``, is a duplicate and changes nothing, as does a repeated aggregate.
        Returns how many outcomes were new."""
        return self.record_batches([outcomes], aggregates)

    def record_batches(
        self,
        batches: Iterable[Sequence[Outcome]],
        aggregates: Sequence[OutcomeAggregate] = (),
    ) -> int:
        """As ``record``, the outcomes coming in batches while the one transaction is open (a
        bulk import of a million never holds them all); an exception from ``batches`` rolls
        back everything."""
        added = 0
        with self._db.pooled_transaction() as cur:
            for batch in batches:
                for chunk in _chunks([outcome_row(o) for o in batch]):
                    added += self._insert(cur, "outcomes", OUTCOME_COLUMNS, chunk)
            for chunk in _chunks([aggregate_row(a) for a in aggregates]):
                self._insert(cur, "outcome_aggregates", AGGREGATE_COLUMNS, chunk)
        return added

    def _insert(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> int:
        """One prepared single-row INSERT run for every row: both drivers send the batch in one
        go (psycopg pipelines it) and count the rows it inserted."""
        cur.executemany(
            self._db.sql(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
            ),
            rows,
        )
        return max(0, int(cur.rowcount))

    def groups(self, start: datetime, end: datetime, partner: str = "") -> list[GroupStats]:
        """Per group (jurisdiction, partner, direction, grade, aeo, before_recognition) of the
        outcomes that arrived in [start, end): declarations, inspected, reviewed and the
        histogram of release minutes, from one GROUP BY. ``partner``: only that partner's
        outcomes and the home grades' (the home baseline)."""
        where, params = _period(start, end, partner)
        rows = self._db.rows(
            f"SELECT {_GROUP}, release_minutes, COUNT(*), SUM(inspected), SUM(document_review) "
            f"FROM outcomes WHERE {where} GROUP BY {_GROUP}, release_minutes",
            params,
        )
        found: dict[GroupKey, list[tuple[int, int, int, int]]] = {}
        for (
            jurisdiction,
            who,
            direction,
            grade,
            aeo,
            before,
            minutes,
            n,
            inspected,
            reviewed,
        ) in rows:
            key = GroupKey(
                _JURISDICTIONS[jurisdiction],
                who,
                _DIRECTIONS[direction],
                grade,
                bool(aeo),
                bool(before),
            )
            found.setdefault(key, []).append((int(minutes), int(n), int(inspected), int(reviewed)))
        return [
            GroupStats(
                key,
                declarations=sum(b[1] for b in bins),
                inspected=sum(b[2] for b in bins),
                document_reviews=sum(b[3] for b in bins),
                release_minutes=tuple(sorted((b[0], b[1]) for b in bins)),
            )
            for key, bins in found.items()
        ]

    def home_aeos_trading(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> dict[str, int]:
        """Distinct home AEOs per partner in [start, end): reported by the partner abroad; under
        "" those that declared at home."""
        where, params = _period(start, end, partner)
        rows = self._db.rows(
            "SELECT partner, COUNT(DISTINCT operator) FROM outcomes "
            f"WHERE {where} AND aeo = 1 AND (jurisdiction = 'abroad' OR partner = '') "
            "GROUP BY partner",
            params,
        )
        return {who: int(n) for who, n in rows}

    def aggregates(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> list[OutcomeAggregate]:
        """Reported baseline totals whose span starts in [start, end)."""
        sql = (
            f"SELECT {', '.join(AGGREGATE_COLUMNS)} FROM outcome_aggregates "
            "WHERE start_at >= ? AND start_at < ?"
        )
        params: list[Any] = [to_us(start), to_us(end)]
        if partner:
            sql += " AND reporter = ?"
            params.append(partner)
        return [
            OutcomeAggregate(
                reporter=r[0],
                direction=_DIRECTIONS[r[1]],
                start=from_us(r[2]),
                end=from_us(r[3]),
                declarations=int(r[4]),
                inspected=int(r[5]),
                document_reviews=int(r[6]),
                release_median_hours=float(r[7]),
                release_mean_hours=float(r[8]),
                release_p90_hours=float(r[9]),
            )
            for r in self._db.rows(sql + " ORDER BY reporter, start_at", params)
        ]


def _period(start: datetime, end: datetime, partner: str) -> tuple[str, list[Any]]:
    where = "arrived_at >= ? AND arrived_at < ?"
    params: list[Any] = [to_us(start), to_us(end)]
    if partner:
        where += " AND partner IN ('', ?)"
        params.append(partner)
    return where, params


def _chunks(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    for i in range(0, len(rows), ROWS_PER_STATEMENT):
        yield rows[i : i + ROWS_PER_STATEMENT]
