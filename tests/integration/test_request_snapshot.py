"""An administrator asks a partner for a snapshot (AdminService.RequestPartnerSnapshot) over
real mutual TLS: the partner learns it from the signed receipt of its next message, and its
next snapshot message clears it. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from gateway.cli import main
from gateway.client import AdminClient
from gateway.pb import admin_pb2, admin_pb2_grpc, audit_pb2, audit_pb2_grpc, common_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, receipt_of, submit

METHOD = "/aeo.gateway.v1.AdminService/RequestPartnerSnapshot"


@pytest.fixture(params=["sqlite", "postgresql"])
def live_on(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    if request.param == "sqlite":
        return start_gateway()
    url: str = request.getfixturevalue("postgres_url")
    return start_gateway(database_url=url)


def request_snapshot(live: Live, code: str, who: str = "admin") -> admin_pb2.PartnerState:
    request = admin_pb2.RequestPartnerSnapshotRequest(name=f"partners/{code}")
    with live.channel(who) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        response: admin_pb2.RequestPartnerSnapshotResponse = stub.RequestPartnerSnapshot(
            request, timeout=10
        )
    return response.partner_state


def test_the_next_receipt_asks_for_a_snapshot_until_one_arrives(live_on: Live) -> None:
    """SG sends message 1; an admin requests a snapshot; SG sends delta 2, then snapshot 3.
    Result: the answer is SG's state with needs_snapshot and its last message time unchanged
    (a request is not a message: freshness stays); receipt 2 says needs_snapshot; receipt 3
    does not, nor does the state afterwards."""
    live = live_on
    client = partner_client(live)
    assert not receipt_of(live, submit(client, 1, record(version=1))).needs_snapshot
    with live.channel("admin") as channel:
        before = AdminClient(channel).partner_state("SG")

    state = request_snapshot(live, "SG")
    assert state.name == "partners/SG/state"
    assert state.needs_snapshot
    assert state.last_sequence == 1
    assert state.last_received_at == before.last_received_at
    assert state.stale == before.stale

    delta = receipt_of(live, submit(client, 2, record(version=2)))
    assert delta.needs_snapshot
    snapshot = receipt_of(
        live, submit(client, 3, record(version=3), kind=common_pb2.BATCH_KIND_SNAPSHOT)
    )
    assert not snapshot.needs_snapshot
    with live.channel("admin") as channel:
        after = AdminClient(channel).partner_state("SG")
    assert (after.needs_snapshot, after.last_sequence) == (False, 3)


def test_a_partner_that_never_sent_is_asked_in_its_first_receipt(
    start_gateway: Callable[..., Live],
) -> None:
    """An admin requests a snapshot of SG before SG ever sent; SG sends delta 1. Result: the
    state says needs_snapshot and still no message time; receipt 1 says needs_snapshot."""
    live = start_gateway()
    state = request_snapshot(live, "SG")
    assert state.needs_snapshot
    assert not state.HasField("last_received_at")
    assert receipt_of(live, submit(partner_client(live), 1, record())).needs_snapshot


def test_the_request_is_an_audited_admin_action(start_gateway: Callable[..., Live]) -> None:
    """An admin requests a snapshot of SG, then of ZZ (unknown), then with a malformed name; a
    viewer tries too. Result: NOT_FOUND partner.not_found, INVALID_ARGUMENT query.invalid,
    PERMISSION_DENIED role.read_only; the audit log holds an admin.action entry per admin call
    with its status."""
    live = start_gateway()
    request_snapshot(live, "SG")
    expect_error(
        lambda: request_snapshot(live, "ZZ"), grpc.StatusCode.NOT_FOUND, "partner.not_found"
    )
    expect_error(
        lambda: request_snapshot(live, "SG/state"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "query.invalid",
    )
    expect_error(
        lambda: request_snapshot(live, "SG", who="viewer"),
        grpc.StatusCode.PERMISSION_DENIED,
        "role.read_only",
    )
    with live.channel("admin") as channel:
        found = audit_pb2_grpc.AuditServiceStub(channel).ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(kind="admin.action"), timeout=10
        )
    mine = [e for e in found.entries if e.subject == METHOD]
    statuses = [json.loads(e.detail_json)["status"] for e in mine]
    assert statuses[:3] == ["OK", "NOT_FOUND", "INVALID_ARGUMENT"]


def test_the_cli_requests_a_snapshot(
    start_gateway: Callable[..., Live], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aeo-gateway partners request-snapshot sg`. Result: exit 0, a line naming partners/SG;
    the state says needs_snapshot. For an unknown partner: exit non-zero, partner.not_found."""
    live = start_gateway()
    config = tmp_path / "cli.toml"
    config.write_text(
        f'listen = "127.0.0.1:{live.gateway.port}"\npki_dir = "{live.settings.pki_dir}"\n'
        f'home_ca = "{live.settings.home_ca}"\n'
    )
    assert main(["--config", str(config), "partners", "request-snapshot", "sg"]) == 0
    assert "partners/SG: snapshot requested" in capsys.readouterr().out
    with live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").needs_snapshot
    assert main(["--config", str(config), "partners", "request-snapshot", "ZZ"]) != 0
    assert "partner.not_found" in capsys.readouterr().err
