"""Preloading a store with many operators, so cost can be measured as data grows."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.store.dialects import from_url
from adapters.store.sql_store import SqlStore
from gateway.domain.records import AeoRecord, MessageMeta, RecordStatus, StatusEvent


def code(i: int) -> str:
    return f"SG{i:012d}"


def preload(path: Path, count: int, chunk: int = 20_000) -> float:
    """Writes ``count`` SG operators (one version each) into a fresh SQLite file; seconds taken."""
    t0 = time.perf_counter()
    store = SqlStore(from_url(f"sqlite:///{path}"))
    store.migrate()
    effective = datetime.now(UTC) - timedelta(days=30)
    meta = MessageMeta("SG-0-preload", 0, effective, "SG-2026-1", "ed25519")
    for start in range(0, count, chunk):
        records = [
            AeoRecord(
                code(i),
                f"Operator {i}",
                f"{i} Harbour Road",
                RecordStatus.VALID,
                "STP-Plus" if i % 4 else "STP",
                1,
                effective,
                StatusEvent.GRANTED,
            )
            for i in range(start, min(count, start + chunk))
        ]
        with store.transaction() as tx:
            tx.insert_versions("SG", records, meta)
    store.close()
    return time.perf_counter() - t0


def fresh_copy(template: Path | None, target: Path) -> Path:
    """A copy of the preloaded template (or nothing: the gateway creates an empty store)."""
    if template is not None:
        shutil.copyfile(template, target)
    return target
