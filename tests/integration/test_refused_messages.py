"""Partners' refused status messages in GetPartnerState (the admin console's overview), over
real gRPC and mutual TLS, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import grpc
import pytest

from adapters.store.database import Database
from adapters.store.dialects import from_url
from gateway.client import AdminClient
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope, expect_error, partner_client, submit

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    if request.param == "sqlite":
        return start_gateway()
    return start_gateway(database_url=request.getfixturevalue("postgres_url"))


def forge(live: Live) -> None:
    """SG sends a message changed in transit: refused signature.invalid."""
    client = partner_client(live)
    sealed = envelope(client.signer, "SG", 7, record(version=7))
    sealed.payload = sealed.payload[:-1] + bytes([sealed.payload[-1] ^ 1])
    expect_error(lambda: client.submit_envelope(sealed), UNAUTHENTICATED, "signature.invalid")


def test_forged_messages_show_in_the_partners_state_with_the_last_reason(gateway: Live) -> None:
    """SG sends one good message, one changed in transit and one signed with KR's key under
    KR's key id. Result: SG's state counts 2 refused in the last 24 hours, the last with reason
    signature.unknown_key at the time it was sent; KR's state shows none."""
    before = datetime.now(UTC)
    client = partner_client(gateway)
    submit(client, 1, record())
    forge(gateway)
    foreign = envelope(gateway.workspace.signer("KR"), "SG", 8, record(version=8))
    expect_error(lambda: client.submit_envelope(foreign), UNAUTHENTICATED, "signature.unknown_key")
    after = datetime.now(UTC)
    with gateway.channel("admin") as channel:
        admin = AdminClient(channel)
        sg = admin.partner_state("SG")
        kr = admin.partner_state("KR")
    assert sg.refused_last_24h == 2
    assert sg.last_refused_reason == "signature.unknown_key"
    assert before <= sg.last_refused_at.ToDatetime(UTC) <= after
    assert sg.messages_received == 1
    assert kr.refused_last_24h == 0
    assert not kr.HasField("last_refused_at")
    assert kr.last_refused_reason == ""


def test_a_refusal_that_cannot_be_kept_leaves_the_partners_answer_unchanged(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """The refused-messages table is gone (a broken store); SG sends a forged message, then a
    good one. Result: the forged one is still answered UNAUTHENTICATED signature.invalid (not a
    store error) and the lost refusal is logged as an ERROR; the good one is accepted."""
    db = Database(from_url(live.settings.database_url), 1)
    try:
        with db.reading() as conn:
            conn.execute("DROP TABLE refused_messages")
    finally:
        db.close()
    forge(live)
    [lost] = [r for r in caplog.records if "not kept" in r.getMessage()]
    assert lost.levelname == "ERROR"
    assert "SG (signature.invalid)" in lost.getMessage()
    response = submit(partner_client(live), 1, record())
    assert response.receipt.signature.signature
