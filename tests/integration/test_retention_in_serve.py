"""The scheduled retention purge inside a serving gateway: raw bytes of messages exchanged
with the EU before its 400 days are emptied without anyone asking; digests stay."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.store.sql import SqlStore
from gateway.times import to_us
from tests.conftest import Live

LONG_AGO = datetime.now(UTC) - timedelta(days=500)
LATELY = datetime.now(UTC) - timedelta(days=10)


def seeded(tmp_path: Path) -> str:
    """A migrated database holding two messages from the EU: 500 and 10 days old."""
    url = f"sqlite:///{tmp_path / 'retained.db'}"
    store = SqlStore.open(url)
    store.migrate()
    with store.database.transaction() as cur:
        for n, at in ((1, LONG_AGO), (2, LATELY)):
            cur.execute(
                "INSERT INTO messages (partner, digest, message_id, sequence, kind, issued_at, "
                "received_at, wire_format, key_id, algorithm, payload, signature, peer, "
                "receipt, receipt_signature, receipt_key_id, receipt_algorithm) VALUES "
                f"({', '.join('?' * 17)})",
                ("EU", bytes([n]) * 32, f"EU-{n}", n, "delta", to_us(at), to_us(at), "xmldsig",
                 "EU-2026-1", "rsa-pkcs1-sha256", b"<xml/>", b"", "peer", b"r", b"s",
                 "CN-GW-1", "ed25519"),
            )  # fmt: skip
    store.database.close()
    return url


def payloads(live: Live) -> list[tuple[Any, ...]]:
    with live.gateway.store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute("SELECT sequence, payload, digest, purged_at FROM messages ORDER BY sequence")
        return [(s, bytes(p), bytes(d), at) for s, p, d, at in cur.fetchall()]


def test_serve_purges_what_is_past_the_partners_retention_on_its_own(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """A gateway serving with a purge every 50 ms over a database holding an EU message 500
    days old and one 10 days old. Result: the old one's payload is emptied, its digest kept,
    purged_at set; the recent one is untouched."""
    live = start_gateway(database_url=seeded(tmp_path), retention_purge_interval_seconds=0.05)
    deadline = time.monotonic() + 30
    while payloads(live)[0][3] is None:
        assert time.monotonic() < deadline, "the scheduled purge did not run"
        time.sleep(0.05)
    old, recent = payloads(live)
    assert (old[1], old[2]) == (b"", bytes([1]) * 32)
    assert (recent[1], recent[2], recent[3]) == (b"<xml/>", bytes([2]) * 32, None)


def test_an_interval_of_zero_schedules_no_purge(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """retention_purge_interval_seconds = 0. Result: no purge thread; the old message keeps
    its bytes."""
    live = start_gateway(database_url=seeded(tmp_path), retention_purge_interval_seconds=0)
    assert live.gateway.retention is None
    assert payloads(live)[0][1] == b"<xml/>"
