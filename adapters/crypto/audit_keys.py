"""Keys for the audit log: checking checkpoint signatures with the gateway's public key(s), and
the public keys an evidence bundle carries (docs/audit.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from adapters.crypto.signatures import ALGORITHMS, KeyMismatch, PublicKey, verifier
from adapters.store.audit import SqlAuditStore
from gateway.app.audit_log import RawMessage
from gateway.app.directory import PartnerDirectory
from gateway.domain.audit import AuditEntry, Checkpoint, checkpoint_payload


def public_pem(key: PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_keys(paths: Sequence[Path]) -> list[PublicKey]:
    """PEM public keys from files (OSError or ValueError for a file that is not one)."""
    found: list[PublicKey] = []
    for path in paths:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, PublicKey):
            raise ValueError(f"{path}: unsupported key type")
        found.append(key)
    return found


def checkpoint_checker(keys: Sequence[PublicKey]) -> Callable[[Checkpoint], bool]:
    """True for a checkpoint whose signature verifies, under its own algorithm, with one of
    ``keys`` (the gateway's key, and earlier keys an operator names after a rotation)."""

    def valid(checkpoint: Checkpoint) -> bool:
        if checkpoint.algorithm not in ALGORITHMS:
            return False
        payload = checkpoint_payload(checkpoint)
        for key in keys:
            try:
                check = verifier(key, checkpoint.algorithm)
            except KeyMismatch:
                continue
            if check(payload, checkpoint.signature):
                return True
        return False

    return valid


def verifier_script() -> bytes:
    """The standalone verify_bundle.py every bundle carries."""
    return resources.files("adapters.crypto").joinpath("verify_bundle.py").read_bytes()


class StoreEvidence:
    """The EvidenceSource port: stored messages from the store, keys from the directory."""

    def __init__(
        self,
        store: SqlAuditStore,
        directory: PartnerDirectory,
        gateway_keys: Callable[[], Mapping[str, PublicKey]],
    ) -> None:
        self._store = store
        self._directory = directory
        self._gateway_keys = gateway_keys

    def message(self, entry: AuditEntry) -> RawMessage | None:
        return self._store.message(entry)

    def partner_key_pem(self, partner: str, key_id: str) -> bytes | None:
        found = self._directory.current().keys.get((partner, key_id))
        if found is None or found.material is None:
            return None
        return public_pem(found.material)  # type: ignore[arg-type]

    def gateway_key_pem(self, key_id: str) -> bytes | None:
        key = self._gateway_keys().get(key_id)
        return None if key is None else public_pem(key)
