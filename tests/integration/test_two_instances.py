"""Two gateway instances on one database, each a real server over mutual TLS."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from gateway.client import PartnerClient
from gateway.pb import exchange_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope, partner_client

ROUNDS = 50


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One database both instances use: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_the_same_message_sent_to_two_instances_at_once_is_a_duplicate_at_one(
    start_gateway: Callable[..., Live], shared_database: str
) -> None:
    """Two instances start together on one empty database; SG sends the same signed message
    to both at the same moment, fifty times, a new message each time. Result: every time one
    instance accepts it and the other answers duplicate with the byte-identical receipt; never
    ALREADY_EXISTS batch.sequence_reused; each message stored once."""
    with ThreadPoolExecutor(2) as pool:
        instances = list(pool.map(lambda _: start_gateway(database_url=shared_database), "ab"))
    clients = [partner_client(live) for live in instances]
    together = threading.Barrier(len(clients))

    def send(
        to: tuple[PartnerClient, exchange_pb2.SignedEnvelope],
    ) -> exchange_pb2.SubmitStatusMessageResponse | grpc.RpcError:
        client, env = to
        together.wait(timeout=10)
        try:
            return client.submit_envelope(env)
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(len(clients)) as pool:
        for sequence in range(1, ROUNDS + 1):
            env = envelope(clients[0].signer, "SG", sequence, record(f"SG{sequence:012d}"))
            answers = list(pool.map(send, [(client, env) for client in clients]))
            errors = [a for a in answers if isinstance(a, grpc.RpcError)]
            assert not errors, (sequence, errors[0].code(), errors[0].details())
            responses = [a for a in answers if not isinstance(a, grpc.RpcError)]
            assert sorted(r.duplicate for r in responses) == [False, True], sequence
            first, second = (r.receipt for r in responses)
            assert first.SerializeToString() == second.SerializeToString(), sequence
    stats = instances[0].gateway.store.reader.partner_stats("SG")
    assert (stats.messages, stats.last_sequence, stats.gaps) == (ROUNDS, ROUNDS, ())
