"""Snapshot cost in the store: how long a full snapshot's commit takes as the partner's set grows,
with the operators it leaves out found set-based (one INSERT ... SELECT), and what the
reconciliation digest over the set costs.

    python -m bench.snapshots [--operators 100000] [--named 10000] [--url postgresql://...]

Stores --operators SG operators, then commits through the real unit of work: a snapshot naming
--named of them (stale versions: nothing applied, the rest left out), the same snapshot again
(nobody newly absent), a one-record delta of a partner with open absences, and reads the digest.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import pki
from adapters.crypto.signatures import Signer
from adapters.receipts import ProtobufReceiptSealer
from adapters.store import tables
from adapters.store.sql import SqlStore
from bench.data import code
from gateway.app.submit import SubmitResult, expect_reads, record_message
from gateway.domain.exchange import VerifiedMessage
from gateway.domain.messages import DetachedSignature, InboundMessage
from gateway.domain.reconciliation import digest
from gateway.domain.records import AeoRecord, BatchKind, MessageMeta, RecordStatus, StatusEvent

SEALER = ProtobufReceiptSealer(Signer(pki.signing_key("ed25519"), "GW-1", "ed25519"))
EFFECTIVE = datetime.now(UTC) - timedelta(days=30)


def operator(i: int, version: int = 1) -> AeoRecord:
    return AeoRecord(
        code(i),
        f"Operator {i}",
        f"{i} Harbour Road",
        RecordStatus.VALID,
        "STP-Plus",
        version,
        EFFECTIVE,
        StatusEvent.GRANTED,
    )


def load(store: SqlStore, count: int, chunk: int = 20_000) -> None:
    db = store.database
    meta = MessageMeta("SG-0-preload", 0, EFFECTIVE, "SG-2026-1", "ed25519")
    sql = db.sql(tables.insert("record_versions", ("administration", *tables.RECORD_COLUMNS)))
    for start in range(0, count, chunk):
        rows = [
            tables.record_row("SG", operator(i), meta)
            for i in range(start, min(count, start + chunk))
        ]
        with db.transaction() as cur:
            cur.executemany(sql, rows)
    if db.dialect.name == "postgresql":  # as autovacuum would have by the time they are used
        with db.transaction() as cur:
            cur.execute("ANALYZE record_versions")


def message(sequence: int, kind: BatchKind, records: list[AeoRecord]) -> VerifiedMessage:
    payload = f"bench/{sequence}/{kind.value}/{len(records)}".encode()
    now = datetime.now(UTC)
    inbound = InboundMessage(
        "SG", "native", payload, DetachedSignature("k", "ed25519", b""), now, ""
    )
    return VerifiedMessage(
        inbound,
        "SG",
        sequence,
        now,
        kind,
        "SG-2026-1",
        "ed25519",
        tuple(records),
        (),
        hashlib.sha256(payload).digest(),
    )


def timed(store: SqlStore, msg: VerifiedMessage) -> float:
    t0 = time.perf_counter()
    result: SubmitResult = store.transactions.run(
        lambda uow: record_message(uow, msg, "native", SEALER),
        partners=("SG",),
        prefetch=lambda uow: expect_reads(uow, msg),
    )
    assert not result.duplicate
    return time.perf_counter() - t0


def absent(store: SqlStore) -> int:
    with store.database.reading() as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM record_absences").fetchone()
    return int(count)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--operators", type=int, default=100_000)
    parser.add_argument("--named", type=int, default=10_000)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlStore.open(opts.url or f"sqlite:///{Path(tmp) / 'snap.db'}", 2)
        store.migrate()
        load(store, opts.operators)
        store.start()
        try:
            named = [operator(i) for i in range(opts.named)]
            first = timed(store, message(1, BatchKind.SNAPSHOT, named))
            left_out = absent(store)
            again = timed(store, message(2, BatchKind.SNAPSHOT, named))
            delta = timed(store, message(3, BatchKind.DELTA, [operator(opts.named, 2)]))
            t0 = time.perf_counter()
            with store.reader.current_set("SG") as current:
                _, operators = digest(current.operators)
            reconcile = time.perf_counter() - t0
        finally:
            store.stop()
    print(f"{opts.operators:,} operators stored, snapshots naming {opts.named:,} of them")
    print(f"  snapshot leaving {left_out:,} out              {first * 1000:8.1f} ms")
    print(f"  the same set again (none newly absent)   {again * 1000:8.1f} ms")
    print(f"  delta of 1 record, partner with absences {delta * 1000:8.1f} ms")
    print(f"  reconciliation over {operators:,} operators  {reconcile * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
