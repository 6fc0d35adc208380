"""The gateway's TLS server certificate replaced under live traffic, without a restart."""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from adapters import pki
from gateway.client import RecognitionClient, connect
from tests.conftest import Live, Workspace


def replace_file(path: Path, data: bytes) -> None:
    """Atomically, as an operator (or cert-manager) should."""
    temporary = path.with_name(path.name + ".new")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def presented(live: Live) -> x509.Certificate:
    """The certificate the gateway presents to a new TLS connection (the domestic client)."""
    pki_dir = live.workspace.pki
    context = ssl.create_default_context(cafile=str(pki_dir / "ca.pem"))
    context.load_cert_chain(
        pki_dir / "clients" / "domestic.pem", pki_dir / "clients" / "domestic.key.pem"
    )
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection(("127.0.0.1", live.gateway.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


@pytest.fixture
def tls_live(start_gateway: Callable[..., Live], tmp_path: Path, workspace: Workspace) -> Live:
    cert, key = tmp_path / "server.pem", tmp_path / "server.key.pem"
    cert.write_bytes((workspace.pki / "server.pem").read_bytes())
    key.write_bytes((workspace.pki / "server.key.pem").read_bytes())
    return start_gateway(tls_cert=cert, tls_key=key)


def new_server_cert(live: Live) -> pki.Issued:
    home = pki.load(live.workspace.pki / "ca.pem", live.workspace.pki / "ca.key.pem")
    return pki.issue(
        home, "aeo-gateway rotated", "CN", server=True, dns=["localhost"], ips=["127.0.0.1"]
    )


def test_the_tls_certificate_is_replaced_under_live_traffic_with_no_failed_call(
    tls_live: Live,
) -> None:
    """A thread opens a new connection for every call while the operator replaces the TLS
    key and certificate files. Result: no call fails, and new connections are served the new
    certificate without a restart."""
    live = tls_live
    before = presented(live)
    failures: list[BaseException] = []
    calls = [0]
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                with connect(live.target, live.workspace.identity("domestic")) as channel:
                    RecognitionClient(channel).recognise("SG000000000001")
                calls[0] += 1
            except BaseException as exc:
                failures.append(exc)
                return

    thread = threading.Thread(target=traffic)
    thread.start()
    while calls[0] < 5 and thread.is_alive():
        threading.Event().wait(0.01)
    issued = new_server_cert(live)
    replace_file(live.settings.tls_key, pki.key_pem(issued.key))
    replace_file(live.settings.tls_cert, pki.cert_pem(issued.cert))
    seen_at = calls[0]
    after = presented(live)
    while calls[0] < seen_at + 5 and thread.is_alive():
        threading.Event().wait(0.01)
    stop.set()
    thread.join(timeout=60)
    assert not failures, failures
    assert before.serial_number != issued.cert.serial_number
    assert after.serial_number == issued.cert.serial_number


def test_a_certificate_that_does_not_match_its_key_keeps_the_pair_in_force(
    tls_live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator replaces the certificate but not yet the key. Result: the old pair keeps
    serving (the log says why); once the key is replaced too, the new pair is served."""
    live = tls_live
    before = presented(live)
    issued = new_server_cert(live)
    with caplog.at_level(logging.ERROR, logger="adapters.crypto.tls_files"):
        replace_file(live.settings.tls_cert, pki.cert_pem(issued.cert))
        assert presented(live).serial_number == before.serial_number
    assert "does not match the key" in caplog.text
    replace_file(live.settings.tls_key, pki.key_pem(issued.key))
    assert presented(live).serial_number == issued.cert.serial_number
