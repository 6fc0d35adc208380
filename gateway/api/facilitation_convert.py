"""Protobuf -> domain conversion of declaration outcomes. Shared with the partner exchange,
whose OutcomeReport carries the same DeclarationOutcome. The report's conversion, which the
console shares, is gateway.protomap_facilitation."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from gateway import protomap
from gateway.domain.errors import OutcomeInvalid
from gateway.domain.facilitation import DeclarationFacts
from gateway.pb import common_pb2
from gateway.pb import facilitation_pb2 as pb


def declaration_facts(msg: pb.DeclarationOutcome) -> DeclarationFacts:
    """OutcomeInvalid names the field when one is missing or out of range."""
    direction = protomap.DIRECTION.get(msg.direction)
    if direction is None:
        raise OutcomeInvalid(
            "direction is required: TRADE_DIRECTION_IMPORT or _EXPORT", field="direction"
        )
    mode = None
    if msg.mode != common_pb2.TRANSPORT_MODE_UNSPECIFIED:
        mode = protomap.MODE.get(msg.mode)
        if mode is None:
            raise OutcomeInvalid(f"mode {msg.mode} is not a TransportMode", field="mode")
    return DeclarationFacts(
        declaration_id=msg.declaration_id,
        declared_code=msg.declared_code,
        direction=direction,
        mode=mode,
        arrived_at=_time(msg, "arrived_at"),
        released_at=_time(msg, "released_at"),
        document_review=msg.document_review,
        inspected=msg.inspected,
    )


def _time(msg: pb.DeclarationOutcome, field: str) -> datetime:
    if not msg.HasField(field):  # type: ignore[arg-type]
        raise OutcomeInvalid(f"{field} is required", field=field)
    stamp: Timestamp = getattr(msg, field)
    try:
        return protomap.instant(stamp)
    except ValueError as exc:
        raise OutcomeInvalid(f"{field} is not a valid time", field=field) from exc
