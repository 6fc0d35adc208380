"""Receipts: serialized as aeo.gateway.v1.Receipt and signed with the gateway's own key."""

from __future__ import annotations

from gateway import protomap
from gateway.domain.messages import Receipt, SealedReceipt
from gateway.domain.ports import Signer
from gateway.domain.signing import pinned
from gateway.pb import common_pb2
from gateway.pb import exchange_pb2 as pb


def to_proto(receipt: Receipt) -> pb.Receipt:
    msg = pb.Receipt(
        message_id=receipt.message_id,
        partner=f"partners/{receipt.partner}",
        sequence=receipt.sequence,
        payload_sha256=receipt.digest,
        records_received=receipt.received,
        records_applied=receipt.applied,
        ignored_records=[
            pb.IgnoredRecord(
                identifier=r.identifier, version=r.version, reason=r.reason, detail=r.detail
            )
            for r in receipt.ignored
        ],
        gaps_detected=[common_pb2.SequenceGap(first=a, last=b) for a, b in receipt.gaps_detected],
        open_gaps=[common_pb2.SequenceGap(first=a, last=b) for a, b in receipt.open_gaps],
        open_gaps_total=receipt.open_gaps_total,
        needs_snapshot=receipt.needs_snapshot,
    )
    protomap.set_timestamp(msg.received_at, receipt.received_at)
    return msg


class ProtobufReceiptSealer:
    """The ReceiptSealer port: deterministic serialization, so the signed bytes are stored and
    returned verbatim."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def seal(self, receipt: Receipt) -> SealedReceipt:
        data = to_proto(receipt).SerializeToString(deterministic=True)
        signer = pinned(self._signer)  # the key of the moment, for signature and key id alike
        return SealedReceipt(data, signer.sign(data), signer.key_id, signer.algorithm)
