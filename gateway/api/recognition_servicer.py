"""RecognitionService: domestic systems ask whether a declared operator is a recognised AEO."""

from __future__ import annotations

import grpc

from gateway.api.auth import current
from gateway.api.convert import answer_to_pb, direction, mode, optional_time
from gateway.app.recognise import Recognise
from gateway.pb import recognition_pb2, recognition_pb2_grpc


class RecognitionServicer(recognition_pb2_grpc.RecognitionServiceServicer):
    def __init__(self, recognise: Recognise) -> None:
        self._recognise = recognise

    def GetRecognition(
        self, request: recognition_pb2.GetRecognitionRequest, context: grpc.ServicerContext
    ) -> recognition_pb2.GetRecognitionResponse:
        answer = self._recognise.one(
            current().directory,
            request.declared_code,
            direction(request.direction),
            optional_time(request, "as_of"),
            mode(request.mode),
        )
        return recognition_pb2.GetRecognitionResponse(recognition=answer_to_pb(answer))

    def BatchGetRecognitions(
        self, request: recognition_pb2.BatchGetRecognitionsRequest, context: grpc.ServicerContext
    ) -> recognition_pb2.BatchGetRecognitionsResponse:
        answers = self._recognise.many(
            current().directory,
            list(request.declared_codes),
            direction(request.direction),
            optional_time(request, "as_of"),
            mode(request.mode),
        )
        return recognition_pb2.BatchGetRecognitionsResponse(
            recognitions=[answer_to_pb(a) for a in answers]
        )
