"""Outcome reports in the xmldsig wire format: an ``<OutcomeReport
xmlns="urn:aeo-gateway:outcomes:v1">`` document (schemas/aeo-outcomes-v1.xsd) with an enveloped
signature, received with the status format's hardening, which it reuses rather than repeats
(adapters/wire/xmldsig.py): the size cap before parsing, the hardened parse (no DTD, entities,
processing instructions, bounded depth), the signature's layout (exactly one, last child of the
root, covering it, exclusive C14N, KeyName only), the registered key, signxml's verification,
then the schema. Outcomes are read only from the element signxml returns as signed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from lxml import etree

from adapters.wire import timestamps, xmldsig
from gateway.domain.errors import MalformedPayload, TooManyRecords, shown
from gateway.domain.messages import InboundMessage, SealedEnvelope
from gateway.domain.outcome_reports import (
    AggregateDraft,
    DecodedOutcomeReport,
    OutcomeDraft,
    OutcomeReportDraft,
)
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer

NAME: Final = "xmldsig"
NS: Final = "urn:aeo-gateway:outcomes:v1"
XSD: Final = "aeo-outcomes-v1.xsd"


def _q(local: str) -> str:
    return f"{{{NS}}}{local}"


ROOT = _q("OutcomeReport")
OUTCOME = _q("Outcome")
AGGREGATE = _q("Aggregate")
_DIRECTION = {d.value: d for d in TradeDirection}
_MODE = {m.value: m for m in TransportMode}
_TRUE = ("true", "1")


def _count(root: etree._Element, limits: DecodeLimits) -> None:
    for count, _ in enumerate(root.iterchildren(OUTCOME, AGGREGATE), start=1):
        if count > limits.max_records:
            raise TooManyRecords(
                f"more than {limits.max_records} outcomes and aggregates in one report",
                limit=str(limits.max_records),
            )


def _fields(element: etree._Element) -> dict[str, str]:
    return {etree.QName(child).localname: child.text or "" for child in element}


def _instants(
    read: dict[str, str], names: tuple[str, ...]
) -> tuple[list[datetime | None], str | None]:
    """The instants named, and the first one's fault (a text that is no zoned instant)."""
    found: list[datetime | None] = []
    fault = None
    for name in names:
        try:
            found.append(timestamps.instant(read[name]))
        except ValueError as exc:
            found.append(None)
            fault = fault or f"{name}: {exc}"
    return found, fault


def _outcome(element: etree._Element) -> OutcomeDraft:
    read = _fields(element)
    (arrived, released), fault = _instants(read, ("ArrivedAt", "ReleasedAt"))
    direction = _DIRECTION.get(read["Direction"])
    mode = _MODE.get(read["Mode"]) if "Mode" in read else None
    if direction is None:
        fault = fault or f"direction {shown(read['Direction'])} is not import or export"
    if "Mode" in read and mode is None:
        fault = fault or f"mode {shown(read['Mode'])} is not known"
    return OutcomeDraft(
        read["DeclarationId"],
        read["DeclaredCode"],
        direction,
        mode,
        arrived,
        released,
        read["DocumentReview"].strip() in _TRUE,
        read["Inspected"].strip() in _TRUE,
        (element.get("baseline") or "").strip() in _TRUE,
        None if fault is None else ("outcome.field_invalid", fault),
    )


def _aggregate(element: etree._Element) -> AggregateDraft:
    read = _fields(element)
    (start, end), fault = _instants(read, ("Start", "End"))
    direction = _DIRECTION.get(read["Direction"])
    if direction is None:
        fault = fault or f"direction {shown(read['Direction'])} is not import or export"
    return AggregateDraft(
        direction,
        start,
        end,
        int(read["Declarations"]),  # digits, by the schema
        int(read["Inspected"]),
        int(read["DocumentReviews"]),
        float(read["ReleaseMedianHours"]),
        float(read["ReleaseMeanHours"]),
        float(read["ReleaseP90Hours"]),
        None if fault is None else ("aggregate.invalid", fault),
    )


def read(signed: etree._Element) -> OutcomeReportDraft:
    """The report in a signed document, once the schema holds."""
    xmldsig.check_schema(signed, XSD, NS, "an AEO outcome report (v1)")
    try:
        issued_at = timestamps.instant(signed.get("issuedAt", ""))
    except ValueError as exc:
        raise MalformedPayload(f"issuedAt: {exc}") from exc
    return OutcomeReportDraft(
        signed.get("partner", ""),
        issued_at,
        tuple(_outcome(e) for e in signed.iterchildren(OUTCOME)),
        tuple(_aggregate(e) for e in signed.iterchildren(AGGREGATE)),
    )


# --- sealing ------------------------------------------------------------------------------------


def _text(parent: etree._Element, local: str, text: str) -> None:
    etree.SubElement(parent, _q(local)).text = text


def _instant_text(moment: datetime | None) -> str:
    return "" if moment is None else timestamps.instant_text(moment)


def _hours(value: float) -> str:
    return format(value, ".6f")


def document(report: OutcomeReportDraft) -> etree._Element:
    """The unsigned outcome report document."""
    root = etree.Element(
        ROOT,
        nsmap={None: NS},  # type: ignore[dict-item]  # the default namespace
        partner=report.partner,
        issuedAt=timestamps.instant_text(report.issued_at),
    )
    for o in report.outcomes:
        element = etree.SubElement(root, OUTCOME, baseline="true" if o.baseline else "false")
        _text(element, "DeclarationId", o.declaration_id)
        _text(element, "DeclaredCode", o.declared_code)
        _text(element, "Direction", "" if o.direction is None else o.direction.value)
        if o.mode is not None:
            _text(element, "Mode", o.mode.value)
        _text(element, "ArrivedAt", _instant_text(o.arrived_at))
        _text(element, "ReleasedAt", _instant_text(o.released_at))
        _text(element, "DocumentReview", "true" if o.document_review else "false")
        _text(element, "Inspected", "true" if o.inspected else "false")
    for a in report.aggregates:
        element = etree.SubElement(root, AGGREGATE)
        _text(element, "Direction", "" if a.direction is None else a.direction.value)
        _text(element, "Start", _instant_text(a.start))
        _text(element, "End", _instant_text(a.end))
        _text(element, "Declarations", str(a.declarations))
        _text(element, "Inspected", str(a.inspected))
        _text(element, "DocumentReviews", str(a.document_reviews))
        _text(element, "ReleaseMedianHours", _hours(a.release_median_hours))
        _text(element, "ReleaseMeanHours", _hours(a.release_mean_hours))
        _text(element, "ReleaseP90Hours", _hours(a.release_p90_hours))
    return root


class XmlDsigOutcomeCodec:
    name = NAME

    def __init__(self, max_document_bytes: int | None = None) -> None:
        self._max_document_bytes = max_document_bytes

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedOutcomeReport:
        # An outcome is smaller than a status record: the status format's bound holds.
        limit = xmldsig.max_bytes(limits)
        if self._max_document_bytes is not None:
            limit = min(limit, self._max_document_bytes)
        root = xmldsig.parse(message.payload, limit)
        if root.tag != ROOT:
            raise MalformedPayload(f"not an AEO outcome report: root {shown(root.tag)}")
        _count(root, limits)
        layout = xmldsig.check_layout(root)
        key = keys.resolve(layout.key_name, layout.algorithm)
        signed = xmldsig.verify(root, layout, key.material)
        return DecodedOutcomeReport(read(signed), layout.key_name, layout.algorithm)

    def seal(self, report: OutcomeReportDraft, signer: Signer) -> SealedEnvelope:
        return SealedEnvelope(NAME, xmldsig.sign(document(report), signer))
