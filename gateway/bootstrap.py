"""The composition root: settings in, a running gateway out. Nothing else wires parts together.

Keys are loaded once here (a PEM load costs milliseconds), the store is migrated, and the gRPC
server is built with mutual TLS, health checking, reflection and the gateway's interceptor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from adapters import pki
from adapters.crypto.signatures import Signer, load_public_key, verifier
from adapters.receipts import ReceiptSealer
from adapters.store.dialects import from_url
from adapters.store.group_commit import GroupCommitter
from adapters.store.sql_store import SqlStore
from adapters.wire.native import NativeCodec
from gateway.api.admin_servicer import AdminServicer
from gateway.api.auth import Authenticator
from gateway.api.exchange_servicer import PartnerExchangeServicer
from gateway.api.interceptor import GatewayInterceptor
from gateway.api.recognition_servicer import RecognitionServicer
from gateway.clock import SystemClock
from gateway.domain.codes import CodeBook
from gateway.domain.exchange import ExchangeService, Limits
from gateway.domain.keyring import Keyring, Verify
from gateway.domain.partners import HomeAdministration, Partner
from gateway.domain.ports import Clock, WireCodec
from gateway.domain.recognition import RecognitionService
from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    recognition_pb2,
    recognition_pb2_grpc,
)
from gateway.registry import PartnerEntry, RegistryError, load_home, load_partners
from gateway.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    exchange_pb2.DESCRIPTOR.services_by_name["PartnerExchange"].full_name,
    recognition_pb2.DESCRIPTOR.services_by_name["Recognition"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
)
#: Room above the payload limit for the envelope's other fields, so an oversized payload gets
#: the gateway's own reasoned error rather than the transport's bare one.
ENVELOPE_OVERHEAD = 64 * 1024


class ConfigurationError(RuntimeError):
    """The gateway cannot start: a file is missing or the configuration is inconsistent."""


@dataclass
class Gateway:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    store: SqlStore
    committer: GroupCommitter
    grace_seconds: float

    def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING first, then in-flight calls drain, then the writer."""
        self.health.enter_graceful_shutdown()
        self.server.stop(self.grace_seconds if grace is None else grace).wait()
        self.committer.stop()
        self.store.close()

    def wait(self) -> None:
        self.server.wait_for_termination()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{what} {path} is missing ({exc.strerror}); run `aeo-gateway certs init` for a "
            "development PKI or point the settings at real files"
        ) from exc


def load_registry(settings: Settings) -> tuple[HomeAdministration, dict[str, PartnerEntry]]:
    try:
        home = load_home(settings.home_file)
        return home, load_partners(settings.partners_dir, home.standard_benefits)
    except RegistryError as exc:
        raise ConfigurationError(str(exc)) from exc


def init_dev_pki(settings: Settings, root: Path | None = None, force: bool = False) -> pki.Writer:
    """Writes the development PKI for the home administration and every registered partner."""
    home, entries = load_registry(settings)
    return pki.init(
        root or settings.pki_dir,
        home.code,
        home.name,
        (settings.signing_key_id, settings.signing_algorithm),
        [
            pki.PartnerKeys(
                code, e.partner.name, tuple((k.key_id, k.algorithm) for k in e.partner.signing_keys)
            )
            for code, e in entries.items()
        ],
        force=force,
    )


def _verifiers(entries: Mapping[str, PartnerEntry]) -> dict[tuple[str, str], Verify]:
    found: dict[tuple[str, str], Verify] = {}
    for code, entry in entries.items():
        for key in entry.trust.signing_keys:
            _read(key.public_key, f"public key {key.key_id} of partner {code}")
            try:
                found[(code, key.key_id)] = verifier(
                    load_public_key(key.public_key, key.algorithm), key.algorithm
                )
            except ValueError as exc:
                raise ConfigurationError(f"partner {code} key {key.key_id}: {exc}") from exc
    return found


def _partner_cas(entries: Mapping[str, PartnerEntry]) -> dict[str, x509.Certificate]:
    cas = {
        code: x509.load_pem_x509_certificate(_read(e.trust.ca, f"CA of partner {code}"))
        for code, e in entries.items()
    }
    fingerprints = [ca.fingerprint(hashes.SHA256()) for ca in cas.values()]
    if len(set(fingerprints)) != len(fingerprints):
        # One CA for two partners would let either speak for the other.
        raise ConfigurationError("two partners share a CA certificate; each needs its own")
    return cas


def build(settings: Settings, clock: Clock | None = None) -> Gateway:
    """Builds and starts the gateway described by ``settings``."""
    clock = clock or SystemClock()
    home, entries = load_registry(settings)
    partners: dict[str, Partner] = {code: e.partner for code, e in entries.items()}

    store = SqlStore(from_url(settings.database_url), settings.read_pool_size)
    store.migrate()
    signer = Signer.from_file(
        settings.signing_key, settings.signing_key_id, settings.signing_algorithm
    )
    committer = GroupCommitter(store, ReceiptSealer(signer))
    codecs: dict[str, WireCodec] = {NativeCodec.name: NativeCodec()}
    exchange = ExchangeService(
        partners=partners,
        codecs=codecs,
        signatures=Keyring(partners, _verifiers(entries)),
        committer=committer,
        limits=Limits(
            max_payload_bytes=settings.max_payload_bytes,
            max_records=settings.max_records_per_message,
            clock_skew=timedelta(seconds=settings.clock_skew_seconds),
        ),
    )
    codebook = CodeBook(
        [(home.code, home.identifiers)] + [(p.code, p.identifiers) for p in partners.values()]
    )
    recognition = RecognitionService(
        store, codebook, partners, home, clock, settings.max_codes_per_query
    )

    home_ca_pem = _read(settings.home_ca, "home CA")
    partner_cas = _partner_cas(entries)
    authenticator = Authenticator(
        x509.load_pem_x509_certificate(home_ca_pem),
        partner_cas,
        insecure=settings.insecure_plaintext,
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rpc"),
        interceptors=[GatewayInterceptor(authenticator)],
        options=[
            ("grpc.max_receive_message_length", settings.max_payload_bytes + ENVELOPE_OVERHEAD),
            ("grpc.so_reuseport", 0),
        ],
        maximum_concurrent_rpcs=max(1024, settings.workers * 4),
    )
    exchange_pb2_grpc.add_PartnerExchangeServicer_to_server(
        PartnerExchangeServicer(exchange, clock), server
    )
    recognition_pb2_grpc.add_RecognitionServicer_to_server(RecognitionServicer(recognition), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(partners, store), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    if settings.insecure_plaintext:
        log.warning("serving PLAINTEXT without client authentication: development only")
        port = server.add_insecure_port(settings.listen)
    else:
        roots = home_ca_pem + b"".join(_read(e.trust.ca, "partner CA") for e in entries.values())
        credentials = grpc.ssl_server_credentials(
            [(_read(settings.tls_key, "TLS key"), _read(settings.tls_cert, "TLS certificate"))],
            root_certificates=roots,
            require_client_auth=True,
        )
        port = server.add_secure_port(settings.listen, credentials)
    if port == 0:
        raise ConfigurationError(f"cannot listen on {settings.listen}")

    committer.start()
    store.start_checkpoints()
    server.start()
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "aeo-gateway serving on port %d (%d partners, %s)", port, len(partners), store.dialect.name
    )
    return Gateway(server, port, health_servicer, store, committer, settings.grace_seconds)
