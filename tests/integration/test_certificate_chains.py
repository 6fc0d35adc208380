"""Partner TLS chains through intermediate CAs, and revocation checked on every call, over real
mutual TLS: the partner's file names its root CA and its CRL; its client presents leaf and
intermediate."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509

from adapters import pki
from adapters.crypto.revocation import Revocation
from adapters.directory.files import FileDirectory
from adapters.wire.registry import codecs
from gateway.api.auth import Authenticator
from gateway.api.errors import error_info
from gateway.bootstrap import build
from gateway.client import PartnerClient, TlsIdentity, connect
from gateway.clock import SystemClock
from gateway.domain.errors import CertificateExpired
from tests.conftest import ROOT, Live, Workspace
from tests.factories import record
from tests.integration.helpers import expect_error, submit


@dataclass
class ChainPki:
    """SG's CA hierarchy in a workspace of its own: root (its trust.ca) -> intermediate ->
    client leaf, and the CRL file its partner file names."""

    workspace: Workspace
    root: pki.Issued
    intermediate: pki.Issued
    leaf: pki.Issued
    crl: Path

    @property
    def folder(self) -> Path:
        return self.workspace.pki / "partners" / "SG"

    def identity(self, leaf: pki.Issued, *chain: pki.Issued, name: str = "chain") -> TlsIdentity:
        """A client presenting ``leaf`` followed by ``chain``."""
        cert = self.folder / f"{name}.pem"
        key = self.folder / f"{name}.key.pem"
        cert.write_bytes(pki.cert_pem(leaf.cert) + b"".join(pki.cert_pem(c.cert) for c in chain))
        key.write_bytes(pki.key_pem(leaf.key))
        return TlsIdentity(self.workspace.pki / "ca.pem", cert, key)

    def publish(self, *crls: x509.CertificateRevocationList) -> None:
        self.crl.write_bytes(b"".join(pki.crl_pem(c) for c in crls))


@pytest.fixture
def chain_pki(tmp_path: Path) -> ChainPki:
    workspace = Workspace.create(tmp_path / "ws", ROOT)
    folder = workspace.pki / "partners" / "SG"
    root = pki.make_ca("SG customs root CA", "Singapore Customs", path_length=None)
    intermediate = pki.make_intermediate(root, "SG customs issuing CA", "Singapore Customs")
    leaf = pki.issue(intermediate, "SG customs gateway", "Singapore Customs")
    (folder / "ca.pem").write_bytes(pki.cert_pem(root.cert))
    chain = ChainPki(workspace, root, intermediate, leaf, folder / "crl.pem")
    chain.publish(pki.make_crl(intermediate), pki.make_crl(root))
    partner_file = workspace.root / "partners" / "SG.toml"
    text = partner_file.read_text()
    anchor = 'ca = "../certs/dev/partners/SG/ca.pem"'
    assert anchor in text
    partner_file.write_text(
        text.replace(anchor, anchor + '\ncrl = "../certs/dev/partners/SG/crl.pem"')
    )
    return chain


@pytest.fixture
def start(chain_pki: ChainPki) -> Iterator[Callable[..., Live]]:
    started: list[Live] = []

    def run(**overrides: Any) -> Live:
        clock = overrides.pop("clock", None)
        settings = chain_pki.workspace.settings(**overrides)
        live = Live(build(settings, clock), settings, chain_pki.workspace)
        started.append(live)
        return live

    yield run
    for live in started:
        live.gateway.stop(grace=0)


def client(live: Live, chain_pki: ChainPki, identity: TlsIdentity) -> PartnerClient:
    channel = connect(live.target, identity)
    return PartnerClient(channel, "SG", chain_pki.workspace.signer("SG"))


def until_refused(sg: PartnerClient, first: int) -> grpc.RpcError:
    """Submits messages ``first``, ``first + 1``, ... until the gateway refuses one (the CRL
    refresh runs on its own thread); that refusal."""
    sequence = first
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            submit(sg, sequence, record(version=sequence))
        except grpc.RpcError as err:
            return err
        sequence += 1
        time.sleep(0.05)
    raise AssertionError("never refused")


def test_a_partner_certificate_issued_by_an_intermediate_ca_is_accepted(
    start: Callable[..., Live], chain_pki: ChainPki
) -> None:
    """SG's client presents its leaf and the intermediate that issued it; SG's file names only
    its root. Result: the call is SG's, and the message is applied."""
    live = start()
    sg = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, chain_pki.intermediate))
    response = submit(sg, 1, record())
    assert response.receipt.signature.key_id == live.settings.signing_key_id


def test_a_leaf_without_its_intermediate_fails_the_handshake(
    start: Callable[..., Live], chain_pki: ChainPki
) -> None:
    """SG's client presents only its leaf; the gateway knows SG's root, not the intermediate.
    Result: the TLS handshake fails (UNAVAILABLE), nothing is called."""
    live = start()
    sg = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, name="bare"))
    expect_error(lambda: submit(sg, 1, record()), grpc.StatusCode.UNAVAILABLE, None)


def test_a_revoked_leaf_is_refused_after_the_crl_refresh_without_a_restart(
    start: Callable[..., Live], chain_pki: ChainPki
) -> None:
    """SG's client calls; then SG's intermediate publishes a CRL revoking the client's
    certificate. Result: after the refresh, the next call on the same connection is refused
    UNAUTHENTICATED certificate.revoked naming the serial, though the handshake succeeded."""
    live = start(crl_refresh_seconds=0.1)
    sg = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, chain_pki.intermediate))
    submit(sg, 1, record())
    serial = chain_pki.leaf.cert.serial_number
    chain_pki.publish(pki.make_crl(chain_pki.intermediate, [serial]), pki.make_crl(chain_pki.root))
    err = until_refused(sg, 2)
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED, err.details()
    info = error_info(err)
    assert info is not None
    assert info.reason == "certificate.revoked"
    assert f"{serial:x}" in (err.details() or "")
    # A new connection is refused as well: the handshake passes, the call does not.
    fresh = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, chain_pki.intermediate))
    expect_error(
        lambda: submit(fresh, 1000, record(version=1000)),
        grpc.StatusCode.UNAUTHENTICATED,
        "certificate.revoked",
    )


def test_a_revoked_intermediate_ca_is_refused(
    start: Callable[..., Live], chain_pki: ChainPki
) -> None:
    """SG's root has revoked the intermediate CA (its CRL is in SG's CRL file at start).
    Result: a client certificate it issued is refused UNAUTHENTICATED certificate.revoked,
    with the intermediate's serial."""
    serial = chain_pki.intermediate.cert.serial_number
    chain_pki.publish(pki.make_crl(chain_pki.intermediate), pki.make_crl(chain_pki.root, [serial]))
    live = start()
    sg = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, chain_pki.intermediate))
    err = expect_error(
        lambda: submit(sg, 1, record()), grpc.StatusCode.UNAUTHENTICATED, "certificate.revoked"
    )
    assert f"{serial:x}" in (err.details() or "")


def test_a_crl_not_signed_by_the_issuer_is_ignored(
    start: Callable[..., Live], chain_pki: ChainPki, caplog: pytest.LogCaptureFixture
) -> None:
    """A CRL naming SG's intermediate as issuer and revoking the client is signed by another
    key. Result: it revokes nothing (the call is applied), and the gateway logs it."""
    forger = pki.make_ca("forger", "Nobody")
    chain_pki.publish(
        pki.make_crl(
            chain_pki.intermediate, [chain_pki.leaf.cert.serial_number], signed_by=forger.key
        )
    )
    live = start()
    sg = client(live, chain_pki, chain_pki.identity(chain_pki.leaf, chain_pki.intermediate))
    with caplog.at_level(logging.ERROR, logger="adapters.crypto.revocation"):
        submit(sg, 1, record())
    assert "not signed by it" in caplog.text


def test_an_expired_intermediate_ca_fails_the_tls_handshake(
    start: Callable[..., Live], chain_pki: ChainPki
) -> None:
    """SG's client certificate was issued by an intermediate that has expired. Result: the TLS
    handshake refuses the chain (the client sees UNAVAILABLE); no call reaches the gateway."""
    expired = pki.make_intermediate(
        chain_pki.root,
        "SG customs old issuing CA",
        "Singapore Customs",
        not_before=datetime.now(UTC) - timedelta(days=400),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    leaf = pki.issue(
        expired,
        "SG customs gateway",
        "Singapore Customs",
        not_before=datetime.now(UTC) - timedelta(days=300),
        not_after=datetime.now(UTC) + timedelta(days=30),
    )
    live = start()
    sg = client(live, chain_pki, chain_pki.identity(leaf, expired, name="expired"))
    expect_error(lambda: submit(sg, 1, record()), grpc.StatusCode.UNAVAILABLE, None)


class _Context:
    """What the authenticator reads of a call: grpc's auth properties (as a served call of the
    chain's client would carry them, per test_a_partner_certificate_issued_by_...)."""

    def __init__(self, properties: dict[str, list[bytes]]) -> None:
        self._properties = properties

    def auth_context(self) -> dict[str, list[bytes]]:
        return self._properties


def test_an_intermediate_expired_since_the_handshake_is_refused_per_call(
    chain_pki: ChainPki,
) -> None:
    """A connection was opened while the chain was valid; by the time of a later call the
    intermediate has expired. Result: the call is refused UNAUTHENTICATED certificate.expired
    (checked per call, not only at the handshake)."""
    settings = chain_pki.workspace.settings()
    definitions = FileDirectory(
        settings.home_file, settings.partners_dir, codecs(), SystemClock()
    ).current()
    later = [datetime.now(UTC) + timedelta(days=365 * 6)]
    home = x509.load_pem_x509_certificate((chain_pki.workspace.pki / "ca.pem").read_bytes())
    authenticator = Authenticator(home, now=lambda: later[0])
    context = _Context(
        {
            "x509_pem_cert": [pki.cert_pem(chain_pki.leaf.cert)],
            "x509_pem_cert_chain": [pki.cert_pem(chain_pki.intermediate.cert)],
        }
    )
    with pytest.raises(CertificateExpired):
        authenticator.principal(context, definitions)  # type: ignore[arg-type]
    later[0] = datetime.now(UTC)
    assert authenticator.principal(context, definitions).partner == "SG"  # type: ignore[arg-type]


def test_an_unreadable_crl_keeps_the_last_good_one(
    chain_pki: ChainPki, caplog: pytest.LogCaptureFixture
) -> None:
    """SG's CRL revokes its client; then the file is replaced by garbage. Result: the refresh
    logs an error and the revocation stays in force."""
    chain_pki.publish(pki.make_crl(chain_pki.intermediate, [chain_pki.leaf.cert.serial_number]))
    revocation = Revocation(
        lambda: {"SG": (str(chain_pki.crl),)}, lambda: datetime.now(UTC), 60, timedelta(0)
    )
    chain = (chain_pki.leaf.cert, chain_pki.intermediate.cert, chain_pki.root.cert)
    revocation.refresh()
    with pytest.raises(Exception, match="revoked"):
        revocation.check("SG", chain)
    chain_pki.crl.write_bytes(b"not a CRL")
    with caplog.at_level(logging.ERROR, logger="adapters.crypto.revocation"):
        revocation.refresh()
    assert "keeping the last good one" in caplog.text
    with pytest.raises(Exception, match="revoked"):
        revocation.check("SG", chain)


def test_a_crl_past_its_next_update_is_logged_and_still_used(
    chain_pki: ChainPki, caplog: pytest.LogCaptureFixture
) -> None:
    """SG's CRL is two days past its nextUpdate, beyond the one-day grace. Result: the refresh
    logs a WARNING, and its revocations still apply (fail open on staleness, closed on
    serials)."""
    now = datetime.now(UTC)
    chain_pki.publish(
        pki.make_crl(
            chain_pki.intermediate,
            [chain_pki.leaf.cert.serial_number],
            last_update=now - timedelta(days=9),
            next_update=now - timedelta(days=2),
        )
    )
    revocation = Revocation(
        lambda: {"SG": (str(chain_pki.crl),)}, lambda: now, 60, timedelta(days=1)
    )
    with caplog.at_level(logging.WARNING, logger="adapters.crypto.revocation"):
        revocation.refresh()
    assert "past its nextUpdate" in caplog.text
    with pytest.raises(Exception, match="revoked"):
        revocation.check(
            "SG", (chain_pki.leaf.cert, chain_pki.intermediate.cert, chain_pki.root.cert)
        )


def test_a_crl_is_read_from_the_partner_url(chain_pki: ChainPki) -> None:
    """SG publishes its CRL at an http URL (trust.crl_url). Result: the revocation it lists
    applies."""
    import http.server
    import threading

    body = pki.crl_pem(pki.make_crl(chain_pki.intermediate, [chain_pki.leaf.cert.serial_number]))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/sg.crl"
        revocation = Revocation(lambda: {"SG": (url,)}, lambda: datetime.now(UTC), 60, timedelta(0))
        revocation.refresh()
        with pytest.raises(Exception, match="revoked"):
            revocation.check(
                "SG", (chain_pki.leaf.cert, chain_pki.intermediate.cert, chain_pki.root.cert)
            )
    finally:
        server.shutdown()
        server.server_close()


def test_the_partner_file_refuses_a_crl_url_that_is_not_http(chain_pki: ChainPki) -> None:
    """SG's file gives trust.crl_url = "ftp://...". Result: the definition is refused naming
    the field."""
    from adapters.directory.files import read_partner
    from gateway.domain.errors import DefinitionInvalid

    path = chain_pki.workspace.root / "partners" / "SG.toml"
    path.write_text(path.read_text().replace("[trust]\n", '[trust]\ncrl_url = "ftp://x/crl"\n'))
    with pytest.raises(DefinitionInvalid, match=r"trust\.crl_url"):
        read_partner(path, ())
