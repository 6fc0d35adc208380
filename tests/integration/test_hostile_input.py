"""Hostile and bad input through the real server: each refused with its precise status and
reason, and nothing already stored changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from adapters import pki
from gateway.client import PartnerClient, RecognitionClient, TlsIdentity, connect, envelope
from gateway.domain.records import RecordStatus
from gateway.pb import exchange_pb2, recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, recognition_client, store_view

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture
def seeded(live: Live) -> Live:
    """SG has sent message 1 (one valid operator); KR message 1 (one operator)."""
    partner_client(live).submit(1, [record()])
    partner_client(live, "KR").submit(1, [record("KR0000000001", tier="AA")])
    return live


def refused_and_nothing_changed(
    live: Live, send: Callable[[], object], code: grpc.StatusCode, reason: str | None
) -> None:
    before = store_view(live)
    expect_error(send, code, reason)
    assert store_view(live) == before


def sg_envelope(
    live: Live, sequence: int = 2, issued_at: datetime | None = None
) -> exchange_pb2.SignedEnvelope:
    return envelope(
        live.workspace.signer("SG"),
        "SG",
        sequence,
        [record(version=9, status=RecordStatus.REVOKED)],
        issued_at=issued_at,
    )


def test_tampered_payload_fails_the_signature_check(seeded: Live) -> None:
    """SG's signed message with one byte changed in transit. Result: UNAUTHENTICATED
    signature.invalid."""
    env = sg_envelope(seeded)
    env.payload = env.payload[:-1] + bytes([env.payload[-1] ^ 1])
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


def test_message_signed_with_another_partners_key_id_is_refused(seeded: Live) -> None:
    """SG's connection, a message signed with KR's key under KR's key id. Result:
    UNAUTHENTICATED signature.unknown_key (keys are looked up per partner)."""
    env = envelope(seeded.workspace.signer("KR"), "SG", 2, [record(version=9)])
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.unknown_key"
    )


def test_message_signed_with_another_partners_key_under_own_key_id_is_refused(seeded: Live) -> None:
    """SG's key id and algorithm, but KR's private key made the signature. Result:
    UNAUTHENTICATED signature.invalid."""
    env = sg_envelope(seeded)
    kr = seeded.workspace.signer("KR")
    env.signature = kr.sign(env.payload)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


def test_algorithm_other_than_the_pinned_one_is_refused(seeded: Live) -> None:
    """SG's Ed25519 key id with algorithm rsa-pss-sha256 claimed. Result: UNAUTHENTICATED
    signature.algorithm_not_pinned."""
    env = sg_envelope(seeded)
    env.algorithm = "rsa-pss-sha256"
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded,
        lambda: client.submit_envelope(env),
        UNAUTHENTICATED,
        "signature.algorithm_not_pinned",
    )


def test_empty_signature_is_refused(seeded: Live) -> None:
    """SG's envelope with the signature stripped. Result: UNAUTHENTICATED signature.invalid."""
    env = sg_envelope(seeded)
    env.signature = b""
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


def test_partner_certificate_submitting_as_another_partner_is_refused(seeded: Live) -> None:
    """SG's TLS certificate and SG's own signing key, but the batch says partner KR. Result:
    PERMISSION_DENIED partner.impersonation; KR's records untouched."""
    env = envelope(
        seeded.workspace.signer("SG"), "KR", 2, [record("KR0000000001", version=9, tier="AA")]
    )
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), DENIED, "partner.impersonation"
    )


def test_kr_message_replayed_over_sg_connection_is_refused(seeded: Live) -> None:
    """A genuine KR-signed KR message, replayed by SG's certificate. Result: UNAUTHENTICATED
    signature.unknown_key: SG's connection only accepts SG's keys."""
    env = envelope(
        seeded.workspace.signer("KR"), "KR", 2, [record("KR0000000001", version=9, tier="AA")]
    )
    client = partner_client(seeded, "SG")
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.unknown_key"
    )


def test_domestic_certificate_cannot_call_partner_exchange(seeded: Live) -> None:
    """A domestic system's certificate calls PartnerExchange.Submit. Result: PERMISSION_DENIED
    auth.role_not_permitted."""
    env = sg_envelope(seeded)
    client = partner_client(seeded, cert_of="domestic")
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), DENIED, "auth.role_not_permitted"
    )


@pytest.mark.parametrize(
    ("who", "service"), [("SG", "recognition"), ("domestic", "admin"), ("admin", "recognition")]
)
def test_each_role_reaches_only_its_own_service(seeded: Live, who: str, service: str) -> None:
    """A partner asks Recognition; a domestic system calls Admin; an admin calls Recognition.
    Result: PERMISSION_DENIED auth.role_not_permitted."""
    from gateway.client import AdminClient

    channel = seeded.channel(who)
    if service == "recognition":
        call: Callable[[], object] = lambda: RecognitionClient(channel).recognise("SG000000000001")  # noqa: E731
    else:
        call = lambda: AdminClient(channel).partner_state("SG")  # noqa: E731
    expect_error(call, DENIED, "auth.role_not_permitted")


def _identity_with(tmp_path: Path, live: Live, issued: pki.Issued) -> TlsIdentity:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key.pem"
    cert.write_bytes(pki.cert_pem(issued.cert))
    key.write_bytes(pki.key_pem(issued.key))
    return TlsIdentity(live.workspace.pki / "ca.pem", cert, key)


def test_expired_partner_certificate_is_refused_at_the_handshake(
    seeded: Live, tmp_path: Path
) -> None:
    """An SG client certificate that expired yesterday. Result: the TLS handshake fails; the
    call ends UNAVAILABLE and never reaches the gateway."""
    ca = pki.load(
        seeded.workspace.pki / "partners/SG/ca.pem", seeded.workspace.pki / "partners/SG/ca.key.pem"
    )
    now = datetime.now(UTC)
    expired = pki.issue(
        ca,
        "SG old",
        "Singapore",
        not_before=now - timedelta(days=30),
        not_after=now - timedelta(days=1),
    )
    channel = connect(seeded.target, _identity_with(tmp_path, seeded, expired))
    client = PartnerClient(channel, "SG", seeded.workspace.signer("SG"), timeout=5)
    refused_and_nothing_changed(
        seeded,
        lambda: client.submit_envelope(sg_envelope(seeded)),
        grpc.StatusCode.UNAVAILABLE,
        None,
    )


def test_certificate_from_an_untrusted_ca_is_refused_at_the_handshake(
    seeded: Live, tmp_path: Path
) -> None:
    """A client certificate from a CA the gateway does not know. Result: handshake fails,
    UNAVAILABLE, nothing stored."""
    rogue = pki.make_ca("Rogue CA", "Rogue")
    cert = pki.issue(rogue, "SG customs gateway", "Singapore")
    channel = connect(seeded.target, _identity_with(tmp_path, seeded, cert))
    client = PartnerClient(channel, "SG", seeded.workspace.signer("SG"), timeout=5)
    refused_and_nothing_changed(
        seeded,
        lambda: client.submit_envelope(sg_envelope(seeded)),
        grpc.StatusCode.UNAVAILABLE,
        None,
    )


def test_home_certificate_without_a_role_is_refused(seeded: Live, tmp_path: Path) -> None:
    """A certificate from the home CA that names no gateway role. Result: PERMISSION_DENIED
    auth.role_not_permitted."""
    home = pki.load(seeded.workspace.pki / "ca.pem", seeded.workspace.pki / "ca.key.pem")
    channel = connect(
        seeded.target, _identity_with(tmp_path, seeded, pki.issue(home, "someone", "CN"))
    )
    expect_error(
        lambda: RecognitionClient(channel).recognise("SG000000000001"),
        DENIED,
        "auth.role_not_permitted",
    )


def test_replayed_message_changes_nothing(seeded: Live) -> None:
    """An attacker with SG's connection replays SG's message 1 an hour later. Result: the
    original receipt, marked duplicate; the store is unchanged."""
    client = partner_client(seeded)
    env = sg_envelope(seeded, sequence=2)
    first = client.submit_envelope(env)
    before = store_view(seeded)
    again = client.submit_envelope(env)
    assert again.duplicate
    assert again.receipt == first.receipt
    assert store_view(seeded) == before


def test_other_message_reusing_a_sequence_number_is_refused(seeded: Live) -> None:
    """A new message that reuses SG's sequence 1. Result: ALREADY_EXISTS batch.sequence_reused."""
    env = sg_envelope(seeded, sequence=1)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded,
        lambda: client.submit_envelope(env),
        grpc.StatusCode.ALREADY_EXISTS,
        "batch.sequence_reused",
    )


def test_stale_record_version_leaves_the_newer_state(seeded: Live) -> None:
    """SG sends version 1 of an operator already at version 1. Result: OK call, receipt lists
    record.stale_version, history unchanged."""
    before = store_view(seeded)
    response = partner_client(seeded).submit(2, [record(status=RecordStatus.REVOKED)])
    receipt = exchange_pb2.Receipt.FromString(response.receipt.receipt)
    assert [i.reason for i in receipt.ignored] == ["record.stale_version"]
    assert store_view(seeded).history == before.history


@pytest.mark.parametrize("offset", [timedelta(hours=1), -timedelta(hours=1)])
def test_issued_at_outside_the_window_is_refused(seeded: Live, offset: timedelta) -> None:
    """A message issued an hour in the past (or future); the window is five minutes. Result:
    INVALID_ARGUMENT batch.issued_at_out_of_window."""
    env = sg_envelope(seeded, issued_at=datetime.now(UTC) + offset)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "batch.issued_at_out_of_window"
    )


def test_signed_bytes_that_are_not_a_batch_are_malformed(seeded: Live) -> None:
    """Garbage bytes, correctly signed by SG. Result: INVALID_ARGUMENT payload.malformed."""
    signer = seeded.workspace.signer("SG")
    payload = b"\x0a\xff\xff\xff\xff\x0f garbage"
    env = exchange_pb2.SignedEnvelope(
        format="native",
        payload=payload,
        signature=signer.sign(payload),
        key_id=signer.key_id,
        algorithm=signer.algorithm,
    )
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "payload.malformed"
    )


def test_unknown_wire_format_is_refused(seeded: Live) -> None:
    """SG labels its envelope xml-dsig, a format it is not registered for. Result:
    INVALID_ARGUMENT payload.format_unsupported."""
    env = sg_envelope(seeded)
    env.format = "xml-dsig"
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "payload.format_unsupported"
    )


def test_message_over_the_size_limit_is_refused(start_gateway: Callable[..., Live]) -> None:
    """Payload limit 64 KiB; SG sends ~100 KiB (names padded). Result: RESOURCE_EXHAUSTED
    payload.too_large."""
    live = start_gateway(max_payload_bytes=64 * 1024)
    partner_client(live).submit(1, [record()])
    big = [record(f"SG{i:012d}", name="x" * 1000) for i in range(100)]
    env = envelope(live.workspace.signer("SG"), "SG", 2, big)
    client = partner_client(live)
    refused_and_nothing_changed(
        live,
        lambda: client.submit_envelope(env),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "payload.too_large",
    )


def test_message_far_over_the_transport_limit_is_cut_off_by_grpc(
    start_gateway: Callable[..., Live],
) -> None:
    """Payload limit 64 KiB; SG sends 1 MiB. Result: RESOURCE_EXHAUSTED from the transport
    before the gateway reads it (no reason: it never reached the application)."""
    live = start_gateway(max_payload_bytes=64 * 1024)
    env = exchange_pb2.SignedEnvelope(
        format="native",
        payload=b"\0" * (1 << 20),
        signature=b"s",
        key_id="SG-2026-1",
        algorithm="ed25519",
    )
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), grpc.StatusCode.RESOURCE_EXHAUSTED, None
    )


def test_batch_over_the_record_limit_is_refused(start_gateway: Callable[..., Live]) -> None:
    """Record limit 5; SG sends 6 records. Result: INVALID_ARGUMENT batch.too_many_records."""
    live = start_gateway(max_records_per_message=5)
    env = envelope(live.workspace.signer("SG"), "SG", 1, [record(f"SG{i:012d}") for i in range(6)])
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), INVALID, "batch.too_many_records"
    )


def test_bad_queries_get_precise_errors(seeded: Live) -> None:
    """An empty code; too many codes in one call. Result: INVALID_ARGUMENT query.invalid and
    query.too_many_codes."""
    client = recognition_client(seeded)
    expect_error(lambda: client.recognise(""), INVALID, "query.invalid")
    codes = ["SG000000000001"] * (seeded.settings.max_codes_per_query + 1)
    expect_error(lambda: client.recognise_many(codes), INVALID, "query.too_many_codes")
    assert client.recognise("SG000000000001").outcome == recognition_pb2.OUTCOME_RECOGNISED
