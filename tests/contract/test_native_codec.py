"""The native wire format: the codec contract, and a golden file partners build against."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from adapters.crypto.signatures import Signer
from adapters.wire import native
from gateway.domain.errors import MalformedPayload, SignatureInvalid, TooManyRecords
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    OutboundBatch,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.domain.validation import validate_record
from gateway.pb import common_pb2
from tests.contract.codec_contract import CodecContract

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "native_sg_delta.bin"
LIMITS = DecodeLimits(max_records=100)


class TestNativeCodecContract(CodecContract):
    codec = native.NativeCodec()

    def unreadable(self, signer: Signer) -> SealedEnvelope:
        payload = b"\xff\xff not a StatusBatch"
        return SealedEnvelope(
            native.NAME,
            payload,
            DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload)),
        )

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        payload = bytearray(envelope.payload)
        payload[-1] ^= 0x01
        return replace(envelope, payload=bytes(payload))

    def test_a_missing_detached_signature_is_refused(self) -> None:
        """A native payload without its signature. Result: SignatureInvalid."""
        envelope = replace(self.codec.seal(self.batch(), self.sg), detached=None)
        with pytest.raises(SignatureInvalid):
            self.open(envelope)


def _golden() -> DecodedBatch:
    return native.decode(GOLDEN.read_bytes(), LIMITS, "SG-2026-1", "ed25519")


def test_golden_delta_decodes_to_the_records_it_carries() -> None:
    """A stored SG delta (sequence 42, two records). Result: every field as sent."""
    batch = _golden()
    assert (batch.partner, batch.sequence, batch.kind) == ("SG", 42, BatchKind.DELTA)
    assert batch.issued_at == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    first, second = batch.drafts
    assert first.identifier == "SG201912345678"
    assert (first.status, first.tier, first.version) == (RecordStatus.VALID, "STP-Plus", 3)
    assert first.event is StatusEvent.REVALIDATED
    assert (first.authorised_from, first.valid_until) == (date(2019, 12, 1), date(2029, 11, 30))
    assert second.identifier == "201955555555"
    assert (second.status, second.suspended_on) == (RecordStatus.SUSPENDED, date(2026, 11, 20))
    assert first.problem is None
    assert second.problem is None


def test_encoding_the_golden_content_gives_the_golden_bytes() -> None:
    """Re-encode what the golden file decodes to. Result: byte-identical (stable signing input)."""
    batch = _golden()
    records = tuple(validate_record(d) for d in batch.drafts)
    assert all(isinstance(r, AeoRecord) for r in records)
    again = native.encode(
        OutboundBatch(batch.partner, batch.sequence, batch.issued_at, batch.kind, records)  # type: ignore[arg-type]
    )
    assert again == GOLDEN.read_bytes()


def test_a_date_that_is_not_a_calendar_date_is_a_problem_of_that_record_only() -> None:
    """Two records; one has valid_until 2029-02-30. Result: that draft carries the problem,
    the other none."""
    msg = common_pb2.StatusBatch()
    msg.ParseFromString(GOLDEN.read_bytes())
    msg.records[1].valid_until.year, msg.records[1].valid_until.month = 2029, 2
    msg.records[1].valid_until.day = 30
    batch = native.decode(msg.SerializeToString(), LIMITS, "k", "ed25519")
    assert batch.drafts[0].problem is None
    assert batch.drafts[1].problem == ("record.field_invalid", "valid_until is not a calendar date")


@pytest.mark.parametrize(
    "change",
    ["partner", "sequence", "kind", "issued_at"],
)
def test_a_header_without_a_required_field_is_malformed(change: str) -> None:
    """The header lacks one required field. Result: MalformedPayload."""
    msg = common_pb2.StatusBatch()
    msg.ParseFromString(GOLDEN.read_bytes())
    msg.ClearField(change)  # type: ignore[arg-type]
    with pytest.raises(MalformedPayload):
        native.decode(msg.SerializeToString(), LIMITS, "k", "ed25519")


def _header(sequence: int = 1) -> bytes:
    batch = common_pb2.StatusBatch(
        partner="SG", sequence=sequence, kind=common_pb2.BATCH_KIND_DELTA
    )
    batch.issued_at.FromDatetime(datetime(2026, 11, 27, tzinfo=UTC))
    return batch.SerializeToString()


def test_records_are_counted_on_the_wire_and_the_count_stops_past_the_limit() -> None:
    """Eleven empty records against a limit of ten, then bytes that are no protobuf at all.
    Result: TooManyRecords, not MalformedPayload: the count stopped at the eleventh record and
    nothing was parsed, so refusing costs the limit's worth of reading however large the
    message."""
    payload = _header() + b"\x2a\x00" * 11 + b"\xff\xff\xff"
    with pytest.raises(TooManyRecords):
        native.decode(payload, DecodeLimits(max_records=10), "SG-K1", "ed25519")


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(b"\x2a\x05ab", id="length-past-the-end"),
        pytest.param(b"\x2b", id="group-wire-type"),
        pytest.param(b"\x28" + b"\xff" * 11, id="overlong-varint"),
    ],
)
def test_bytes_the_record_count_cannot_walk_are_malformed(tail: bytes) -> None:
    """A batch whose bytes end inside a field, use a group, or carry an overlong varint.
    Result: MalformedPayload."""
    with pytest.raises(MalformedPayload):
        native.decode(_header() + tail, DecodeLimits(max_records=10), "SG-K1", "ed25519")


def test_too_many_records_are_refused_before_the_signature_is_checked() -> None:
    """Eleven records against a limit of ten, under a signature that does not verify. Result:
    TooManyRecords: the bounded count runs before the signature check hashes the payload, so
    an oversized flood is refused at a fraction of that cost (and nothing of it is trusted)."""

    class Refusing:
        def verify(self, payload: bytes, signature: bytes) -> bool:
            raise AssertionError("the signature was checked before the record count")

    class Keys:
        partner = "SG"

        def resolve(self, key_id: str, algorithm: str) -> Refusing:
            return Refusing()

    payload = _header() + b"\x2a\x00" * 11
    message = InboundMessage(
        "SG",
        "native",
        payload,
        DetachedSignature("SG-K1", "ed25519", b"x"),
        datetime.now(UTC),
        "fp",
    )
    with pytest.raises(TooManyRecords):
        native.NativeCodec().open(message, Keys(), DecodeLimits(max_records=10))  # type: ignore[arg-type]


def test_an_unknown_group_does_not_hide_records_from_the_count() -> None:
    """An unknown group field (which the parser skips) before eleven records, against a limit of
    ten, and a record-shaped field inside the group. Result: TooManyRecords before the signature
    is checked: the count skips the group as the parser does, and counts what the parser reads."""
    group = b"\xa3\x06" + b"\x2a\x00" + b"\xa4\x06"  # field 100 start, a field 5 inside, end
    payload = _header() + group + b"\x2a\x00" * 11
    with pytest.raises(TooManyRecords):
        native.decode(payload, DecodeLimits(max_records=10), "SG-K1", "ed25519")
    assert len(common_pb2.StatusBatch.FromString(payload).records) == 11
    native.check_size(_header() + group + b"\x2a\x00" * 10, DecodeLimits(10))  # within it


def test_a_status_set_to_an_unknown_value_is_a_problem_distinct_from_a_missing_one() -> None:
    """Record 0 has status 99 (a value a newer partner's enum might have), record 1 none.
    Result: record.status_unknown for the first, record.field_missing for the second."""
    msg = common_pb2.StatusBatch()
    msg.ParseFromString(GOLDEN.read_bytes())
    msg.records[0].status = 99  # type: ignore[assignment]
    msg.records[1].status = common_pb2.RECORD_STATUS_UNSPECIFIED
    batch = native.decode(msg.SerializeToString(), LIMITS, "k", "ed25519")
    first, second = (validate_record(d) for d in batch.drafts[:2])
    assert batch.drafts[0].problem == ("record.status_unknown", "status 99 is not known")
    assert getattr(first, "reason", None) == "record.status_unknown"
    assert getattr(second, "reason", None) == "record.field_missing"
