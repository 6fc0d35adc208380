"""The gateway's own signing key, swappable at runtime, and public-key checks for the key use
cases.

One RotatingSigner is built by the composition root and handed to everything that signs
(receipts, outbound messages, announcements). A rotation swaps the Signer inside it with one
reference assignment; a signing operation takes ``current()`` once, so a signature and the key
id it names always belong together. Every few seconds ``current()`` also looks in the store for
a key another replica put in force, and swaps it in when its file is readable here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
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
from gateway.domain.errors import GatewayError, GatewayKeyInvalid, KeyAlgorithmMismatch, shown

log = logging.getLogger(__name__)

#: How often a replica looks for a gateway key another replica put in force.
FOLLOW_SECONDS = 5.0

#: Given the key id signing here, the signer of a newer key in force, or None.
Follow = Callable[[str], ports.Signer | None]


class RotatingSigner:
    """The Signer port over whichever key is in force."""

    def __init__(
        self,
        signer: ports.Signer,
        follow: Follow | None = None,
        follow_seconds: float | None = None,
    ) -> None:
        self._current = signer
        self._follow = follow
        self._follow_seconds = FOLLOW_SECONDS if follow_seconds is None else follow_seconds
        self._followed_at = time.monotonic()
        self._following = threading.Lock()

    def current(self) -> ports.Signer:
        """The key in force. On the hot path: one clock read, and every ``follow_seconds`` one
        look at the store by one thread while the others sign with the key they have."""
        if self._follow is not None and (
            time.monotonic() - self._followed_at >= self._follow_seconds
        ):
            self._catch_up(self._follow)
        return self._current

    def _catch_up(self, follow: Follow) -> None:
        if not self._following.acquire(blocking=False):
            return
        try:
            newer = follow(self._current.key_id)
            if newer is not None:
                old = self.swap(newer)
                log.info(
                    "gateway signing key %s put in force by another replica: signing with it "
                    "(was %s)",
                    newer.key_id,
                    old.key_id,
                )
        except GatewayError as exc:  # the store is unavailable: the key in hand signs on
            log.warning("gateway signing key not checked for a rotation: %s", exc.message)
        finally:
            self._followed_at = time.monotonic()
            self._following.release()

    def swap(self, signer: ports.Signer) -> ports.Signer:
        old, self._current = self._current, signer
        return old

    @property
    def key_id(self) -> str:
        return self.current().key_id

    @property
    def algorithm(self) -> str:
        return self.current().algorithm

    def sign(self, data: bytes) -> bytes:
        return self.current().sign(data)


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
    """The GatewayKeys port: private keys in files in ``keys_dir`` (default: beside the
    settings' key), and which is in force recorded in the store."""

    def __init__(
        self,
        settings_key: Path,
        settings_key_id: str,
        store: SqlSigningKeys,
        keys_dir: Path | None = None,
    ) -> None:
        self._folder = Path(keys_dir) if keys_dir else settings_key.parent
        self._settings_key_id = settings_key_id
        self._store = store
        self._lock = threading.Lock()
        self._unreadable: set[str] = set()  # key ids reported unreadable (once each)

    def used_key_ids(self) -> set[str]:
        return {self._settings_key_id} | {row.key_id for row in self._store.gateway_keys()}

    def in_force(self) -> GatewayKeyRow | None:
        """The last rotated key, or None: the settings' key is in force."""
        rows = self._store.gateway_keys()
        return rows[-1] if rows else None

    def load(self, row: GatewayKeyRow) -> Signer | None:
        """The signer of a recorded key, or None (an ERROR naming its file, once per key) when
        its file cannot be read here: written on another replica's disk, say."""
        path = Path(row.key_file)
        try:
            return Signer.from_file(path, row.key_id, row.algorithm)
        except (OSError, KeyMismatch, ValueError, TypeError) as exc:
            if row.key_id not in self._unreadable:
                self._unreadable.add(row.key_id)
                log.error(
                    "gateway signing key %s is in force but its file %s cannot be read here "
                    "(%s): still signing with the key in hand; make the file readable at that "
                    "path on every replica (gateway_keys_dir on shared storage)",
                    row.key_id,
                    path,
                    exc,
                )
            return None

    def newer(self, key_id: str) -> Signer | None:
        """The signer of the key in force when it is not ``key_id`` and its file is readable
        (another replica rotated); None otherwise."""
        row = self.in_force()
        if row is None or row.key_id == key_id:
            return None
        return self.load(row)

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
            try:
                with self._lock:
                    self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        out.write(pki.key_pem(key))
                    path.with_name(f"signing-{key_id}.pub.pem").write_bytes(pki.public_pem(key))
            except OSError as exc:
                raise GatewayKeyInvalid(
                    f"cannot write the new key in {self._folder} ({exc.strerror or exc}): "
                    "it may be read-only; set gateway_keys_dir to a writable folder, or pass "
                    "--key-file"
                ) from exc
            signer = Signer(key, key_id, algorithm)
        return NewGatewayKey(signer, public_pem(signer), str(path.resolve()))

    def record(self, key: NewGatewayKey, actor: str, at: datetime) -> None:
        self._store.add_gateway_key(
            GatewayKeyRow(
                key.signer.key_id, key.signer.algorithm, key.key_file, key.public_key, actor, at
            )
        )
