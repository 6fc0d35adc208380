"""Prometheus metrics of a live gateway, scraped over HTTP after real traffic over mutual TLS."""

from __future__ import annotations

import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.bootstrap import ConfigurationError, Gateway, build
from gateway.client import TlsIdentity
from gateway.federation import (
    last_sequence,
    record_grade_change,
    start_peer,
    wait_settled,
    write_federation,
)
from gateway.pb import onboarding_pb2, onboarding_pb2_grpc
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import envelope, expect_error, partner_client, submit

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
SUBMIT = "aeo.gateway.v1.PartnerExchangeService/SubmitStatusMessage"


def http_get(live: Live, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{live.gateway.metrics_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # http, by design
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def samples(live: Live) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of one scrape of /metrics: (name, labels) -> value."""
    status, text = http_get(live, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], metric: str, **labels: str
) -> float:
    return found[(metric, frozenset(labels.items()))]


def test_scrape_after_traffic_counts_messages_by_partner_and_outcome(live: Live) -> None:
    """SG submits a message, the same again, and a tampered one; KR one message. Result:
    /metrics counts SG accepted 1, duplicate 1, refused signature.invalid 1 (also a
    verification failure in), KR accepted 1; the latency histogram has SubmitStatusMessage
    with OK 3 and UNAUTHENTICATED 1."""
    sg = partner_client(live)
    first = envelope(live.workspace.signer("SG"), "SG", 1, record())
    sg.submit_envelope(first)
    sg.submit_envelope(first)
    tampered = envelope(live.workspace.signer("SG"), "SG", 2, record(version=2))
    tampered.payload = tampered.payload[:-1] + bytes([tampered.payload[-1] ^ 1])
    expect_error(lambda: sg.submit_envelope(tampered), UNAUTHENTICATED, "signature.invalid")
    submit(partner_client(live, "KR"), 1, record("KR0000000001"))

    found = samples(live)
    name = "aeo_gateway_messages_in_total"
    assert value(found, name, partner="SG", outcome="accepted", reason="") == 1
    assert value(found, name, partner="SG", outcome="duplicate", reason="") == 1
    assert value(found, name, partner="SG", outcome="refused", reason="signature.invalid") == 1
    assert value(found, name, partner="KR", outcome="accepted", reason="") == 1
    failures = "aeo_gateway_verification_failures_total"
    assert value(found, failures, direction="in", partner="SG", reason="signature.invalid") == 1
    count = "aeo_gateway_rpc_duration_seconds_count"
    assert value(found, count, method=SUBMIT, code="OK") == 3
    assert value(found, count, method=SUBMIT, code="UNAUTHENTICATED") == 1
    buckets = [
        s for (n, labels), s in found.items()
        if n == "aeo_gateway_rpc_duration_seconds_bucket"
        and ("method", SUBMIT) in labels and ("code", "OK") in labels
    ]  # fmt: skip
    assert buckets
    assert max(buckets) == 3  # the +Inf bucket holds them all


def test_a_status_message_refused_by_the_lifecycle_gate_is_counted_as_refused(
    live: Live,
) -> None:
    """SG sends a message (accepted), an admin retires SG, then SG sends another. Result: the
    second is refused FAILED_PRECONDITION partner.not_active, and /metrics counts SG accepted
    1 and refused partner.not_active 1 (the gate's refusals pass the same observation
    point as every other outcome)."""
    sg = partner_client(live)
    submit(sg, 1, record())
    with live.channel("admin") as channel:
        onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel).RetirePartner(
            onboarding_pb2.RetirePartnerRequest(name="partners/SG", reason="MRA terminated"),
            timeout=30,
        )
    expect_error(
        lambda: submit(sg, 2, record(version=2)),
        grpc.StatusCode.FAILED_PRECONDITION,
        "partner.not_active",
    )
    found = samples(live)
    name = "aeo_gateway_messages_in_total"
    assert value(found, name, partner="SG", outcome="accepted", reason="") == 1
    assert value(found, name, partner="SG", outcome="refused", reason="partner.not_active") == 1


def test_scrape_reads_staleness_backlog_and_credential_expiry(live: Live) -> None:
    """SG sends one message; nobody else has. Result: SG's last message age is a few seconds
    and it is not stale; a partner with a freshness policy never heard from is stale; every
    partner has an outbox backlog of 0; the gateway's TLS certificate and SG's trust anchor
    have their seconds until expiry (between 30 days and 11 years); ready and store_up are 1."""
    submit(partner_client(live), 1, record())
    found = samples(live)
    age = value(found, "aeo_gateway_partner_last_message_age_seconds", partner="SG")
    assert 0 <= age < 600
    assert value(found, "aeo_gateway_partner_stale", partner="SG") == 0
    directory = live.gateway.directory.current()
    policed = [c for c, p in directory.partners.items() if p.freshness and c != "SG"]
    assert policed
    assert value(found, "aeo_gateway_partner_stale", partner=policed[0]) == 1
    assert (
        "aeo_gateway_partner_last_message_age_seconds",
        frozenset({("partner", policed[0])}),
    ) not in found
    for code in directory.partners:
        assert value(found, "aeo_gateway_outbox_backlog", partner=code) == 0
        assert value(found, "aeo_gateway_outbox_oldest_age_seconds", partner=code) == 0
    expiries = {
        dict(labels)["kind"] + ":" + dict(labels)["partner"]: v
        for (n, labels), v in found.items()
        if n == "aeo_gateway_credential_expiry_seconds"
    }
    for key in (
        "tls_certificate:",
        "outbound_client_certificate:",
        "home_ca:",
        "partner_trust_anchor:SG",
    ):
        assert (
            timedelta(days=30).total_seconds()
            < expiries[key]
            < timedelta(days=11 * 366).total_seconds()
        )
    assert value(found, "aeo_gateway_ready") == 1
    assert value(found, "aeo_gateway_store_up") == 1


def test_queued_home_changes_show_as_backlog_with_their_age(live: Live) -> None:
    """Two home AEO changes queued for SG an hour ago (rows in the outbox, as the home
    registry writes them) and none delivered (SG has no endpoint). Result: SG's backlog is 2
    and its oldest unsettled age is about an hour; KR's backlog is 0."""
    queued = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1_000_000)
    db = live.gateway.store.database
    with db.reading() as conn:
        cur = conn.cursor()
        for version in (1, 2):
            cur.execute(
                db.sql(
                    "INSERT INTO outbox (partner, identifier, version, queued_at) "
                    "VALUES ('SG', 'AEOCN0123456781', ?, ?)"
                ),
                (version, queued),
            )
    found = samples(live)
    assert value(found, "aeo_gateway_outbox_backlog", partner="SG") == 2
    assert value(found, "aeo_gateway_outbox_backlog", partner="KR") == 0
    oldest = value(found, "aeo_gateway_outbox_oldest_age_seconds", partner="SG")
    assert 3600 <= oldest < 3600 + 600


def test_healthz_and_readyz_answer_200_and_an_unknown_path_404(live: Live) -> None:
    """GET /healthz, /readyz and /nothing on a serving gateway. Result: 200 ok, 200 ready,
    404 naming the known paths."""
    assert http_get(live, "/healthz") == (200, "ok\n")
    assert http_get(live, "/readyz") == (200, "ready\n")
    status, body = http_get(live, "/nothing")
    assert status == 404
    assert "/metrics" in body


def test_two_gateways_in_one_process_keep_their_own_series(
    start_gateway: Callable[..., Live],
) -> None:
    """Two gateways built in one process, SG submitting to the first only. Result: the first
    counts SG's message; the second has no such series (registries are not shared)."""
    one, two = start_gateway(), start_gateway()
    submit(partner_client(one), 1, record())
    assert (
        value(
            samples(one),
            "aeo_gateway_messages_in_total",
            partner="SG",
            outcome="accepted",
            reason="",
        )
        == 1
    )
    assert not [k for k in samples(two) if k[0] == "aeo_gateway_messages_in_total"]


def test_a_certificate_ending_in_10_days_is_logged_at_start_and_in_the_metric(
    start_gateway: Callable[..., Live],
    workspace: Workspace,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A gateway whose TLS certificate (minted by the home CA) ends in 10 days. Result: a
    WARNING at start naming the certificate and its days left; the expiry metric for it is
    under 10 days; partners' calls still work."""
    from tests.integration.test_doctor import _server_cert

    ends = datetime.now(UTC) + timedelta(days=10)
    cert, key = _server_cert(workspace, tmp_path, ends)
    with caplog.at_level(logging.WARNING):
        live = start_gateway(tls_cert=cert, tls_key=key)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    mine = [w for w in warnings if "tls certificate CN=aeo-gateway,O=Test" in w]
    assert len(mine) == 1, warnings
    assert f"expires on {ends:%Y-%m-%d}" in mine[0]
    assert "in 9 days: renew it before then" in mine[0]
    left = value(
        samples(live),
        "aeo_gateway_credential_expiry_seconds",
        kind="tls_certificate",
        partner="",
        name="CN=aeo-gateway,O=Test",
    )
    assert 0 < left < timedelta(days=10).total_seconds()
    submit(partner_client(live), 1, record())


def test_a_metrics_port_in_use_stops_the_gateway_with_what_to_do(
    start_gateway: Callable[..., Live],
) -> None:
    """metrics_listen names a port another socket holds. Result: ConfigurationError naming
    the address and the way out (another port, or "" for none); metrics_listen "" starts a
    gateway with no operations server."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            start_gateway(metrics_listen=f"127.0.0.1:{port}")
    assert start_gateway(metrics_listen="").gateway.metrics_port == 0


def test_a_home_change_delivered_to_a_partner_gateway_is_counted_on_both_sides(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The home gateway and KR's own gateway (a federation, real mTLS both ways), both with
    metrics; the home registry certifies an enterprise, delivered to KR and settled. Result:
    the home gateway counts messages_out KR settled 1 and its backlog for KR is 0; KR's
    gateway counts messages_in CN accepted 1."""
    federation = write_federation(workspace.settings(grace_seconds=0.5), tmp_path / "fed", ["KR"])
    started: list[Gateway] = []
    try:
        home = build(federation.home.with_overrides(metrics_listen="127.0.0.1:0"))
        started.append(home)
        kr = start_peer(federation.peers["KR"], metrics_listen="127.0.0.1:0")
        started.append(kr)
        pki_dir = federation.home.pki_dir
        admin = TlsIdentity.dev(pki_dir, "admin")
        before = last_sequence(federation.home_target, admin, "KR")
        record_grade_change(
            federation.home_target,
            TlsIdentity.dev(pki_dir, "registry"),
            "AEOCN0123456781",
            "advanced certified",
            "Federation Demo Manufacturing Co",
        )
        wait_settled(federation.home_target, admin, "KR", before)
        at_home = samples(Live(home, federation.home, workspace))
        at_kr = samples(Live(kr, federation.peers["KR"].settings(), workspace))
    finally:
        for gateway in reversed(started):
            gateway.stop(grace=0)
    out = "aeo_gateway_messages_out_total"
    assert value(at_home, out, partner="KR", outcome="settled", reason="") == 1
    assert value(at_home, "aeo_gateway_outbox_backlog", partner="KR") == 0
    received = "aeo_gateway_messages_in_total"
    assert value(at_kr, received, partner="CN", outcome="accepted", reason="") == 1
