"""What a caller sees when the gateway itself fails: a status and a reference, never internals."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import grpc
import pytest

from gateway.api.errors import error_info
from gateway.client import RecognitionClient
from gateway.domain.records import StoredRecord
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope, partner_client, receipt_of, store_view


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
    details = failed.value.details() or ""
    assert reference in details
    assert "secret" not in details
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None


def test_a_message_the_database_refuses_answers_internal_and_leaves_nothing_behind(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """The database refuses every new record version (a trigger stands in for whatever a
    store may refuse); SG submits a valid message. Result: INTERNAL store.rejected with a
    correlation id in the metadata and the message, none of the driver's text, the id and the
    driver's error in the log; nothing of the message is stored, so once the database accepts
    again the very same envelope is applied as new, not answered as a duplicate."""
    db = sqlite3.connect(Path(live.settings.database_url.removeprefix("sqlite:///")))
    db.execute(
        "CREATE TRIGGER refuse_versions BEFORE INSERT ON record_versions "
        "BEGIN SELECT RAISE(ABORT, 'secret trigger says no'); END"
    )
    db.commit()
    client = partner_client(live)
    env = envelope(client.signer, "SG", 1, record())
    before = store_view(live)
    with pytest.raises(grpc.RpcError) as failed:
        client.submit_envelope(env)
    assert failed.value.code() is grpc.StatusCode.INTERNAL
    info = error_info(failed.value)
    assert info is not None
    assert (info.reason, info.domain) == ("store.rejected", "aeo-gateway")
    reference = info.metadata["correlation_id"]
    details = failed.value.details() or ""
    assert reference in details
    assert "secret" not in details
    logged = [r.getMessage() for r in caplog.records if reference in r.getMessage()]
    assert logged
    assert "secret trigger says no" in logged[0]
    assert store_view(live) == before

    db.execute("DROP TRIGGER refuse_versions")
    db.commit()
    db.close()
    again = client.submit_envelope(env)
    assert not again.duplicate
    assert receipt_of(live, again).records_applied == 1
