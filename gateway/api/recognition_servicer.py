"""Recognition: domestic systems ask whether a declared operator is a recognised AEO."""

from __future__ import annotations

import grpc

from gateway.api.convert import answer_to_pb, optional_time
from gateway.domain.recognition import RecognitionService
from gateway.pb import recognition_pb2, recognition_pb2_grpc


class RecognitionServicer(recognition_pb2_grpc.RecognitionServicer):
    def __init__(self, service: RecognitionService) -> None:
        self._service = service

    def GetRecognition(
        self, request: recognition_pb2.RecognitionRequest, context: grpc.ServicerContext
    ) -> recognition_pb2.RecognitionAnswer:
        answer = self._service.recognise(request.declared_code, optional_time(request, "as_of"))
        return answer_to_pb(answer)

    def GetRecognitionBatch(
        self, request: recognition_pb2.BatchRecognitionRequest, context: grpc.ServicerContext
    ) -> recognition_pb2.BatchRecognitionResponse:
        answers = self._service.recognise_many(
            list(request.declared_codes), optional_time(request, "as_of")
        )
        return recognition_pb2.BatchRecognitionResponse(answers=[answer_to_pb(a) for a in answers])
