"""The audit log in the store (migration 0010): appends chained under the head row's lock, the
read side, checkpoints, and the evidence a bundle needs.

``append_entries(cur, dialect, events)`` is the one way entries are written: inside whatever
transaction records the thing they describe (the group commit's, the outbound store's, an
outcome report's). It locks the single ``audit_head`` row (FOR UPDATE on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), numbers the entries after the head, chains their
hashes and moves the head: two transactions, on any replicas, can never both extend the same
head, so the chain never forks.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.store.database import Database
from adapters.store.dialects import Dialect
from gateway.app.audit_log import AuditCheckpoints, AuditFilter, RawMessage
from gateway.app.deliver import NewMessage
from gateway.app.outcome_report import ReceivedReport
from gateway.domain.audit import (
    KINDS,
    AuditEntry,
    AuditEvent,
    AuditKind,
    Checkpoint,
    canonical_json,
    chain,
    sent_message_id,
    sha256_hex,
)
from gateway.domain.messages import SealedReceipt
from gateway.domain.outbound import SettledReceipt
from gateway.times import from_us, to_us

log = logging.getLogger(__name__)

ENTRY_COLUMNS = (
    "position",
    "recorded_at",
    "kind",
    "partner",
    "actor_subject",
    "actor_fingerprint",
    "subject",
    "sequence",
    "digest",
    "key_id",
    "receipt_digest",
    "detail",
    "prev_hash",
    "entry_hash",
)
_SELECT = f"SELECT {', '.join(ENTRY_COLUMNS)} FROM audit_entries"
_CHECKPOINT = (
    "SELECT position, head_hash, signed_at, key_id, algorithm, signature FROM audit_checkpoints"
)


def append_entries(cur: Any, dialect: Dialect, events: Sequence[AuditEvent]) -> list[AuditEntry]:
    """Chains ``events`` after the head and writes them, in the caller's transaction."""
    if not events:
        return []
    q = dialect.sql
    cur.execute(q("SELECT position, entry_hash FROM audit_head WHERE id = 1" + dialect.row_lock))
    position, head = cur.fetchone()
    entries = chain(int(position) + 1, head, events)
    cur.executemany(
        q(
            f"INSERT INTO audit_entries ({', '.join(ENTRY_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
        ),
        [_row(e) for e in entries],
    )
    last = entries[-1]
    cur.execute(
        q("UPDATE audit_head SET position = ?, entry_hash = ? WHERE id = 1"),
        (last.position, last.entry_hash),
    )
    return entries


def _row(e: AuditEntry) -> tuple[Any, ...]:
    v = e.event
    return (
        e.position,
        to_us(v.at),
        v.kind.value,
        v.partner,
        v.actor_subject,
        v.actor_fingerprint,
        v.subject,
        v.sequence,
        v.digest,
        v.key_id,
        v.receipt_digest,
        canonical_json(dict(v.detail)).decode(),
        e.prev_hash,
        e.entry_hash,
    )


#: What an unreadable column or row parses to: an entry or checkpoint bound to fail its check.
_UNREADABLE = (ValueError, TypeError, OverflowError)
#: The position of a row whose stored position is no number (SQLite keeps text as text).
UNREADABLE_POSITION = 0


def entry(row: Sequence[Any]) -> AuditEntry:
    """A stored row as an entry. A row whose fields no longer parse (edited by hand: text in a
    number column, a time out of range, a detail that is not JSON) still becomes an entry, at
    its stored position where that reads as a number, whose hash then fails to match: verify
    names it instead of failing to run."""
    position, prev_hash, entry_hash = row[0], row[-2], row[-1]
    try:
        at = int(position)
    except _UNREADABLE:
        at = UNREADABLE_POSITION
    try:
        event = _event(row)
    except _UNREADABLE as exc:  # what was hashed always parses: this row was edited
        event = AuditEvent(
            AuditKind.ADMIN_ACTION,
            from_us(0),
            subject=f"unreadable row at position {position!r}",
            detail={"unreadable": str(exc)},
        )
    return AuditEntry(at, event, str(prev_hash), str(entry_hash))


def _event(row: Sequence[Any]) -> AuditEvent:
    (_, recorded_at, kind, partner, actor_subject, actor_fingerprint, subject, sequence,
     digest, key_id, receipt_digest, detail, _, _) = row  # fmt: skip
    try:
        parsed = json.loads(detail)
        details = parsed if isinstance(parsed, dict) else {"unparsable": str(detail)}
    except _UNREADABLE:
        details = {"unparsable": str(detail)}
    event = AuditEvent(
        KINDS.get(kind, AuditKind.ADMIN_ACTION),
        from_us(int(recorded_at)),
        partner=partner,
        actor_subject=actor_subject,
        actor_fingerprint=actor_fingerprint,
        subject=subject,
        sequence=None if sequence is None else int(sequence),
        digest=digest,
        key_id=key_id,
        receipt_digest=receipt_digest,
        detail=details,  # one with a float raises ValueError: what was hashed never holds one
    )
    if kind not in KINDS:  # an edited kind must not hash like the original
        event = AuditEvent(
            AuditKind.ADMIN_ACTION, event.at, subject=f"unknown kind {kind!r}", detail={}
        )
    return event


def _checkpoint(row: Sequence[Any]) -> Checkpoint:
    """A stored checkpoint. One whose columns no longer parse becomes a checkpoint with no
    signature, at its stored position where that reads as a number: bound to fail verify's
    signature check (bad_checkpoint_signature) instead of failing to run."""
    position, head_hash, signed_at, key_id, algorithm, signature = row
    try:
        at = int(position)
    except _UNREADABLE:
        at = UNREADABLE_POSITION
    try:
        return Checkpoint(
            at,
            str(head_hash),
            from_us(int(signed_at)),
            str(key_id),
            str(algorithm),
            bytes.fromhex(signature),
        )
    except _UNREADABLE:
        return Checkpoint(at, str(head_hash), from_us(0), str(key_id), str(algorithm), b"")


class SqlAuditLog:
    """The unit of work's audit repository in the group commit: events staged per work, chained
    and written when the group commits (see adapters.store.unit_of_work)."""

    def __init__(self, cur: Any, dialect: Dialect) -> None:
        self._cur = cur
        self._dialect = dialect
        self._kept: list[AuditEvent] = []
        self._staged: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> None:
        self._staged.append(event)

    def settle(self, keep: bool) -> None:
        if keep:
            self._kept.extend(self._staged)
        self._staged.clear()

    def flush(self) -> None:
        if self._kept:
            append_entries(self._cur, self._dialect, self._kept)
            self._kept.clear()


class SqlAuditStore:
    """The AuditStore port: appends in transactions of their own, and the read side."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, events: Sequence[AuditEvent]) -> list[AuditEntry]:
        with self._db.pooled_transaction() as cur:
            return append_entries(cur, self._db.dialect, events)

    def head(self) -> tuple[int, str]:
        row = self._db.rows("SELECT position, entry_hash FROM audit_head WHERE id = 1")[0]
        return int(row[0]), str(row[1])

    def entries(self, after: int, limit: int) -> list[AuditEntry]:
        rows = self._db.rows(
            f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?", (after, limit)
        )
        return [entry(r) for r in rows]

    def search(self, where: AuditFilter, after: int, limit: int) -> list[AuditEntry]:
        clauses, params = ["position > ?"], [after]
        if where.partner:
            clauses.append("partner = ?")
            params.append(where.partner)  # type: ignore[arg-type]
        if where.kind is not None:
            clauses.append("kind = ?")
            params.append(where.kind.value)  # type: ignore[arg-type]
        if where.since is not None:
            clauses.append("recorded_at >= ?")
            params.append(to_us(where.since))
        if where.until is not None:
            clauses.append("recorded_at < ?")
            params.append(to_us(where.until))
        rows = self._db.rows(
            f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY position LIMIT ?",
            (*params, limit),
        )
        return [entry(r) for r in rows]

    def about(self, subject: str) -> list[AuditEntry]:
        rows = self._db.rows(f"{_SELECT} WHERE subject = ? ORDER BY position", (subject,))
        return [entry(r) for r in rows]

    def checkpoints(self) -> list[Checkpoint]:
        return [_checkpoint(r) for r in self._db.rows(f"{_CHECKPOINT} ORDER BY position")]

    def last_checkpoint(self) -> Checkpoint | None:
        rows = self._db.rows(f"{_CHECKPOINT} ORDER BY position DESC LIMIT 1")
        return _checkpoint(rows[0]) if rows else None

    def checkpoint_from(self, position: int) -> Checkpoint | None:
        rows = self._db.rows(
            f"{_CHECKPOINT} WHERE position >= ? ORDER BY position LIMIT 1", (position,)
        )
        return _checkpoint(rows[0]) if rows else None

    def add_checkpoint(self, checkpoint: Checkpoint) -> bool:
        with self._db.pooled_transaction() as cur:
            cur.execute(
                self._db.sql(
                    "INSERT INTO audit_checkpoints (position, head_hash, signed_at, key_id, "
                    "algorithm, signature) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
                ),
                (
                    checkpoint.position,
                    checkpoint.head_hash,
                    to_us(checkpoint.signed_at),
                    checkpoint.key_id,
                    checkpoint.algorithm,
                    checkpoint.signature.hex(),
                ),
            )
            added: bool = cur.rowcount == 1
        return added

    # --- evidence -------------------------------------------------------------------------

    def message(self, e: AuditEntry) -> RawMessage | None:
        """The stored message an entry names: received (messages, by partner and digest) or
        sent (outbound_messages, by partner, sequence and digest)."""
        v = e.event
        try:
            digest = bytes.fromhex(v.digest)
        except ValueError:
            return None
        if v.kind is AuditKind.MESSAGE_SENT:
            rows = self._db.rows(
                "SELECT wire_format, payload, key_id, algorithm, signature, receipt, "
                "receipt_signature, receipt_key_id, receipt_algorithm FROM outbound_messages "
                "WHERE partner = ? AND sequence = ? AND digest = ?",
                (v.partner, v.sequence, digest),
            )
            direction = "sent"
        else:
            table, who = (
                ("outcome_reports", "reporter")
                if v.kind is AuditKind.OUTCOME_REPORT_RECEIVED
                else ("messages", "partner")
            )
            rows = self._db.rows(
                "SELECT wire_format, payload, key_id, algorithm, signature, receipt, "
                f"receipt_signature, receipt_key_id, receipt_algorithm FROM {table} "
                f"WHERE {who} = ? AND digest = ?",
                (v.partner, digest),
            )
            direction = "received"
        if not rows:
            return None
        (wire_format, payload, key_id, algorithm, signature, receipt, receipt_signature,
         receipt_key_id, receipt_algorithm) = rows[0]  # fmt: skip
        return RawMessage(
            direction=direction,
            partner=v.partner,
            sequence=v.sequence or 0,
            wire_format=wire_format,
            payload=bytes(payload) if payload else None,  # purged by retention: empty or NULL
            digest=v.digest,
            key_id=key_id,
            algorithm=algorithm,
            signature=bytes(signature or b""),
            receipt=bytes(receipt) if receipt else None,
            receipt_signature=bytes(receipt_signature or b""),
            receipt_key_id=receipt_key_id or "",
            receipt_algorithm=receipt_algorithm or "",
        )


class AuditCheckpointer:
    """Writes a signed checkpoint whenever one is due (every N entries or T seconds), from a
    background thread; replicas racing for one position store it once."""

    def __init__(self, checkpoints: AuditCheckpoints, poll_seconds: float = 1.0) -> None:
        self._checkpoints = checkpoints
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._poll):
            try:
                self._checkpoints.due()
            except Exception:  # the store may be down a moment: the next round tries again
                log.warning("audit checkpoint not written", exc_info=True)


def sent_event(m: NewMessage, resealed: bool = False) -> AuditEvent:
    """A home message sealed for a partner: its bytes are fixed and go out next."""
    return AuditEvent(
        AuditKind.MESSAGE_SENT,
        m.sealed_at,
        partner=m.partner,
        actor_subject="gateway",
        subject=sent_message_id(m.partner, m.sequence, m.digest),
        sequence=m.sequence,
        digest=m.digest.hex(),
        key_id=m.key_id,
        detail={
            "wire_format": m.wire_format,
            "algorithm": m.algorithm,
            "records": len(m.outbox_ids),
            "signature_sha256": sha256_hex(m.signature) if m.signature else "",
            "signer_key_sha256": m.signer_key_sha256,
            "resealed": resealed,
        },
    )


def receipt_event(
    partner: str, sequence: int, digest: bytes, receipt: SettledReceipt, at: datetime
) -> AuditEvent:
    """A partner's verified receipt settled a message we sent."""
    return AuditEvent(
        AuditKind.RECEIPT_RECEIVED,
        at,
        partner=partner,
        actor_subject=f"partner {partner}",
        subject=sent_message_id(partner, sequence, digest),
        sequence=sequence,
        digest=digest.hex(),
        key_id=receipt.key_id,
        receipt_digest=sha256_hex(receipt.receipt),
        detail={
            "peer_message_id": receipt.peer_message_id,
            "algorithm": receipt.algorithm,
            "receipt_key_sha256": receipt.key_sha256,
        },
    )


def report_event(report: ReceivedReport, sealed: SealedReceipt) -> AuditEvent:
    """A partner's outcome report stored, with the receipt we signed."""
    return AuditEvent(
        AuditKind.OUTCOME_REPORT_RECEIVED,
        report.received_at,
        partner=report.partner,
        actor_subject=f"partner {report.partner}",
        actor_fingerprint=report.peer,
        subject=report.message_id,
        digest=report.digest.hex(),
        key_id=report.key_id,
        receipt_digest=sha256_hex(sealed.receipt),
        detail={
            "wire_format": report.wire_format,
            "algorithm": report.algorithm,
            "signature_sha256": sha256_hex(report.signature) if report.signature else "",
            "signer_key_sha256": report.signer_key_sha256,
        },
    )
