"""Open sequence gaps stay bounded (issue 6, finding 6): a partner that skips numbers forever
gets receipts of bounded size and is told to send a snapshot, over the real API."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from gateway.client import AdminClient
from gateway.pb import common_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, receipt_of, submit

BOUND = 40
LISTED = 32  # what a receipt lists at most


def test_partner_sending_only_even_numbers_gets_bounded_receipts_until_its_snapshot(
    start_gateway: Callable[..., Live],
) -> None:
    """max_open_gaps 40; SG sends one-record messages numbered 2, 4, … 120 (60 gaps), then the
    written-off 1 and the kept 119 late, then a snapshot. Result: each receipt lists at most
    the 32 newest gaps and counts them all; past 40 gaps the oldest are written off, receipts
    and the partner state say a snapshot is needed, and the receipt size stops growing; 1 is
    refused, 119 fills its gap; the snapshot closes every gap and clears the flag."""
    live = start_gateway(max_open_gaps=BOUND)
    client = partner_client(live)
    admin = AdminClient(live.channel("admin"))
    sizes = []
    for count, sequence in enumerate(range(2, 121, 2), start=1):
        response = submit(client, sequence, record(version=sequence))
        receipt = receipt_of(live, response)
        sizes.append(len(response.receipt.receipt))
        assert receipt.open_gaps_total == min(count, BOUND)
        assert receipt.needs_snapshot == (count > BOUND)
        assert len(receipt.open_gaps) == min(count, LISTED)
        assert (receipt.open_gaps[-1].first, receipt.open_gaps[-1].last) == (sequence - 1,) * 2
    assert [(g.first, g.last) for g in receipt.open_gaps] == [(n, n) for n in range(57, 120, 2)]
    # Once 32 gaps are listed only varints (times, counters) vary; a receipt listing every
    # open gap would grow by 6 bytes a message.
    assert max(sizes[LISTED:]) - min(sizes[LISTED:]) < 16

    state = admin.partner_state("SG")
    assert (state.open_gaps_total, len(state.open_gaps)) == (BOUND, BOUND)
    assert (state.open_gaps[0].first, state.open_gaps[-1].last) == (41, 119)
    assert state.needs_snapshot
    assert state.sequences_written_off == 120 // 2 - BOUND

    expect_error(
        lambda: submit(client, 1, record("SG000000000001")),
        grpc.StatusCode.ALREADY_EXISTS,
        "batch.sequence_reused",
    )
    late = receipt_of(live, submit(client, 119, record("SG000000000119")))
    assert (late.open_gaps_total, late.needs_snapshot) == (BOUND - 1, True)

    snapshot = receipt_of(
        live, submit(client, 122, record(version=122), kind=common_pb2.BATCH_KIND_SNAPSHOT)
    )
    assert (snapshot.records_applied, snapshot.open_gaps_total, snapshot.needs_snapshot) == (
        1,
        0,
        False,
    )
    assert list(snapshot.open_gaps) == list(snapshot.gaps_detected) == []
    state = admin.partner_state("SG")
    assert (state.last_sequence, state.open_gaps_total, state.needs_snapshot) == (122, 0, False)
    assert state.sequences_written_off == 0
