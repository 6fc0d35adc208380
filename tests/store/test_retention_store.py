"""Retention on real SQLite and PostgreSQL: raw bytes of messages exchanged with a partner
before its retention are emptied in bounded batches; digests, sequences, ids and times stay;
a message still being sent is never touched; a dry run only counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from adapters.store.outbound import SqlOutbound
from adapters.store.retention import SqlRetention
from adapters.store.sql import SqlStore
from gateway.app.retention import Purged, PurgeRetention
from gateway.domain.errors import MessagePurged
from gateway.domain.partners import DataProtection
from gateway.times import to_us
from tests.factories import NOW, directory, singapore

OLD = NOW - timedelta(days=40)
RECENT = NOW - timedelta(days=5)


@dataclass
class Clock:
    at: datetime = NOW

    def now(self) -> datetime:
        return self.at


def run(store: SqlStore, sql: str, *rows: tuple[Any, ...]) -> None:
    with store.database.transaction() as cur:
        cur.executemany(store.database.sql(sql), rows)


def rows(store: SqlStore, sql: str) -> list[tuple[Any, ...]]:
    with store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute(store.database.sql(sql))
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in cur]


def received(partner: str, n: int, at: datetime) -> tuple[Any, ...]:
    digest = bytes([n]) * 32
    return (
        partner, digest, f"{partner}-{n}", n, "delta", to_us(at), to_us(at), "native", "k",
        "ed25519", b"payload-%d" % n, b"sig", "peer", b"receipt", b"rsig", "CN-GW-1", "ed25519",
    )  # fmt: skip


def sent(partner: str, n: int, state: str, at: datetime) -> tuple[Any, ...]:
    settled = to_us(at) if state == "settled" else None
    dead = to_us(at) if state == "dead" else None
    receipt = b"their-receipt" if state == "settled" else None
    return (
        partner, n, state, "native", b"sealed-%d" % n, bytes([n]) * 32, "CN-GW-1", "ed25519",
        b"sig", 1, to_us(at), to_us(at), to_us(at), to_us(at), 1, to_us(at), settled, dead,
        receipt, receipt and b"their-sig",
    )  # fmt: skip


def report(n: int, at: datetime) -> tuple[Any, ...]:
    return (
        "SG", bytes([n]) * 32, f"r{n}", to_us(at), to_us(at), "native", "k", "ed25519",
        b"report", b"sig", "peer", b"receipt", b"rsig", "CN-GW-1", "ed25519",
    )  # fmt: skip


def seed(store: SqlStore) -> None:
    run(
        store,
        "INSERT INTO messages (partner, digest, message_id, sequence, kind, issued_at, "
        "received_at, wire_format, key_id, algorithm, payload, signature, peer, receipt, "
        "receipt_signature, receipt_key_id, receipt_algorithm) "
        f"VALUES ({', '.join('?' * 17)})",
        *(received("SG", n, OLD) for n in (1, 2, 3, 4, 5)),
        received("SG", 6, RECENT),
        received("KR", 7, OLD),
    )
    run(
        store,
        "INSERT INTO outbound_messages (partner, sequence, state, wire_format, payload, digest, "
        "key_id, algorithm, signature, records, queued_at, age_from, sealed_at, "
        "first_sealed_at, attempts, next_attempt_at, settled_at, dead_at, receipt, "
        f"receipt_signature) VALUES ({', '.join('?' * 20)})",
        sent("SG", 1, "settled", OLD),
        sent("SG", 2, "dead", OLD),
        sent("SG", 3, "settled", RECENT),
        sent("SG", 4, "sending", OLD),
    )
    run(
        store,
        "INSERT INTO outcome_reports (reporter, digest, message_id, issued_at, received_at, "
        "wire_format, key_id, algorithm, payload, signature, peer, receipt, receipt_signature, "
        f"receipt_key_id, receipt_algorithm) VALUES ({', '.join('?' * 15)})",
        *(report(n, at) for n, at in ((1, OLD), (2, RECENT))),
    )


def purge(store: SqlStore, dry_run: bool = False, batch: int = 2) -> list[Purged]:
    snapshot = directory(
        singapore(data_protection=DataProtection(retention=timedelta(days=30))),
    )
    return PurgeRetention(SqlRetention(store.database, batch), Clock())(snapshot, dry_run)


def test_raw_bytes_past_retention_are_emptied_and_digests_kept(store: SqlStore) -> None:
    """SG keeps 30 days: five received messages 40 days old and one 5 days old; sent: one
    settled and one dead 40 days ago, one settled 5 days ago, one still sending since then;
    an outcome report 40 days old and one 5 days old; KR (no retention) has an old one.
    Result: the five old received, the old settled message and the old report are emptied
    (payload, signature, the partner's receipt bytes), in batches of two; digests, ids and
    sequences stay; the recent ones, the unsettled one, the dead letter (never settled) and
    KR's keep their bytes."""
    seed(store)
    assert purge(store) == [Purged("SG", 5, 1, 1)]
    got = rows(
        store,
        "SELECT partner, sequence, payload, signature, digest, message_id, receipt, "
        "purged_at FROM messages ORDER BY partner, sequence",
    )
    kr, *sg = got
    assert kr[2] == b"payload-7"
    assert kr[7] is None
    assert [(s[1], s[2], s[3]) for s in sg] == [
        *((n, b"", b"") for n in (1, 2, 3, 4, 5)),
        (6, b"payload-6", b"sig"),
    ]
    assert [s[4] for s in sg] == [bytes([n]) * 32 for n in (1, 2, 3, 4, 5, 6)]
    assert all(s[6] == b"receipt" for s in sg)  # the gateway's own answer stays
    assert [s[7] == to_us(NOW) for s in sg] == [True] * 5 + [False]
    out = rows(
        store,
        "SELECT sequence, state, payload, signature, digest, receipt, receipt_signature, "
        "purged_at FROM outbound_messages ORDER BY sequence",
    )
    assert [(o[0], o[2], o[3], o[5], o[6]) for o in out] == [
        (1, b"", b"", b"", b""),
        (2, b"sealed-2", b"sig", None, None),
        (3, b"sealed-3", b"sig", b"their-receipt", b"their-sig"),
        (4, b"sealed-4", b"sig", None, None),
    ]
    assert [o[4] for o in out] == [bytes([n]) * 32 for n in (1, 2, 3, 4)]
    assert [o[7] is not None for o in out] == [True, False, False, False]
    reports = rows(store, "SELECT payload, digest FROM outcome_reports ORDER BY message_id")
    assert reports == [(b"", bytes([1]) * 32), (b"report", bytes([2]) * 32)]


def test_a_dry_run_counts_and_changes_nothing_and_a_second_purge_finds_nothing(
    store: SqlStore,
) -> None:
    """A dry run, then a purge, then another. Result: the dry run counts what the purge then
    empties; the dry run changes no byte; the second purge finds nothing."""
    seed(store)
    assert purge(store, dry_run=True) == [Purged("SG", 5, 1, 1)]
    assert rows(store, "SELECT COUNT(*) FROM messages WHERE purged_at IS NOT NULL") == [(0,)]
    assert purge(store, batch=500) == [Purged("SG", 5, 1, 1)]
    assert purge(store) == [Purged("SG", 0, 0, 0)]


def test_a_dead_letter_past_retention_keeps_its_bytes_and_can_still_be_redriven(
    store: SqlStore,
) -> None:
    """The dead letter SG 2 died 40 days ago (SG keeps 30 days); retention purges, then an
    admin re-drives it by number. Result: the purge leaves it whole (it was never settled:
    purging it would leave SG a permanent gap in the gateway's sequence), and the re-drive
    puts it back to sending with the very bytes it was sealed with."""
    seed(store)
    purge(store)
    assert rows(
        store, "SELECT payload, signature, purged_at FROM outbound_messages WHERE sequence = 2"
    ) == [(b"sealed-2", b"sig", None)]
    assert SqlOutbound(store.database).redrive("SG", [2], NOW) == [("SG", 2)]
    assert rows(store, "SELECT state, payload FROM outbound_messages WHERE sequence = 2") == [
        ("sending", b"sealed-2")
    ]


def test_a_dead_letter_whose_bytes_were_purged_cannot_be_redriven(store: SqlStore) -> None:
    """The dead letter SG 2's bytes were purged by an earlier release (which purged dead
    letters), then an admin re-drives it by number, then every dead letter of SG. Result: by
    number: message.purged; all: nothing re-driven (its bytes are gone), and it stays dead."""
    seed(store)
    run(
        store,
        "UPDATE outbound_messages SET payload = ?, signature = ?, purged_at = ? WHERE sequence = ?",
        (b"", b"", to_us(NOW), 2),
    )
    outbound = SqlOutbound(store.database)
    with pytest.raises(MessagePurged) as refused:
        outbound.redrive("SG", [2], NOW)
    assert refused.value.metadata == {"partner": "SG", "sequence": "2"}
    assert outbound.redrive("SG", [], NOW) == []
    assert rows(store, "SELECT state FROM outbound_messages WHERE sequence = 2") == [("dead",)]


def test_partners_without_retention_are_left_alone(store: SqlStore) -> None:
    """A directory in which no partner has a retention. Result: nothing purged, nothing
    reported."""
    seed(store)
    found = PurgeRetention(SqlRetention(store.database), Clock())(directory(singapore()))
    assert found == []
    assert rows(store, "SELECT COUNT(*) FROM messages WHERE purged_at IS NOT NULL") == [(0,)]
