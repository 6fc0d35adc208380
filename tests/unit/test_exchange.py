from __future__ import annotations

from datetime import timedelta

import pytest

from gateway.domain.errors import (
    IssuedAtOutsideWindow,
    PartnerImpersonation,
    PartnerNotRegistered,
    PayloadTooLarge,
    SequenceReused,
    SignatureInvalid,
    TooManyRecords,
    UnsupportedWireFormat,
)
from gateway.domain.exchange import ExchangeService, Limits, Outcome
from gateway.domain.messages import InboundMessage, OpenedBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from tests.factories import NOW, record, singapore
from tests.unit.fakes import AcceptSignatures, InlineCommitter, MemoryTx, ReprSealer, TableCodec


class Harness:
    def __init__(self, max_records: int = 10) -> None:
        self.tx = MemoryTx()
        self.sealer = ReprSealer()
        self.codec = TableCodec()
        self.service = ExchangeService(
            partners={"SG": singapore()},
            codecs={"native": self.codec},
            signatures=AcceptSignatures(),
            committer=InlineCommitter(self.tx, self.sealer),
            limits=Limits(
                max_payload_bytes=1000, max_records=max_records, clock_skew=timedelta(minutes=5)
            ),
        )

    def send(
        self,
        sequence: int,
        *records: AeoRecord,
        partner: str = "SG",
        claimed: str = "SG",
        signature: bytes = b"good",
        issued_at_offset: timedelta = timedelta(0),
        payload: bytes | None = None,
        wire_format: str = "native",
        received_late_by: timedelta = timedelta(0),
    ) -> Outcome:
        payload = payload or f"{claimed}-{sequence}-{records!r}".encode()
        self.codec.batches[payload] = OpenedBatch(
            claimed, sequence, NOW + issued_at_offset, BatchKind.DELTA, tuple(records)
        )
        return self.service.submit(
            InboundMessage(
                partner, wire_format, payload, signature, "SG-2026-1", "ed25519", NOW, "fp"
            )
        )

    def versions(self, identifier: str = "SG000000000001") -> list[int]:
        return [r.version for r, _ in self.tx.versions.get(("SG", identifier), [])]


def test_records_of_a_verified_message_are_applied_and_receipted() -> None:
    """SG sends two new records. Result: both applied, receipt counts them."""
    h = Harness()
    outcome = h.send(1, record(), record("SG000000000002"))
    assert not outcome.duplicate
    receipt = h.sealer.sealed[-1]
    assert (receipt.received, receipt.applied, receipt.ignored) == (2, 2, ())
    assert h.versions() == [1]


def test_same_message_again_returns_the_same_receipt_and_changes_nothing() -> None:
    """SG resends identical bytes. Result: duplicate, identical receipt, no new version."""
    h = Harness()
    valid = record()
    first = h.send(1, valid)
    again = h.send(1, valid)
    assert again.duplicate
    assert again.receipt == first.receipt
    assert h.versions() == [1]
    assert len(h.sealer.sealed) == 1


def test_late_retry_of_an_accepted_message_still_gets_its_receipt() -> None:
    """SG's message was accepted; SG retries the same bytes an hour later, outside the clock
    window. Result: the original receipt (duplicate), not a window refusal."""
    h = Harness()
    valid = record()
    first = h.send(1, valid)
    again = h.send(1, valid, received_late_by=timedelta(hours=1))
    assert again.duplicate
    assert again.receipt == first.receipt


def test_older_version_never_overwrites_a_newer_one() -> None:
    """Version 2 (suspended) arrives before version 1 (valid). Result: v1 ignored as stale."""
    h = Harness()
    h.send(1, record(version=2, status=RecordStatus.SUSPENDED))
    h.send(2, record(version=1))
    ignored = h.sealer.sealed[-1].ignored
    assert [(i.identifier, i.version, i.reason) for i in ignored] == [
        ("SG000000000001", 1, "record.stale_version")
    ]
    assert h.versions() == [2]


def test_national_identifiers_are_stored_in_declared_form_and_foreign_ones_rejected() -> None:
    """SG sends a bare 12-digit code and a Korean code. Result: SG-prefixed; the other rejected."""
    h = Harness()
    h.send(1, record("123456789012"), record("KR1234567890"))
    assert h.versions("SG123456789012") == [1]
    assert [i.reason for i in h.sealer.sealed[-1].ignored] == ["record.identifier_invalid"]


def test_gap_in_sequence_is_reported_in_the_receipt() -> None:
    """Messages 1 then 4. Result: the receipt of 4 reports gap 2-3."""
    h = Harness()
    h.send(1, record())
    h.send(4, record("SG000000000002"))
    assert h.sealer.sealed[-1].gaps_detected == ((2, 3),)
    assert h.sealer.sealed[-1].open_gaps == ((2, 3),)


def test_different_message_reusing_a_sequence_number_is_refused() -> None:
    """Two different messages both numbered 1. Result: SequenceReused, nothing applied."""
    h = Harness()
    h.send(1, record())
    with pytest.raises(SequenceReused):
        h.send(1, record("SG000000000002"))
    assert h.versions("SG000000000002") == []


def test_partner_cannot_speak_for_another_partner() -> None:
    """SG's connection carries a batch claiming to be KR's. Result: PartnerImpersonation."""
    with pytest.raises(PartnerImpersonation):
        Harness().send(1, record(), claimed="KR")


def test_bad_signature_is_refused_before_anything_is_read() -> None:
    """The signature does not verify. Result: SignatureInvalid, nothing stored."""
    h = Harness()
    with pytest.raises(SignatureInvalid):
        h.send(1, record(), signature=b"forged")
    assert h.tx.messages == {}


@pytest.mark.parametrize("offset", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_issued_at_outside_the_window_is_refused(offset: timedelta) -> None:
    """issued_at six minutes off the gateway clock, window ±5. Result: IssuedAtOutsideWindow."""
    with pytest.raises(IssuedAtOutsideWindow):
        Harness().send(1, record(), issued_at_offset=offset)


def test_limits_on_payload_size_and_record_count() -> None:
    """A 1001-byte payload; 3 records against a limit of 2. Result: each refused."""
    with pytest.raises(PayloadTooLarge):
        Harness().send(1, record(), payload=b"x" * 1001)
    with pytest.raises(TooManyRecords):
        Harness(max_records=2).send(1, record(), record(), record(), payload=b"three")


def test_unregistered_partner_and_unpinned_format_are_refused() -> None:
    """A peer of no registered partner; a format SG does not speak. Result: each refused."""
    with pytest.raises(PartnerNotRegistered):
        Harness().send(1, record(), partner="ZZ", claimed="ZZ")
    with pytest.raises(UnsupportedWireFormat):
        Harness().send(1, record(), wire_format="xml-dsig")


def test_one_group_commit_decides_each_message_in_order() -> None:
    """One group: message 1, the same bytes again, a reuse of number 1, message 2 with a newer
    version and an older one. Result: applied, duplicate, refused, then the older version
    ignored because message 2's newer version came first; one bulk write."""
    import hashlib

    from gateway.domain.exchange import VerifiedMessage, apply_group

    def verified(sequence: int, *records: AeoRecord, tag: bytes = b"") -> VerifiedMessage:
        payload = f"{sequence}".encode() + tag
        inbound = InboundMessage(
            "SG", "native", payload, b"good", "SG-2026-1", "ed25519", NOW, "fp"
        )
        batch = OpenedBatch("SG", sequence, NOW, BatchKind.DELTA, records)
        return VerifiedMessage(inbound, batch, hashlib.sha256(payload).digest())

    tx, sealer = MemoryTx(), ReprSealer()
    first = verified(1, record(version=1))
    results = apply_group(
        tx,
        [
            first,
            first,
            verified(1, record("SG000000000002"), tag=b"other"),
            verified(2, record(version=3), record(version=2)),
        ],
        sealer,
    )
    assert isinstance(results[0], Outcome)
    assert not results[0].duplicate
    assert isinstance(results[1], Outcome)
    assert results[1].duplicate
    assert results[1].receipt == results[0].receipt
    assert isinstance(results[2], SequenceReused)
    assert [(i.version, i.reason) for i in sealer.sealed[-1].ignored] == [
        (2, "record.stale_version")
    ]
    assert [r.version for r, _ in tx.versions[("SG", "SG000000000001")]] == [1, 3]
    assert ("SG", "SG000000000002") not in tx.versions
    assert tx.sequences["SG"].last == 2
