"""The gateway's own signing key, swappable at runtime, and public-key checks for the key use
cases.

One RotatingSigner is built by the composition root and handed to everything that signs
(receipts, outbound messages, announcements). A rotation swaps the Signer inside it with one
reference assignment; a signing operation takes ``current()`` once, so a signature and the key
id it names always belong together.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from adapters import pki
from adapters.crypto.signatures import (
    ALGORITHMS,
    KeyMismatch,
    Signer,
    load_private_key,
    load_public_key,
)
from adapters.store.signing_keys import GatewayKeyRow, SqlSigningKeys
from gateway.app.keys import NewGatewayKey
from gateway.domain import ports
from gateway.domain.errors import GatewayKeyInvalid, KeyAlgorithmMismatch, shown


class RotatingSigner:
    """The Signer port over whichever key is in force."""

    def __init__(self, signer: ports.Signer) -> None:
        self._current = signer

    def current(self) -> ports.Signer:
        return self._current

    def swap(self, signer: ports.Signer) -> ports.Signer:
        old, self._current = self._current, signer
        return old

    @property
    def key_id(self) -> str:
        return self._current.key_id

    @property
    def algorithm(self) -> str:
        return self._current.algorithm

    def sign(self, data: bytes) -> bytes:
        return self._current.sign(data)


def public_pem(signer: Signer) -> str:
    return (
        signer.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class PemPublicKeys:
    """The PublicKeys port: PEM public keys checked against their pinned algorithm."""

    def check(self, pem: str, algorithm: str) -> None:
        if algorithm not in ALGORITHMS:
            raise KeyAlgorithmMismatch(
                f"{shown(algorithm)} is not one of {', '.join(ALGORITHMS)}", pinned=""
            )
        try:
            load_public_key(pem.encode(), algorithm)
        except (KeyMismatch, ValueError, TypeError) as exc:
            raise KeyAlgorithmMismatch(
                f"the public key is not a {algorithm} key: {exc}", pinned=algorithm
            ) from exc

    def same(self, material: object, pem: str) -> bool:
        try:
            given = serialization.load_pem_public_key(pem.encode())
        except (ValueError, TypeError):
            return False
        fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        public_bytes = getattr(material, "public_bytes", None)
        return public_bytes is not None and bool(public_bytes(*fmt) == given.public_bytes(*fmt))


class FileGatewayKeys:
    """The GatewayKeys port: private keys in files beside the settings' key, and which is in
    force recorded in the store."""

    def __init__(self, settings_key: Path, settings_key_id: str, store: SqlSigningKeys) -> None:
        self._folder = settings_key.parent
        self._settings_key_id = settings_key_id
        self._store = store
        self._lock = threading.Lock()

    def used_key_ids(self) -> set[str]:
        return {self._settings_key_id} | {row.key_id for row in self._store.gateway_keys()}

    def in_force(self) -> GatewayKeyRow | None:
        """The last rotated key, or None: the settings' key is in force."""
        rows = self._store.gateway_keys()
        return rows[-1] if rows else None

    def create(self, key_id: str, algorithm: str, key_file: str | None) -> NewGatewayKey:
        if algorithm not in ALGORITHMS:
            raise GatewayKeyInvalid(f"{shown(algorithm)} is not one of {', '.join(ALGORITHMS)}")
        if key_file:
            path = Path(key_file)
            try:
                signer = Signer(load_private_key(path, algorithm), key_id, algorithm)
            except (OSError, KeyMismatch, ValueError, TypeError) as exc:
                raise GatewayKeyInvalid(
                    f"{path} is not a readable {algorithm} private key: {exc}"
                ) from exc
        else:
            path = self._folder / f"signing-{key_id}.key.pem"
            if path.exists():
                raise GatewayKeyInvalid(f"{path} exists already; choose a new key id")
            key = pki.signing_key(algorithm)
            with self._lock:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(pki.key_pem(key))
                path.with_name(f"signing-{key_id}.pub.pem").write_bytes(pki.public_pem(key))
            signer = Signer(key, key_id, algorithm)
        return NewGatewayKey(signer, public_pem(signer), str(path.resolve()))

    def record(self, key: NewGatewayKey, actor: str, at: datetime) -> None:
        self._store.add_gateway_key(
            GatewayKeyRow(
                key.signer.key_id, key.signer.algorithm, key.key_file, key.public_key, actor, at
            )
        )
