"""The contract every wire format's codec must pass: a new format is done when it passes.

A codec's test module subclasses ``CodecContract`` and says how to build a message its format
cannot read, and how to tamper with a sealed one. Everything else (real keys, a real directory
snapshot, the checks) is here, the same for every format.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from adapters.crypto.signatures import ECDSA_P256, ED25519, Signer, verifier
from adapters.pki import signing_key
from gateway.domain.directory import Directory, PartnerKey
from gateway.domain.errors import (
    AlgorithmNotPinned,
    MalformedPayload,
    SignatureInvalid,
    SigningKeyNotValid,
    TooManyRecords,
    UnknownSigningKey,
)
from gateway.domain.messages import DecodedBatch, InboundMessage, OutboundBatch, SealedEnvelope
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import DecodeLimits, WireCodec
from gateway.domain.records import BatchKind, RecordStatus
from tests.factories import directory, draft, record, singapore

RECEIVED = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LIMITS = DecodeLimits(max_records=10)


def _signer(key_id: str, algorithm: str = ED25519) -> Signer:
    return Signer(signing_key(algorithm), key_id, algorithm)


class CodecContract:
    """Subclass with ``codec`` set and the two hooks implemented. A format that does not speak
    Ed25519 sets ``algorithm`` (what the registered keys are pinned to) and ``other_algorithm``
    (one it speaks that those keys are not pinned to), and builds its signers in the class body
    with ``_signer``."""

    codec: ClassVar[WireCodec]
    algorithm: ClassVar[str] = ED25519
    other_algorithm: ClassVar[str] = ECDSA_P256

    def unreadable(self, signer: Signer) -> SealedEnvelope:
        """A message correctly signed by ``signer`` whose content the format cannot read."""
        raise NotImplementedError

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        """``envelope`` with one byte of its signed content changed."""
        raise NotImplementedError

    # --- the world every codec is tested in ---------------------------------------------------

    sg: ClassVar[Signer] = _signer("SG-1")
    kr: ClassVar[Signer] = _signer("KR-1")
    expired: ClassVar[Signer] = _signer("SG-old")

    def directory(self) -> Directory:
        sg = singapore(
            signing_keys=(
                SigningKeyInfo("SG-1", self.algorithm),
                SigningKeyInfo("SG-old", self.algorithm, not_after=RECEIVED - timedelta(days=1)),
            )
        )
        kr = singapore(code="KR", signing_keys=(SigningKeyInfo("KR-1", self.algorithm),))
        base = directory(sg, kr)
        keys = {}
        for code, signer in (("SG", self.sg), ("KR", self.kr), ("SG", self.expired)):
            info = base.keys[(code, signer.key_id)].info
            public = signer.public_key()
            keys[(code, signer.key_id)] = PartnerKey(info, verifier(public, self.algorithm), public)
        return replace(base, keys=keys)

    def batch(self, records: int = 2) -> OutboundBatch:
        return OutboundBatch(
            "SG",
            7,
            RECEIVED,
            BatchKind.DELTA,
            tuple(
                record(f"SG00000000000{i}", version=i + 1, status=RecordStatus.VALID)
                for i in range(records)
            ),
        )

    def open(self, envelope: SealedEnvelope, partner: str = "SG") -> DecodedBatch:
        message = InboundMessage(
            partner, envelope.wire_format, envelope.payload, envelope.detached, RECEIVED, "fp"
        )
        keys = self.directory().keys_for(partner, RECEIVED)
        return self.codec.open(message, keys, LIMITS)

    # --- the contract -------------------------------------------------------------------------

    def test_a_sealed_batch_opens_to_what_was_sealed(self) -> None:
        """A batch sealed with SG's registered key. Result: the same header and records, and
        the key that signed."""
        batch = self.batch()
        opened = self.open(self.codec.seal(batch, self.sg))
        assert (opened.partner, opened.sequence, opened.kind) == ("SG", 7, BatchKind.DELTA)
        assert opened.issued_at == batch.issued_at
        assert opened.drafts == tuple(draft(r) for r in batch.records)
        assert (opened.key_id, opened.algorithm) == ("SG-1", self.algorithm)

    def test_tampered_content_is_refused(self) -> None:
        """One byte of the signed content changed. Result: SignatureInvalid."""
        with pytest.raises(SignatureInvalid):
            self.open(self.tampered(self.codec.seal(self.batch(), self.sg)))

    def test_another_key_under_a_registered_key_id_is_refused(self) -> None:
        """KR's private key signs, claiming SG's key id. Result: SignatureInvalid."""
        impostor = Signer(self.kr._key, "SG-1", self.algorithm)
        with pytest.raises(SignatureInvalid):
            self.open(self.codec.seal(self.batch(), impostor))

    def test_another_partners_key_is_not_handed_out(self) -> None:
        """KR's genuine key and key id on SG's message. Result: UnknownSigningKey: the resolver
        holds only the sending partner's keys."""
        with pytest.raises(UnknownSigningKey):
            self.open(self.codec.seal(self.batch(), self.kr))

    def test_an_unregistered_key_id_is_refused(self) -> None:
        """A key id SG never registered. Result: UnknownSigningKey."""
        with pytest.raises(UnknownSigningKey):
            self.open(self.codec.seal(self.batch(), _signer("SG-unknown", self.algorithm)))

    def test_an_algorithm_other_than_the_pinned_one_is_refused(self) -> None:
        """The message is signed with another algorithm the format speaks than the one pinned for
        the key it names. Result: AlgorithmNotPinned."""
        claiming = Signer(signing_key(self.other_algorithm), "SG-1", self.other_algorithm)
        with pytest.raises(AlgorithmNotPinned):
            self.open(self.codec.seal(self.batch(), claiming))

    def test_a_key_outside_its_validity_at_receipt_is_refused(self) -> None:
        """SG's old key, expired a day before the gateway received the message. Result:
        SigningKeyNotValid, whatever the message says of its own issue time."""
        with pytest.raises(SigningKeyNotValid):
            self.open(self.codec.seal(self.batch(), self.expired))

    def test_signed_content_the_format_cannot_read_is_malformed(self) -> None:
        """A correctly signed message whose content is not this format. Result:
        MalformedPayload."""
        with pytest.raises(MalformedPayload):
            self.open(self.unreadable(self.sg))

    def test_more_records_than_the_limit_are_refused_while_decoding(self) -> None:
        """Eleven records against a limit of ten. Result: TooManyRecords."""
        with pytest.raises(TooManyRecords):
            self.open(self.codec.seal(self.batch(records=11), self.sg))
