"""Partners' signed outcome reports in the store (migration 0008), with the outcomes and
baseline totals they carry (migration 0007): the OutcomeSink port of
gateway/app/outcome_report.py, one transaction per report.

The report's row is inserted first, with an empty receipt: a second replica receiving the same
bytes at once waits on that row (PostgreSQL) or on the write lock (SQLite), then finds it and
answers with the stored receipt, so a report is recorded once whatever the concurrency.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from adapters.store.audit import append_entries, report_event
from adapters.store.database import Database
from adapters.store.facilitation import (
    AGGREGATE_COLUMNS,
    OUTCOME_COLUMNS,
    ROWS_PER_STATEMENT,
    aggregate_row,
    outcome_row,
)
from gateway.app.outcome_report import ReceiptFor, ReceivedReport
from gateway.domain.facilitation import Outcome, OutcomeAggregate
from gateway.domain.messages import SealedReceipt
from gateway.times import to_us

#: Bound parameters in one statement: under every database's limit.
MAX_PARAMETERS = 30_000

_RECEIPT = (
    "SELECT receipt, receipt_signature, receipt_key_id, receipt_algorithm FROM outcome_reports "
    "WHERE reporter = ? AND digest = ?"
)


class SqlOutcomeReports:
    def __init__(self, db: Database) -> None:
        self._db = db

    def receipt(self, reporter: str, digest: bytes) -> SealedReceipt | None:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.sql(_RECEIPT), (reporter, digest))
            return _sealed(cur.fetchone())

    def record(
        self,
        report: ReceivedReport,
        outcomes: Sequence[Outcome],
        aggregates: Sequence[OutcomeAggregate],
        receipt_for: ReceiptFor,
    ) -> tuple[SealedReceipt, bool]:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.dialect.begin)
            try:
                result = self._record(cur, report, outcomes, aggregates, receipt_for)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            return result

    def _record(
        self,
        cur: Any,
        report: ReceivedReport,
        outcomes: Sequence[Outcome],
        aggregates: Sequence[OutcomeAggregate],
        receipt_for: ReceiptFor,
    ) -> tuple[SealedReceipt, bool]:
        sql = self._db.sql
        cur.execute(
            sql(
                "INSERT INTO outcome_reports (reporter, digest, message_id, issued_at, "
                "received_at, wire_format, key_id, algorithm, payload, signature, peer, receipt, "
                "receipt_signature, receipt_key_id, receipt_algorithm) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '') ON CONFLICT DO NOTHING"
            ),
            (
                report.partner,
                report.digest,
                report.message_id,
                to_us(report.issued_at),
                to_us(report.received_at),
                report.wire_format,
                report.key_id,
                report.algorithm,
                report.payload,
                report.signature,
                report.peer,
                b"",
                b"",
            ),
        )
        if cur.rowcount == 0:  # received before (or by another replica a moment ago)
            cur.execute(sql(_RECEIPT), (report.partner, report.digest))
            stored = _sealed(cur.fetchone())
            assert stored is not None
            return stored, True
        already = self._recorded(cur, report.partner, [o.declaration_id for o in outcomes])
        self._insert(cur, "outcomes", OUTCOME_COLUMNS, [outcome_row(o) for o in outcomes])
        self._insert(
            cur, "outcome_aggregates", AGGREGATE_COLUMNS, [aggregate_row(a) for a in aggregates]
        )
        sealed = receipt_for(already)
        cur.execute(
            sql(
                "UPDATE outcome_reports SET receipt = ?, receipt_signature = ?, "
                "receipt_key_id = ?, receipt_algorithm = ? WHERE reporter = ? AND digest = ?"
            ),
            (
                sealed.receipt,
                sealed.signature,
                sealed.key_id,
                sealed.algorithm,
                report.partner,
                report.digest,
            ),
        )
        append_entries(cur, self._db.dialect, [report_event(report, sealed)])
        return sealed, False

    def _recorded(self, cur: Any, reporter: str, ids: Sequence[str]) -> Collection[str]:
        found: set[str] = set()
        for i in range(0, len(ids), ROWS_PER_STATEMENT):
            chunk = ids[i : i + ROWS_PER_STATEMENT]
            cur.execute(
                self._db.sql(
                    "SELECT declaration_id FROM outcomes WHERE reporter = ? AND declaration_id IN ("
                    + ", ".join("?" * len(chunk))
                    + ")"
                ),
                (reporter, *chunk),
            )
            found.update(row[0] for row in cur.fetchall())
        return found

    def _insert(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        values = "(" + ", ".join("?" * len(columns)) + ")"
        # PostgreSQL binds at most 65,535 parameters per statement, a stock SQLite 32,766.
        per_statement = max(1, min(ROWS_PER_STATEMENT, MAX_PARAMETERS // len(columns)))
        for i in range(0, len(rows), per_statement):
            chunk = rows[i : i + per_statement]
            cur.execute(
                self._db.sql(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                    + ", ".join([values] * len(chunk))
                    + " ON CONFLICT DO NOTHING"
                ),
                tuple(v for row in chunk for v in row),
            )


def _sealed(row: Any) -> SealedReceipt | None:
    if row is None:
        return None
    return SealedReceipt(bytes(row[0]), bytes(row[1]), row[2], row[3])
