"""Signing keys in the store (migration 0012), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.store.signing_keys import GatewayKeyRow, SqlSigningKeys
from adapters.store.sql import SqlStore
from gateway.domain.errors import GatewayError
from gateway.domain.keys import KeySource, StoredKey

NOW = datetime(2026, 11, 28, 3, 0, 0, 123456, tzinfo=UTC)


def key(key_id: str = "SG-2027-1", **changes: object) -> StoredKey:
    values: dict[str, object] = {
        "partner": "SG",
        "key_id": key_id,
        "algorithm": "ed25519",
        "public_key": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
        "not_before": NOW,
        "not_after": None,
        "source": KeySource.ADMIN,
        "actor": "admin:CN=admin",
        "recorded_at": NOW,
    }
    values.update(changes)
    return StoredKey(**values)  # type: ignore[arg-type]


def test_a_stored_key_reads_back_exactly(store: SqlStore) -> None:
    """A key with a window is put. Result: it reads back field for field, times to the
    microsecond."""
    keys = SqlSigningKeys(store.database)
    keys.put(key())
    assert keys.stored() == [key()]


def test_a_retirement_replaces_the_row_of_its_key(store: SqlStore) -> None:
    """The same partner and key id are put twice (added, then retired). Result: one row, the
    latest, alongside the partner's other keys."""
    keys = SqlSigningKeys(store.database)
    keys.put(key())
    keys.put(key("SG-2026-1", public_key="", source=KeySource.FILE))
    retired = key(not_after=NOW + timedelta(days=1), recorded_at=NOW + timedelta(seconds=1))
    keys.put(retired)
    assert sorted(keys.stored(), key=lambda k: k.key_id) == [
        key("SG-2026-1", public_key="", source=KeySource.FILE),
        retired,
    ]


def test_gateway_keys_are_read_in_the_order_put_in_force(store: SqlStore) -> None:
    """Two rotations. Result: listed in order, the last in force; a key id used twice is
    refused by the store."""
    keys = SqlSigningKeys(store.database)
    first = GatewayKeyRow("CN-GW-3", "ecdsa-p256-sha256", "/k/3.pem", "PEM3", "admin", NOW)
    second = GatewayKeyRow(
        "CN-GW-4", "ecdsa-p256-sha256", "/k/4.pem", "PEM4", "admin", NOW + timedelta(days=1)
    )
    keys.add_gateway_key(first)
    keys.add_gateway_key(second)
    assert keys.gateway_keys() == [first, second]
    with pytest.raises(GatewayError):
        keys.add_gateway_key(first)
