"""What the integration tests share: calling the live gateway and reading its store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest

from adapters.crypto.signatures import load_public_key
from gateway.api.errors import error_info
from gateway.client import (
    MessageSigner,
    PartnerClient,
    RecognitionClient,
    native_envelope,
    open_receipt,
)
from gateway.devkit import pb_records
from gateway.domain.records import AeoRecord
from gateway.pb import common_pb2, exchange_pb2
from tests.conftest import Live


def partner_client(live: Live, partner: str = "SG", cert_of: str | None = None) -> PartnerClient:
    """A partner client; ``cert_of`` connects with another party's TLS certificate."""
    return PartnerClient(live.channel(cert_of or partner), partner, live.workspace.signer(partner))


def recognition_client(live: Live, who: str = "domestic") -> RecognitionClient:
    return RecognitionClient(live.channel(who))


def submit(
    client: PartnerClient,
    sequence: int,
    *records: AeoRecord,
    kind: common_pb2.BatchKind.ValueType = common_pb2.BATCH_KIND_DELTA,
    issued_at: datetime | None = None,
) -> exchange_pb2.SubmitStatusMessageResponse:
    """``client`` submits domain ``records`` (tests.factories.record) as a native batch."""
    return client.submit(sequence, pb_records(records), kind, issued_at)


def envelope(
    signer: MessageSigner,
    partner: str,
    sequence: int,
    *records: AeoRecord,
    issued_at: datetime | None = None,
) -> exchange_pb2.SignedEnvelope:
    """A native envelope of domain ``records``, signed by ``signer``, claiming ``partner``."""
    return native_envelope(signer, partner, sequence, pb_records(records), issued_at=issued_at)


def receipt_of(
    live: Live, response: exchange_pb2.SubmitStatusMessageResponse
) -> exchange_pb2.Receipt:
    """The receipt's content, after checking the gateway's signature on it."""
    key = load_public_key(
        (
            live.workspace.pki / "gateway" / f"signing-{live.settings.signing_key_id}.pub.pem"
        ).read_bytes(),
        live.settings.signing_algorithm,
    )
    assert response.receipt.signature.key_id == live.settings.signing_key_id
    return open_receipt(response.receipt, key)


@dataclass(frozen=True)
class StoreView:
    """Everything stored that a refused message could have changed."""

    stats: tuple[Any, ...]
    history: tuple[Any, ...]
    changes: tuple[Any, ...]


def store_view(live: Live, *identifiers: str) -> StoreView:
    reader = live.gateway.store.reader
    stats = tuple(reader.partner_stats(p) for p in ("SG", "KR"))
    history = tuple(
        tuple(reader.history(i[:2], i)) for i in identifiers or ("SG000000000001", "KR0000000001")
    )
    return StoreView(stats, history, tuple(reader.changes_after(0, 1_000_000)))


def expect_error(call: Any, code: grpc.StatusCode, reason: str | None) -> grpc.RpcError:
    """Runs ``call``; asserts it fails with ``code`` and (when given) the ErrorInfo ``reason``."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    err = caught.value
    assert err.code() is code, (err.code(), err.details())
    info = error_info(err)
    if reason is None:
        assert info is None
    else:
        assert info is not None
        assert info.reason == reason
        assert info.domain == "aeo-gateway"
    return err


def now() -> datetime:
    return datetime.now(UTC)
