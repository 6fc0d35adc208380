"""The core's rules for partners' signing keys (gateway/domain/keys.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.errors import (
    KeyAlgorithmMismatch,
    KeyAlreadyRegistered,
    KeyNotFound,
    KeyWindowInvalid,
    LastValidKey,
    MalformedRequest,
)
from gateway.domain.keys import check_addition, check_key_id, check_window, retire
from gateway.domain.partners import SigningKeyInfo

NOW = datetime(2026, 11, 28, tzinfo=UTC)
OLD = SigningKeyInfo("SG-2026-1", "ed25519")
NEW = SigningKeyInfo("SG-2027-1", "ed25519", NOW - timedelta(days=1))


def test_retiring_the_old_key_beside_a_valid_new_one_sets_its_end() -> None:
    """Two keys; the old one is retired now. Result: its not_after is now."""
    assert retire((OLD, NEW), "SG-2026-1", NOW, NOW).not_after == NOW


def test_retiring_the_only_key_is_refused() -> None:
    """One key, retired now. Result: LastValidKey."""
    with pytest.raises(LastValidKey):
        retire((OLD,), "SG-2026-1", NOW, NOW)


def test_a_key_valid_only_in_the_future_counts_as_valid() -> None:
    """The new key starts tomorrow; the old one is retired the day after. Result: allowed."""
    later = SigningKeyInfo("SG-2027-2", "ed25519", NOW + timedelta(days=1))
    assert retire((OLD, later), "SG-2026-1", NOW + timedelta(days=2), NOW).key_id == "SG-2026-1"


def test_an_expired_key_does_not_count() -> None:
    """The other key expired yesterday. Result: LastValidKey."""
    expired = SigningKeyInfo("SG-2025-1", "ed25519", None, NOW - timedelta(days=1))
    with pytest.raises(LastValidKey):
        retire((OLD, expired), "SG-2026-1", NOW, NOW)


def test_retiring_an_unknown_key_is_not_found() -> None:
    """Result: KeyNotFound."""
    with pytest.raises(KeyNotFound):
        retire((OLD,), "SG-1999-1", NOW, NOW)


def test_retiring_before_the_key_starts_is_refused() -> None:
    """retire_at before the key's not_before. Result: KeyWindowInvalid."""
    with pytest.raises(KeyWindowInvalid):
        retire((OLD, NEW), "SG-2027-1", NOW - timedelta(days=2), NOW)


def test_an_addition_under_a_pinned_id_with_another_algorithm_is_refused() -> None:
    """Result: KeyAlgorithmMismatch, naming the pinned algorithm."""
    with pytest.raises(KeyAlgorithmMismatch) as caught:
        check_addition((OLD,), "SG-2026-1", "ecdsa-p256-sha256", same_key=False)
    assert caught.value.metadata["pinned"] == "ed25519"


def test_the_same_key_again_is_nothing_to_add_and_another_key_is_refused() -> None:
    """Result: the existing key for the same material; KeyAlreadyRegistered otherwise."""
    assert check_addition((OLD,), "SG-2026-1", "ed25519", same_key=True) == OLD
    with pytest.raises(KeyAlreadyRegistered):
        check_addition((OLD,), "SG-2026-1", "ed25519", same_key=False)
    assert check_addition((OLD,), "SG-2027-1", "ed25519", same_key=None) is None


@pytest.mark.parametrize("key_id", ["", "a b", "x" * 65, "tab\there"])
def test_a_key_id_that_is_empty_or_odd_is_malformed(key_id: str) -> None:
    """Result: MalformedRequest."""
    with pytest.raises(MalformedRequest):
        check_key_id(key_id)


def test_a_window_ending_before_it_starts_is_refused() -> None:
    """Result: KeyWindowInvalid; an open window passes."""
    with pytest.raises(KeyWindowInvalid):
        check_window(NOW, NOW - timedelta(seconds=1))
    check_window(NOW, None)
