"""What a caller sees when the gateway itself fails: a status and a reference, never internals."""

from __future__ import annotations

from datetime import datetime

import grpc
import pytest

from gateway.api.errors import error_info
from gateway.client import RecognitionClient
from gateway.domain.records import StoredRecord
from tests.conftest import Live


def test_an_unexpected_exception_answers_internal_with_a_reference_that_is_in_the_log(
    live: Live, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The record reader fails with an unexpected error carrying internal text. Result: the
    domestic system gets INTERNAL, reason "internal", a correlation id in the metadata and the
    message, none of the internal text; the log has the id and the traceback."""

    def broken(administration: str, identifier: str, at: datetime) -> StoredRecord | None:
        raise RuntimeError("secret table t_records is corrupt")

    monkeypatch.setattr(live.gateway.store.reader, "record_as_of", broken)
    with live.channel("domestic") as channel, pytest.raises(grpc.RpcError) as failed:
        RecognitionClient(channel).recognise("SG000000000001")
    assert failed.value.code() is grpc.StatusCode.INTERNAL
    info = error_info(failed.value)
    assert info is not None
    assert info.reason == "internal"
    reference = info.metadata["correlation_id"]
    assert reference in failed.value.details()
    assert "secret" not in failed.value.details()
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None
