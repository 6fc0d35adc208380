"""One signing operation, one key: a signer that can be rotated is read once per operation."""

from __future__ import annotations

from typing import cast

from gateway.domain.ports import Signer


def key_sha256(signer: Signer) -> str:
    """SHA-256 of the signer's public key (DER SubjectPublicKeyInfo), for the audit log; empty
    for a signer that does not say (a test's fake)."""
    value = getattr(signer, "key_sha256", "")
    return value if isinstance(value, str) else ""


def pinned(signer: Signer) -> Signer:
    """The key to use for one whole operation (a signature and the key id it names): a
    rotating signer's key of the moment, or ``signer`` itself."""
    current = getattr(signer, "current", None)
    return cast(Signer, current()) if callable(current) else signer
