"""Preloading a store with many operators, so cost can be measured as data grows."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.store import tables
from adapters.store.sql import SqlStore
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus, StatusEvent
from gateway.times import to_us


def code(i: int) -> str:
    return f"SG{i:012d}"


def preload(path: Path, count: int, chunk: int = 20_000) -> float:
    """Writes ``count`` SG operators (one version each) into a fresh SQLite file; seconds taken."""
    t0 = time.perf_counter()
    store = SqlStore.open(f"sqlite:///{path}", 1)
    store.migrate()
    db = store.database
    effective = datetime.now(UTC) - timedelta(days=30)
    meta = MessageMeta("SG-0-preload", 0, effective, "SG-2026-1", "ed25519")
    sql = db.sql(tables.insert("record_versions", ("administration", *tables.RECORD_COLUMNS)))
    for start in range(0, count, chunk):
        rows = [
            tables.record_row(
                "SG",
                AeoRecord(
                    code(i),
                    f"Operator {i}",
                    f"{i} Harbour Road",
                    RecordStatus.VALID,
                    "STP-Plus" if i % 4 else "STP",
                    1,
                    effective,
                    StatusEvent.GRANTED,
                ),
                meta,
            )
            for i in range(start, min(count, start + chunk))
        ]
        with db.transaction() as cur:
            cur.executemany(sql, rows)
    # The partner's sequence row, as a gateway that received the preload would hold it: the
    # recognition answers' freshness reads it; ingest continues from sequence 1. Heard from just
    # now: SG's file withholds benefits once its data is stale, and the bench measures answers
    # that grant them.
    with db.transaction() as cur:
        cur.execute(
            db.sql(
                "INSERT INTO partner_sequences (partner, last_sequence, gaps, last_received_at) "
                "VALUES (?, 0, '[]', ?)"
            ),
            ("SG", to_us(datetime.now(UTC))),
        )
    store.stop()
    return time.perf_counter() - t0


def fresh_copy(template: Path | None, target: Path) -> Path:
    """A copy of the preloaded template (or nothing: the gateway creates an empty store)."""
    if template is not None:
        shutil.copyfile(template, target)
    return target
