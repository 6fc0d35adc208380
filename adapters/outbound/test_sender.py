"""The onboarding TestTransport over gRPC with mutual TLS: one test message to a partner
gateway's SubmitTestMessage, on a channel of its own (tests are rare: none is kept open)."""

from __future__ import annotations

import grpc

from adapters.outbound.sender import ClientIdentity, peer_reason, peer_receipt, reason
from gateway import protomap
from gateway.app.deliver import DeliveryFailed
from gateway.domain.messages import SealedEnvelope
from gateway.domain.outbound import PeerReceipt
from gateway.domain.partners import OutboundEndpoint
from gateway.pb import exchange_pb2, exchange_pb2_grpc


class GrpcTestSender:
    def __init__(self, identity: ClientIdentity, timeout: float) -> None:
        self._identity = identity
        self._timeout = timeout

    def send_test(
        self, partner: str, endpoint: OutboundEndpoint, server_ca: bytes, sealed: SealedEnvelope
    ) -> PeerReceipt:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=server_ca,
            private_key=self._identity.key,
            certificate_chain=self._identity.cert,
        )
        options: list[tuple[str, str | int]] = []
        if endpoint.server_name:
            options.append(("grpc.ssl_target_name_override", endpoint.server_name))
        request = exchange_pb2.SubmitTestMessageRequest(envelope=protomap.signed_envelope(sealed))
        with grpc.secure_channel(endpoint.address, credentials, options=options) as channel:
            stub = exchange_pb2_grpc.PartnerExchangeServiceStub(channel)
            try:
                response = stub.SubmitTestMessage(
                    request, timeout=self._timeout, wait_for_ready=False
                )
            except grpc.RpcError as exc:
                raise DeliveryFailed(reason(exc), exc.details() or "", peer_reason(exc)) from exc
        return peer_receipt(response.receipt)
