"""The pure decisions of outbound delivery: what next, retry delays, dead letters, receipts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain import outbound
from gateway.domain.outbound import OutboundMessage, OutboundState, PeerReceipt, Step

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def message(**changes: object) -> OutboundMessage:
    base = OutboundMessage(
        partner="KR",
        sequence=7,
        state=OutboundState.SENDING,
        wire_format="jws",
        payload=b"sealed",
        digest=b"d" * 32,
        key_id="CN-GW-2",
        algorithm="ecdsa-p256-sha256",
        signature=b"",
        records=1,
        queued_at=NOW - timedelta(hours=1),
        sealed_at=NOW - timedelta(hours=1),
        attempts=0,
        next_attempt_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def receipt(**changes: object) -> PeerReceipt:
    base = PeerReceipt(b"r", b"s", "KR-2026-1", "ecdsa-p256-sha256", "KR-1", "partners/CN", 7,
                       b"d" * 32)  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_the_head_message_due_is_sent_before_anything_is_sealed() -> None:
    """An unsettled message due now, and more changes queued. Result: SEND (nothing is sealed
    behind it, so nothing overtakes it)."""
    assert outbound.next_step(message(), True, NOW, DAY) is Step.SEND


def test_a_head_message_not_yet_due_waits_even_with_changes_queued() -> None:
    later = message(next_attempt_at=NOW + timedelta(seconds=5))
    assert outbound.next_step(later, True, NOW, DAY) is Step.WAIT


def test_without_a_head_queued_changes_are_sealed_and_nothing_queued_is_idle() -> None:
    assert outbound.next_step(None, True, NOW, DAY) is Step.SEAL
    assert outbound.next_step(None, False, NOW, DAY) is Step.IDLE


def test_a_message_older_than_the_age_limit_is_dead_lettered_even_when_not_due() -> None:
    """Queued two days ago, limit one day. Result: DEAD_LETTER, whatever its next attempt."""
    old = message(queued_at=NOW - 2 * DAY, next_attempt_at=NOW + DAY)
    assert outbound.next_step(old, False, NOW, DAY) is Step.DEAD_LETTER


def test_a_re_driven_message_counts_its_age_from_the_re_drive() -> None:
    """Queued two days ago, re-driven an hour ago. Result: not dead, it is sent."""
    redriven = message(queued_at=NOW - 2 * DAY, age_from=NOW - timedelta(hours=1))
    assert not outbound.is_dead(redriven, NOW, DAY)
    assert outbound.next_step(redriven, False, NOW, DAY) is Step.SEND


@pytest.mark.parametrize(
    ("attempts", "jitter", "seconds"),
    [(0, 1.0, 0), (1, 1.0, 1), (2, 1.0, 2), (4, 1.0, 8), (4, 0.5, 4), (30, 1.0, 300),
     (10_000, 1.0, 300), (3, 0.0, 2), (3, 7.0, 4)],
)  # fmt: skip
def test_retry_delays_double_up_to_the_cap_scaled_by_jitter(
    attempts: int, jitter: float, seconds: float
) -> None:
    """Doubling from 1 s, capped at 5 min, jitter held to [0.5, 1]."""
    assert outbound.retry_delay(attempts, jitter) == timedelta(seconds=seconds)


def test_a_receipt_for_this_very_message_settles_it() -> None:
    assert outbound.receipt_problem(receipt(), message(), "CN") is None


@pytest.mark.parametrize(
    "wrong",
    [{"payload_sha256": b"x" * 32}, {"sequence": 8}, {"partner": "partners/SG"}],
    ids=["digest", "sequence", "sender"],
)
def test_a_receipt_for_another_message_is_a_mismatch(wrong: dict[str, object]) -> None:
    """A verified receipt naming another digest, sequence or sender. Result: receipt.mismatch."""
    assert outbound.receipt_problem(receipt(**wrong), message(), "CN") == "receipt.mismatch"


def test_a_refusal_is_named_by_the_partner_status() -> None:
    assert outbound.refused("PERMISSION_DENIED") == "partner.permission_denied"
