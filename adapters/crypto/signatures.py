"""Message signatures: Ed25519, ECDSA P-256/SHA-256 (DER), RSA-PSS/SHA-256 (salt = 32 bytes) and
RSASSA-PKCS1-v1_5/SHA-256 (the rsa-sha256 of XML-DSig, RS256 of JWS).

Keys are loaded once at start-up (loading a PEM costs milliseconds); verifiers are plain
callables the partner directory holds. Ed25519, on every message's hot path twice (the partner's
signature, the gateway's receipt), runs on libsodium through PyNaCl: about twice the speed of
the OpenSSL binding here, and strict about non-canonical signatures and small-order keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from gateway.domain.directory import Verify

ED25519: Final = "ed25519"
ECDSA_P256: Final = "ecdsa-p256-sha256"
RSA_PSS: Final = "rsa-pss-sha256"
RSA_PKCS1: Final = "rsa-pkcs1-sha256"
ALGORITHMS: Final = (ED25519, ECDSA_P256, RSA_PSS, RSA_PKCS1)
_RSA = (RSA_PSS, RSA_PKCS1)

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class KeyMismatch(ValueError):
    """A key file that does not hold a key of the pinned algorithm."""


def _check_algorithm(key: PublicKey, algorithm: str) -> None:
    ok = (
        (algorithm == ED25519 and isinstance(key, ed25519.Ed25519PublicKey))
        or (
            algorithm == ECDSA_P256
            and isinstance(key, ec.EllipticCurvePublicKey)
            and isinstance(key.curve, ec.SECP256R1)
        )
        or (algorithm in _RSA and isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048)
    )
    if not ok:
        raise KeyMismatch(f"key is not a {algorithm} key")


def key_sha256(key: PublicKey) -> str:
    """SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: what an audit entry records of the
    key that signed (docs/audit.md), and what the bundle verifier compares a PEM against."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes, algorithm: str) -> PublicKey:
    """A PEM public key, which must be a key of the pinned ``algorithm``."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise KeyMismatch("unsupported key type")
    _check_algorithm(key, algorithm)
    return key


def load_private_key(path: Path, algorithm: str) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    ):
        raise KeyMismatch(f"{path}: unsupported key type")
    _check_algorithm(key.public_key(), algorithm)
    return key


def verifier(key: PublicKey, algorithm: str) -> Verify:
    """A callable checking (payload, signature) with ``key`` under exactly ``algorithm``."""
    _check_algorithm(key, algorithm)
    check: Callable[[bytes, bytes], object]
    if isinstance(key, ed25519.Ed25519PublicKey):
        sodium = VerifyKey(key.public_bytes_raw())
        check = sodium.verify
    elif isinstance(key, ec.EllipticCurvePublicKey):
        ecdsa = ec.ECDSA(hashes.SHA256())

        def check(payload: bytes, signature: bytes) -> None:
            key.verify(signature, payload, ecdsa)
    else:
        rsa_key: rsa.RSAPublicKey = key
        rsa_padding = _PSS if algorithm == RSA_PSS else padding.PKCS1v15()

        def check(payload: bytes, signature: bytes) -> None:
            rsa_key.verify(signature, payload, rsa_padding, hashes.SHA256())

    def verify(payload: bytes, signature: bytes) -> bool:
        try:
            check(payload, signature)
        except (InvalidSignature, BadSignatureError, ValueError, TypeError):
            return False
        return True

    return verify


def sign(key: PrivateKey, payload: bytes, algorithm: str = RSA_PSS) -> bytes:
    """``payload`` signed with ``key``; ``algorithm`` chooses the padding of an RSA key."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(payload)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(payload, ec.ECDSA(hashes.SHA256()))
    rsa_padding = _PSS if algorithm == RSA_PSS else padding.PKCS1v15()
    return key.sign(payload, rsa_padding, hashes.SHA256())


class Signer:
    """A private key held once, with its id and pinned algorithm. Only the composition root and
    the development tools construct one; adapters receive it, never the key file."""

    def __init__(self, key: PrivateKey, key_id: str, algorithm: str) -> None:
        _check_algorithm(key.public_key(), algorithm)
        self._key = key
        self._sodium = (
            SigningKey(key.private_bytes_raw())
            if isinstance(key, ed25519.Ed25519PrivateKey)
            else None
        )
        self.key_id = key_id
        self.algorithm = algorithm

    @classmethod
    def from_file(cls, path: Path, key_id: str, algorithm: str) -> Signer:
        return cls(load_private_key(path, algorithm), key_id, algorithm)

    def sign(self, payload: bytes) -> bytes:
        if self._sodium is not None:
            return bytes(self._sodium.sign(payload).signature)
        return sign(self._key, payload, self.algorithm)

    def public_key(self) -> PublicKey:
        return self._key.public_key()

    @property
    def key_sha256(self) -> str:
        """SHA-256 of the public key's DER SubjectPublicKeyInfo (see gateway.domain.signing)."""
        return key_sha256(self._key.public_key())
