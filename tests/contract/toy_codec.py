"""A toy wire format written for the tests: JSON with a detached signature.

It exists to show what adding a wire format takes: this one class, registered where the
composition root builds the gateway (``build(settings, extra_codecs=[ToyCodec()])``). Nothing in
the core, the handlers or the gRPC edge changes, and it passes the same contract suite as the
native format (test_toy_codec.py).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from gateway.domain.errors import MalformedPayload, SignatureInvalid, TooManyRecords
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    OutboundBatch,
    RecordDraft,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent

_DAYS = ("authorised_from", "valid_until", "suspended_on", "revoked_on")


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _draft(item: dict[str, Any]) -> RecordDraft:
    return RecordDraft(
        identifier=str(item.get("id", "")),
        version=int(item.get("version", 0)),
        effective_at=datetime.fromisoformat(item["effective"]) if "effective" in item else None,
        status=RecordStatus(item["status"]) if "status" in item else None,
        name=str(item.get("name", "")),
        address=str(item.get("address", "")),
        tier=str(item.get("tier", "")),
        event=StatusEvent(item.get("event", "unspecified")),
        consent_withdrawn=bool(item.get("consent_withdrawn", False)),
        authorised_from=_day(item.get("authorised_from")),
        valid_until=_day(item.get("valid_until")),
        suspended_on=_day(item.get("suspended_on")),
        revoked_on=_day(item.get("revoked_on")),
    )


class ToyCodec:
    name = "toy"

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        detached = message.detached
        if detached is None:
            raise SignatureInvalid("the toy format needs a detached signature")
        key = keys.resolve(detached.key_id, detached.algorithm)
        if not detached.signature or not key.verify(message.payload, detached.signature):
            raise SignatureInvalid(f"signature does not verify with key {detached.key_id!r}")
        try:
            doc = json.loads(message.payload)
            records = doc["records"]
            if len(records) > limits.max_records:
                raise TooManyRecords(f"{len(records)} records; the limit is {limits.max_records}")
            return DecodedBatch(
                partner=str(doc["partner"]),
                sequence=int(doc["sequence"]),
                issued_at=datetime.fromisoformat(doc["issued_at"]),
                kind=BatchKind(doc["kind"]),
                drafts=tuple(_draft(r) for r in records),
                key_id=detached.key_id,
                algorithm=detached.algorithm,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise MalformedPayload(f"not a toy document: {exc}") from exc

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        def record(r: AeoRecord) -> dict[str, Any]:
            item = {
                "id": r.identifier,
                "version": r.version,
                "effective": r.effective_at.isoformat(),
                "status": r.status.value,
                "name": r.name,
                "address": r.address,
                "tier": r.tier,
                "event": r.event.value,
                "consent_withdrawn": r.consent_withdrawn,
            }
            item.update({k: getattr(r, k).isoformat() for k in _DAYS if getattr(r, k)})
            return item

        payload = json.dumps(
            {
                "partner": batch.partner,
                "sequence": batch.sequence,
                "issued_at": batch.issued_at.isoformat(),
                "kind": batch.kind.value,
                "records": [record(r) for r in batch.records],
            }
        ).encode()
        signature = DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload))
        return SealedEnvelope(self.name, payload, signature)
