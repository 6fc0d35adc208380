"""Message-signing keys over time: partners' keys registered or retired by administrators (or
announced by the partners themselves), and the rules that keep a partner able to sign.

A partner's keys in force are its file's keys with the stored entries on top: an entry with a
public key is a key of its own (it overrides a file key of the same id), an entry without one
only sets the validity window of the file's key of that id (a retirement).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from gateway.domain.errors import (
    KeyAlgorithmMismatch,
    KeyAlreadyRegistered,
    KeyNotFound,
    KeyWindowInvalid,
    LastValidKey,
    MalformedRequest,
    shown,
)
from gateway.domain.partners import SigningKeyInfo

#: Key ids are echoed in logs and listings: a bounded, printable id.
MAX_KEY_ID = 64


class KeySource(Enum):
    FILE = "file"
    ADMIN = "admin"
    ANNOUNCEMENT = "announcement"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A stored entry for one partner's key id."""

    partner: str
    key_id: str
    algorithm: str
    #: PEM of the public key; empty: the entry only sets the window of the file's key.
    public_key: str
    not_before: datetime | None
    not_after: datetime | None
    source: KeySource
    actor: str
    recorded_at: datetime

    @property
    def info(self) -> SigningKeyInfo:
        return SigningKeyInfo(self.key_id, self.algorithm, self.not_before, self.not_after)


def check_key_id(key_id: str) -> None:
    if not key_id or len(key_id) > MAX_KEY_ID or not key_id.isprintable() or " " in key_id:
        raise MalformedRequest(
            f"key id {shown(key_id)} must be 1 to {MAX_KEY_ID} printable characters, no spaces"
        )


def check_window(not_before: datetime | None, not_after: datetime | None) -> None:
    if not_before is not None and not_after is not None and not_after <= not_before:
        raise KeyWindowInvalid(
            f"not_after {not_after.isoformat()} is not after not_before {not_before.isoformat()}"
        )


def check_addition(
    existing: Sequence[SigningKeyInfo], key_id: str, algorithm: str, same_key: bool | None
) -> SigningKeyInfo | None:
    """Whether a key may be added under ``key_id``: the existing key of that id if it is the
    same key (nothing to add). ``same_key``: whether the existing key's material equals the new
    one (None when there is no existing key)."""
    check_key_id(key_id)
    for key in existing:
        if key.key_id != key_id:
            continue
        if key.algorithm != algorithm:
            raise KeyAlgorithmMismatch(
                f"key {shown(key_id)} is pinned to {key.algorithm}, not {shown(algorithm)}",
                key_id=key_id,
                pinned=key.algorithm,
            )
        if not same_key:
            raise KeyAlreadyRegistered(
                f"another key is registered as {shown(key_id)}; choose a new key id",
                key_id=key_id,
            )
        return key
    return None


def retire(
    keys: Iterable[SigningKeyInfo], key_id: str, at: datetime, now: datetime
) -> SigningKeyInfo:
    """``key_id`` with its not_after set to ``at``; refused when the partner would be left with
    no key valid now or later (a key that has expired by ``now`` does not count)."""
    keys = tuple(keys)
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise KeyNotFound(f"no key {shown(key_id)} is registered", key_id=key_id)
    if key.not_before is not None and at <= key.not_before:
        raise KeyWindowInvalid(
            f"retire_at {at.isoformat()} is not after the key's not_before "
            f"{key.not_before.isoformat()}"
        )
    retired = replace(key, not_after=at)
    after = [retired if k.key_id == key_id else k for k in keys]
    if not any(k.not_after is None or k.not_after > now for k in after):
        raise LastValidKey(
            f"retiring {shown(key_id)} at {at.isoformat()} leaves no key valid now or later; "
            "add the new key first (AddPartnerSigningKey, `aeo-gateway keys add`)",
            key_id=key_id,
        )
    return retired
