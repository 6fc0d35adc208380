"""Outcome reports in the jws wire format: a compact JWS whose payload is the report's JSON form
(schemas/aeo-outcomes-v1.schema.json, docs/wire-formats.md), received exactly as status
documents are (adapters/wire/jws.py: the strict header, the registered key by kid, the pinned
algorithm alone, the record count and depth bounded before the signature is checked).

Each outcome is one flat object (``baseline`` beside the declaration's fields), so the status
format's structure scan counts outcomes and aggregates as it counts records. The document is
read by the strict parser (no duplicate names, no NaN); a field of one outcome that cannot be
read is that outcome's problem, the rest of the report is recorded.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final, NoReturn

from adapters.wire import jws, timestamps
from gateway.domain.errors import MalformedPayload, SchemaViolation, TooManyRecords
from gateway.domain.messages import InboundMessage, SealedEnvelope
from gateway.domain.outcome_reports import (
    AggregateDraft,
    DecodedOutcomeReport,
    OutcomeDraft,
    OutcomeReportDraft,
)
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.validation import MAX_NUMBER

NAME: Final = "jws"
#: Explicit typing (RFC 8725 section 3.11): a status message's JWS is not an outcome report.
TYP: Final = "aeo-outcomes+jws"
_TOP: Final = frozenset({"partner", "issued_at", "outcomes", "aggregates"})
_OUTCOME: Final = frozenset(
    {
        "declaration_id",
        "declared_code",
        "direction",
        "mode",
        "arrived_at",
        "released_at",
        "document_review",
        "inspected",
        "baseline",
    }
)
_AGGREGATE: Final = frozenset(
    {
        "direction",
        "start",
        "end",
        "declarations",
        "inspected",
        "document_reviews",
        "release_median_hours",
        "release_mean_hours",
        "release_p90_hours",
    }
)
_DIRECTION: Final = {d.value: d for d in TradeDirection}
_MODE: Final = {m.value: m for m in TransportMode}


class _Fault(ValueError):
    pass


def _schema(path: str, what: str) -> NoReturn:
    raise SchemaViolation(f"{path}: {what}", path=path)


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name, "")
    if type(value) is not str:
        raise _Fault(f"{name} is not a string")
    return value


def _flag(item: dict[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if type(value) is not bool:
        raise _Fault(f"{name} is not true or false")
    return value


def _instant(item: dict[str, Any], name: str) -> datetime | None:
    value = item.get(name)
    if value is None:
        return None
    if type(value) is not str:
        raise _Fault(f"{name} is not a string")
    try:
        return timestamps.instant(value)
    except ValueError as exc:
        raise _Fault(f"{name}: {exc}") from None


def _direction(item: dict[str, Any]) -> TradeDirection | None:
    value = item.get("direction")
    if value is None:
        return None
    found = _DIRECTION.get(value) if type(value) is str else None
    if found is None:
        raise _Fault("direction is not 'import' or 'export'")
    return found


def _count(item: dict[str, Any], name: str) -> int:
    value = item.get(name, 0)
    if type(value) is not int or not 0 <= value <= MAX_NUMBER:
        raise _Fault(f"{name} is not an integer within 0..{MAX_NUMBER}")
    return value


def _hours(item: dict[str, Any], name: str) -> float:
    value = item.get(name, 0)
    if type(value) not in (int, float):
        raise _Fault(f"{name} is not a number")
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits: no float holds it
        raise _Fault(f"{name} is out of range") from None


def _unknown(item: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(item.keys() - allowed)
    if extra:
        raise _Fault(f"unknown member {extra[0]!r}")


def _outcome(item: dict[str, Any]) -> OutcomeDraft:
    ident = item.get("declaration_id")
    ident = ident if type(ident) is str else ""
    try:
        _unknown(item, _OUTCOME)
        mode_value = item.get("mode")
        mode = None
        if mode_value is not None:
            mode = _MODE.get(mode_value) if type(mode_value) is str else None
            if mode is None:
                raise _Fault(f"mode is not one of {', '.join(_MODE)}")
        return OutcomeDraft(
            _text(item, "declaration_id"),
            _text(item, "declared_code"),
            _direction(item),
            mode,
            _instant(item, "arrived_at"),
            _instant(item, "released_at"),
            _flag(item, "document_review"),
            _flag(item, "inspected"),
            _flag(item, "baseline"),
        )
    except _Fault as exc:
        problem = ("outcome.field_invalid", str(exc))
        return OutcomeDraft(ident, "", None, None, None, None, False, False, False, problem)


def _aggregate(item: dict[str, Any]) -> AggregateDraft:
    try:
        _unknown(item, _AGGREGATE)
        return AggregateDraft(
            _direction(item),
            _instant(item, "start"),
            _instant(item, "end"),
            _count(item, "declarations"),
            _count(item, "inspected"),
            _count(item, "document_reviews"),
            _hours(item, "release_median_hours"),
            _hours(item, "release_mean_hours"),
            _hours(item, "release_p90_hours"),
        )
    except _Fault as exc:
        return AggregateDraft(
            None, None, None, 0, 0, 0, 0.0, 0.0, 0.0, ("aggregate.invalid", str(exc))
        )


def _objects(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = document.get(name, [])
    if type(items) is not list:
        _schema(f"$.{name}", "must be an array")
    for index, item in enumerate(items):
        if type(item) is not dict:
            _schema(f"$.{name}[{index}]", "must be an object")
    return items


def decode(payload: bytes, limits: DecodeLimits) -> OutcomeReportDraft:
    """The report in a verified JWS payload."""
    try:
        parsed = jws.strict_json(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"the document is not UTF-8 (byte {exc.start})") from exc
    except ValueError as exc:  # duplicate names (I-JSON), NaN, not JSON
        raise MalformedPayload(f"the document is not I-JSON: {exc}") from exc
    if type(parsed) is not dict:
        _schema("$", "the document is not a JSON object")
    unknown = sorted(parsed.keys() - _TOP)
    if unknown:
        _schema(f"$.{unknown[0]}", "unknown member")
    partner = parsed.get("partner")
    if type(partner) is not str or not partner:
        _schema("$.partner", "must be a non-empty string")
    issued = parsed.get("issued_at")
    if type(issued) is not str:
        _schema("$.issued_at", "must be a string")
    try:
        issued_at = timestamps.instant(issued)
    except ValueError as exc:
        _schema("$.issued_at", str(exc))
    outcomes = _objects(parsed, "outcomes")
    aggregates = _objects(parsed, "aggregates")
    if len(outcomes) + len(aggregates) > limits.max_records:  # the scan's second line
        raise TooManyRecords(
            f"more than {limits.max_records} outcomes and aggregates in one report",
            limit=str(limits.max_records),
        )
    return OutcomeReportDraft(
        partner,
        issued_at,
        tuple(map(_outcome, outcomes)),
        tuple(map(_aggregate, aggregates)),
    )


# --- writing ---------------------------------------------------------------------------------


def _instant_text(moment: datetime | None) -> str | None:
    return None if moment is None else timestamps.instant_text(moment)


def document(report: OutcomeReportDraft) -> dict[str, Any]:
    """The report's JSON form (members whose value is unknown are left out)."""
    outcomes = [
        {
            "declaration_id": o.declaration_id,
            "declared_code": o.declared_code,
            "direction": None if o.direction is None else o.direction.value,
            "mode": None if o.mode is None else o.mode.value,
            "arrived_at": _instant_text(o.arrived_at),
            "released_at": _instant_text(o.released_at),
            "document_review": o.document_review,
            "inspected": o.inspected,
            "baseline": o.baseline,
        }
        for o in report.outcomes
    ]
    aggregates = [
        {
            "direction": None if a.direction is None else a.direction.value,
            "start": _instant_text(a.start),
            "end": _instant_text(a.end),
            "declarations": a.declarations,
            "inspected": a.inspected,
            "document_reviews": a.document_reviews,
            "release_median_hours": a.release_median_hours,
            "release_mean_hours": a.release_mean_hours,
            "release_p90_hours": a.release_p90_hours,
        }
        for a in report.aggregates
    ]
    return {
        "partner": report.partner,
        "issued_at": timestamps.instant_text(report.issued_at),
        "outcomes": [{k: v for k, v in o.items() if v is not None} for o in outcomes],
        "aggregates": [{k: v for k, v in a.items() if v is not None} for a in aggregates],
    }


def encode(report: OutcomeReportDraft) -> bytes:
    text = json.dumps(document(report), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


class JwsOutcomeCodec:
    name = NAME

    def __init__(self, max_payload_bytes: int = jws.DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self._jws = jws.JwsCodec(max_payload_bytes)

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedOutcomeReport:
        payload, _, kid, pinned = self._jws.verified(message, keys, limits, TYP)
        return DecodedOutcomeReport(decode(payload, limits), kid, pinned)

    def seal(self, report: OutcomeReportDraft, signer: Signer) -> SealedEnvelope:
        return SealedEnvelope(NAME, jws.sign_compact(encode(report), signer, typ=TYP))
