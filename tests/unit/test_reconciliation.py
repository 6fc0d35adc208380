"""The reconciliation digest: canonical, independent of order."""

from __future__ import annotations

import hashlib
import random

from gateway.domain.reconciliation import CurrentOperator, digest
from gateway.domain.records import RecordStatus

OPERATORS = [
    CurrentOperator("SG000000000012", 3, RecordStatus.SUSPENDED),
    CurrentOperator("SG00000000001", 1, RecordStatus.VALID),
    CurrentOperator("SG000000000002", 10, RecordStatus.REVOKED),
]


def test_the_digest_is_the_sha256_of_the_byte_sorted_lines_in_any_order() -> None:
    """Three operators, in two orders. Result: the same digest, equal to one computed by hand
    (where "SG00000000001|" sorts after "SG000000000012|": bytes, not identifiers)."""
    shuffled = OPERATORS[:]
    random.Random(7).shuffle(shuffled)
    by_hand = b"SG000000000002|10|revoked\nSG000000000012|3|suspended\nSG00000000001|1|valid\n"
    assert digest(OPERATORS) == digest(shuffled) == (hashlib.sha256(by_hand).digest(), 3)


def test_the_digest_of_an_empty_set_is_that_of_no_bytes() -> None:
    """No operators. Result: SHA-256 of b"" and a count of 0."""
    assert digest([]) == (hashlib.sha256(b"").digest(), 0)
