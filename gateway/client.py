"""A typed Python client: for domestic systems, admins, and for simulating a partner.

Keep one channel open and reuse it: a TLS handshake per call costs ten times the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from cryptography.exceptions import InvalidSignature

from adapters.crypto.signatures import PublicKey, Signer, verifier
from adapters.wire import native
from gateway.api.convert import timestamp
from gateway.domain.records import AeoRecord, BatchKind
from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    recognition_pb2,
    recognition_pb2_grpc,
)


@dataclass(frozen=True)
class TlsIdentity:
    """The CA that issued the gateway's certificate, and this client's certificate and key."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def dev(cls, pki: Path, who: str) -> TlsIdentity:
        """From the development PKI: who is "domestic", "admin" or a partner code."""
        stem = (
            pki / "clients" / who
            if who in ("domestic", "admin")
            else pki / "partners" / who / "client"
        )
        return cls(pki / "ca.pem", Path(f"{stem}.pem"), Path(f"{stem}.key.pem"))


def connect(
    target: str, identity: TlsIdentity | None, max_message_bytes: int = 8 << 20
) -> grpc.Channel:
    """A channel with mutual TLS, or plaintext when ``identity`` is None (insecure mode only)."""
    options = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]
    if identity is None:
        return grpc.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=identity.ca.read_bytes(),
        private_key=identity.key.read_bytes(),
        certificate_chain=identity.cert.read_bytes(),
    )
    return grpc.secure_channel(target, credentials, options=options)


class RecognitionClient:
    def __init__(self, channel: grpc.Channel, timeout: float = 10.0) -> None:
        self._stub = recognition_pb2_grpc.RecognitionStub(channel)
        self._timeout = timeout

    def recognise(
        self, code: str, as_of: datetime | None = None
    ) -> recognition_pb2.RecognitionAnswer:
        request = recognition_pb2.RecognitionRequest(declared_code=code)
        if as_of is not None:
            request.as_of.CopyFrom(timestamp(as_of))
        return self._stub.GetRecognition(request, timeout=self._timeout)

    def recognise_many(
        self, codes: Sequence[str], as_of: datetime | None = None
    ) -> list[recognition_pb2.RecognitionAnswer]:
        request = recognition_pb2.BatchRecognitionRequest(declared_codes=codes)
        if as_of is not None:
            request.as_of.CopyFrom(timestamp(as_of))
        return list(self._stub.GetRecognitionBatch(request, timeout=self._timeout).answers)


class AdminClient:
    def __init__(self, channel: grpc.Channel, timeout: float = 10.0) -> None:
        self._stub = admin_pb2_grpc.AdminStub(channel)
        self._timeout = timeout

    def partners(self) -> list[admin_pb2.Partner]:
        return list(
            self._stub.ListPartners(admin_pb2.ListPartnersRequest(), timeout=self._timeout).partners
        )

    def partner_state(self, partner: str) -> admin_pb2.PartnerState:
        return self._stub.GetPartnerState(
            admin_pb2.GetPartnerStateRequest(partner=partner), timeout=self._timeout
        )


def envelope(
    signer: Signer,
    partner: str,
    sequence: int,
    records: Sequence[AeoRecord],
    kind: BatchKind = BatchKind.DELTA,
    issued_at: datetime | None = None,
) -> exchange_pb2.SignedEnvelope:
    """A native-format envelope signed as a partner would sign it."""
    payload = native.encode(partner, sequence, issued_at or datetime.now(UTC), kind, list(records))
    return exchange_pb2.SignedEnvelope(
        format=native.NAME,
        payload=payload,
        signature=signer.sign(payload),
        key_id=signer.key_id,
        algorithm=signer.algorithm,
    )


class PartnerClient:
    """Submits signed status messages as a partner administration does."""

    def __init__(
        self, channel: grpc.Channel, partner: str, signer: Signer, timeout: float = 30.0
    ) -> None:
        self._stub = exchange_pb2_grpc.PartnerExchangeStub(channel)
        self.partner = partner
        self.signer = signer
        self._timeout = timeout

    def submit(
        self,
        sequence: int,
        records: Sequence[AeoRecord],
        kind: BatchKind = BatchKind.DELTA,
        issued_at: datetime | None = None,
    ) -> exchange_pb2.SubmitResponse:
        return self.submit_envelope(
            envelope(self.signer, self.partner, sequence, records, kind, issued_at)
        )

    def submit_envelope(self, env: exchange_pb2.SignedEnvelope) -> exchange_pb2.SubmitResponse:
        return self._stub.Submit(env, timeout=self._timeout)


class ReceiptInvalid(ValueError):
    """The receipt's signature does not verify with the gateway's published key."""


def open_receipt(
    signed: exchange_pb2.SignedReceipt, gateway_key: PublicKey
) -> exchange_pb2.Receipt:
    """Checks the gateway's signature on a receipt and returns its content."""
    try:
        ok = verifier(gateway_key, signed.algorithm)(signed.receipt, signed.signature)
    except (ValueError, InvalidSignature) as exc:
        raise ReceiptInvalid(str(exc)) from exc
    if not ok:
        raise ReceiptInvalid("receipt signature does not verify")
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(signed.receipt)
    return receipt
