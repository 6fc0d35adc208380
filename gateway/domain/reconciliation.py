"""The reconciliation digest: one value both sides compute over a partner's current set.

Canonical and independent of order, so that the partner can compute it over its own list
(admin.proto, message Reconciliation): for each operator the line
"<identifier>|<version>|<status>\\n", the lines sorted by their UTF-8 bytes, the SHA-256 of
their concatenation. The store decides which operators are current; this only digests them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from gateway.domain.records import RecordStatus


class CurrentOperator(NamedTuple):
    """An operator of a partner's current set: its newest version and that version's status
    (a tuple: a partner's set may hold a hundred thousand)."""

    identifier: str
    version: int
    status: RecordStatus


@dataclass(frozen=True, slots=True)
class Reconciliation:
    partner: str
    sha256: bytes
    operators: int
    last_sequence: int
    computed_at: datetime


def line(identifier: str, version: int, status: RecordStatus) -> bytes:
    """One operator's line, as both sides form it."""
    return f"{identifier}|{version}|{status.value}\n".encode()


def digest(operators: Iterable[CurrentOperator]) -> tuple[bytes, int]:
    """The SHA-256 over the sorted lines of ``operators``, and how many there were. Sorted as
    bytes, not as text: the order is the same whatever a platform's collation or locale."""
    lines = sorted(line(o.identifier, o.version, o.status) for o in operators)
    sha = hashlib.sha256()
    for item in lines:
        sha.update(item)
    return sha.digest(), len(lines)
