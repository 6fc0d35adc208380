"""The gateway's own signing key rotated under live traffic, without a restart; the new key
announced to a partner's gateway (a second gateway, gateway/federation.py) signed with the old
one."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from adapters import pki
from adapters.crypto import gateway_keys
from adapters.crypto.signatures import ED25519, Signer, load_public_key, verifier
from gateway import protomap
from gateway.bootstrap import Gateway, build
from gateway.client import PartnerClient, TlsIdentity, connect
from gateway.federation import (
    Federation,
    gateway_key,
    last_sequence,
    record_grade_change,
    start_peer,
    wait_settled,
    write_federation,
)
from gateway.pb import (
    admin_pb2,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    keys_pb2,
    keys_pb2_grpc,
    onboarding_pb2,
    onboarding_pb2_grpc,
)
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit


def rotate(
    channel: grpc.Channel, key_id: str, key_file: str = ""
) -> keys_pb2.RotateGatewaySigningKeyResponse:
    return keys_pb2_grpc.KeyManagementServiceStub(channel).RotateGatewaySigningKey(
        keys_pb2.RotateGatewaySigningKeyRequest(key_id=key_id, key_file=key_file), timeout=30
    )


def verifies(signed: exchange_pb2.SignedReceipt, pems: dict[str, bytes], algorithm: str) -> bool:
    pem = pems.get(signed.signature.key_id)
    if pem is None:
        return False
    return verifier(load_public_key(pem, algorithm), algorithm)(
        signed.receipt, signed.signature.signature
    )


def test_the_gateway_key_rotates_under_live_traffic_with_no_failed_call(live: Live) -> None:
    """A thread submits SG's messages without pause while an admin rotates the gateway's key.
    Result: no call fails; every receipt verifies under the key it names: the old key's
    receipts first, then only the new key's; a restart on the same database keeps the new
    key."""
    settings = live.settings
    old_pem = gateway_key(settings).public_key.read_bytes()
    sg = partner_client(live)
    receipts: list[exchange_pb2.SignedReceipt] = []
    failures: list[BaseException] = []
    rotated = threading.Event()
    sequence = [0]

    def traffic() -> None:
        after = 0
        while after < 20:
            sequence[0] += 1
            try:
                response = submit(sg, sequence[0], record(version=sequence[0]))
            except BaseException as exc:
                failures.append(exc)
                return
            receipts.append(response.receipt)
            if rotated.is_set():
                after += 1

    thread = threading.Thread(target=traffic)
    thread.start()
    while len(receipts) < 20 and thread.is_alive():
        threading.Event().wait(0.01)
    new_id = f"CN-GW-{uuid.uuid4().hex[:8]}"
    answer = rotate(live.channel("admin"), new_id)
    rotated.set()
    thread.join(timeout=120)
    assert not failures, failures
    assert answer.previous_key_id == settings.signing_key_id
    assert answer.key_id == new_id
    pems = {settings.signing_key_id: old_pem, new_id: answer.public_key_pem.encode()}
    assert all(verifies(r, pems, settings.signing_algorithm) for r in receipts)
    ids = [r.signature.key_id for r in receipts]
    switch = ids.index(new_id)
    assert switch > 0
    assert set(ids[:switch]) == {settings.signing_key_id}
    assert set(ids[switch:]) == {new_id}
    # Every partner of the default files has no endpoint: each announcement is to forward.
    assert {a.outcome for a in answer.announcements} == {keys_pb2.ANNOUNCEMENT_OUTCOME_TO_FORWARD}
    assert all(
        a.announcement.signature.key_id == settings.signing_key_id for a in answer.announcements
    )

    live.gateway.stop(grace=0)
    again = build(settings)
    try:
        with connect(f"localhost:{again.port}", live.workspace.identity("SG")) as channel:
            response = submit(
                PartnerClient(channel, "SG", live.workspace.signer("SG")),
                sequence[0] + 1,
                record(version=sequence[0] + 1),
            )
        assert response.receipt.signature.key_id == new_id
    finally:
        again.stop(grace=0)


def test_a_key_id_used_before_is_refused(live: Live) -> None:
    """The admin rotates to the key id in force. Result: INVALID_ARGUMENT
    key.gateway_key_invalid, and receipts are still signed by the old key."""
    expect_error(
        lambda: rotate(live.channel("admin"), live.settings.signing_key_id),
        grpc.StatusCode.INVALID_ARGUMENT,
        "key.gateway_key_invalid",
    )
    response = submit(partner_client(live), 1, record())
    assert response.receipt.signature.key_id == live.settings.signing_key_id


def test_a_key_file_that_is_not_a_key_of_the_algorithm_is_refused(
    live: Live, tmp_path: Path
) -> None:
    """The admin rotates to a key file that holds no private key. Result: INVALID_ARGUMENT
    key.gateway_key_invalid; nothing changes."""
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("hello")
    expect_error(
        lambda: rotate(live.channel("admin"), "CN-GW-bad", str(bad)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "key.gateway_key_invalid",
    )


def test_a_partner_announcement_signed_by_an_unknown_key_is_refused(live: Live) -> None:
    """SG announces a new key, signed with a key it never registered. Result: UNAUTHENTICATED
    signature.unknown_key; SG's keys are unchanged."""
    forged = Signer(pki.signing_key(ED25519), "SG-forged", ED25519)
    message = exchange_pb2.KeyAnnouncement(
        announcer="SG",
        recipient="CN",
        key_id="SG-2027-9",
        algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
        public_key_pem=pki.public_pem(pki.signing_key(ED25519)).decode(),
    )
    protomap.set_timestamp(message.valid_from, datetime.now(UTC))
    payload = message.SerializeToString(deterministic=True)
    request = exchange_pb2.AnnounceSigningKeyRequest(
        announcement=exchange_pb2.SignedKeyAnnouncement(
            announcement=payload,
            signature=common_pb2.DetachedSignature(
                key_id="SG-forged",
                algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
                signature=forged.sign(payload),
            ),
        )
    )
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(live.channel("SG"))
    expect_error(
        lambda: stub.AnnounceSigningKey(request, timeout=10),
        grpc.StatusCode.UNAUTHENTICATED,
        "signature.unknown_key",
    )
    # Signed by SG's real key but announcing for KR: refused as well.
    message.announcer = "KR"
    payload = message.SerializeToString(deterministic=True)
    request.announcement.announcement = payload
    request.announcement.signature.key_id = "SG-2026-1"
    request.announcement.signature.signature = live.workspace.signer("SG").sign(payload)
    expect_error(
        lambda: stub.AnnounceSigningKey(request, timeout=10),
        grpc.StatusCode.UNAUTHENTICATED,
        "key.announcement_invalid",
    )


@pytest.fixture
def federation(workspace: Workspace, tmp_path: Path) -> Federation:
    return write_federation(workspace.settings(grace_seconds=0.5), tmp_path / "fed", ["KR"])


@pytest.fixture
def running() -> Iterator[Callable[[Gateway], Gateway]]:
    started: list[Gateway] = []

    def keep(gateway: Gateway) -> Gateway:
        started.append(gateway)
        return gateway

    yield keep
    for gateway in reversed(started):
        gateway.stop(grace=0)


def test_the_peer_gateway_accepts_the_announcement_and_the_new_key(
    federation: Federation, running: Callable[[Gateway], Gateway]
) -> None:
    """The home gateway (CN) rotates its key; KR's gateway has an endpoint. Result: KR's
    gateway verifies the announcement under CN's old key and registers the new one; the next
    home AEO change CN sends, signed with the new key, is settled by KR's verified receipt."""
    running(build(federation.home))
    kr = federation.peers["KR"]
    running(start_peer(kr))
    admin = TlsIdentity.dev(federation.home.pki_dir, "admin")
    new_id = f"CN-GW-{uuid.uuid4().hex[:8]}"
    with connect(federation.home_target, admin) as channel:
        answer = rotate(channel, new_id)
    outcomes = {a.partner: a for a in answer.announcements}
    assert outcomes["partners/KR"].outcome == keys_pb2.ANNOUNCEMENT_OUTCOME_DELIVERED, outcomes[
        "partners/KR"
    ].detail
    # KR's gateway now lists CN's new key, registered by the announcement.
    with connect(kr.target, kr.identity("admin")) as channel:
        listed = keys_pb2_grpc.KeyManagementServiceStub(channel).ListPartnerSigningKeys(
            keys_pb2.ListPartnerSigningKeysRequest(parent="partners/CN"), timeout=10
        )
    sources = {k.key_id: k.source for k in listed.keys}
    assert sources[new_id] == keys_pb2.KEY_SOURCE_ANNOUNCEMENT

    # Sealed after the rotation, so with the new key: KR settles it only if it verifies.
    registry = TlsIdentity.dev(federation.home.pki_dir, "registry")
    before = last_sequence(federation.home_target, admin, "KR")
    record_grade_change(
        federation.home_target, registry, "AEOCN0123456781", "advanced certified", "Rotated Co"
    )
    message = wait_settled(federation.home_target, admin, "KR", before)
    assert message.state == admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED


def test_a_key_folder_that_cannot_be_written_is_refused_with_a_hint(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """The folder new keys are written to cannot be created (a read-only mount, as the
    shipped compose file mounts the certificates). Result: INVALID_ARGUMENT
    key.gateway_key_invalid naming gateway_keys_dir and --key-file, not INTERNAL; receipts are
    still signed by the old key."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    live = start_gateway(gateway_keys_dir=blocker / "keys")
    err = expect_error(
        lambda: rotate(live.channel("admin"), f"CN-GW-{uuid.uuid4().hex[:8]}"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "key.gateway_key_invalid",
    )
    assert "gateway_keys_dir" in (err.details() or "")
    assert "--key-file" in (err.details() or "")
    response = submit(partner_client(live), 1, record())
    assert response.receipt.signature.key_id == live.settings.signing_key_id


def test_a_generated_key_is_written_to_gateway_keys_dir(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """gateway_keys_dir names a folder that does not exist yet. Result: the rotation creates
    it and writes the new key there (not beside signing_key)."""
    keys_dir = tmp_path / "var" / "gateway-keys"
    live = start_gateway(gateway_keys_dir=keys_dir)
    new_id = f"CN-GW-{uuid.uuid4().hex[:8]}"
    rotate(live.channel("admin"), new_id)
    written = keys_dir / f"signing-{new_id}.key.pem"
    assert written.is_file()
    assert (keys_dir / f"signing-{new_id}.pub.pem").is_file()
    assert not (live.settings.signing_key.parent / written.name).exists()


@pytest.fixture
def followed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas look for another replica's rotation at every signature (not every few
    seconds), so the test need not wait."""
    monkeypatch.setattr(gateway_keys, "FOLLOW_SECONDS", 0.0)


@pytest.mark.usefixtures("followed_at_once")
def test_another_replica_signs_with_the_rotated_key_without_a_restart(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """Two replicas on one database; the admin rotates on A. Result: B's next receipt is
    signed by the new key, read from the file A wrote (readable by B)."""
    a = start_gateway(gateway_keys_dir=tmp_path / "keys")
    b = start_gateway(database_url=a.settings.database_url, gateway_keys_dir=tmp_path / "keys")
    new_id = f"CN-GW-{uuid.uuid4().hex[:8]}"
    rotate(a.channel("admin"), new_id)
    response = submit(partner_client(b), 1, record())
    assert response.receipt.signature.key_id == new_id


@pytest.mark.usefixtures("followed_at_once")
def test_a_replica_that_cannot_read_the_rotated_key_keeps_signing_and_says_where(
    start_gateway: Callable[..., Live], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A rotates to a key whose file B cannot read (A's own disk). Result: B keeps signing
    with its key and logs an ERROR naming the file; B restarted on the same database starts
    (with the settings' key, and the same ERROR) instead of refusing to."""
    a = start_gateway(gateway_keys_dir=tmp_path / "keys-of-a")
    b = start_gateway(database_url=a.settings.database_url)
    new_id = f"CN-GW-{uuid.uuid4().hex[:8]}"
    rotate(a.channel("admin"), new_id)
    key_file = str((tmp_path / "keys-of-a" / f"signing-{new_id}.key.pem").resolve())
    Path(key_file).unlink()  # not on B's disk
    with caplog.at_level(logging.ERROR, logger="adapters.crypto.gateway_keys"):
        response = submit(partner_client(b), 1, record())
    assert response.receipt.signature.key_id == b.settings.signing_key_id
    assert key_file in caplog.text

    caplog.clear()
    b.gateway.stop(grace=0)
    with caplog.at_level(logging.ERROR, logger="adapters.crypto.gateway_keys"):
        again = start_gateway(database_url=a.settings.database_url)
    assert key_file in caplog.text
    response = submit(partner_client(again), 2, record(version=2))
    assert response.receipt.signature.key_id == b.settings.signing_key_id


def sg_announcement(live: Live, key_id: str) -> exchange_pb2.AnnounceSigningKeyRequest:
    """SG's announcement of a new key, signed with its registered key SG-2026-1."""
    message = exchange_pb2.KeyAnnouncement(
        announcer="SG",
        recipient="CN",
        key_id=key_id,
        algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
        public_key_pem=pki.public_pem(pki.signing_key(ED25519)).decode(),
    )
    protomap.set_timestamp(message.valid_from, datetime.now(UTC))
    payload = message.SerializeToString(deterministic=True)
    return exchange_pb2.AnnounceSigningKeyRequest(
        announcement=exchange_pb2.SignedKeyAnnouncement(
            announcement=payload,
            signature=common_pb2.DetachedSignature(
                key_id="SG-2026-1",
                algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
                signature=live.workspace.signer("SG").sign(payload),
            ),
        )
    )


def test_a_retired_partner_can_neither_announce_a_key_nor_is_announced_to(
    start_gateway: Callable[..., Live], tmp_path: Path
) -> None:
    """An admin retires SG; SG then announces a new key, correctly signed; then the gateway's
    key is rotated. Result: FAILED_PRECONDITION partner.not_active and SG's keys unchanged;
    the rotation announces to the active partners but not to SG."""
    live = start_gateway(gateway_keys_dir=tmp_path / "keys")
    onboarding_pb2_grpc.PartnerOnboardingServiceStub(live.channel("admin")).RetirePartner(
        onboarding_pb2.RetirePartnerRequest(name="partners/SG", reason="MRA terminated"),
        timeout=30,
    )
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(live.channel("SG"))
    expect_error(
        lambda: stub.AnnounceSigningKey(sg_announcement(live, "SG-2027-7"), timeout=10),
        grpc.StatusCode.FAILED_PRECONDITION,
        "partner.not_active",
    )
    listed = keys_pb2_grpc.KeyManagementServiceStub(live.channel("admin")).ListPartnerSigningKeys(
        keys_pb2.ListPartnerSigningKeysRequest(parent="partners/SG"), timeout=10
    )
    assert "SG-2027-7" not in {k.key_id for k in listed.keys}

    answer = rotate(live.channel("admin"), f"CN-GW-{uuid.uuid4().hex[:8]}")
    announced = {a.partner for a in answer.announcements}
    assert "partners/SG" not in announced
    assert "partners/KR" in announced


def test_an_active_partner_announces_a_key_that_is_registered(live: Live) -> None:
    """SG, active, announces a new key signed with its registered key. Result: registered,
    source announcement."""
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(live.channel("SG"))
    answer = stub.AnnounceSigningKey(sg_announcement(live, "SG-2027-8"), timeout=10)
    assert answer.key_id == "SG-2027-8"
    listed = keys_pb2_grpc.KeyManagementServiceStub(live.channel("admin")).ListPartnerSigningKeys(
        keys_pb2.ListPartnerSigningKeysRequest(parent="partners/SG"), timeout=10
    )
    sources = {k.key_id: k.source for k in listed.keys}
    assert sources["SG-2027-8"] == keys_pb2.KEY_SOURCE_ANNOUNCEMENT
