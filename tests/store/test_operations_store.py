"""What operations read of the store, and the delivery results the metrics count, on real
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.ops.metrics import GatewayMetrics, ObservedSqlOutbound
from adapters.store.operations import SqlOperations, known_migrations
from adapters.store.outbound import SqlOutbound
from adapters.store.sql import SqlStore
from gateway.app.deliver import NewMessage
from gateway.domain.errors import StoreUnavailable
from gateway.domain.outbound import QueuedChange, SettledReceipt
from gateway.times import to_us

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def queue(store: SqlStore, partner: str, queued_at: datetime, *versions: int) -> None:
    with store.database.reading() as conn:
        cur = conn.cursor()
        for version in versions:
            cur.execute(
                store.database.sql(
                    "INSERT INTO outbox (partner, identifier, version, queued_at) "
                    "VALUES (?, 'AEOCN0123456781', ?, ?)"
                ),
                (partner, version, to_us(queued_at)),
            )


def sealed(partner: str, sequence: int, changes: list[QueuedChange], payload: bytes) -> NewMessage:
    return NewMessage(
        partner, sequence, "native", payload, payload.ljust(32, b"-"), "CN-GW-2", "ed25519",
        b"s", min(c.queued_at for c in changes), NOW, tuple(c.id for c in changes),
    )  # fmt: skip


def test_outbox_backlog_agrees_with_each_partners_summary(store: SqlStore) -> None:
    """SG has 3 changes queued, 2 of them sealed into a message in flight; KR 1 change queued
    later; JP nothing. Result: one grouped read gives SG 3 with its oldest change's time, KR 1,
    no JP, each as SqlOutbound.summary says for that partner."""
    queue(store, "SG", NOW - timedelta(hours=2), 1, 2)
    queue(store, "SG", NOW - timedelta(hours=1), 3)
    queue(store, "KR", NOW - timedelta(minutes=5), 1)
    outbound = SqlOutbound(store.database)
    changes = outbound.unsealed("SG", 2)
    assert outbound.seal(sealed("SG", 1, changes, b"one")) is not None

    backlog = SqlOperations(store.database).outbox_backlog()
    assert backlog == {
        "SG": (3, NOW - timedelta(hours=2), 0),
        "KR": (1, NOW - timedelta(minutes=5), 0),
    }
    for code, (count, oldest, dead) in backlog.items():
        summary = outbound.summary(code)
        assert (summary.backlog, summary.oldest_queued_at, summary.dead_letters) == (
            count,
            oldest,
            dead,
        )


def test_delivery_results_are_counted_once_each_by_partner_and_reason(store: SqlStore) -> None:
    """Through the observed outbound store: a failed attempt (partner.unavailable), a failure
    whose receipt did not verify (receipt.signature_invalid), a settle, and a dead letter.
    Result: messages_out counts failed by each reason, settled 1 and dead 1; the receipt failure
    is also a verification failure out; a late settle that writes nothing counts nothing."""
    metrics = GatewayMetrics()
    outbound = ObservedSqlOutbound(store.database, metrics)
    queue(store, "SG", NOW, 1)
    queue(store, "KR", NOW, 1)
    sg = outbound.seal(sealed("SG", 1, outbound.unsealed("SG", 10), b"sg"))
    kr = outbound.seal(sealed("KR", 1, outbound.unsealed("KR", 10), b"kr"))
    assert sg is not None
    assert kr is not None
    later = NOW + timedelta(seconds=1)
    assert outbound.failed("SG", 1, sg.digest, "partner.unavailable", later)
    assert outbound.failed("SG", 1, sg.digest, "receipt.signature_invalid", later)
    receipt = SettledReceipt(b"r", b"s", "SG-2026-1", "ed25519", "SG-1")
    assert outbound.settle("SG", 1, sg.digest, receipt, later)
    assert not outbound.settle("SG", 1, b"x" * 32, receipt, later)
    outbound.dead_letter("KR", 1, later)

    text = generate_latest(metrics.registry).decode()
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.endswith("_total")
    }

    def out(partner: str, outcome: str, reason: str = "") -> float:
        labels = (("outcome", outcome), ("partner", partner), ("reason", reason))
        return found[("aeo_gateway_messages_out_total", labels)]

    assert out("SG", "failed", "partner.unavailable") == 1
    assert out("SG", "failed", "receipt.signature_invalid") == 1
    assert out("SG", "settled") == 1
    assert out("KR", "dead") == 1
    key = (
        "aeo_gateway_verification_failures_total",
        (("direction", "out"), ("partner", "SG"), ("reason", "receipt.signature_invalid")),
    )
    assert found[key] == 1
    assert sum(v for (n, _), v in found.items() if n == "aeo_gateway_messages_out_total") == 4


def test_last_received_names_partners_heard_from(store: SqlStore) -> None:
    """SG's sequence row says its last message arrived at NOW; KR has a row but never a time.
    Result: last_received gives SG at NOW and nothing for KR."""
    with store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute(
            store.database.sql(
                "INSERT INTO partner_sequences (partner, last_sequence, gaps, last_received_at) "
                "VALUES ('SG', 1, '[]', ?), ('KR', 0, '[]', NULL)"
            ),
            (to_us(NOW),),
        )
    assert SqlOperations(store.database).last_received() == {"SG": NOW}


def test_pending_migrations_are_read_without_applying_them(store: SqlStore, tmp_path: Path) -> None:
    """A migrated store, then a fresh SQLite database. Result: none pending on the first;
    every migration pending on the second, which still has no schema_migrations table."""
    assert SqlOperations(store.database).pending_migrations() == []
    fresh = SqlStore.open(f"sqlite:///{tmp_path / 'fresh.db'}", read_pool_size=1)
    try:
        assert SqlOperations(fresh.database).pending_migrations() == known_migrations()
        assert SqlOperations(fresh.database).pending_migrations() == known_migrations()
    finally:
        fresh.database.close()


def test_probe_of_an_unreachable_postgresql_raises_store_unavailable(
    postgres_server: str,
) -> None:
    """A probe of a PostgreSQL nobody listens on. Result: StoreUnavailable (transient)."""
    dead = SqlStore.open("postgresql://postgres@127.0.0.1:1/x?connect_timeout=1", 1)
    try:
        with pytest.raises(StoreUnavailable):
            SqlOperations(dead.database).probe()
    finally:
        dead.database.close()
