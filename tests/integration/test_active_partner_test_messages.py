"""Test messages from a partner that is already active: answered, audited, and not recorded in
its lifecycle (whose events every replica reads)."""

from __future__ import annotations

import sqlite3

from gateway.pb import exchange_pb2, exchange_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope


def rows(live: Live, sql: str) -> int:
    path = live.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_an_active_partners_test_messages_grow_no_lifecycle_history(live: Live) -> None:
    """SG, active, sends three test messages. Result: each gets a signed receipt applying
    nothing, each call is in the audit log, and SG's lifecycle has no new event (a busy
    partner's tests would otherwise grow the table every replica reads)."""
    signer = live.workspace.signer("SG")
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(live.channel("SG"))
    for sequence in (1, 2, 3):
        answer = stub.SubmitTestMessage(
            exchange_pb2.SubmitTestMessageRequest(
                envelope=envelope(signer, "SG", sequence, record(version=sequence))
            ),
            timeout=10,
        )
        receipt = exchange_pb2.Receipt.FromString(answer.receipt.receipt)
        assert (receipt.records_received, receipt.records_applied) == (1, 0)
    assert rows(live, "SELECT COUNT(*) FROM partner_lifecycle WHERE partner = 'SG'") == 0
    audited = "SELECT COUNT(*) FROM audit_entries WHERE partner = 'SG'"
    assert rows(live, audited) >= 3
