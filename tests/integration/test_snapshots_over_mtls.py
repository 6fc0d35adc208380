"""Full snapshots, the reconciliation digest and vocabulary checks, through the live gateway
over mutual TLS."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest

from gateway.cli import main
from gateway.client import AdminClient, PartnerClient, native_envelope
from gateway.devkit import pb_records
from gateway.domain.records import AeoRecord, RecordStatus
from gateway.pb import admin_pb2, admin_pb2_grpc, common_pb2, exchange_pb2, recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import (
    expect_error,
    now,
    partner_client,
    receipt_of,
    recognition_client,
    submit,
)

A, B = "SG000000000001", "SG000000000002"
SNAPSHOT = common_pb2.BATCH_KIND_SNAPSHOT
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED


def snapshot(
    client: PartnerClient, sequence: int, at: datetime, *records: AeoRecord
) -> exchange_pb2.SubmitStatusMessageResponse:
    return client.submit(sequence, pb_records(records), SNAPSHOT, issued_at=at)


def answer(live: Live, code: str, at: datetime) -> tuple[int, str]:
    found = recognition_client(live).recognise(code, as_of=at)
    return found.outcome, found.reason


def test_an_operator_a_snapshot_leaves_out_is_not_recognised_until_named_again(
    live: Live,
) -> None:
    """SG sends snapshot 1 {A, B}, snapshot 2 {A}, a delta applying B v2, snapshot 4 {A},
    snapshot 5 {A, B v2 (stale)}, then snapshot 2 again. Result: B not recognised
    (record.absent_from_snapshot) from each leaving-out snapshot's issued_at, recognised
    before it and again from the delta and from snapshot 5; its history intact; the
    resubmission is a duplicate that changes nothing."""
    t = [now() - timedelta(seconds=s) for s in (250, 200, 150, 100, 50)]
    client = partner_client(live)
    snapshot(client, 1, t[0], record(A), record(B))
    second = native_envelope(client.signer, "SG", 2, pb_records([record(A)]), SNAPSHOT, t[1])
    client.submit_envelope(second)

    assert answer(live, B, t[1]) == (NOT_RECOGNISED, "record.absent_from_snapshot")
    assert answer(live, B, t[1] - timedelta(seconds=1)) == (RECOGNISED, "recognised")
    assert answer(live, A, t[1]) == (RECOGNISED, "recognised")

    submit(client, 3, record(B, version=2), issued_at=t[2])
    assert answer(live, B, t[2]) == (RECOGNISED, "recognised")
    assert answer(live, B, t[2] - timedelta(seconds=1))[1] == "record.absent_from_snapshot"

    snapshot(client, 4, t[3], record(A))
    assert answer(live, B, t[3])[1] == "record.absent_from_snapshot"
    fifth = receipt_of(live, snapshot(client, 5, t[4], record(A), record(B, version=2)))
    assert [r.reason for r in fifth.ignored_records] == ["record.stale_version"] * 2
    assert answer(live, B, t[4]) == (RECOGNISED, "recognised")

    reader = live.gateway.store.reader
    assert [s.record.version for s in reader.history("SG", B)] == [1, 2]
    with live.channel("admin") as channel:
        before = AdminClient(channel).reconciliation("SG")
        again = client.submit_envelope(second)
        after = AdminClient(channel).reconciliation("SG")
    assert again.duplicate
    assert (after.sha256, after.operators, after.last_sequence) == (
        before.sha256,
        2,
        5,
    )
    assert answer(live, B, t[4]) == (RECOGNISED, "recognised")


def test_the_reconciliation_digest_is_what_a_partner_computes_with_sort_and_sha256sum(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG holds A valid v1, B suspended v2 and a third operator a snapshot left out; the CLI
    asks for SG's reconciliation. Result: the same digest as `LC_ALL=C sort | sha256sum` over
    the partner's own lines, in text and JSON."""
    client = partner_client(live)
    submit(client, 1, record(A), record(B), record("SG000000000003"))
    submit(client, 2, record(B, version=2, status=RecordStatus.SUSPENDED))
    snapshot(client, 3, now(), record(A), record(B, version=2))

    # The partner's side, with no code of ours: one line per operator, any order.
    lines = f"{B}|2|suspended\n{A}|1|valid\n"
    shell = subprocess.run(
        ["sh", "-c", "LC_ALL=C sort | sha256sum"],
        input=lines.encode(),
        capture_output=True,
        check=True,
    )
    expected = shell.stdout.split()[0].decode()
    config = live.workspace.write_config(
        f"cli-{tmp_path.name}.toml", database_url=live.settings.database_url
    )
    common = ["--config", str(config), "partners", "reconcile", "SG", "--target", live.target]

    assert main(common) == 0
    text = capsys.readouterr().out
    assert f"partners/SG/reconciliation: sha256 {expected} over 2 operators" in text
    assert "last sequence 3" in text
    assert main([*common, "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["sha256"], found["operators"], found["last_sequence"]) == (expected, 2, 3)


@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("partners/ZZ/reconciliation", grpc.StatusCode.NOT_FOUND, "partner.not_found"),
        ("partners/SG", grpc.StatusCode.INVALID_ARGUMENT, "query.invalid"),
        ("partners/SG/state", grpc.StatusCode.INVALID_ARGUMENT, "query.invalid"),
        ("partners//reconciliation", grpc.StatusCode.INVALID_ARGUMENT, "query.invalid"),
    ],
)
def test_a_reconciliation_of_an_unknown_partner_or_a_malformed_name_is_refused(
    live: Live, name: str, code: grpc.StatusCode, reason: str
) -> None:
    """An admin asks for an unregistered partner's or a malformed name. Result: NOT_FOUND or
    INVALID_ARGUMENT with the reason."""
    with live.channel("admin") as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        request = admin_pb2.GetPartnerReconciliationRequest(name=name)
        expect_error(lambda: stub.GetPartnerReconciliation(request), code, reason)


def test_a_record_of_an_unknown_tier_or_status_is_refused_alone(live: Live) -> None:
    """SG sends A (known tier), B with tier "Gold" (not SG's) and a third with a status value
    this gateway does not know. Result: A applied; B record.tier_unknown; the third
    record.status_unknown."""
    records = pb_records([record(A), record(B, tier="Gold"), record("SG000000000003")])
    records[2].status = 99  # type: ignore[assignment]  # a value a newer partner might send
    response = partner_client(live).submit(1, records)
    receipt = receipt_of(live, response)
    assert receipt.records_applied == 1
    assert [(r.identifier, r.reason) for r in receipt.ignored_records] == [
        (B, "record.tier_unknown"),
        ("SG000000000003", "record.status_unknown"),
    ]
