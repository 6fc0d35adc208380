"""PartnerExchange: partners submit signed status messages."""

from __future__ import annotations

import grpc

from gateway.api.auth import current_principal
from gateway.domain.exchange import ExchangeService
from gateway.domain.messages import InboundMessage
from gateway.domain.ports import Clock
from gateway.pb import exchange_pb2, exchange_pb2_grpc


class PartnerExchangeServicer(exchange_pb2_grpc.PartnerExchangeServicer):
    def __init__(self, service: ExchangeService, clock: Clock) -> None:
        self._service = service
        self._clock = clock

    def Submit(
        self, request: exchange_pb2.SignedEnvelope, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitResponse:
        caller = current_principal()
        assert caller.partner is not None  # the interceptor admits only partner certificates
        outcome = self._service.submit(
            InboundMessage(
                partner=caller.partner,
                wire_format=request.format,
                payload=request.payload,
                signature=request.signature,
                key_id=request.key_id,
                algorithm=request.algorithm,
                received_at=self._clock.now(),
                peer=caller.fingerprint,
            )
        )
        sealed = outcome.receipt
        return exchange_pb2.SubmitResponse(
            receipt=exchange_pb2.SignedReceipt(
                receipt=sealed.receipt,
                signature=sealed.signature,
                key_id=sealed.key_id,
                algorithm=sealed.algorithm,
            ),
            duplicate=outcome.duplicate,
        )
