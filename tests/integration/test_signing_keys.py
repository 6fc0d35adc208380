"""Partners' signing keys managed through KeyManagementService, over real mutual TLS with real
signatures: overlap windows, retirement, and the refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from adapters import pki
from adapters.crypto.signatures import ECDSA_P256, ED25519, Signer
from gateway import protomap
from gateway.client import PartnerClient
from gateway.pb import common_pb2, keys_pb2, keys_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit

ED = common_pb2.SIGNATURE_ALGORITHM_ED25519
ECDSA = common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256


def keys(live: Live, who: str = "admin") -> keys_pb2_grpc.KeyManagementServiceStub:
    channel: grpc.Channel = live.channel(who)
    return keys_pb2_grpc.KeyManagementServiceStub(channel)


def new_key(
    key_id: str, algorithm: str = ED25519, not_before: datetime | None = None
) -> tuple[Signer, keys_pb2.PartnerSigningKey]:
    private = pki.signing_key(algorithm)
    message = keys_pb2.PartnerSigningKey(
        key_id=key_id,
        algorithm=protomap.ALGORITHM_TO_PB[algorithm],
        public_key_pem=pki.public_pem(private).decode(),
    )
    if not_before is not None:
        protomap.set_timestamp(message.not_before, not_before)
    return Signer(private, key_id, algorithm), message


def add(
    live: Live, key: keys_pb2.PartnerSigningKey, partner: str = "SG"
) -> keys_pb2.AddPartnerSigningKeyResponse:
    return keys(live).AddPartnerSigningKey(
        keys_pb2.AddPartnerSigningKeyRequest(parent=f"partners/{partner}", key=key), timeout=10
    )


def retire(
    live: Live, key_id: str, partner: str = "SG", at: datetime | None = None
) -> keys_pb2.RetirePartnerSigningKeyResponse:
    request = keys_pb2.RetirePartnerSigningKeyRequest(parent=f"partners/{partner}", key_id=key_id)
    if at is not None:
        protomap.set_timestamp(request.retire_at, at)
    return keys(live).RetirePartnerSigningKey(request, timeout=10)


def listed(live: Live, partner: str = "SG") -> dict[str, keys_pb2.PartnerSigningKey]:
    answer = keys(live).ListPartnerSigningKeys(
        keys_pb2.ListPartnerSigningKeysRequest(parent=f"partners/{partner}"), timeout=10
    )
    return {k.key_id: k for k in answer.keys}


def test_a_new_key_overlaps_the_old_one_which_is_then_retired(live: Live) -> None:
    """An admin adds SG-2027-1 beside SG's file key SG-2026-1; messages signed by either
    verify during the overlap; then SG-2026-1 is retired. Result: a message signed by the old
    key is refused UNAUTHENTICATED signature.key_not_valid, one signed by the new key is
    applied."""
    old = partner_client(live)
    signer, key = new_key("SG-2027-1", not_before=datetime.now(UTC) - timedelta(minutes=1))
    added = add(live, key)
    assert added.key.source == keys_pb2.KEY_SOURCE_ADMIN
    fresh = PartnerClient(live.channel("SG"), "SG", signer)
    submit(old, 1, record(version=1))
    submit(fresh, 2, record(version=2))
    assert set(listed(live)) == {"SG-2026-1", "SG-2027-1"}

    retired = retire(live, "SG-2026-1")
    assert retired.key.HasField("not_after")
    assert retired.key.source == keys_pb2.KEY_SOURCE_FILE
    expect_error(
        lambda: submit(old, 3, record(version=3)),
        grpc.StatusCode.UNAUTHENTICATED,
        "signature.key_not_valid",
    )
    submit(fresh, 3, record(version=3))


def test_a_key_retired_at_a_later_time_verifies_until_then(live: Live) -> None:
    """SG-2026-1 is retired an hour from now (the overlap window's end). Result: it still
    verifies now, and the listing shows its not_after."""
    _, key = new_key("SG-2027-2")
    add(live, key)
    later = datetime.now(UTC) + timedelta(hours=1)
    retire(live, "SG-2026-1", at=later)
    submit(partner_client(live), 1, record())
    assert protomap.instant(listed(live)["SG-2026-1"].not_after) == later


def test_the_keys_survive_a_restart_of_the_gateway(
    start_gateway: Callable[..., Live], live: Live
) -> None:
    """A key is added and the file key retired; another gateway starts on the same database.
    Result: it has the added key and the retirement, from its first call."""
    signer, key = new_key("SG-2027-3")
    add(live, key)
    retire(live, "SG-2026-1")
    again = start_gateway(database_url=live.settings.database_url)
    submit(PartnerClient(again.channel("SG"), "SG", signer), 1, record())
    expect_error(
        lambda: submit(partner_client(again), 2, record(version=2)),
        grpc.StatusCode.UNAUTHENTICATED,
        "signature.key_not_valid",
    )


def test_a_key_whose_algorithm_differs_from_the_pinned_one_is_refused(live: Live) -> None:
    """An admin adds a key under SG's key id SG-2026-1 (pinned to ed25519) as an ECDSA key.
    Result: INVALID_ARGUMENT key.algorithm_mismatch; SG's keys are unchanged."""
    _, key = new_key("SG-2026-1", ECDSA_P256)
    expect_error(lambda: add(live, key), grpc.StatusCode.INVALID_ARGUMENT, "key.algorithm_mismatch")
    assert listed(live)["SG-2026-1"].algorithm == ED


def test_a_pem_that_is_not_a_key_of_the_algorithm_is_refused(live: Live) -> None:
    """An admin adds SG-2027-4 said to be ed25519 with an ECDSA public key. Result:
    INVALID_ARGUMENT key.algorithm_mismatch, and nothing is registered."""
    _, key = new_key("SG-2027-4", ECDSA_P256)
    key.algorithm = ED
    expect_error(lambda: add(live, key), grpc.StatusCode.INVALID_ARGUMENT, "key.algorithm_mismatch")
    assert "SG-2027-4" not in listed(live)


def test_another_key_under_a_registered_key_id_is_refused(live: Live) -> None:
    """An admin adds a different ed25519 key as SG-2026-1. Result: ALREADY_EXISTS
    key.already_registered."""
    _, key = new_key("SG-2026-1")
    expect_error(lambda: add(live, key), grpc.StatusCode.ALREADY_EXISTS, "key.already_registered")


def test_a_key_window_that_ends_before_it_starts_is_refused(live: Live) -> None:
    """not_after before not_before. Result: INVALID_ARGUMENT key.window_invalid."""
    _, key = new_key("SG-2027-5", not_before=datetime.now(UTC))
    protomap.set_timestamp(key.not_after, datetime.now(UTC) - timedelta(days=1))
    expect_error(lambda: add(live, key), grpc.StatusCode.INVALID_ARGUMENT, "key.window_invalid")


def test_a_retirement_that_leaves_no_valid_key_is_refused(live: Live) -> None:
    """An admin retires SG's only key. Result: FAILED_PRECONDITION key.last_valid_key, and SG's
    messages still verify."""
    expect_error(
        lambda: retire(live, "SG-2026-1"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "key.last_valid_key",
    )
    submit(partner_client(live), 1, record())


def test_a_retirement_leaving_only_an_expired_key_is_refused(live: Live) -> None:
    """SG has a second key that expired yesterday; the admin retires SG-2026-1. Result:
    FAILED_PRECONDITION key.last_valid_key (an expired key does not count)."""
    _, key = new_key("SG-2025-9", not_before=datetime.now(UTC) - timedelta(days=30))
    protomap.set_timestamp(key.not_after, datetime.now(UTC) - timedelta(days=1))
    add(live, key)
    expect_error(
        lambda: retire(live, "SG-2026-1"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "key.last_valid_key",
    )


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (lambda live: listed(live, "ZZ"), "partner.not_found"),
        (lambda live: add(live, new_key("ZZ-1")[1], partner="ZZ"), "partner.not_found"),
        (lambda live: retire(live, "SG-1999-1"), "key.not_found"),
    ],
    ids=["list", "add", "retire-unknown-key"],
)
def test_an_unknown_partner_or_key_is_not_found(
    live: Live, call: Callable[[Live], object], reason: str
) -> None:
    """The admin names partner ZZ (not registered), or a key SG does not have. Result:
    NOT_FOUND with the reason naming which."""
    expect_error(lambda: call(live), grpc.StatusCode.NOT_FOUND, reason)


@pytest.mark.parametrize("who", ["SG", "domestic"])
def test_only_an_admin_certificate_may_manage_keys(live: Live, who: str) -> None:
    """A partner's and a domestic system's certificate call ListPartnerSigningKeys. Result:
    PERMISSION_DENIED auth.role_not_permitted."""
    expect_error(
        lambda: keys(live, who).ListPartnerSigningKeys(
            keys_pb2.ListPartnerSigningKeysRequest(parent="partners/SG"), timeout=10
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )
