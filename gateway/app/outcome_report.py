"""Use case: a partner reports, signed in its own wire format, the outcomes of declarations
lodged with it (home AEOs' shipments abroad, and its baseline)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from gateway.app.recognise import Recognise
from gateway.app.submit import SubmitResult
from gateway.domain.directory import Directory
from gateway.domain.errors import (
    InvalidQuery,
    IssuedAtOutsideWindow,
    PartnerImpersonation,
    PayloadTooLarge,
    UnsupportedWireFormat,
    shown,
)
from gateway.domain.exchange import Limits
from gateway.domain.facilitation import Jurisdiction, Outcome, OutcomeAggregate
from gateway.domain.messages import InboundMessage, Receipt, Rejection, SealedReceipt
from gateway.domain.outcome_reports import (
    OutcomeDraft,
    OutcomeReportDraft,
    check_aggregate,
    check_outcome,
)
from gateway.domain.partners import Partner, TransportMode
from gateway.domain.ports import DecodeLimits, OutcomeCodec, ReceiptSealer
from gateway.domain.recognition import Outcome as Recognition

#: The reason stored with every outcome a partner reported (at home: the recognition answer's).
REPORTED = "reported"


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    """The raw signed report, kept as a status message is: the evidence of what was said."""

    partner: str
    digest: bytes
    message_id: str
    received_at: datetime
    issued_at: datetime
    wire_format: str
    payload: bytes
    signature: bytes
    key_id: str
    algorithm: str
    peer: str
    #: SHA-256 of the signing key's DER SubjectPublicKeyInfo, for the audit log.
    signer_key_sha256: str = ""


#: Seals the receipt once the sink knows which declaration ids it had already recorded.
ReceiptFor = Callable[[Collection[str]], SealedReceipt]


class OutcomeSink(Protocol):
    """Where partners' outcome reports are recorded (adapters/store/facilitation.py)."""

    def receipt(self, reporter: str, digest: bytes) -> SealedReceipt | None:
        """The stored receipt of the report with these bytes, if it was received before."""
        ...

    def record(
        self,
        report: ReceivedReport,
        outcomes: Sequence[Outcome],
        aggregates: Sequence[OutcomeAggregate],
        receipt_for: ReceiptFor,
    ) -> tuple[SealedReceipt, bool]:
        """In one transaction: when a report with ``report.digest`` is stored, its receipt and
        True, writing nothing. Otherwise the outcomes whose declaration id the reporter has not
        recorded before, every aggregate, and the report with the receipt ``receipt_for``
        seals (given the declaration ids already recorded); that receipt and False."""
        ...


class SubmitOutcomeReport:
    def __init__(
        self,
        codecs: Mapping[str, OutcomeCodec],
        sink: OutcomeSink,
        sealer: ReceiptSealer,
        recognise: Recognise,
        limits: Limits,
    ) -> None:
        self._codecs = codecs
        self._sink = sink
        self._sealer = sealer
        self._recognise = recognise
        self._limits = limits
        self._decode_limits = DecodeLimits(limits.max_records)

    def __call__(self, message: InboundMessage, directory: Directory) -> SubmitResult:
        partner = directory.partner(message.partner)
        limits = self._limits
        if len(message.payload) > limits.max_payload_bytes:
            raise PayloadTooLarge(
                f"payload of {len(message.payload)} bytes exceeds {limits.max_payload_bytes}",
                limit=str(limits.max_payload_bytes),
            )
        wire_format = message.wire_format or partner.wire_formats[0]
        codec = self._codecs.get(wire_format)
        if codec is None or wire_format not in partner.wire_formats:
            raise UnsupportedWireFormat(
                f"partner {partner.code} sends {', '.join(partner.wire_formats)}, "
                f"not {shown(wire_format)}",
                expected=",".join(partner.wire_formats),
            )
        # The sender's keys only, valid at receipt: as for status messages.
        decoded = codec.open(
            message, directory.keys_for(partner.code, message.received_at), self._decode_limits
        )
        report = decoded.report
        if report.partner != partner.code:
            raise PartnerImpersonation(
                f"partner {partner.code} may not report for {shown(report.partner)}",
                claimed=report.partner,
            )
        digest = hashlib.sha256(message.payload).digest()
        lag = message.received_at - report.issued_at
        if abs(lag) > limits.clock_skew:
            # A late retry of a report received before still gets its receipt.
            stored = self._sink.receipt(partner.code, digest)
            if stored is not None:
                return SubmitResult(stored, duplicate=True)
            raise IssuedAtOutsideWindow(
                f"issued_at {report.issued_at.isoformat()} is {abs(lag)} from the gateway's "
                f"clock; the window is {limits.clock_skew} either side"
            )
        outcomes, aggregates, ignored = self._checked(report, partner, directory)
        signer = directory.keys.get((partner.code, decoded.key_id))
        received = ReceivedReport(
            partner=partner.code,
            digest=digest,
            message_id=f"{partner.code}-outcomes-{digest[:8].hex()}",
            received_at=message.received_at,
            issued_at=report.issued_at,
            wire_format=wire_format,
            payload=message.payload,
            signature=message.detached.signature if message.detached else b"",
            key_id=decoded.key_id,
            algorithm=decoded.algorithm,
            peer=message.peer,
            signer_key_sha256=signer.key_sha256 if signer is not None else "",
        )

        def receipt_for(already: Collection[str]) -> SealedReceipt:
            again = [
                Rejection(o.declaration_id, 0, "outcome.already_recorded", "recorded before")
                for o in outcomes
                if o.declaration_id in already
            ]
            return self._sealer.seal(
                Receipt(
                    message_id=received.message_id,
                    partner=partner.code,
                    sequence=0,
                    digest=digest,
                    received_at=message.received_at,
                    received=report.size,
                    applied=len(outcomes) - len(again) + len(aggregates),
                    ignored=(*ignored, *again),
                    gaps_detected=(),
                    open_gaps=(),
                    open_gaps_total=0,
                    needs_snapshot=False,
                )
            )

        receipt, duplicate = self._sink.record(received, outcomes, aggregates, receipt_for)
        return SubmitResult(receipt, duplicate)

    def _checked(
        self, report: OutcomeReportDraft, partner: Partner, directory: Directory
    ) -> tuple[list[Outcome], list[OutcomeAggregate], list[Rejection]]:
        outcomes: list[Outcome] = []
        ignored: list[Rejection] = []
        seen: set[str] = set()
        for draft in report.outcomes:
            problem = check_outcome(draft)
            if problem is None and draft.declaration_id in seen:
                problem = Rejection(
                    draft.declaration_id, 0, "outcome.duplicate_in_report", "named twice"
                )
            if problem is not None:
                ignored.append(problem)
                continue
            seen.add(draft.declaration_id)
            checked = self._outcome(draft, partner, directory)
            if isinstance(checked, Rejection):
                ignored.append(checked)
            else:
                outcomes.append(checked)
        aggregates: list[OutcomeAggregate] = []
        for index, a in enumerate(report.aggregates):
            problem = check_aggregate(index, a)
            if problem is not None:
                ignored.append(problem)
                continue
            assert a.direction is not None
            assert a.start is not None
            assert a.end is not None
            aggregates.append(
                OutcomeAggregate(
                    partner.code,
                    a.direction,
                    a.start,
                    a.end,
                    a.declarations,
                    a.inspected,
                    a.document_reviews,
                    a.release_median_hours,
                    a.release_mean_hours,
                    a.release_p90_hours,
                )
            )
        return outcomes, aggregates, ignored

    def _outcome(
        self, draft: OutcomeDraft, partner: Partner, directory: Directory
    ) -> Outcome | Rejection:
        """The outcome as recorded, or why it is not: a declaration said to be a home AEO's
        must name one, at arrival."""
        assert draft.direction is not None
        assert draft.arrived_at is not None
        assert draft.released_at is not None
        administration, grade, operator = partner.code, "", ""
        if not draft.baseline:
            try:
                answer = self._recognise.one(
                    directory, draft.declared_code, draft.direction, draft.arrived_at, draft.mode
                )
            except (
                InvalidQuery
            ):  # a code of punctuation only: one outcome's fault, not the report's
                answer = None
            if (
                answer is None
                or answer.administration != directory.home.code
                or answer.outcome is not Recognition.RECOGNISED
            ):
                return Rejection(
                    draft.declaration_id,
                    0,
                    "outcome.not_a_home_aeo",
                    f"{shown(draft.declared_code)} is not a {directory.home.code} AEO at "
                    f"arrival ({answer.reason if answer else 'code.empty'})",
                )
            administration, grade = directory.home.code, answer.treatment
            # One enterprise however its code was written: "home AEOs trading" counts it once.
            operator = answer.normalised_code
        day = directory.home.day_of(draft.arrived_at)
        return Outcome(
            reporter=partner.code,
            declaration_id=draft.declaration_id,
            declared_code=draft.declared_code,
            direction=draft.direction,
            mode=draft.mode,
            arrived_at=draft.arrived_at,
            released_at=draft.released_at,
            document_review=draft.document_review,
            inspected=draft.inspected,
            jurisdiction=Jurisdiction.ABROAD,
            partner=partner.code,
            administration=administration,
            grade=grade,
            aeo=not draft.baseline,
            before_recognition=not _in_force(partner, draft.mode, day),
            reason=REPORTED,
            operator=operator,
        )


def _in_force(partner: Partner, mode: TransportMode | None, day: date) -> bool:
    """The MRA was in force on ``day`` for ``mode``, or for every mode when none is known."""
    if mode is not None:
        start = partner.in_force_for(mode)
        return start is not None and start <= day
    starts = [partner.mra_in_force, *(s for _, s in partner.mra_in_force_by_mode)]
    return all(s is not None and s <= day for s in starts)
