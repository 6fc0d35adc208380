"""Domain values <-> aeo.gateway.v1 protobuf values, shared by the gRPC edge and the native
wire format (which speaks the same messages). Conversions run per record and per answer, so
timestamps are converted directly rather than through the pure-Python helpers."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from google.type import date_pb2
from grpc_status import rpc_status

from gateway.domain.errors import UnsupportedWireFormat
from gateway.domain.messages import (
    DetachedSignature,
    InboundMessage,
    SealedEnvelope,
    SealedReceipt,
)
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.pb import common_pb2 as pb
from gateway.pb import exchange_pb2
from gateway.times import from_us, to_us

STATUS = {
    pb.RECORD_STATUS_VALID: RecordStatus.VALID,
    pb.RECORD_STATUS_SUSPENDED: RecordStatus.SUSPENDED,
    pb.RECORD_STATUS_REVOKED: RecordStatus.REVOKED,
    pb.RECORD_STATUS_EXPIRED: RecordStatus.EXPIRED,
}
STATUS_TO_PB = {v: k for k, v in STATUS.items()}
EVENT = {
    pb.STATUS_EVENT_UNSPECIFIED: StatusEvent.UNSPECIFIED,
    pb.STATUS_EVENT_GRANTED: StatusEvent.GRANTED,
    pb.STATUS_EVENT_SUSPENDED: StatusEvent.SUSPENDED,
    pb.STATUS_EVENT_REINSTATED: StatusEvent.REINSTATED,
    pb.STATUS_EVENT_REVOKED: StatusEvent.REVOKED,
    pb.STATUS_EVENT_EXPIRED: StatusEvent.EXPIRED,
    pb.STATUS_EVENT_AMENDED: StatusEvent.AMENDED,
    pb.STATUS_EVENT_CONSENT_WITHDRAWN: StatusEvent.CONSENT_WITHDRAWN,
    pb.STATUS_EVENT_REVALIDATED: StatusEvent.REVALIDATED,
    pb.STATUS_EVENT_TIER_CHANGED: StatusEvent.TIER_CHANGED,
}
EVENT_TO_PB = {v: k for k, v in EVENT.items()}
KIND = {pb.BATCH_KIND_SNAPSHOT: BatchKind.SNAPSHOT, pb.BATCH_KIND_DELTA: BatchKind.DELTA}
KIND_TO_PB = {v: k for k, v in KIND.items()}
DIRECTION = {
    pb.TRADE_DIRECTION_IMPORT: TradeDirection.IMPORT,
    pb.TRADE_DIRECTION_EXPORT: TradeDirection.EXPORT,
}
DIRECTION_TO_PB = {v: k for k, v in DIRECTION.items()}
MODE = {
    pb.TRANSPORT_MODE_SEA: TransportMode.SEA,
    pb.TRANSPORT_MODE_RAIL: TransportMode.RAIL,
    pb.TRANSPORT_MODE_ROAD: TransportMode.ROAD,
    pb.TRANSPORT_MODE_AIR: TransportMode.AIR,
    pb.TRANSPORT_MODE_POSTAL: TransportMode.POSTAL,
}
MODE_TO_PB = {v: k for k, v in MODE.items()}


def _name(enum_name: str, prefix: str) -> str:
    """SIGNATURE_ALGORITHM_ECDSA_P256_SHA256 -> "ecdsa-p256-sha256"; WIRE_FORMAT_NATIVE ->
    "native": the gateway's names for the members of closed sets."""
    return enum_name.removeprefix(prefix).lower().replace("_", "-")


ALGORITHM_TO_PB: dict[str, pb.SignatureAlgorithm.ValueType] = {
    _name(name, "SIGNATURE_ALGORITHM_"): number
    for name, number in pb.SignatureAlgorithm.items()
    if number
}
ALGORITHM_NAME = {number: name for name, number in ALGORITHM_TO_PB.items()}
FORMAT_TO_PB: dict[str, pb.WireFormat.ValueType] = {
    _name(name, "WIRE_FORMAT_"): number for name, number in pb.WireFormat.items() if number
}
FORMAT_NAME = {number: name for name, number in FORMAT_TO_PB.items()}


def timestamp(moment: datetime) -> Timestamp:
    us = to_us(moment)
    return Timestamp(seconds=us // 1_000_000, nanos=us % 1_000_000 * 1000)


def set_timestamp(target: Timestamp, moment: datetime) -> None:
    us = to_us(moment)
    target.seconds, target.nanos = us // 1_000_000, us % 1_000_000 * 1000


def instant(ts: Timestamp) -> datetime:
    """Raises ValueError when the timestamp is out of range."""
    if not 0 <= ts.nanos < 1_000_000_000:
        raise ValueError("timestamp nanos out of range")
    try:
        return from_us(ts.seconds * 1_000_000 + ts.nanos // 1000)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError("timestamp out of range") from exc


def calendar_date(value: date_pb2.Date) -> date:
    """Raises ValueError unless a full calendar date (year, month and day all set)."""
    return date(value.year, value.month, value.day)


def set_date(target: date_pb2.Date, day: date) -> None:
    target.year, target.month, target.day = day.year, day.month, day.day


def inbound_message(
    envelope: exchange_pb2.SignedEnvelope, partner: str, received_at: datetime, peer: str
) -> InboundMessage:
    """A SignedEnvelope as the core receives it, whether it came over gRPC or in a file."""
    wire_format = ""
    if envelope.format:
        wire_format = FORMAT_NAME.get(envelope.format, "")
        if not wire_format:
            raise UnsupportedWireFormat(f"wire format {envelope.format} is not known")
    detached = None
    if envelope.HasField("detached_signature"):
        d = envelope.detached_signature
        detached = DetachedSignature(d.key_id, ALGORITHM_NAME.get(d.algorithm, ""), d.signature)
    return InboundMessage(partner, wire_format, envelope.payload, detached, received_at, peer)


def signed_envelope(sealed: SealedEnvelope) -> exchange_pb2.SignedEnvelope:
    """A sealed batch as a partner puts it in SubmitStatusMessage (or in a file)."""
    envelope = exchange_pb2.SignedEnvelope(
        format=FORMAT_TO_PB[sealed.wire_format], payload=sealed.payload
    )
    if sealed.detached is not None:
        d = sealed.detached
        envelope.detached_signature.CopyFrom(
            pb.DetachedSignature(
                key_id=d.key_id, algorithm=ALGORITHM_TO_PB[d.algorithm], signature=d.signature
            )
        )
    return envelope


def signed_receipt(sealed: SealedReceipt) -> exchange_pb2.SignedReceipt:
    return exchange_pb2.SignedReceipt(
        receipt=sealed.receipt,
        signature=pb.DetachedSignature(
            key_id=sealed.key_id,
            algorithm=ALGORITHM_TO_PB.get(sealed.algorithm, pb.SIGNATURE_ALGORITHM_UNSPECIFIED),
            signature=sealed.signature,
        ),
    )


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo a failed call carries: its stable reason, for clients and the sender."""
    # A failed call's RpcError is also its grpc.Call, which carries the status details.
    status = rpc_status.from_call(cast(grpc.Call, error))
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


#: The calendar-date fields of an AeoRecord, in RecordDraft's order.
RECORD_DATES = ("authorised_from", "valid_until", "suspended_on", "revoked_on")


def encode_record(record: AeoRecord) -> pb.AeoRecord:
    """A record as the native format and the API carry it."""
    msg = pb.AeoRecord(
        identifier=record.identifier,
        name=record.name,
        address=record.address,
        status=STATUS_TO_PB[record.status],
        tier=record.tier,
        version=record.version,
        event=EVENT_TO_PB[record.event],
        consent_withdrawn=record.consent_withdrawn,
    )
    set_timestamp(msg.effective_at, record.effective_at)
    for field in RECORD_DATES:
        day = getattr(record, field)
        if day is not None:
            set_date(getattr(msg, field), day)
    return msg
