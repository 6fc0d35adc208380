"""PartnerExchangeService: partners submit signed status messages."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api.auth import current
from gateway.app.submit import SubmitStatusMessage
from gateway.domain.errors import UnsupportedWireFormat
from gateway.domain.messages import DetachedSignature, InboundMessage
from gateway.domain.ports import Clock
from gateway.pb import common_pb2, exchange_pb2, exchange_pb2_grpc


class PartnerExchangeServicer(exchange_pb2_grpc.PartnerExchangeServiceServicer):
    def __init__(self, submit: SubmitStatusMessage, clock: Clock) -> None:
        self._submit = submit
        self._clock = clock

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        ctx = current()
        assert ctx.principal.partner is not None  # the interceptor admits partner certificates
        envelope = request.envelope
        wire_format = ""
        if envelope.format:
            wire_format = protomap.FORMAT_NAME.get(envelope.format, "")
            if not wire_format:
                raise UnsupportedWireFormat(f"wire format {envelope.format} is not known")
        detached = None
        if envelope.HasField("detached_signature"):
            d = envelope.detached_signature
            detached = DetachedSignature(
                d.key_id, protomap.ALGORITHM_NAME.get(d.algorithm, ""), d.signature
            )
        result = self._submit(
            InboundMessage(
                partner=ctx.principal.partner,
                wire_format=wire_format,
                payload=envelope.payload,
                detached=detached,
                received_at=self._clock.now(),
                peer=ctx.principal.fingerprint,
            ),
            ctx.directory,
        )
        sealed = result.receipt
        return exchange_pb2.SubmitStatusMessageResponse(
            receipt=exchange_pb2.SignedReceipt(
                receipt=sealed.receipt,
                signature=common_pb2.DetachedSignature(
                    key_id=sealed.key_id,
                    algorithm=protomap.ALGORITHM_TO_PB.get(
                        sealed.algorithm, common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED
                    ),
                    signature=sealed.signature,
                ),
            ),
            duplicate=result.duplicate,
        )
