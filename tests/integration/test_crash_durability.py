"""Durability under crashes: `aeo-gateway serve` SIGKILLed while partners submit concurrently,
and PostgreSQL cutting the gateway's connections.

bench/chaos.py drives the processes and makes the checks; `python -m bench.chaos` is the long
version, with real PostgreSQL restarts, which a test must not do (other tests share that
server): here PostgreSQL ends the backends of the test's own database instead, which is what
the gateway sees of a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import grpc
import psycopg
import pytest

from bench.chaos import (
    Channels,
    FixedEndpoint,
    GatewayProcess,
    Ledger,
    Load,
    deliver,
    gateway_key,
    verify,
    wait_for,
)
from gateway.client import RecognitionClient
from tests.conftest import PG_ADMIN_URL, Live, Workspace

CLIENTS = 4
EVENTS = 3
#: Acknowledgements to wait for before each SIGKILL or cut, so that it lands under load.
ACKS_BETWEEN_EVENTS = 25
#: Generous bound on any wait: a slow machine only makes the test slower, never wrong.
PATIENCE = 90.0


def under_load(ledger: Ledger) -> None:
    """Waits for ACKS_BETWEEN_EVENTS more acknowledgements."""
    more = ledger.acknowledged + ACKS_BETWEEN_EVENTS
    wait_for(partial(ledger.nth_ack, more), PATIENCE, "acknowledgements")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gw.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def test_every_acknowledged_message_survives_sigkills_under_load(
    workspace: Workspace, tmp_path: Path, database_url: str
) -> None:
    """Four client threads submit signed messages as SG and KR (each partner one sequence,
    shared by its threads) and a domestic thread queries acknowledged operators, while the
    gateway process is SIGKILLed three times and started again; an unanswered call is sent
    again, same bytes. Then one more SIGKILL and start. Result: calls in flight at the kills
    fail UNAVAILABLE, and no call is answered with anything else but a receipt or an answer;
    each receipt verifies and names what was sent; every acknowledged message is in the
    change log exactly once, under its receipt's message id, and nothing else is; each
    partner's state counts exactly those messages, with no gap; each resubmission answers
    duplicate=true with the original receipt byte for byte and changes nothing; every query
    of an acknowledged operator answers RECOGNISED."""
    config = workspace.write_config(
        f"crash-{tmp_path.name}.toml",
        listen="127.0.0.1:0",
        database_url=database_url,
        grace_seconds=1.0,
    )
    gateway = GatewayProcess(config, workspace.root, tmp_path / "gateway.log")
    channels = Channels(workspace, gateway)
    ledger = Ledger()
    load = Load(channels, ledger, ("SG", "KR"), CLIENTS)
    try:
        gateway.start(timeout=PATIENCE)
        load.start()
        for _ in range(EVENTS):
            under_load(ledger)
            gateway.kill()
            gateway.start(timeout=PATIENCE)
        under_load(ledger)
        load.stop()
        gateway.kill()
        gateway.start(timeout=PATIENCE)
        verdict = verify(ledger.snapshot(), channels, gateway_key(workspace))
    finally:
        load.stop(cancel=True)
        gateway.kill()
        channels.close()

    assert load.crashes == []
    assert verdict.wrong_answers == []
    assert verdict.unacknowledged == []
    assert verdict.acknowledged >= (EVENTS + 1) * ACKS_BETWEEN_EVENTS
    assert set(ledger.retried) == {"UNAVAILABLE"}
    assert verdict.bad_receipts == []
    assert verdict.lost == []
    assert verdict.applied_twice == []
    assert verdict.unexpected == []
    assert verdict.state_mismatches == []
    assert verdict.receipt_mismatches == []
    assert verdict.resubmitted == verdict.identical == verdict.acknowledged
    assert verdict.ok
    assert ledger.wrong_reads == []
    assert ledger.reads > 0
    assert {label for _, label in ledger.reads_retried} <= {"UNAVAILABLE"}


def cut_connections(database: str) -> int:
    """PostgreSQL ends every backend of ``database`` (only that one), as a restart would;
    waits until they are gone. The number ended."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


@pytest.mark.postgres
def test_every_acknowledged_message_survives_postgresql_cutting_the_connections(
    workspace: Workspace, tmp_path: Path, postgres_url: str
) -> None:
    """Four client threads submit as SG and KR, one domestic thread queries what was
    acknowledged, while PostgreSQL ends every connection of the gateway's database three
    times. Result: the gateway reconnects by itself; no call is answered with anything but a
    receipt, an answer, or UNAVAILABLE store.unavailable; every acknowledged message is stored
    once, with no gap, and answers its resubmission with the original receipt."""
    config = workspace.write_config(
        f"cut-{tmp_path.name}.toml", listen="127.0.0.1:0", database_url=postgres_url
    )
    gateway = GatewayProcess(config, workspace.root, tmp_path / "gateway.log")
    channels = Channels(workspace, gateway)
    ledger = Ledger()
    load = Load(channels, ledger, ("SG", "KR"), CLIENTS)
    cut: list[int] = []
    try:
        gateway.start(timeout=PATIENCE)
        load.start()
        for _ in range(EVENTS):
            under_load(ledger)
            cut.append(cut_connections(postgres_url.rsplit("/", 1)[1]))
        under_load(ledger)
        load.stop()
        verdict = verify(ledger.snapshot(), channels, gateway_key(workspace))
    finally:
        load.stop(cancel=True)
        gateway.kill()
        channels.close()

    assert all(n >= 1 for n in cut), cut  # the writer's connection at least, each time
    assert load.crashes == []
    assert verdict.wrong_answers == []
    assert set(ledger.retried) <= {"UNAVAILABLE store.unavailable"}
    assert ledger.wrong_reads == []
    assert verdict.lost == []
    assert verdict.applied_twice == []
    assert verdict.unexpected == []
    assert verdict.state_mismatches == []
    assert verdict.receipt_mismatches == []
    assert verdict.ok


@pytest.mark.postgres
def test_a_query_after_postgresql_ended_the_connections_is_answered(
    start_gateway: Callable[..., Live], postgres_url: str
) -> None:
    """The gateway has answered queries concurrently (its reader pool holds connections);
    PostgreSQL ends every connection of the gateway's database, as a restart does, and is up
    again at once. A domestic system asks about one operator. Result: an answer (the operator
    is unknown), not UNAVAILABLE: the database is up."""
    live = start_gateway(database_url=postgres_url, read_pool_size=4)
    with live.channel("domestic") as channel:
        client = RecognitionClient(channel)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.recognise("SG000000000001"), range(32)))
        assert cut_connections(postgres_url.rsplit("/", 1)[1]) >= 2  # the writer and a reader
        try:
            client.recognise("SG000000000001")
        except grpc.RpcError as err:
            pytest.fail(f"{err.code().name}: {err.details()}")


def test_the_durability_check_reports_what_was_lost_duplicated_or_changed(live: Live) -> None:
    """The check runs over four SG messages: one really acknowledged; one recorded as
    acknowledged that never reached the gateway; one acknowledged whose recorded receipt was
    swapped for another's; one stored whose answer was never recorded. Result: the second is
    lost (and stored only by the resubmission, which answers duplicate=false); the third's
    receipt is bad and its resubmission answers another receipt; the fourth is unexpected in
    the change log and unacknowledged; the partner state differs; the verdict fails."""
    channels = Channels(live.workspace, FixedEndpoint(live.target))
    ledger = Ledger()
    signer = channels.signer("SG")
    never = threading.Event()
    try:
        sent = [ledger.new("SG", signer, 1) for _ in range(4)]
        real, phantom, swapped, unrecorded = sent
        for message in (real, swapped, unrecorded):
            response = deliver(message, channels, ledger, 0.01, never)
            assert response is not None
            if message is not unrecorded:
                ledger.answered(message, response)
        phantom.receipt, phantom.message_id = real.receipt, real.message_id
        swapped.receipt = real.receipt
        verdict = verify(ledger.snapshot(), channels, gateway_key(live.workspace))
    finally:
        channels.close()

    assert verdict.acknowledged == 3
    assert verdict.unacknowledged == [unrecorded.label]
    assert verdict.lost == [f"{phantom.label} ({phantom.identifiers[0]})"]
    assert [p.split(":")[0] for p in verdict.bad_receipts] == [phantom.label, swapped.label]
    assert len(verdict.unexpected) == 1
    assert verdict.unexpected[0].startswith(unrecorded.identifiers[0])
    assert verdict.applied_twice == []
    assert verdict.receipt_mismatches == [
        f"{phantom.label}: resubmission answered duplicate=false",
        f"{swapped.label}: resubmission answered another receipt",
    ]
    assert len(verdict.state_mismatches) == 2  # before resubmission, and changed by it
    assert not verdict.all_stored
    assert not verdict.receipts_identical
    assert not verdict.ok
