"""FacilitationService: declaration systems report outcomes; analysts ask what mutual
recognition achieved."""

from __future__ import annotations

import grpc

from gateway.api.auth import current
from gateway.api.facilitation_convert import declaration_facts
from gateway.app.facilitation import RecordOutcomes, ReportFacilitation
from gateway.pb import facilitation_pb2 as pb
from gateway.pb import facilitation_pb2_grpc
from gateway.protomap_facilitation import report_to_pb


class FacilitationServicer(facilitation_pb2_grpc.FacilitationServiceServicer):
    def __init__(self, record: RecordOutcomes, report: ReportFacilitation) -> None:
        self._record = record
        self._report = report

    def RecordDeclarationOutcome(
        self, request: pb.RecordDeclarationOutcomeRequest, context: grpc.ServicerContext
    ) -> pb.RecordDeclarationOutcomeResponse:
        recorded = self._record(current().directory, declaration_facts(request.outcome))
        outcome = recorded.outcome
        return pb.RecordDeclarationOutcomeResponse(
            administration=outcome.administration,
            grade=outcome.grade,
            aeo=outcome.aeo,
            reason=outcome.reason,
            duplicate=recorded.duplicate,
        )

    def GetFacilitationReport(
        self, request: pb.GetFacilitationReportRequest, context: grpc.ServicerContext
    ) -> pb.GetFacilitationReportResponse:
        report = self._report(current().directory, request.period, request.partner)
        return pb.GetFacilitationReportResponse(report=report_to_pb(report))
