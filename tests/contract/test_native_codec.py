"""The native wire format against a golden file: what partners build must keep decoding."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.wire import native
from gateway.domain.errors import MalformedPayload
from gateway.domain.records import BatchKind, RecordStatus, StatusEvent
from gateway.pb import common_pb2

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "native_sg_delta.bin"


def test_golden_delta_decodes_to_the_records_it_carries() -> None:
    """A stored SG delta (sequence 42, two records). Result: every field as sent."""
    batch = native.decode(GOLDEN.read_bytes())
    assert (batch.partner, batch.sequence, batch.kind) == ("SG", 42, BatchKind.DELTA)
    assert batch.issued_at == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    first, second = batch.records
    assert first.identifier == "SG201912345678"
    assert (first.status, first.tier, first.version) == (RecordStatus.VALID, "STP-Plus", 3)
    assert first.event is StatusEvent.REVALIDATED
    assert (first.authorised_from, first.valid_until) == (date(2019, 12, 1), date(2029, 11, 30))
    assert second.identifier == "201955555555"
    assert (second.status, second.suspended_on) == (RecordStatus.SUSPENDED, date(2026, 11, 20))
    assert batch.rejected == ()


def test_encoding_the_golden_content_gives_the_golden_bytes() -> None:
    """Re-encode what the golden file decodes to. Result: byte-identical (stable signing input)."""
    batch = native.decode(GOLDEN.read_bytes())
    again = native.encode(
        batch.partner, batch.sequence, batch.issued_at, batch.kind, list(batch.records)
    )
    assert again == GOLDEN.read_bytes()


def test_records_missing_required_fields_are_rejected_one_by_one() -> None:
    """A batch with a good record, one without version, one with a bad date. Result: one kept."""
    msg = common_pb2.StatusBatch()
    msg.ParseFromString(GOLDEN.read_bytes())
    msg.records[1].version = 0
    extra = msg.records.add()
    extra.CopyFrom(msg.records[0])
    extra.valid_until = "30/11/2029"
    batch = native.decode(msg.SerializeToString())
    assert [r.identifier for r in batch.records] == ["SG201912345678"]
    assert [(r.reason, r.detail) for r in batch.rejected] == [
        ("record.field_missing", "version is missing"),
        ("record.field_invalid", "valid_until is not an ISO date"),
    ]


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff\xff", b"", common_pb2.StatusBatch(partner="SG").SerializeToString()],
)
def test_bytes_that_are_not_a_complete_batch_are_malformed(payload: bytes) -> None:
    """Garbage, nothing, a batch without sequence. Result: MalformedPayload."""
    with pytest.raises(MalformedPayload):
        native.decode(payload)


def test_out_of_range_times_are_refused_not_crashed_on() -> None:
    """A record effective in the year 300000; a batch issued then. Result: the record rejected
    as record.field_invalid; the batch as malformed."""
    msg = common_pb2.StatusBatch()
    msg.ParseFromString(GOLDEN.read_bytes())
    msg.records[0].effective_at.seconds = 10**13
    batch = native.decode(msg.SerializeToString())
    assert [r.reason for r in batch.rejected] == ["record.field_invalid"]
    msg.issued_at.seconds = 10**13
    with pytest.raises(MalformedPayload):
        native.decode(msg.SerializeToString())
