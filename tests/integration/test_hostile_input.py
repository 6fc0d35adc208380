"""Hostile and bad input through the real server: each refused with its precise status and
reason, and nothing already stored changes."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from adapters import pki
from gateway.client import (
    AdminClient,
    PartnerClient,
    RecognitionClient,
    TlsIdentity,
    connect,
    signed_envelope,
)
from gateway.domain.records import RecordStatus
from gateway.pb import common_pb2, exchange_pb2, recognition_pb2
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import (
    envelope,
    expect_error,
    partner_client,
    receipt_of,
    recognition_client,
    store_view,
    submit,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED


def seed(live: Live) -> Live:
    """SG sends message 1 (one valid operator); KR message 1 (one operator)."""
    submit(partner_client(live), 1, record())
    submit(partner_client(live, "KR"), 1, record("KR0000000001", tier="AA"))
    return live


@pytest.fixture
def seeded(live: Live) -> Live:
    """SG has sent message 1 (one valid operator); KR message 1 (one operator)."""
    return seed(live)


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded_on_each_store(request: pytest.FixtureRequest) -> Live:
    """As ``seeded``, once on SQLite and once on PostgreSQL: the checks exist so that no
    database refuses what the core accepted."""
    overrides: dict[str, Any] = {}
    if request.param == "postgresql":
        # Requested first, so it is dropped only after the gateway has stopped.
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    start: Callable[..., Live] = request.getfixturevalue("start_gateway")
    return seed(start(**overrides))


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
        record(version=9, status=RecordStatus.REVOKED),
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
    env = envelope(seeded.workspace.signer("KR"), "SG", 2, record(version=9))
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.unknown_key"
    )


def test_message_signed_with_another_partners_key_under_own_key_id_is_refused(seeded: Live) -> None:
    """SG's key id and algorithm, but KR's private key made the signature. Result:
    UNAUTHENTICATED signature.invalid."""
    env = sg_envelope(seeded)
    kr = seeded.workspace.signer("KR")
    env.detached_signature.signature = kr.sign(env.payload)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


@pytest.mark.parametrize(
    "algorithm",
    [
        common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256,
        common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256,
        common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED,
        common_pb2.SignatureAlgorithm.ValueType(99),
    ],
    ids=["rsa-pss", "ecdsa", "unspecified", "unknown-number"],
)
def test_algorithm_other_than_the_pinned_one_is_refused(
    seeded: Live, algorithm: common_pb2.SignatureAlgorithm.ValueType
) -> None:
    """SG's Ed25519 key id with another algorithm claimed (or none, or one the API does not
    define). Result: UNAUTHENTICATED signature.algorithm_not_pinned."""
    env = sg_envelope(seeded)
    env.detached_signature.algorithm = algorithm
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
    env.detached_signature.signature = b""
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


def test_envelope_without_a_detached_signature_is_refused(seeded: Live) -> None:
    """SG's native envelope with no detached_signature at all. Result: UNAUTHENTICATED
    signature.invalid (the native format is only ever accepted signed)."""
    env = sg_envelope(seeded)
    env.ClearField("detached_signature")
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.invalid"
    )


def test_partner_certificate_submitting_as_another_partner_is_refused(seeded: Live) -> None:
    """SG's TLS certificate and SG's own signing key, but the batch says partner KR. Result:
    PERMISSION_DENIED partner.impersonation; KR's records untouched."""
    env = envelope(
        seeded.workspace.signer("SG"), "KR", 2, record("KR0000000001", version=9, tier="AA")
    )
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), DENIED, "partner.impersonation"
    )


def test_kr_message_replayed_over_sg_connection_is_refused(seeded: Live) -> None:
    """A genuine KR-signed KR message, replayed by SG's certificate. Result: UNAUTHENTICATED
    signature.unknown_key: SG's connection only accepts SG's keys."""
    env = envelope(
        seeded.workspace.signer("KR"), "KR", 2, record("KR0000000001", version=9, tier="AA")
    )
    client = partner_client(seeded, "SG")
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.unknown_key"
    )


def test_domestic_certificate_cannot_call_partner_exchange(seeded: Live) -> None:
    """A domestic system's certificate calls PartnerExchangeService.SubmitStatusMessage. Result:
    PERMISSION_DENIED auth.role_not_permitted."""
    env = sg_envelope(seeded)
    client = partner_client(seeded, cert_of="domestic")
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), DENIED, "auth.role_not_permitted"
    )


@pytest.mark.parametrize(
    ("who", "service"),
    [("SG", "recognition"), ("domestic", "admin"), ("registry", "recognition")],
)
def test_each_role_reaches_only_its_own_service(seeded: Live, who: str, service: str) -> None:
    """A partner asks Recognition; a domestic system calls Admin; the registry calls
    Recognition. Result: PERMISSION_DENIED auth.role_not_permitted."""
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
    record.stale_version, history and change log unchanged."""
    before = store_view(seeded)
    response = submit(partner_client(seeded), 2, record(status=RecordStatus.REVOKED))
    receipt = exchange_pb2.Receipt.FromString(response.receipt.receipt)
    assert [i.reason for i in receipt.ignored_records] == ["record.stale_version"]
    after = store_view(seeded)
    assert after.history == before.history
    assert after.changes == before.changes


@pytest.mark.parametrize("offset", [timedelta(hours=1), -timedelta(hours=1)])
def test_issued_at_outside_the_window_is_refused(seeded: Live, offset: timedelta) -> None:
    """A message issued an hour in the past (or future); the window is five minutes. Result:
    INVALID_ARGUMENT batch.issued_at_out_of_window."""
    env = sg_envelope(seeded, issued_at=datetime.now(UTC) + offset)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "batch.issued_at_out_of_window"
    )


def _with_sg_key_validity(workspace: Workspace, **bounds: datetime) -> Path:
    """A copy of the partner folder in which SG's signing key carries validity ``bounds``
    (not_before, not_after); its relative paths still resolve to the workspace's PKI."""
    folder = workspace.root / f"partners-{uuid.uuid4().hex[:8]}"
    shutil.copytree(workspace.root / "partners", folder)
    sg = folder / "SG.toml"
    lines = "".join(f"\n{k} = {v.strftime('%Y-%m-%dT%H:%M:%SZ')}" for k, v in bounds.items())
    text = sg.read_text()
    assert 'algorithm = "ed25519"' in text
    sg.write_text(text.replace('algorithm = "ed25519"', 'algorithm = "ed25519"' + lines, 1))
    return folder


@pytest.mark.parametrize(
    ("bounds", "issued"),
    [
        ({"not_after": -timedelta(minutes=1)}, -timedelta(minutes=2)),
        ({"not_before": timedelta(minutes=1)}, timedelta(minutes=2)),
    ],
    ids=["expired-key-backdated", "future-key-postdated"],
)
def test_key_outside_its_validity_when_received_is_refused_whatever_issued_at_says(
    workspace: Workspace,
    start_gateway: Callable[..., Live],
    bounds: dict[str, timedelta],
    issued: timedelta,
) -> None:
    """SG's key expired a minute ago (or becomes valid in a minute); SG signs with it and dates
    the message two minutes back (or ahead): inside the clock window, and a time at which the
    key was (or will be) valid. Result: UNAUTHENTICATED signature.key_not_valid, nothing
    stored: the key is judged at the time the gateway received the message, which the sender
    cannot choose. The same envelope is accepted by a gateway whose key has no bounds."""
    moment = datetime.now(UTC)
    folder = _with_sg_key_validity(workspace, **{k: moment + d for k, d in bounds.items()})
    live = start_gateway(partners_dir=folder)
    env = sg_envelope(live, sequence=1, issued_at=moment + issued)
    accepted = partner_client(start_gateway()).submit_envelope(env)
    assert not accepted.duplicate
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), UNAUTHENTICATED, "signature.key_not_valid"
    )


def test_signed_bytes_that_are_not_a_batch_are_malformed(seeded: Live) -> None:
    """Garbage bytes, correctly signed by SG. Result: INVALID_ARGUMENT payload.malformed."""
    signer = seeded.workspace.signer("SG")
    payload = b"\x0a\xff\xff\xff\xff\x0f garbage"
    env = signed_envelope(signer, payload)
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "payload.malformed"
    )


@pytest.mark.parametrize(
    "wire_format",
    [
        common_pb2.WIRE_FORMAT_XMLDSIG,
        common_pb2.WIRE_FORMAT_JWS,
        common_pb2.WireFormat.ValueType(99),
    ],
)
def test_unknown_wire_format_is_refused(
    seeded: Live, wire_format: common_pb2.WireFormat.ValueType
) -> None:
    """SG labels its envelope xmldsig or jws, formats it is not registered for (or a number the
    API does not define). Result: INVALID_ARGUMENT payload.format_unsupported."""
    env = sg_envelope(seeded)
    env.format = wire_format
    client = partner_client(seeded)
    refused_and_nothing_changed(
        seeded, lambda: client.submit_envelope(env), INVALID, "payload.format_unsupported"
    )


def test_message_over_the_size_limit_is_refused(start_gateway: Callable[..., Live]) -> None:
    """Payload limit 64 KiB; SG sends ~100 KiB (names padded). Result: RESOURCE_EXHAUSTED
    payload.too_large."""
    live = start_gateway(max_payload_bytes=64 * 1024)
    submit(partner_client(live), 1, record())
    big = [record(f"SG{i:012d}", name="x" * 1000) for i in range(100)]
    env = envelope(live.workspace.signer("SG"), "SG", 2, *big)
    assert len(env.payload) > 64 * 1024
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
        format=common_pb2.WIRE_FORMAT_NATIVE,
        payload=b"\0" * (1 << 20),
        detached_signature=common_pb2.DetachedSignature(
            key_id="SG-2026-1",
            algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
            signature=b"s",
        ),
    )
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), grpc.StatusCode.RESOURCE_EXHAUSTED, None
    )


def test_batch_over_the_record_limit_is_refused(start_gateway: Callable[..., Live]) -> None:
    """Record limit 5; SG sends 6 records. Result: INVALID_ARGUMENT batch.too_many_records."""
    live = start_gateway(max_records_per_message=5)
    env = envelope(live.workspace.signer("SG"), "SG", 1, *[record(f"SG{i:012d}") for i in range(6)])
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), INVALID, "batch.too_many_records"
    )


@pytest.mark.parametrize("sequence", [2**63, 2**64 - 1])
def test_batch_sequence_beyond_64_bit_signed_is_malformed(
    seeded_on_each_store: Live, sequence: int
) -> None:
    """SG signs a batch numbered 2^63 (or the largest uint64), which no store's signed 64-bit
    column holds. Result: INVALID_ARGUMENT payload.malformed; nothing stored, sequence state
    unchanged."""
    live = seeded_on_each_store
    env = sg_envelope(live, sequence=sequence)
    client = partner_client(live)
    refused_and_nothing_changed(
        live, lambda: client.submit_envelope(env), INVALID, "payload.malformed"
    )
    assert live.gateway.store.reader.partner_stats("SG").last_sequence == 1


HOSTILE_RECORDS = [
    pytest.param({"version": 2**63}, "version", id="version-2^63"),
    pytest.param({"version": 2**64 - 1}, "version", id="version-max-uint64"),
    pytest.param({"name": "Lion City\x00Logistics"}, "name", id="nul-in-name"),
    pytest.param({"tier": "STP-Plus\x00"}, "tier", id="nul-in-tier"),
    pytest.param({"identifier": "SG000000000001\x00"}, "identifier", id="nul-in-identifier"),
    pytest.param({"address": "1 Harbour Road\x1b[2J"}, "address", id="escape-in-address"),
    pytest.param({"name": "Lion City\x7f"}, "name", id="del-in-name"),
    pytest.param({"name": "Lion City\x85Logistics"}, "name", id="c1-control-in-name"),
    pytest.param({"address": "1 Harbour Road\uffff"}, "address", id="non-character-in-address"),
    pytest.param({"identifier": "SG" + "0" * 63}, "identifier", id="identifier-too-long"),
    pytest.param({"tier": "S" * 65}, "tier", id="tier-too-long"),
    pytest.param({"name": "x" * 513}, "name", id="name-too-long"),
    pytest.param({"address": "x" * 1025}, "address", id="address-too-long"),
]


@pytest.mark.parametrize(("changes", "field"), HOSTILE_RECORDS)
def test_record_with_an_unstorable_field_is_ignored_and_nothing_of_it_stored(
    seeded_on_each_store: Live, changes: dict[str, Any], field: str
) -> None:
    """SG's properly signed message 2 carries a new version of its known operator whose version
    is 2^63 or more, or whose identifier, tier, name or address holds a control character
    (NUL included) or is over-long. Result: the call succeeds; the receipt ignores that record
    with record.field_invalid naming the field; no record version and no change is stored, and
    the operator is still recognised as before."""
    live = seeded_on_each_store
    before = store_view(live)
    hostile = record(**{"version": 9, "status": RecordStatus.REVOKED, **changes})
    receipt = receipt_of(live, submit(partner_client(live), 2, hostile))
    assert (receipt.records_received, receipt.records_applied) == (1, 0)
    [ignored] = receipt.ignored_records
    assert ignored.reason == "record.field_invalid"
    assert field in ignored.detail
    assert ignored.version == (0 if field == "version" else 9)
    after = store_view(live)
    assert after.history == before.history
    assert after.changes == before.changes
    sg_before, sg_after = before.stats[0], after.stats[0]
    assert (sg_after.last_sequence, sg_after.messages) == (2, sg_before.messages + 1)
    assert sg_after.operators == sg_before.operators
    answer = recognition_client(live).recognise("SG000000000001")
    assert (answer.outcome, answer.operator_name, answer.basis.record_version) == (
        RECOGNISED,
        "Lion City Logistics Pte Ltd",
        1,
    )


def test_bad_queries_get_precise_errors(seeded: Live) -> None:
    """An empty code; too many codes in one call; no direction, one at a time and in a batch.
    Result: INVALID_ARGUMENT query.invalid, query.too_many_codes and query.invalid."""
    client = recognition_client(seeded)
    expect_error(lambda: client.recognise(""), INVALID, "query.invalid")
    codes = ["SG000000000001"] * (seeded.settings.max_codes_per_query + 1)
    expect_error(lambda: client.recognise_many(codes), INVALID, "query.too_many_codes")
    unspecified = common_pb2.TRADE_DIRECTION_UNSPECIFIED
    expect_error(lambda: client.recognise("SG000000000001", unspecified), INVALID, "query.invalid")
    expect_error(
        lambda: client.recognise_many(["SG000000000001"], unspecified), INVALID, "query.invalid"
    )
    assert client.recognise("SG000000000001").outcome == RECOGNISED
