"""AuditService.GetAuditEntry over real gRPC and mutual TLS: the entry at a position, exactly as
ListAuditEntries lists it; NOT_FOUND for a position the log has no entry at; a viewer may read
it, a partner may not."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest

from gateway.pb import audit_pb2, audit_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit


def audit(live: Live, who: str = "admin") -> audit_pb2_grpc.AuditServiceStub:
    stub: audit_pb2_grpc.AuditServiceStub = audit_pb2_grpc.AuditServiceStub(live.channel(who))
    return stub


def get(live: Live, position: int, who: str = "admin") -> audit_pb2.AuditEntry:
    answer = audit(live, who).GetAuditEntry(
        audit_pb2.GetAuditEntryRequest(position=position), timeout=10
    )
    return answer.entry


@pytest.fixture
def gateway(start_gateway: Callable[..., Live]) -> Live:
    live = start_gateway()
    client = partner_client(live)
    for sequence in (1, 2, 3):
        submit(client, sequence, record(f"SG00000000000{sequence}"))
    return live


def test_each_entry_is_read_at_its_position(gateway: Live) -> None:
    """SG sends three messages. Result: GetAuditEntry at each listed position answers the very
    entry ListAuditEntries lists there."""
    listed = audit(gateway).ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), timeout=10)
    assert len(listed.entries) >= 3
    for entry in listed.entries:
        assert get(gateway, entry.position) == entry


def test_a_viewer_reads_an_entry(gateway: Live) -> None:
    assert get(gateway, 1, "viewer").position == 1


@pytest.mark.parametrize("position", [0, 999, 2**63, 2**64 - 1])
def test_no_entry_there_is_not_found(gateway: Live, position: int) -> None:
    expect_error(
        lambda: get(gateway, position),
        grpc.StatusCode.NOT_FOUND,
        "audit.entry_unknown",
    )


def test_a_partner_may_not_read_the_log(gateway: Live) -> None:
    expect_error(
        lambda: get(gateway, 1, "SG"),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )
