"""Signing keys in the store (migration 0012): partners' keys registered or retired through
KeyManagementService, and the gateway's own rotated keys.

Rare administrative writes: each in a transaction of its own on a reader connection (the
single writer connection belongs to the group committer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.store.database import Database
from gateway.domain.keys import KeySource, StoredKey
from gateway.times import from_us, to_us

_PARTNER_COLUMNS = (
    "partner",
    "key_id",
    "algorithm",
    "public_key",
    "not_before",
    "not_after",
    "source",
    "actor",
    "recorded_at",
)
_GATEWAY_COLUMNS = ("key_id", "algorithm", "key_file", "public_key", "actor", "activated_at")


def _us(moment: datetime | None) -> int | None:
    return None if moment is None else to_us(moment)


def _at(us: int | None) -> datetime | None:
    return None if us is None else from_us(int(us))


@dataclass(frozen=True, slots=True)
class GatewayKeyRow:
    key_id: str
    algorithm: str
    key_file: str
    public_key: str
    actor: str
    activated_at: datetime


class SqlSigningKeys:
    def __init__(self, db: Database) -> None:
        self._db = db
        q = db.sql
        self._select = q(
            f"SELECT {', '.join(_PARTNER_COLUMNS)} FROM partner_signing_keys "
            "ORDER BY recorded_at, partner, key_id"
        )
        self._delete = q("DELETE FROM partner_signing_keys WHERE partner = ? AND key_id = ?")
        self._insert = q(
            f"INSERT INTO partner_signing_keys ({', '.join(_PARTNER_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _PARTNER_COLUMNS)})"
        )
        self._select_gateway = q(
            f"SELECT {', '.join(_GATEWAY_COLUMNS)} FROM gateway_signing_keys ORDER BY id"
        )
        self._insert_gateway = q(
            f"INSERT INTO gateway_signing_keys ({', '.join(_GATEWAY_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _GATEWAY_COLUMNS)})"
        )

    def stored(self) -> Sequence[StoredKey]:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._select)
            rows = cur.fetchall()
        return [
            StoredKey(
                r[0], r[1], r[2], r[3], _at(r[4]), _at(r[5]), KeySource(r[6]), r[7], from_us(r[8])
            )
            for r in rows
        ]

    def put(self, key: StoredKey) -> None:
        row = (
            key.partner,
            key.key_id,
            key.algorithm,
            key.public_key,
            _us(key.not_before),
            _us(key.not_after),
            key.source.value,
            key.actor,
            to_us(key.recorded_at),
        )
        self._write(((self._delete, (key.partner, key.key_id)), (self._insert, row)))

    def gateway_keys(self) -> list[GatewayKeyRow]:
        """The rotated gateway keys in the order put in force: the last is in force."""
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._select_gateway)
            rows = cur.fetchall()
        return [GatewayKeyRow(r[0], r[1], r[2], r[3], r[4], from_us(r[5])) for r in rows]

    def add_gateway_key(self, row: GatewayKeyRow) -> None:
        self._write(
            (
                (
                    self._insert_gateway,
                    (
                        row.key_id,
                        row.algorithm,
                        row.key_file,
                        row.public_key,
                        row.actor,
                        to_us(row.activated_at),
                    ),
                ),
            )
        )

    def _write(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(self._db.dialect.begin)
            try:
                for sql, params in statements:
                    cur.execute(sql, params)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
