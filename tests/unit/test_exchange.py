from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.app.submit import SubmitResult, SubmitStatusMessage
from gateway.domain.errors import (
    IssuedAtOutsideWindow,
    MalformedPayload,
    PartnerImpersonation,
    PartnerNotRegistered,
    PayloadTooLarge,
    SequenceReused,
    SignatureInvalid,
    TooManyRecords,
    UnsupportedWireFormat,
)
from gateway.domain.exchange import Limits
from gateway.domain.messages import DecodedBatch, DetachedSignature, InboundMessage
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from tests.factories import NOW, directory, draft, record
from tests.unit.fakes import InlineTransactions, MemoryStore, ReprSealer, TableCodec


class Harness:
    def __init__(self, max_records: int = 10, max_open_gaps: int = 1_000) -> None:
        self.store = MemoryStore()
        self.transactions = InlineTransactions(self.store)
        self.sealer = ReprSealer()
        self.codec = TableCodec()
        self.directory = directory()
        self.submit = SubmitStatusMessage(
            codecs={"native": self.codec},
            transactions=self.transactions,
            sealer=self.sealer,
            limits=Limits(
                max_payload_bytes=1000,
                max_records=max_records,
                clock_skew=timedelta(minutes=5),
                max_open_gaps=max_open_gaps,
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
        naive_issued_at: bool = False,
        kind: BatchKind = BatchKind.DELTA,
    ) -> SubmitResult:
        payload = payload or f"{claimed}-{sequence}-{kind}-{records!r}".encode()
        issued_at = NOW + issued_at_offset
        self.codec.batches[payload] = DecodedBatch(
            claimed,
            sequence,
            issued_at.replace(tzinfo=None) if naive_issued_at else issued_at,
            kind,
            tuple(draft(r) for r in records),
            "SG-2026-1",
            "ed25519",
        )
        return self.submit(
            InboundMessage(
                partner,
                wire_format,
                payload,
                DetachedSignature("SG-2026-1", "ed25519", signature),
                NOW + received_late_by,
                "fp",
            ),
            self.directory,
        )

    def versions(self, identifier: str = "SG000000000001") -> list[int]:
        return [r.version for r, _ in self.store.versions.get(("SG", identifier), [])]


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


def test_partner_identifiers_are_read_by_the_declared_code_rule() -> None:
    """SG sends identifiers in lower case with a dash, full width, with a long s, with a
    zero-width space, one of separators only, and one with a next-line (C1) control. Result:
    the first two stored in declared form; the next three ignored with
    record.identifier_invalid, so nothing is stored that a declaration could only reach through
    a lossy fold; the last ignored with record.field_invalid (a control character, echoed
    replaced)."""
    h = Harness()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "SG000000000002")
    odd = ["\u017fg000000000003", "SG00000\u200b0000005", " - "]
    h.send(
        1,
        record("sg-0000-0000-0001"),
        record(full_width),
        *(record(i) for i in odd),
        record("SG00000\x850000004"),
        payload=b"identifiers",
    )
    assert h.versions("SG000000000001") == [1]
    assert h.versions("SG000000000002") == [1]
    assert [(i.identifier, i.reason) for i in h.sealer.sealed[-1].ignored] == [
        *((i, "record.identifier_invalid") for i in odd),
        ("SG00000\ufffd0000004", "record.field_invalid"),
    ]
    assert sorted(identifier for _, identifier in h.store.versions) == [
        "SG000000000001",
        "SG000000000002",
    ]


def test_gap_in_sequence_is_reported_in_the_receipt() -> None:
    """Messages 1 then 4. Result: the receipt of 4 reports gap 2-3."""
    h = Harness()
    h.send(1, record())
    h.send(4, record("SG000000000002"))
    assert h.sealer.sealed[-1].gaps_detected == ((2, 3),)
    assert h.sealer.sealed[-1].open_gaps == ((2, 3),)
    assert h.sealer.sealed[-1].open_gaps_total == 1
    assert not h.sealer.sealed[-1].needs_snapshot


def test_receipt_lists_the_newest_open_gaps_and_counts_them_all() -> None:
    """SG sends only even numbers, 2 to 80: 40 gaps open. Result: the receipt lists the 32
    newest (17 … 79), lowest first, and says 40 are open."""
    h = Harness()
    for n in range(2, 81, 2):
        h.send(n, record(version=n))
    receipt = h.sealer.sealed[-1]
    assert receipt.open_gaps == tuple((n, n) for n in range(17, 80, 2))
    assert receipt.open_gaps_total == 40
    assert not receipt.needs_snapshot


def test_gaps_past_the_bound_are_written_off_and_the_receipt_calls_for_a_snapshot() -> None:
    """Bound 5; SG sends only even numbers, 2 to 14. Result: the receipt of 12 (6th gap) is the
    first to need a snapshot; 5 gaps stay open, stored with the flag and the numbers written off."""
    h = Harness(max_open_gaps=5)
    for n in range(2, 15, 2):
        h.send(n, record(version=n))
    assert [r.needs_snapshot for r in h.sealer.sealed] == [False] * 5 + [True] * 2
    assert [r.open_gaps_total for r in h.sealer.sealed] == [1, 2, 3, 4, 5, 5, 5]
    assert h.sealer.sealed[-1].open_gaps == ((5, 5), (7, 7), (9, 9), (11, 11), (13, 13))
    stored = h.store.sequences["SG"]
    assert (stored.needs_snapshot, stored.written_off) == (True, 2)


def test_snapshot_closes_the_gaps_before_it_and_clears_the_need_for_one() -> None:
    """Bound 2; SG needs a snapshot, then sends one. Result: its receipt lists no gap, detects
    none, and no longer needs a snapshot; its records apply as usual."""
    h = Harness(max_open_gaps=2)
    for n in range(2, 9, 2):
        h.send(n, record(version=n))
    assert h.sealer.sealed[-1].needs_snapshot
    h.send(20, record(version=20), kind=BatchKind.SNAPSHOT)
    receipt = h.sealer.sealed[-1]
    assert (receipt.gaps_detected, receipt.open_gaps, receipt.open_gaps_total) == ((), (), 0)
    assert not receipt.needs_snapshot
    assert receipt.applied == 1
    assert h.versions()[-1] == 20


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
    assert h.store.messages == {}


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


def test_several_versions_of_one_operator_in_one_message_apply_in_order() -> None:
    """Message 1 carries versions 3 then 2 of one operator. Result: 3 applied, 2 stale."""
    h = Harness()
    h.send(1, record(version=3), record(version=2))
    assert [(i.version, i.reason) for i in h.sealer.sealed[-1].ignored] == [
        (2, "record.stale_version")
    ]
    assert h.versions() == [3]


def test_each_applied_version_is_a_change_in_the_same_unit_of_work() -> None:
    """SG sends two records, one stale. Result: one RecordVersionApplied per applied record,
    committed with them; the partner is named for locking."""
    h = Harness()
    h.send(1, record(version=2))
    h.send(2, record(version=1), record("SG000000000002"))
    assert [(e.identifier, e.version) for e in h.store.changes] == [  # type: ignore[union-attr]
        ("SG000000000001", 2),
        ("SG000000000002", 1),
    ]
    assert h.transactions.locked == [("SG",), ("SG",)]


def test_records_the_core_finds_invalid_are_receipted_not_applied() -> None:
    """A version at 2^63, a NUL in a name, an empty identifier. Result: each ignored with
    record.field_invalid or record.field_missing; the valid one applied."""
    h = Harness()
    h.send(
        1,
        record(version=2**63),
        record("SG000000000002", name="bad\x00name"),
        record(""),
        record("SG000000000003"),
        payload=b"four",
    )
    reasons = [(i.identifier, i.reason) for i in h.sealer.sealed[-1].ignored]
    assert reasons == [
        ("SG000000000001", "record.field_invalid"),
        ("SG000000000002", "record.field_invalid"),
        ("", "record.field_missing"),
    ]
    assert h.versions("SG000000000003") == [1]


def test_a_sequence_beyond_64_bits_is_malformed() -> None:
    """Sequence 2^63. Result: MalformedPayload before anything is stored."""
    h = Harness()
    with pytest.raises(MalformedPayload):
        h.send(2**63, record())
    assert h.store.messages == {}


def test_times_without_a_time_zone_are_refused_by_the_core() -> None:
    """A format that yields an effective time without a zone, then an issue time without one.
    Result: the record is ignored with record.field_invalid; the message is malformed."""
    h = Harness()
    h.send(1, record(effective_at=NOW.replace(tzinfo=None)), record("SG000000000002"), payload=b"a")
    assert [(i.identifier, i.reason) for i in h.sealer.sealed[-1].ignored] == [
        ("SG000000000001", "record.field_invalid")
    ]
    with pytest.raises(MalformedPayload):
        h.send(2, record(), issued_at_offset=timedelta(0), payload=b"b", naive_issued_at=True)


def test_times_whose_utc_form_no_datetime_can_hold_are_refused_by_the_core() -> None:
    """Effective times 0001-01-01T00:00+23:59 and 9999-12-31T23:59-23:59 (valid as written,
    but in UTC before year 1 or after 9999: stored, they could never be read back). Result:
    both ignored with record.field_invalid; the third record applied."""
    plus, minus = (timezone(timedelta(hours=h, minutes=m)) for h, m in ((23, 59), (-23, -59)))
    h = Harness()
    h.send(
        1,
        record(effective_at=datetime(1, 1, 1, tzinfo=plus)),
        record("SG000000000002", effective_at=datetime(9999, 12, 31, 23, 59, tzinfo=minus)),
        record("SG000000000003"),
        payload=b"d",
    )
    assert [(i.identifier, i.reason) for i in h.sealer.sealed[-1].ignored] == [
        ("SG000000000001", "record.field_invalid"),
        ("SG000000000002", "record.field_invalid"),
    ]
    assert h.versions("SG000000000003") == [1]


def test_a_rejected_identifier_is_named_without_unprintable_characters() -> None:
    """A record whose identifier holds a NUL and a lone surrogate. Result: ignored, and the
    receipt names it with replacement characters, so the receipt itself can be encoded."""
    h = Harness()
    h.send(1, record("SG\x00\ud800"), payload=b"c")
    (ignored,) = h.sealer.sealed[-1].ignored
    assert ignored.identifier == "SG\ufffd\ufffd"
    ignored.identifier.encode()


def test_a_tier_outside_the_partners_vocabulary_is_refused_alone() -> None:
    """SG (tiers STP, STP-Plus) sends a valid "Gold", a valid record with no tier, a revoked
    one with no tier and a valid STP. Result: the first two refused with record.tier_unknown;
    the revoked one (no treatment to earn) and the STP applied."""
    h = Harness()
    h.send(
        1,
        record("SG000000000001", tier="Gold"),
        record("SG000000000002", tier=""),
        record("SG000000000003", tier="", status=RecordStatus.REVOKED),
        record("SG000000000004", tier="STP"),
        payload=b"four tiers",
    )
    receipt = h.sealer.sealed[-1]
    assert [(i.identifier, i.reason) for i in receipt.ignored] == [
        ("SG000000000001", "record.tier_unknown"),
        ("SG000000000002", "record.tier_unknown"),
    ]
    assert receipt.applied == 2
    assert h.versions("SG000000000003") == [1]


def test_a_snapshot_names_its_refused_operators_and_a_delta_only_what_it_applies() -> None:
    """SG sends snapshot 1 with A and B (B of an unknown tier), then delta 2 with A v1 (stale)
    and C. Result: the snapshot names A and B and replaces the set; the delta names only C."""
    h = Harness()
    h.send(1, record(), record("SG000000000002", tier="Gold"), kind=BatchKind.SNAPSHOT)
    h.send(2, record(), record("SG000000000003"))
    (_, snapshot), (_, delta) = h.store.presences
    assert snapshot.named == {"SG000000000001", "SG000000000002"}
    assert snapshot.replaces_set
    assert delta.named == {"SG000000000003"}
    assert not delta.replaces_set


def test_a_late_snapshot_does_not_replace_the_set() -> None:
    """SG sends 1 and 3, then snapshot 2. Result: the snapshot names its operators but does
    not replace the set (message 3 was issued after it)."""
    h = Harness()
    h.send(1, record())
    h.send(3, record("SG000000000003"))
    h.send(2, record(version=2), kind=BatchKind.SNAPSHOT)
    _, late = h.store.presences[-1]
    assert late.named == {"SG000000000001"}
    assert not late.replaces_set
