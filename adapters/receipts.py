"""Receipts: serialized as aeo.gateway.v1.Receipt and signed with the gateway's own key."""

from __future__ import annotations

from adapters.crypto.signatures import Signer
from adapters.times import to_us
from gateway.domain.messages import Receipt
from gateway.domain.ports import SealedReceipt
from gateway.pb import exchange_pb2 as pb


def to_proto(receipt: Receipt) -> pb.Receipt:
    msg = pb.Receipt(
        message_id=receipt.message_id,
        partner=receipt.partner,
        sequence=receipt.sequence,
        payload_sha256=receipt.digest,
        records_received=receipt.received,
        records_applied=receipt.applied,
        ignored=[
            pb.IgnoredRecord(
                identifier=r.identifier, version=r.version, reason=r.reason, detail=r.detail
            )
            for r in receipt.ignored
        ],
        gaps_detected=[pb.SequenceGap(first=a, last=b) for a, b in receipt.gaps_detected],
        open_gaps=[pb.SequenceGap(first=a, last=b) for a, b in receipt.open_gaps],
    )
    # Set directly: Timestamp.FromDatetime is pure Python and this runs once per message.
    us = to_us(receipt.received_at)
    msg.received_at.seconds, msg.received_at.nanos = us // 1_000_000, us % 1_000_000 * 1000
    return msg


class ReceiptSealer:
    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def seal(self, receipt: Receipt) -> SealedReceipt:
        # Deterministic serialization: the signed bytes are stored and returned verbatim.
        data = to_proto(receipt).SerializeToString(deterministic=True)
        return SealedReceipt(
            data, self._signer.sign(data), self._signer.key_id, self._signer.algorithm
        )
