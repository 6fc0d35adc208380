"""PartnerExchangeService: partners submit signed status messages and outcome reports."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api.auth import current
from gateway.app.lifecycle import Lifecycles, SubmitTestMessage
from gateway.app.outcome_report import SubmitOutcomeReport
from gateway.app.submit import SubmitStatusMessage
from gateway.domain.ports import Clock
from gateway.pb import exchange_pb2, exchange_pb2_grpc


class PartnerExchangeServicer(exchange_pb2_grpc.PartnerExchangeServiceServicer):
    def __init__(
        self,
        submit: SubmitStatusMessage,
        clock: Clock,
        submit_outcomes: SubmitOutcomeReport | None = None,
        lifecycles: Lifecycles | None = None,
        submit_test: SubmitTestMessage | None = None,
    ) -> None:
        self._submit = submit
        self._clock = clock
        #: None: no outcome store is connected, and the RPC answers UNIMPLEMENTED.
        self._submit_outcomes = submit_outcomes
        #: Issue 10: only an active partner's outcome reports are applied (None: every
        #: registered partner is active, as before onboarding existed). Status messages:
        #: ``submit`` is gated (gateway.app.active_only).
        self._lifecycles = lifecycles
        #: None: the RPC answers UNIMPLEMENTED.
        self._submit_test = submit_test

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        ctx = current()
        assert ctx.principal.partner is not None  # the interceptor admits partner certificates
        # The lifecycle gate is a step of ``submit`` (ActivePartnersOnly), so that its
        # refusals are observed with every other outcome of a status message.
        message = protomap.inbound_message(
            request.envelope, ctx.principal.partner, self._clock.now(), ctx.principal.fingerprint
        )
        result = self._submit(message, ctx.directory)
        return exchange_pb2.SubmitStatusMessageResponse(
            receipt=protomap.signed_receipt(result.receipt), duplicate=result.duplicate
        )

    def SubmitOutcomeReport(
        self, request: exchange_pb2.SubmitOutcomeReportRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitOutcomeReportResponse:
        if self._submit_outcomes is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this gateway records no outcome reports")
        ctx = current()
        assert ctx.principal.partner is not None  # the interceptor admits partner certificates
        if self._lifecycles is not None:  # in testing, only test messages are accepted
            self._lifecycles.require_active(ctx.principal.partner, ctx.directory)
        message = protomap.inbound_message(
            request.envelope, ctx.principal.partner, self._clock.now(), ctx.principal.fingerprint
        )
        result = self._submit_outcomes(message, ctx.directory)
        return exchange_pb2.SubmitOutcomeReportResponse(
            receipt=protomap.signed_receipt(result.receipt), duplicate=result.duplicate
        )

    def SubmitTestMessage(
        self, request: exchange_pb2.SubmitTestMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitTestMessageResponse:
        if self._submit_test is None:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this gateway takes no test messages")
        ctx = current()
        assert ctx.principal.partner is not None  # the interceptor admits partner certificates
        message = protomap.inbound_message(
            request.envelope, ctx.principal.partner, self._clock.now(), ctx.principal.fingerprint
        )
        sealed = self._submit_test(message, ctx.directory, ctx.principal.subject)
        return exchange_pb2.SubmitTestMessageResponse(receipt=protomap.signed_receipt(sealed))
