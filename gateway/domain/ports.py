"""Ports: what the core needs from the outside world, as Protocols. Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.domain.directory import PartnerKey
from gateway.domain.messages import (
    DecodedBatch,
    InboundMessage,
    OutboundBatch,
    Receipt,
    SealedEnvelope,
    SealedReceipt,
)
from gateway.domain.outcome_reports import DecodedOutcomeReport, OutcomeReportDraft


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Signer(Protocol):
    """A private key held elsewhere: callers get signatures, never the key."""

    @property
    def key_id(self) -> str: ...

    @property
    def algorithm(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class KeyResolver(Protocol):
    """The sending partner's registered keys, and only that partner's (see PartnerKeys)."""

    @property
    def partner(self) -> str: ...

    def resolve(self, key_id: str, algorithm: str) -> PartnerKey:
        """The key, once registered, pinned to ``algorithm`` and valid; else raises why not."""
        ...


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds a codec enforces while decoding, before it spends more on a message."""

    max_records: int


class WireCodec(Protocol):
    """One wire format. Every codec passes tests/contract/codec_contract.py."""

    @property
    def name(self) -> str: ...

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        """Checks the signature with a key from ``keys``, then decodes. Raises SignatureInvalid
        (and kin), MalformedPayload or TooManyRecords; never returns unchecked data."""
        ...

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        """The batch in this format, signed by ``signer``."""
        ...


class OutcomeCodec(Protocol):
    """One wire format's reading of a partner's outcome report (facilitation.proto
    OutcomeReport), signed as that format signs status messages, checked with the same keys.
    Every one passes tests/contract/test_outcome_codecs.py."""

    @property
    def name(self) -> str: ...

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedOutcomeReport:
        """Checks the signature with a key from ``keys``, then decodes; ``limits.max_records``
        bounds outcomes and aggregates together. Raises as WireCodec.open does."""
        ...

    def seal(self, report: OutcomeReportDraft, signer: Signer) -> SealedEnvelope:
        """The report in this format, signed by ``signer`` (partners' simulators, tests)."""
        ...


class ReceiptSealer(Protocol):
    def seal(self, receipt: Receipt) -> SealedReceipt:
        """Serialize and sign a domain Receipt with the gateway's own key."""
        ...
