"""Partner definitions change at runtime: a reload puts a whole new snapshot in force, or, when
a definition is invalid, changes nothing. No restart, no failed call."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gateway.api.errors import error_info
from gateway.bootstrap import Gateway, build, init_dev_pki
from gateway.client import AdminClient, PartnerClient, RecognitionClient, connect
from gateway.devkit import DevWorkspace, pb_records
from gateway.pb import recognition_pb2
from tests.conftest import ROOT
from tests.factories import record

XT = """
code = "XT"
name = "Example Territory"
programme = "XT Trusted Trader"
tiers = ["Gold"]
recognised_tiers = ["Gold"]
direction = "import"
wire_formats = ["native"]

[mra]
in_force = 2025-06-01

[identifiers]
prefix = "XT"
patterns = ["XT[0-9]{6}"]

[trust]
ca = "../certs/dev/partners/XT/ca.pem"

[[signing_keys]]
key_id = "XT-1"
algorithm = "ed25519"
public_key = "../certs/dev/partners/XT/signing-XT-1.pub.pem"

[[mapping]]
tier = "Gold"
grade = "advanced certified"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> DevWorkspace:
    return DevWorkspace.create(tmp_path / "ws", ROOT)


@pytest.fixture
def gateway(workspace: DevWorkspace) -> Iterator[Gateway]:
    gw = build(
        workspace.settings(
            listen="127.0.0.1:0", database_url=f"sqlite:///{workspace.root / 'gw.db'}"
        )
    )
    yield gw
    gw.stop(grace=0)


def edit(workspace: DevWorkspace, code: str, old: str, new: str) -> None:
    path = workspace.root / "partners" / f"{code}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_partner_added_at_runtime_exchanges_after_a_reload(
    workspace: DevWorkspace, gateway: Gateway
) -> None:
    """An admin drops partners/XT.toml (and XT's keys) and reloads over the Admin API. Result:
    the reload reports XT added and logs the change; XT's certificate, refused at the TLS
    handshake before, now connects and its operators are recognised."""
    target = f"localhost:{gateway.port}"
    (workspace.root / "partners" / "XT.toml").write_text(XT)
    init_dev_pki(workspace.settings())  # writes XT's CA, client certificate and signing key
    with connect(target, workspace.identity("XT")) as channel:
        with pytest.raises(grpc.RpcError) as before:
            PartnerClient(channel, "XT", workspace.signer("XT"), timeout=5).submit(
                1, pb_records([record("XT000001", tier="Gold")])
            )
        assert before.value.code() is grpc.StatusCode.UNAVAILABLE
    with connect(target, workspace.identity("admin")) as channel:
        admin = AdminClient(channel)
        report = admin.reload_partners()
        assert list(report.added_partners) == ["partners/XT"]
        assert report.directory_version == 2
        changes = admin.changes().changes
        assert changes[-1].partner_definition_changed.partner == "partners/XT"
    with connect(target, workspace.identity("XT")) as channel:
        PartnerClient(channel, "XT", workspace.signer("XT")).submit(
            1, pb_records([record("XT000001", tier="Gold")])
        )
    with connect(target, workspace.identity("domestic")) as channel:
        answer = RecognitionClient(channel).recognise("XT000001")
    assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED


def test_an_invalid_reload_is_refused_with_the_field_named_and_changes_nothing(
    workspace: DevWorkspace, gateway: Gateway
) -> None:
    """SG's mapping names the tier "STP-Pluss"; an admin reloads. Result: FAILED_PRECONDITION
    directory.definition_invalid naming SG's file and mapping[0].tier; the definitions in force
    (version 1) still answer."""
    edit(workspace, "SG", 'tier = "STP-Plus"', 'tier = "STP-Pluss"')
    with connect(f"localhost:{gateway.port}", workspace.identity("admin")) as channel:
        admin = AdminClient(channel)
        with pytest.raises(grpc.RpcError) as refused:
            admin.reload_partners()
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        info = error_info(refused.value)
        assert info is not None
        assert info.reason == "directory.definition_invalid"
        assert info.metadata["field"] == "mapping[0].tier"
        assert info.metadata["file"].endswith("partners/SG.toml")
        assert admin.partner("SG").directory_version == 1


def wait_for_progress(calls: list[int], more: int = 10) -> None:
    """Until both kinds of call have made progress (bounded: the assertions tell)."""
    target = [c + more for c in calls]
    deadline = time.monotonic() + 10
    while any(c < t for c, t in zip(calls, target, strict=True)) and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_partner_changed_at_runtime_under_load_fails_no_call(
    workspace: DevWorkspace, gateway: Gateway
) -> None:
    """SG submits and a declaration system queries, non-stop, while an admin recognises SG's
    STP tier and reloads five times. Result: not one call fails, and once the change is in
    force an STP operator is recognised."""
    target = f"localhost:{gateway.port}"
    stop = threading.Event()
    failures: list[BaseException] = []
    calls = [0, 0]
    sequences = itertools.count(1)
    signer = workspace.signer("SG")  # before the admin starts editing SG's file

    def submit() -> None:
        with connect(target, workspace.identity("SG")) as channel:
            client = PartnerClient(channel, "SG", signer)
            while not stop.is_set():
                sequence = next(sequences)
                try:
                    client.submit(sequence, pb_records([record(f"SG{sequence:012d}", tier="STP")]))
                    calls[0] += 1
                except grpc.RpcError as exc:
                    failures.append(exc)

    def query() -> None:
        with connect(target, workspace.identity("domestic")) as channel:
            client = RecognitionClient(channel)
            while not stop.is_set():
                try:
                    client.recognise_many(["SG000000000001", "KR0000000001", "SG000000000002"])
                    calls[1] += 1
                except grpc.RpcError as exc:
                    failures.append(exc)

    workers = [threading.Thread(target=f) for f in (submit, submit, query, query)]
    for worker in workers:
        worker.start()
    try:
        with connect(target, workspace.identity("admin")) as channel:
            admin = AdminClient(channel)
            edit(
                workspace,
                "SG",
                'recognised_tiers = ["STP-Plus"]',
                'recognised_tiers = ["STP-Plus", "STP"]',
            )
            edit(
                workspace,
                "SG",
                "[[mapping]]",
                '[[mapping]]\ntier = "STP"\ngrade = "certified"\n\n[[mapping]]',
            )
            versions = []
            for _ in range(5):
                wait_for_progress(calls)
                versions.append(admin.reload_partners().directory_version)
            wait_for_progress(calls)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert versions == [2, 3, 4, 5, 6]
    assert calls[0] >= 60
    assert calls[1] >= 60
    with connect(target, workspace.identity("domestic")) as channel:
        answer = RecognitionClient(channel).recognise("SG000000000001")
    assert (answer.outcome, answer.treatment) == (
        recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED,
        "certified",
    )
