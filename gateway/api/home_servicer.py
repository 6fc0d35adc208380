"""HomeRegistryService: the home credit system records its enterprises' grade changes."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api.auth import current
from gateway.api.convert import PARTNER_PREFIX
from gateway.app.home_registry import RecordGradeChange
from gateway.domain.errors import GradeChangeInvalid
from gateway.domain.home_registry import GradeChange
from gateway.pb import home_pb2, home_pb2_grpc


class HomeRegistryServicer(home_pb2_grpc.HomeRegistryServiceServicer):
    def __init__(self, record: RecordGradeChange) -> None:
        self._record = record

    def RecordGradeChange(
        self, request: home_pb2.RecordGradeChangeRequest, context: grpc.ServicerContext
    ) -> home_pb2.RecordGradeChangeResponse:
        result = self._record(grade_change(request.change), current().directory)
        return home_pb2.RecordGradeChangeResponse(
            record=protomap.encode_record(result.record),
            grade_scheme=result.grade_scheme,
            aeo=result.aeo,
            duplicate=result.duplicate,
            queued_for=[PARTNER_PREFIX + code for code in result.queued_for],
        )


def grade_change(msg: home_pb2.GradeChange) -> GradeChange:
    if not msg.HasField("effective_at"):
        raise GradeChangeInvalid("effective_at is required", field="effective_at")
    try:
        effective_at = protomap.instant(msg.effective_at)
    except ValueError as exc:
        raise GradeChangeInvalid("effective_at is not a valid time", field="effective_at") from exc
    return GradeChange(
        enterprise_code=msg.enterprise_code,
        name=msg.name,
        address=msg.address,
        grade=msg.grade,
        effective_at=effective_at,
        suspended=msg.suspended,
        recertified=msg.recertified,
    )
