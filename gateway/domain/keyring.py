"""Partner message-signing keys: the key and its algorithm come from the registry, never the
message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from gateway.domain.errors import (
    AlgorithmNotPinned,
    SignatureInvalid,
    SigningKeyNotValid,
    UnknownSigningKey,
)
from gateway.domain.partners import Partner

#: Checks one signature over one payload with one loaded public key.
Verify = Callable[[bytes, bytes], bool]


class Keyring:
    def __init__(
        self, partners: Mapping[str, Partner], verifiers: Mapping[tuple[str, str], Verify]
    ) -> None:
        self._partners = partners
        self._verifiers = verifiers

    def verify(
        self,
        partner: str,
        key_id: str,
        algorithm: str,
        payload: bytes,
        signature: bytes,
        at: datetime,
    ) -> None:
        profile = self._partners.get(partner)
        key = profile.key(key_id) if profile else None
        verify = self._verifiers.get((partner, key_id))
        if key is None or verify is None:
            raise UnknownSigningKey(
                f"key {key_id!r} is not registered for partner {partner}", key_id=key_id
            )
        if algorithm != key.algorithm:
            raise AlgorithmNotPinned(
                f"key {key_id!r} is pinned to {key.algorithm}, message says {algorithm!r}",
                key_id=key_id,
                pinned=key.algorithm,
            )
        if not key.valid_at(at):
            raise SigningKeyNotValid(f"key {key_id!r} is not valid at {at.isoformat()}")
        if not signature or not verify(payload, signature):
            raise SignatureInvalid(f"signature does not verify with key {key_id!r}", key_id=key_id)
