"""Serving: health, reflection, graceful shutdown, the insecure flag, configuration errors."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.bootstrap import ConfigurationError, build
from gateway.client import AdminClient, PartnerClient, RecognitionClient, connect
from gateway.pb import exchange_pb2, recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit


def test_health_reports_serving_for_each_service(live: Live) -> None:
    """A domestic system checks health. Result: SERVING overall and for each gateway service."""
    stub = health_pb2_grpc.HealthStub(live.channel("domestic"))
    for service in (
        "",
        "aeo.gateway.v1.RecognitionService",
        "aeo.gateway.v1.PartnerExchangeService",
        "aeo.gateway.v1.AdminService",
    ):
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_health_answers_a_partner_certificate_too(live: Live) -> None:
    """SG's partner certificate checks health (not one of the gateway's own services, so no
    role is required beyond a certificate TLS trusts). Result: SERVING."""
    stub = health_pb2_grpc.HealthStub(live.channel("SG"))
    response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_gateway_services(live: Live) -> None:
    """An admin's grpcurl-style reflection request. Result: the three gateway services listed."""
    stub = reflection_pb2_grpc.ServerReflectionStub(live.channel("admin"))
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    response = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in response.list_services_response.service}
    assert {
        "aeo.gateway.v1.PartnerExchangeService",
        "aeo.gateway.v1.RecognitionService",
        "aeo.gateway.v1.AdminService",
    } <= names


def test_unknown_partner_state_is_not_found(live: Live) -> None:
    """An admin asks for partner ZZ. Result: NOT_FOUND partner.not_found."""
    admin = AdminClient(live.channel("admin"))
    expect_error(lambda: admin.partner_state("ZZ"), grpc.StatusCode.NOT_FOUND, "partner.not_found")


def test_shutdown_lets_an_in_flight_submission_finish(start_gateway: Callable[..., Live]) -> None:
    """A submission waits on a locked database when shutdown begins. Result: health goes
    NOT_SERVING, the submission still completes with its receipt, then the server stops."""
    live = start_gateway(grace_seconds=10.0)
    client = partner_client(live)
    db = Path(live.settings.database_url.removeprefix("sqlite:///"))
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the gateway's writer now waits for this lock
    result: dict[str, exchange_pb2.SubmitStatusMessageResponse] = {}
    call = threading.Thread(target=lambda: result.setdefault("r", submit(client, 1, record())))
    call.start()
    time.sleep(0.3)  # let the call reach the writer: ordering only, nothing is timed
    stopper = threading.Thread(target=live.gateway.stop)
    stopper.start()
    time.sleep(0.3)
    status = live.gateway.health._server_status.get("")
    blocker.execute("COMMIT")
    blocker.close()
    call.join(10)
    stopper.join(15)
    assert status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert "r" in result
    assert not result["r"].duplicate
    assert not stopper.is_alive()


def test_insecure_plaintext_serves_queries_but_no_partner(
    start_gateway: Callable[..., Live],
) -> None:
    """--insecure-plaintext: a local query works without certificates; a partner submission has
    no identity. Result: an answer, then UNAUTHENTICATED auth.no_client_identity."""
    live = start_gateway(insecure_plaintext=True)
    channel = connect(live.target, None)
    answer = RecognitionClient(channel).recognise("SG000000000001")
    assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR
    client = PartnerClient(channel, "SG", live.workspace.signer("SG"))
    expect_error(
        lambda: submit(client, 1, record()),
        grpc.StatusCode.UNAUTHENTICATED,
        "auth.no_client_identity",
    )


def test_missing_certificate_stops_start_up_with_a_clear_message(
    live: Live, tmp_path: Path
) -> None:
    """The TLS key path points nowhere. Result: ConfigurationError that names the file and the
    command that makes a development PKI."""
    settings = live.workspace.settings(tls_key=tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError, match="certs init"):
        build(settings)
