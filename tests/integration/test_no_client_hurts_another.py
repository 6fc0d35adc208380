"""One misbehaving client cannot hurt the others (issue 6): each finding reproduced through a
real server over real mutual TLS, raw HTTP/2 frames where a gRPC library would not misbehave."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters import pki
from adapters.crypto.signatures import Signer
from bench.raw_h2 import CANCEL, TRANSPORT_REFUSALS, Outcome, RawConnection, wait
from gateway.api.errors import error_info
from gateway.client import RecognitionClient, TlsIdentity, connect, signed_envelope
from gateway.pb import common_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import (
    envelope,
    expect_error,
    now,
    partner_client,
    recognition_client,
    store_view,
    submit,
)

SUBMIT = "/aeo.gateway.v1.PartnerExchangeService/SubmitStatusMessage"
LIST_PARTNERS = "/aeo.gateway.v1.AdminService/ListPartners"
GET_RECOGNITION = "/aeo.gateway.v1.RecognitionService/GetRecognition"
OK, CANCELLED, INVALID, EXHAUSTED, DENIED = 0, 1, 3, 8, 7


def raw(live: Live, who: str) -> RawConnection:
    return RawConnection("localhost", live.gateway.port, live.workspace.identity(who))


def test_stalled_streams_cost_only_the_client_that_opened_them(
    start_gateway: Callable[..., Live],
) -> None:
    """SG's certificate opens 150 streams over three connections that send request headers
    with grpc-timeout 3600S and never a body: 120 to Submit, 30 to Admin (not its role). While
    they stall, KR submits, a domestic system queries and SG itself submits properly. Result:
    every one of those calls succeeds; the Admin streams are refused PERMISSION_DENIED at once
    (the role is checked before the body is awaited); the Submit streams are cancelled (a newer
    call of SG's cancels the longest waiting past max_calls_per_client waiting for a body,
    and the body timeout the rest) or refused by the transport (REFUSED_STREAM past the
    per-connection stream limit, or ENHANCE_YOUR_CALM once SG keeps opening streams it must
    refuse). No stream lives on."""
    live = start_gateway(max_calls_per_client=8, request_body_timeout_seconds=2.0, workers=32)
    submit(partner_client(live), 1, record())
    connections = [raw(live, "SG") for _ in range(3)]
    submits: list[Outcome] = []
    admins: list[Outcome] = []
    try:
        for i in range(150):
            conn = connections[i % 3]
            if i % 5 == 4:
                admins.append(conn.open(LIST_PARTNERS))
            else:
                submits.append(conn.open(SUBMIT))
        time.sleep(0.5)  # the streams reach the server and take what they can

        kr = partner_client(live, "KR")
        for sequence in range(1, 21):
            submit(kr, sequence, record(f"KR{sequence:010d}", tier="AA"))
        domestic = recognition_client(live)
        for _ in range(30):
            assert domestic.recognise("SG000000000001").operator_name
        submit(partner_client(live), 2, record(version=2))

        assert wait(admins, 10)
        for outcome in admins:
            assert outcome.reset in TRANSPORT_REFUSALS or (
                outcome.status == DENIED and outcome.reason == "auth.role_not_permitted"
            ), outcome
        assert wait(submits, 15), "a stalled stream outlived the body timeout"
        outcomes = submits
        cancelled = [o for o in outcomes if o.reset == CANCEL or o.status == CANCELLED]
        refused = [o for o in outcomes if o.reset in TRANSPORT_REFUSALS]
        assert cancelled
        assert len(cancelled) + len(refused) == len(outcomes), outcomes
    finally:
        for conn in connections:
            conn.close()


def test_stalled_streams_do_not_crowd_out_the_clients_own_real_calls(
    start_gateway: Callable[..., Live],
) -> None:
    """max_calls_per_client 4, so at most 4 calls of a client wait for their body. SG opens 6
    stalled streams, then submits properly. Result: the 2 oldest streams are cancelled for the
    newer ones, 4 still wait; SG's real submission is applied (cancelling a stalled one), and
    so is KR's."""
    live = start_gateway(max_calls_per_client=4, request_body_timeout_seconds=30.0)
    conns = [raw(live, "SG") for _ in range(2)]
    try:
        outcomes = [c.open(SUBMIT) for c in conns for _ in range(3)]
        time.sleep(1.0)
        ended = [o for o in outcomes if o.done]
        assert len(ended) == 2
        assert all(o.reset == CANCEL or o.status == CANCELLED for o in ended)
        assert submit(partner_client(live), 1, record())
        assert submit(partner_client(live, "KR"), 1, record("KR0000000001", tier="AA"))
    finally:
        for c in conns:
            c.close()


def test_unparsable_request_is_invalid_argument_in_one_warning_line(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """A domestic system sends bytes that are no GetRecognitionRequest. Result: INVALID_ARGUMENT
    request.malformed (not INTERNAL), and one WARNING line without a traceback; nothing at
    ERROR."""
    call = live.channel("domestic").unary_unary(GET_RECOGNITION)
    with caplog.at_level(logging.WARNING):
        expect_error(
            lambda: call(b"\xff\xff\xff\xff", timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT,
            "request.malformed",
        )
    lines = [r for r in caplog.records if r.name.startswith("gateway")]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert lines[0].exc_info is None
    assert "malformed request" in lines[0].getMessage()


def test_unparsable_request_to_a_service_not_of_the_callers_role_is_denied_first(
    live: Live,
) -> None:
    """A partner certificate sends junk to Admin. Result: PERMISSION_DENIED: the role is checked
    before the request is read."""
    call = live.channel("SG").unary_unary(LIST_PARTNERS)
    expect_error(
        lambda: call(b"\xff\xff\xff", timeout=5),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )


def test_unary_call_without_a_message_is_malformed(live: Live) -> None:
    """A raw stream to GetRecognition that half-closes with no message. Result: INVALID_ARGUMENT
    request.malformed."""
    conn = raw(live, "domestic")
    try:
        outcome = conn.open(GET_RECOGNITION, body=None, end_stream=True)
        assert wait([outcome], 10)
        assert (outcome.status, outcome.reason) == (
            INVALID,
            "request.malformed",
        )
    finally:
        conn.close()


def test_oversized_key_id_is_echoed_cut_short(live: Live) -> None:
    """SG signs with a key id of 16 KB. Result: UNAUTHENTICATED signature.unknown_key (not a
    transport error about oversized metadata); the message and the metadata are short."""
    signer = live.workspace.signer("SG")
    key_id = "K" * 16384
    env = envelope(signer, "SG", 1, record())
    env.detached_signature.key_id = key_id
    err = expect_error(
        lambda: partner_client(live).submit_envelope(env),
        grpc.StatusCode.UNAUTHENTICATED,
        "signature.unknown_key",
    )
    details = err.details() or ""
    assert len(details) <= 1024
    assert "16384 characters" in details
    info = error_info(err)
    assert info is not None
    assert len(info.metadata["key_id"]) <= 128


def test_many_tiny_records_are_refused_without_materialising_them(
    start_gateway: Callable[..., Live],
) -> None:
    """SG signs a 2 MB batch of one million empty records against a limit of 10,000. Result:
    INVALID_ARGUMENT batch.too_many_records, and nothing stored."""
    live = start_gateway()
    submit(partner_client(live), 1, record())
    before = store_view(live)
    header = common_pb2.StatusBatch(partner="SG", sequence=2, kind=common_pb2.BATCH_KIND_DELTA)
    header.issued_at.GetCurrentTime()
    payload = header.SerializeToString() + b"\x2a\x00" * 1_000_000
    env = signed_envelope(live.workspace.signer("SG"), payload)
    expect_error(
        lambda: partner_client(live).submit_envelope(env),
        grpc.StatusCode.INVALID_ARGUMENT,
        "batch.too_many_records",
    )
    assert store_view(live) == before


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_poison_messages_fail_alone_while_another_partner_submits(
    request: pytest.FixtureRequest, start_gateway: Callable[..., Live], store: str
) -> None:
    """SG sends, from four threads, validly signed messages carrying versions of 2^63 and NUL
    bytes in names and tiers, and batches numbered 2^63; at the same time KR submits 30
    messages. Result: every KR message is applied; every SG message gets a precise answer
    (never UNAVAILABLE): refused as invalid, or, once SG has been refused more often than
    its refusal budget allows, refused unread with client.too_many_refusals."""
    overrides = {}
    if store == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    live = start_gateway(**overrides)
    stop = threading.Event()
    sg_codes: list[str] = []
    signer = live.workspace.signer("SG")
    poison = [
        record(version=2**63),
        record(name="Lion City\x00Logistics"),
        record(tier="STP-Plus\x00"),
    ]

    def flood(first: int) -> None:
        client = partner_client(live)
        sequence = first
        while not stop.is_set():
            for hostile in poison:
                sequence += 4
                try:
                    submit(client, sequence, hostile)
                    sg_codes.append("OK")
                except grpc.RpcError as exc:
                    sg_codes.append(_answer(exc))
            try:
                client.submit_envelope(envelope(signer, "SG", 2**63, record()))
            except grpc.RpcError as exc:
                sg_codes.append(_answer(exc))

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        kr = partner_client(live, "KR")
        for sequence in range(1, 31):
            receipt = submit(kr, sequence, record(f"KR{sequence:010d}", tier="AA"))
            assert not receipt.duplicate
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert live.gateway.store.reader.partner_stats("KR").operators == 30
    assert sg_codes
    assert set(sg_codes) <= {"OK", "INVALID_ARGUMENT", "client.too_many_refusals"}, set(sg_codes)


def _answer(exc: grpc.RpcError) -> str:
    """The status name, or for RESOURCE_EXHAUSTED its reason: which limit answered."""
    info = error_info(exc)
    if exc.code() is grpc.StatusCode.RESOURCE_EXHAUSTED and info is not None:
        return str(info.reason)
    return str(exc.code().name)


def test_a_partner_sending_forged_messages_is_slowed_down_and_others_are_not(
    start_gateway: Callable[..., Live],
) -> None:
    """SG sends 30 messages signed by a key not its own under its key id (each costs the
    gateway its signature check), with a refusal budget of one per second (five at once); KR submits
    meanwhile. Result: SG's first five are refused signature.invalid, the rest unread with
    RESOURCE_EXHAUSTED client.too_many_refusals; every KR message is applied."""
    live = start_gateway(max_refusals_per_second_per_client=1.0)
    forger = Signer(ed25519.Ed25519PrivateKey.generate(), "SG-2026-1", "ed25519")
    sg = partner_client(live)
    answers = []
    for sequence in range(1, 31):
        try:
            sg.submit_envelope(envelope(forger, "SG", sequence, record()))
            answers.append("OK")
        except grpc.RpcError as exc:
            info = error_info(exc)
            answers.append(info.reason if info else exc.code().name)
    assert answers[:5] == ["signature.invalid"] * 5, answers
    assert set(answers[5:]) == {"client.too_many_refusals"}, answers
    kr = partner_client(live, "KR")
    for sequence in range(1, 11):
        assert not submit(kr, sequence, record(f"KR{sequence:010d}", tier="AA")).duplicate
    assert live.gateway.store.reader.record_as_of("SG", "SG000000000001", now()) is None


def _identity(tmp_path: Path, live: Live, issued: pki.Issued) -> TlsIdentity:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key.pem"
    cert.write_bytes(pki.cert_pem(issued.cert))
    key.write_bytes(pki.key_pem(issued.key))
    return TlsIdentity(live.workspace.pki / "ca.pem", cert, key)


def test_home_certificate_without_a_role_may_check_health_only(live: Live, tmp_path: Path) -> None:
    """A home-CA certificate that names no gateway role (a monitoring probe). Result: Health
    answers SERVING, as docs/operations.md says of any verified certificate; Recognition is
    PERMISSION_DENIED auth.role_not_permitted."""
    home = pki.load(live.workspace.pki / "ca.pem", live.workspace.pki / "ca.key.pem")
    channel = connect(live.target, _identity(tmp_path, live, pki.issue(home, "probe", "CN")))
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    expect_error(
        lambda: RecognitionClient(channel).recognise("SG000000000001"),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )


def test_idle_and_silent_connections_do_not_slow_others(live: Live) -> None:
    """50 TCP connections that never start TLS and 50 TLS connections that never open a stream.
    Result: a domestic system's queries and a partner's submission still succeed (within
    their usual deadlines)."""
    silent = [socket.create_connection(("localhost", live.gateway.port)) for _ in range(50)]
    idle = [raw(live, "KR") for _ in range(50)]
    try:
        submit(partner_client(live), 1, record())
        domestic = recognition_client(live)
        for _ in range(20):
            assert domestic.recognise("SG000000000001").operator_name
    finally:
        for s in silent:
            s.close()
        for c in idle:
            c.close()
