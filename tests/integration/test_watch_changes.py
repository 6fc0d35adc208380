"""WatchChanges over real gRPC and mutual TLS, on SQLite and PostgreSQL: the change log as it
commits, resumable from a cursor, on this gateway or another sharing the database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import grpc
import pytest

from adapters.store.programme import SqlProgrammeStates
from gateway.client import ChangeFeedClient, PartnerClient, RecognitionClient
from gateway.domain.programme import ProgrammeEntry, ProgrammeState
from gateway.pb import changes_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit

#: Generous bound on any one stream in these tests: a hang fails, it never passes.
STREAM_TIMEOUT = 60.0


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/watch.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def ingest(client: PartnerClient, first_sequence: int, messages: int, per_message: int) -> None:
    """``messages`` deltas of ``per_message`` new operators each, one after another."""
    for m in range(messages):
        sequence = first_sequence + m
        base = sequence * 1000
        records = [record(f"SG{base + i:012d}") for i in range(per_message)]
        submit(client, sequence, *records)


def applied(response: changes_pb2.WatchChangesResponse) -> Iterator[tuple[int, str]]:
    for c in response.changes:
        if c.HasField("record_version_applied"):
            yield c.cursor, c.record_version_applied.identifier


def read_until(
    stream: Iterator[changes_pb2.WatchChangesResponse], count: int
) -> tuple[list[tuple[int, str]], int]:
    """Reads until ``count`` record changes have come; returns them and the last cursor."""
    seen: list[tuple[int, str]] = []
    cursor = 0
    for response in stream:
        assert response.cursor >= cursor
        cursor = response.cursor
        seen.extend(applied(response))
        if len(seen) >= count:
            break
    return seen, cursor


def the_log(live: Live) -> list[tuple[int, str]]:
    """Every record change committed, as the store has it."""
    return [
        (c.cursor, c.event.identifier)  # type: ignore[union-attr]
        for c in live.gateway.store.reader.changes_after(0, 1_000_000)
    ]


def test_records_a_partner_submits_arrive_on_the_stream_in_commit_order(
    start_gateway: Callable[..., Live], database: str
) -> None:
    """A risk engine watches from the start; SG submits three messages of four operators.
    Result: twelve changes, in the order of the log, each cursor above the one before."""
    live = start_gateway(database_url=database)
    ingest(partner_client(live), 1, 3, 4)
    with live.channel("domestic") as channel:
        stream = ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT)
        seen, _ = read_until(stream, 12)
        stream.cancel()
    assert seen == the_log(live)
    assert [cursor for cursor, _ in seen] == sorted({cursor for cursor, _ in seen})


def test_a_watcher_that_disconnects_and_resumes_misses_nothing_and_sees_nothing_twice(
    start_gateway: Callable[..., Live], database: str
) -> None:
    """SG submits 40 messages of 25 operators while a watcher reads a little, disconnects and
    resumes after the last cursor it received, again and again. Result: every change exactly
    once, in the log's order."""
    live = start_gateway(database_url=database)
    sender = threading.Thread(target=ingest, args=(partner_client(live), 1, 40, 25))
    sender.start()
    seen: list[tuple[int, str]] = []
    cursor = 0
    with live.channel("domestic") as channel:
        feed = ChangeFeedClient(channel)
        while len(seen) < 1000:
            stream = feed.watch(cursor, timeout=STREAM_TIMEOUT)
            got, last = read_until(stream, min(30, 1000 - len(seen)))  # never past the end
            stream.cancel()
            seen.extend(got)
            cursor = max(cursor, last)
    sender.join()
    assert seen == the_log(live)


def test_a_watcher_resumes_on_another_instance_sharing_the_database(
    start_gateway: Callable[..., Live], postgres_url: str
) -> None:
    """Two gateways on one PostgreSQL. A watcher reads A's stream, disconnects; SG submits to
    B meanwhile; the watcher resumes on B after its last cursor. Result: every change once."""
    first = start_gateway(database_url=postgres_url)
    second = start_gateway(database_url=postgres_url)
    ingest(partner_client(first), 1, 4, 10)
    with first.channel("domestic") as channel:
        stream = ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT)
        before, cursor = read_until(stream, 20)
        stream.cancel()
    ingest(partner_client(second), 5, 4, 10)
    with second.channel("domestic") as channel:
        stream = ChangeFeedClient(channel).watch(cursor, timeout=STREAM_TIMEOUT)
        after, _ = read_until(stream, 80 - len(before))
        stream.cancel()
    assert before + after == the_log(second)
    assert len(before + after) == 80


def test_a_stalled_watcher_does_not_hold_up_ingest_and_then_reads_everything_in_order(
    start_gateway: Callable[..., Live], database: str
) -> None:
    """A watcher opens its stream, takes the first response, then reads nothing while SG
    submits 3,000 operators in 30 messages. Result: every submission is acknowledged while the
    watcher still reads nothing; then it reads all 3,000 changes, in order."""
    live = start_gateway(database_url=database)
    with live.channel("domestic") as channel:
        stream = ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT)
        first = next(stream)
        assert list(first.changes) == []
        ingest(partner_client(live), 1, 30, 100)  # completes with the stream unread
        assert live.gateway.store.reader.partner_stats("SG").operators == 3000
        seen, _ = read_until(stream, 3000)
        stream.cancel()
    assert seen == the_log(live)


def test_from_now_sends_only_what_commits_after_the_call(live: Live) -> None:
    ingest(partner_client(live), 1, 1, 3)
    with live.channel("admin") as channel:
        stream = ChangeFeedClient(channel).watch(from_now=True, timeout=STREAM_TIMEOUT)
        start = next(stream)  # the stream is open: where it starts
        assert (list(start.changes), start.cursor) == ([], the_log(live)[-1][0])
        ingest(partner_client(live), 2, 1, 2)
        seen, _ = read_until(stream, 2)
        stream.cancel()
    assert seen == the_log(live)[3:]


def test_a_negative_cursor_is_refused(live: Live) -> None:
    with live.channel("domestic") as channel:
        expect_error(
            lambda: next(ChangeFeedClient(channel).watch(-1, timeout=STREAM_TIMEOUT)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "changes.invalid_cursor",
        )


def test_a_partner_certificate_may_not_watch_changes(live: Live) -> None:
    with live.channel("SG") as channel:
        expect_error(
            lambda: next(ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT)),
            grpc.StatusCode.PERMISSION_DENIED,
            "auth.role_not_permitted",
        )


def test_open_streams_do_not_block_their_clients_unary_calls(
    start_gateway: Callable[..., Live],
) -> None:
    """A domestic certificate allowed four calls in flight keeps three streams open. Result:
    its recognition queries are still answered."""
    live = start_gateway(max_calls_per_client=4, max_active_per_client=1)
    with live.channel("domestic") as channel:
        streams = [ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT) for _ in range(3)]
        for stream in streams:
            next(stream)
        for _ in range(5):
            assert RecognitionClient(channel).recognise("SG000000000001").reason
        for stream in streams:
            stream.cancel()


def test_stopping_the_gateway_ends_open_streams_cleanly(
    start_gateway: Callable[..., Live],
) -> None:
    """A watcher is up to date when the gateway stops with a long grace period. Result: the
    stream ends normally (OK, not cancelled at the end of the grace period): the watcher
    resumes from its cursor elsewhere."""
    live = start_gateway(grace_seconds=30.0)
    with live.channel("domestic") as channel:
        stream = ChangeFeedClient(channel).watch(0, timeout=STREAM_TIMEOUT)
        next(stream)
        live.gateway.stop()
        rest = list(stream)
        assert all(not r.changes for r in rest)
        assert stream.code() is grpc.StatusCode.OK


def test_stopping_the_gateway_cancels_a_stream_whose_client_reads_nothing(
    start_gateway: Callable[..., Live], database: str
) -> None:
    """24 MB of changes wait in the log; one watcher reads a response and then nothing (its
    stream is held by flow control), another is up to date; the gateway stops with a 30 s
    grace period. Result: the up-to-date stream ends OK and the stalled one is CANCELLED (it
    resumes from its cursor elsewhere): neither holds the stop to the end of the grace period,
    which would end both UNAVAILABLE."""
    live = start_gateway(grace_seconds=30.0, database_url=database)
    states = SqlProgrammeStates(live.gateway.store.database)
    at = datetime.now(UTC)
    for i in range(80):
        states.record(ProgrammeEntry("SG", ProgrammeState.SUSPENDED, at, f"{i}" + "r" * 300_000,
                                     "CN=admin", at))  # fmt: skip
    with live.channel("domestic") as stalled_channel, live.channel("domestic") as idle_channel:
        stalled = ChangeFeedClient(stalled_channel).watch(0, timeout=STREAM_TIMEOUT)
        assert next(stalled).changes
        idle = ChangeFeedClient(idle_channel).watch(from_now=True, timeout=STREAM_TIMEOUT)
        next(idle)
        live.gateway.stop()
        assert all(not r.changes for r in idle)
        assert idle.code() is grpc.StatusCode.OK
        with pytest.raises(grpc.RpcError):
            for _ in stalled:
                pass
        assert stalled.code() is grpc.StatusCode.CANCELLED
