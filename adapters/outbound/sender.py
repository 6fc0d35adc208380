"""The PartnerTransport port over gRPC with mutual TLS: one channel per partner, transient
failures retried a few times in process (exponential backoff with jitter), the rest reported
with a stable reason for the delivery loop to record."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from gateway import protomap
from gateway.app.deliver import DeliveryFailed
from gateway.domain import outbound
from gateway.domain.messages import SealedEnvelope
from gateway.domain.outbound import PeerReceipt
from gateway.domain.partners import OutboundEndpoint
from gateway.pb import exchange_pb2, exchange_pb2_grpc

#: Statuses worth another attempt at once: the partner's gateway (or the path to it) was
#: down, slow or busy. Anything else is its considered answer, retried only much later.
TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)

#: The channel's reconnect backoff, first and longest, in milliseconds.
RECONNECT_MS = (100, 1000)


def is_transient(exc: BaseException) -> bool:
    """The one predicate deciding what is retried in process (a reset connection is
    UNAVAILABLE in gRPC)."""
    return isinstance(exc, grpc.RpcError) and exc.code() in TRANSIENT


def reason(exc: grpc.RpcError) -> str:
    code = exc.code()
    if code is grpc.StatusCode.UNAVAILABLE:
        return outbound.PARTNER_UNAVAILABLE
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return outbound.PARTNER_DEADLINE_EXCEEDED
    return outbound.refused(code.name)


def peer_reason(exc: grpc.RpcError) -> str:
    """The stable reason in the refusal's status details; "" when there is none or the details
    are broken (they only refine the status, which is recorded either way)."""
    try:
        info = protomap.error_info(exc)
    except Exception:  # a malformed grpc-status-details-bin: ValueError, DecodeError
        return ""
    return info.reason if info else ""


@dataclass(frozen=True)
class ClientIdentity:
    """The client certificate and key the gateway presents to partners' gateways."""

    cert: bytes
    key: bytes


@dataclass(frozen=True)
class _Channel:
    definition: tuple[str, str, bytes]
    channel: grpc.Channel
    stub: exchange_pb2_grpc.PartnerExchangeServiceStub


class GrpcSender:
    def __init__(
        self,
        identity: ClientIdentity,
        timeout: float,
        attempts: int = 3,
        max_message_bytes: int = 8 << 20,
    ) -> None:
        self._identity = identity
        self._timeout = timeout
        self._attempts = attempts
        self._max = max_message_bytes
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()

    def _stub(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes
    ) -> exchange_pb2_grpc.PartnerExchangeServiceStub:
        """The partner's channel, rebuilt when its definition (endpoint, name, CA) changed."""
        definition = (endpoint.address, endpoint.server_name, server_ca)
        with self._lock:
            found = self._channels.get(partner)
            if found is not None and found.definition == definition:
                return found.stub
            if found is not None:
                found.channel.close()
            credentials = grpc.ssl_channel_credentials(
                root_certificates=server_ca,
                private_key=self._identity.key,
                certificate_chain=self._identity.cert,
            )
            options: list[tuple[str, str | int]] = [
                ("grpc.max_send_message_length", self._max),
                ("grpc.max_receive_message_length", self._max),
                # Delivery keeps its own, recorded backoff; the channel's (up to two minutes)
                # would fail calls fast long after the partner's gateway is back.
                ("grpc.initial_reconnect_backoff_ms", RECONNECT_MS[0]),
                ("grpc.min_reconnect_backoff_ms", RECONNECT_MS[0]),
                ("grpc.max_reconnect_backoff_ms", RECONNECT_MS[1]),
            ]
            if endpoint.server_name:
                options.append(("grpc.ssl_target_name_override", endpoint.server_name))
            channel = grpc.secure_channel(endpoint.address, credentials, options=options)
            stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
            self._channels[partner] = _Channel(definition, channel, stub)
            return stub

    def send(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        stub = self._stub(partner, endpoint, server_ca)
        request = exchange_pb2.SubmitStatusMessageRequest(envelope=protomap.signed_envelope(sealed))
        try:
            response = Retrying(
                retry=retry_if_exception(is_transient),
                stop=stop_after_attempt(self._attempts),
                wait=wait_random_exponential(multiplier=0.05, max=1.0),
                reraise=True,
            )(stub.SubmitStatusMessage, request, timeout=self._timeout)
        except grpc.RpcError as exc:
            raise DeliveryFailed(reason(exc), exc.details() or "", peer_reason(exc)) from exc
        return peer_receipt(response.receipt)

    def close(self) -> None:
        with self._lock:
            for found in self._channels.values():
                found.channel.close()
            self._channels.clear()


def peer_receipt(signed: exchange_pb2.SignedReceipt) -> PeerReceipt:
    """What the receipt's bytes say, for the core to check against the signature and the
    message; DeliveryFailed when they are not a receipt at all."""
    content = exchange_pb2.Receipt()
    try:
        content.ParseFromString(signed.receipt)
    except DecodeError as exc:
        raise DeliveryFailed(outbound.RECEIPT_MALFORMED, "receipt bytes do not parse") from exc
    sig = signed.signature
    return PeerReceipt(
        receipt=signed.receipt,
        signature=sig.signature,
        key_id=sig.key_id,
        algorithm=protomap.ALGORITHM_NAME.get(sig.algorithm, ""),
        message_id=content.message_id,
        partner=content.partner,
        sequence=content.sequence,
        payload_sha256=content.payload_sha256,
    )
