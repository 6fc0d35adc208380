"""The toy format passes the same contract as the native one: nothing else was needed."""

from __future__ import annotations

from dataclasses import replace

from adapters.crypto.signatures import Signer
from gateway.domain.messages import DetachedSignature, SealedEnvelope
from tests.contract.codec_contract import CodecContract
from tests.contract.toy_codec import ToyCodec


class TestToyCodecContract(CodecContract):
    codec = ToyCodec()

    def unreadable(self, signer: Signer) -> SealedEnvelope:
        payload = b'{"partner": "SG", "sequence": "seven"}'
        signature = DetachedSignature(signer.key_id, signer.algorithm, signer.sign(payload))
        return SealedEnvelope(self.codec.name, payload, signature)

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        return replace(
            envelope, payload=envelope.payload.replace(b'"sequence": 7', b'"sequence": 8')
        )
