from __future__ import annotations

from pathlib import Path

import pytest

from adapters import pki
from adapters.crypto.signatures import ALGORITHMS, KeyMismatch, Signer, load_public_key, verifier


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signature_verifies_with_the_matching_key_only(algorithm: str) -> None:
    """Sign with one key, check with it and with another. Result: true, then false."""
    signer = Signer(pki.signing_key(algorithm), "K", algorithm)
    other = Signer(pki.signing_key(algorithm), "K2", algorithm)
    signature = signer.sign(b"payload")
    assert verifier(signer.public_key(), algorithm)(b"payload", signature)
    assert not verifier(other.public_key(), algorithm)(b"payload", signature)
    assert not verifier(signer.public_key(), algorithm)(b"payload!", signature)
    assert not verifier(signer.public_key(), algorithm)(b"payload", b"\x00garbage")


def test_key_of_another_algorithm_is_refused_at_load(tmp_path: Path) -> None:
    """An Ed25519 key registered as ECDSA. Result: KeyMismatch when the gateway starts."""
    path = tmp_path / "k.pub.pem"
    path.write_bytes(pki.public_pem(pki.signing_key("ed25519")))
    with pytest.raises(KeyMismatch):
        load_public_key(path.read_bytes(), "ecdsa-p256-sha256")
    with pytest.raises(ValueError, match="unsupported"):
        pki.signing_key("rsa-pkcs1-sha1")
