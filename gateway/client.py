"""A typed Python client: for domestic systems, admins, and for simulating a partner.

It needs only the generated stubs (gateway.pb), grpcio and cryptography: nothing of the
gateway's own internals. Keep one channel open and reuse it: a TLS handshake per call costs
ten times the call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, cast

import grpc
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    changes_pb2,
    changes_pb2_grpc,
    common_pb2,
    exchange_pb2,
    exchange_pb2_grpc,
    facilitation_pb2,
    facilitation_pb2_grpc,
    recognition_pb2,
    recognition_pb2_grpc,
)

IMPORT = common_pb2.TRADE_DIRECTION_IMPORT
EXPORT = common_pb2.TRADE_DIRECTION_EXPORT


@dataclass(frozen=True)
class TlsIdentity:
    """The CA that issued the gateway's certificate, and this client's certificate and key."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def dev(cls, pki: Path, who: str) -> TlsIdentity:
        """From the development PKI: who is "domestic", "admin", "registry", "viewer",
        "console" or a partner code."""
        stem = (
            pki / "clients" / who
            if who in ("domestic", "admin", "registry", "viewer", "console")
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


def timestamp(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def algorithm_enum(name: str) -> common_pb2.SignatureAlgorithm.ValueType:
    """ "ecdsa-p256-sha256" -> SIGNATURE_ALGORITHM_ECDSA_P256_SHA256."""
    return common_pb2.SignatureAlgorithm.Value(
        "SIGNATURE_ALGORITHM_" + name.upper().replace("-", "_")
    )


class RecognitionClient:
    def __init__(self, channel: grpc.Channel, timeout: float = 10.0) -> None:
        self._stub = recognition_pb2_grpc.RecognitionServiceStub(channel)
        self._timeout = timeout

    def recognise(
        self,
        code: str,
        direction: common_pb2.TradeDirection.ValueType = IMPORT,
        as_of: datetime | None = None,
        mode: common_pb2.TransportMode.ValueType = common_pb2.TRANSPORT_MODE_UNSPECIFIED,
    ) -> recognition_pb2.Recognition:
        request = recognition_pb2.GetRecognitionRequest(
            declared_code=code, direction=direction, mode=mode
        )
        if as_of is not None:
            request.as_of.CopyFrom(timestamp(as_of))
        return self._stub.GetRecognition(request, timeout=self._timeout).recognition

    def recognise_many(
        self,
        codes: Sequence[str],
        direction: common_pb2.TradeDirection.ValueType = IMPORT,
        as_of: datetime | None = None,
        mode: common_pb2.TransportMode.ValueType = common_pb2.TRANSPORT_MODE_UNSPECIFIED,
    ) -> list[recognition_pb2.Recognition]:
        request = recognition_pb2.BatchGetRecognitionsRequest(
            declared_codes=codes, direction=direction, mode=mode
        )
        if as_of is not None:
            request.as_of.CopyFrom(timestamp(as_of))
        return list(self._stub.BatchGetRecognitions(request, timeout=self._timeout).recognitions)


class FacilitationClient:
    """Declaration outcomes in, the facilitation report out (domestic or admin role)."""

    def __init__(self, channel: grpc.Channel, timeout: float = 30.0) -> None:
        self._stub = facilitation_pb2_grpc.FacilitationServiceStub(channel)
        self._timeout = timeout

    def record(
        self, outcome: facilitation_pb2.DeclarationOutcome
    ) -> facilitation_pb2.RecordDeclarationOutcomeResponse:
        return self._stub.RecordDeclarationOutcome(
            facilitation_pb2.RecordDeclarationOutcomeRequest(outcome=outcome),
            timeout=self._timeout,
        )

    def report(self, period: str, partner: str = "") -> facilitation_pb2.FacilitationReport:
        request = facilitation_pb2.GetFacilitationReportRequest(period=period, partner=partner)
        return self._stub.GetFacilitationReport(request, timeout=self._timeout).report


def declaration_outcome(
    declaration_id: str,
    code: str,
    arrived_at: datetime,
    released_at: datetime,
    direction: common_pb2.TradeDirection.ValueType = IMPORT,
    inspected: bool = False,
    document_review: bool = False,
    mode: common_pb2.TransportMode.ValueType = common_pb2.TRANSPORT_MODE_UNSPECIFIED,
) -> facilitation_pb2.DeclarationOutcome:
    return facilitation_pb2.DeclarationOutcome(
        declaration_id=declaration_id,
        declared_code=code,
        direction=direction,
        mode=mode,
        arrived_at=timestamp(arrived_at),
        released_at=timestamp(released_at),
        document_review=document_review,
        inspected=inspected,
    )


class AdminClient:
    def __init__(self, channel: grpc.Channel, timeout: float = 10.0) -> None:
        self._stub = admin_pb2_grpc.AdminServiceStub(channel)
        self._timeout = timeout

    def partners(self, page_size: int = 0) -> Iterator[admin_pb2.Partner]:
        """Every partner, page by page."""
        token = ""
        while True:
            page = self._stub.ListPartners(
                admin_pb2.ListPartnersRequest(page_size=page_size, page_token=token),
                timeout=self._timeout,
            )
            yield from page.partners
            token = page.next_page_token
            if not token:
                return

    def partner(self, code: str) -> admin_pb2.Partner:
        return self._stub.GetPartner(
            admin_pb2.GetPartnerRequest(name=f"partners/{code}"), timeout=self._timeout
        ).partner

    def partner_state(self, code: str) -> admin_pb2.PartnerState:
        return self._stub.GetPartnerState(
            admin_pb2.GetPartnerStateRequest(name=f"partners/{code}/state"), timeout=self._timeout
        ).partner_state

    def reload_partners(self) -> admin_pb2.ReloadPartnersResponse:
        return self._stub.ReloadPartners(admin_pb2.ReloadPartnersRequest(), timeout=self._timeout)

    def reconciliation(self, code: str) -> admin_pb2.Reconciliation:
        """The digest over the partner's current set of operators (see admin.proto)."""
        return self._stub.GetPartnerReconciliation(
            admin_pb2.GetPartnerReconciliationRequest(name=f"partners/{code}/reconciliation"),
            timeout=self._timeout,
        ).reconciliation

    def changes(self, page_token: str = "", page_size: int = 0) -> admin_pb2.ListChangesResponse:
        return self._stub.ListChanges(
            admin_pb2.ListChangesRequest(page_size=page_size, page_token=page_token),
            timeout=self._timeout,
        )

    def set_programme_state(
        self,
        code: str,
        state: common_pb2.ProgrammeState.ValueType,
        reason: str,
        notice_period: timedelta | None = None,
    ) -> admin_pb2.ProgrammeStatus:
        """Gives the partner's programme notice of suspension (60 days unless
        ``notice_period``), suspends it or resumes it (PROGRAMME_STATE_ACTIVE)."""
        request = admin_pb2.SetProgrammeStateRequest(
            name=f"partners/{code}/programme", state=state, reason=reason
        )
        if notice_period is not None:
            duration = Duration()
            duration.FromTimedelta(notice_period)
            request.notice_period.CopyFrom(duration)
        return self._stub.SetProgrammeState(request, timeout=self._timeout).programme

    def outbound_messages(
        self,
        code: str = "-",
        state: admin_pb2.OutboundMessageState.ValueType = (
            admin_pb2.OUTBOUND_MESSAGE_STATE_UNSPECIFIED
        ),
        page_size: int = 0,
    ) -> Iterator[admin_pb2.OutboundMessage]:
        """Messages sent or being sent to partner ``code`` ("-": every partner), newest
        first, page by page."""
        token = ""
        while True:
            page = self._stub.ListOutboundMessages(
                admin_pb2.ListOutboundMessagesRequest(
                    parent=f"partners/{code}", state=state, page_size=page_size, page_token=token
                ),
                timeout=self._timeout,
            )
            yield from page.messages
            token = page.next_page_token
            if not token:
                return

    def redrive_outbound(self, code: str, sequences: Sequence[int] = ()) -> list[str]:
        """Dead letters of partner ``code`` ("-": every partner) back to sending; all of
        them unless ``sequences``. The names of those re-driven."""
        return list(
            self._stub.RedriveOutboundMessages(
                admin_pb2.RedriveOutboundMessagesRequest(
                    parent=f"partners/{code}", sequences=sequences
                ),
                timeout=self._timeout,
            ).redriven
        )


class WatchStream(Protocol):
    """A WatchChanges call: its responses, and how to end it."""

    def __iter__(self) -> Iterator[changes_pb2.WatchChangesResponse]: ...

    def __next__(self) -> changes_pb2.WatchChangesResponse: ...

    def cancel(self) -> bool: ...

    def code(self) -> grpc.StatusCode | None: ...


class ChangeFeedClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self._stub = changes_pb2_grpc.ChangeFeedServiceStub(channel)

    def watch(
        self, after_cursor: int = 0, from_now: bool = False, timeout: float | None = None
    ) -> WatchStream:
        """The change log after ``after_cursor`` (or from now), then each commit as it comes,
        with a heartbeat (no changes) every few seconds. Never ends by itself: call
        ``cancel()`` on the returned iterator to stop (or give a ``timeout``); resume after the
        last ``cursor``."""
        request = changes_pb2.WatchChangesRequest(after_cursor=after_cursor, from_now=from_now)
        return cast(WatchStream, self._stub.WatchChanges(request, timeout=timeout))


class MessageSigner(Protocol):
    """Whatever holds the partner's signing key: an HSM, a key file, a test double."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


def native_envelope(
    signer: MessageSigner,
    partner: str,
    sequence: int,
    records: Sequence[common_pb2.AeoRecord],
    kind: common_pb2.BatchKind.ValueType = common_pb2.BATCH_KIND_DELTA,
    issued_at: datetime | None = None,
) -> exchange_pb2.SignedEnvelope:
    """A native-format envelope: a StatusBatch, signed over its exact bytes."""
    batch = common_pb2.StatusBatch(partner=partner, sequence=sequence, kind=kind, records=records)
    batch.issued_at.CopyFrom(timestamp(issued_at or datetime.now(UTC)))
    return signed_envelope(signer, batch.SerializeToString())


def signed_envelope(signer: MessageSigner, payload: bytes) -> exchange_pb2.SignedEnvelope:
    """A native-format envelope of ``payload`` as it is, with a detached signature over it."""
    return exchange_pb2.SignedEnvelope(
        format=common_pb2.WIRE_FORMAT_NATIVE,
        payload=payload,
        detached_signature=common_pb2.DetachedSignature(
            key_id=signer.key_id,
            algorithm=algorithm_enum(signer.algorithm),
            signature=signer.sign(payload),
        ),
    )


class PartnerClient:
    """Submits signed status messages as a partner administration does."""

    def __init__(
        self, channel: grpc.Channel, partner: str, signer: MessageSigner, timeout: float = 30.0
    ) -> None:
        self._stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
        self.partner = partner
        self.signer = signer
        self._timeout = timeout

    def submit(
        self,
        sequence: int,
        records: Sequence[common_pb2.AeoRecord],
        kind: common_pb2.BatchKind.ValueType = common_pb2.BATCH_KIND_DELTA,
        issued_at: datetime | None = None,
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        return self.submit_envelope(
            native_envelope(self.signer, self.partner, sequence, records, kind, issued_at)
        )

    def submit_envelope(
        self, envelope: exchange_pb2.SignedEnvelope
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        return self._stub.SubmitStatusMessage(
            exchange_pb2.SubmitStatusMessageRequest(envelope=envelope), timeout=self._timeout
        )


class ReceiptInvalid(ValueError):
    """The receipt's signature does not verify with the gateway's published key."""


_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def open_receipt(signed: exchange_pb2.SignedReceipt, gateway_key: object) -> exchange_pb2.Receipt:
    """Checks the gateway's signature on a receipt (Ed25519, ECDSA P-256 or RSA-PSS public
    key) and returns its content."""
    data, sig = signed.receipt, signed.signature
    algorithm = sig.algorithm
    try:
        if isinstance(gateway_key, ed25519.Ed25519PublicKey):
            ok = algorithm == common_pb2.SIGNATURE_ALGORITHM_ED25519
            gateway_key.verify(sig.signature, data)
        elif isinstance(gateway_key, ec.EllipticCurvePublicKey):
            ok = algorithm == common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256
            gateway_key.verify(sig.signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(gateway_key, rsa.RSAPublicKey):
            ok = algorithm == common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256
            gateway_key.verify(sig.signature, data, _PSS, hashes.SHA256())
        else:
            raise ReceiptInvalid(f"unsupported key type {type(gateway_key).__name__}")
    except (InvalidSignature, ValueError) as exc:
        raise ReceiptInvalid("receipt signature does not verify") from exc
    if not ok:
        raise ReceiptInvalid("receipt algorithm does not match the gateway's key")
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(data)
    return receipt
