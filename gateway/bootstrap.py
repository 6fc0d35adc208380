"""The composition root: settings in, a running gateway out. Nothing else wires parts together.

Keys are loaded once here (a PEM load costs milliseconds), the store is migrated, and the gRPC
server is built with mutual TLS, health checking, reflection and the gateway's interceptor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

import grpc
from cryptography import x509
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from adapters import pki
from adapters.crypto.audit_keys import (
    StoreEvidence,
    checkpoint_checker,
    verifier_script,
)
from adapters.crypto.signatures import PublicKey, Signer
from adapters.directory.files import FileDirectory, read_definitions
from adapters.outbound.dispatcher import Dispatcher
from adapters.outbound.sender import ClientIdentity, GrpcSender
from adapters.receipts import ProtobufReceiptSealer
from adapters.store.audit import AuditCheckpointer, SqlAuditStore
from adapters.store.change_feed import SqlChangeFeed
from adapters.store.facilitation import SqlOutcomes
from adapters.store.outbound import PartnerLocks, SqlOutbound
from adapters.store.outcome_reports import SqlOutcomeReports
from adapters.store.programme import SqlProgrammeStates
from adapters.store.sql import SqlStore
from adapters.wire.registry import codecs, outcome_codecs
from gateway.api.admin_servicer import AdminServicer
from gateway.api.admission import Admission, AdmissionLimits, YieldingTransactions
from gateway.api.audit_servicer import AuditServicer
from gateway.api.auth import Authenticator
from gateway.api.changes_servicer import ChangeFeedServicer
from gateway.api.exchange_servicer import PartnerExchangeServicer
from gateway.api.facilitation_servicer import FacilitationServicer
from gateway.api.home_servicer import HomeRegistryServicer
from gateway.api.interceptor import GatewayInterceptor
from gateway.api.recognition_servicer import RecognitionServicer
from gateway.app.audit_log import (
    AuditCheckpoints,
    ExportEvidence,
    RecordAdminAction,
    VerifyAuditLog,
)
from gateway.app.deliver import DeliverPartner, DeliveryLimits, OutboundAdmin
from gateway.app.directory import ReloadPartners, ReloadReport
from gateway.app.facilitation import RecordOutcomes, ReportFacilitation
from gateway.app.home_registry import RecordGradeChange
from gateway.app.outcome_report import OutcomeSink, SubmitOutcomeReport
from gateway.app.programme import ProgrammeStates, SetProgrammeState
from gateway.app.recognise import Recognise
from gateway.app.reconcile import ReconcilePartner
from gateway.app.submit import SubmitStatusMessage
from gateway.app.unit_of_work import Transactions
from gateway.app.watch import WatchChanges
from gateway.clock import SystemClock
from gateway.domain.directory import Directory
from gateway.domain.errors import DefinitionInvalid, GatewayError
from gateway.domain.exchange import Limits
from gateway.domain.facilitation import Outcome, OutcomeAggregate
from gateway.domain.ports import Clock, WireCodec
from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    changes_pb2,
    changes_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    facilitation_pb2,
    facilitation_pb2_grpc,
    home_pb2,
    home_pb2_grpc,
    recognition_pb2,
    recognition_pb2_grpc,
)
from gateway.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    exchange_pb2.DESCRIPTOR.services_by_name["PartnerExchangeService"].full_name,
    recognition_pb2.DESCRIPTOR.services_by_name["RecognitionService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    changes_pb2.DESCRIPTOR.services_by_name["ChangeFeedService"].full_name,
    home_pb2.DESCRIPTOR.services_by_name["HomeRegistryService"].full_name,
    facilitation_pb2.DESCRIPTOR.services_by_name["FacilitationService"].full_name,
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"].full_name,
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
    directory: FileDirectory
    reload_partners: ReloadPartners
    grace_seconds: float
    #: Ends open WatchChanges streams when the gateway stops.
    change_feed: ChangeFeedServicer | None = None
    #: Delivers home AEO changes to partners; None when outbound_enabled is off.
    dispatcher: Dispatcher | None = None
    #: Signs audit checkpoints when due.
    audit_checkpointer: AuditCheckpointer | None = None

    def reload(self) -> ReloadReport:
        """Reloads the partner definitions (SIGHUP, Admin.ReloadPartners)."""
        return self.reload_partners()

    def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING first, then in-flight calls drain, then the writer."""
        self.health.enter_graceful_shutdown()
        if self.change_feed is not None:
            self.change_feed.close()  # streams never end by themselves: end them first
        self.server.stop(self.grace_seconds if grace is None else grace).wait()
        if self.dispatcher is not None:
            self.dispatcher.stop()  # before the store it writes to
        if self.audit_checkpointer is not None:
            self.audit_checkpointer.stop()
        self.store.stop()

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


def init_dev_pki(settings: Settings, root: Path | None = None, force: bool = False) -> pki.Writer:
    """Writes the development PKI for the home administration and every registered partner."""
    try:
        definitions = read_definitions(settings.home_file, settings.partners_dir)
    except DefinitionInvalid as exc:
        raise ConfigurationError(str(exc)) from exc
    home = definitions.home
    return pki.init(
        root or settings.pki_dir,
        home.code,
        home.name,
        (settings.signing_key_id, settings.signing_algorithm),
        [
            pki.PartnerKeys(
                code, e.partner.name, tuple((k.key_id, k.algorithm) for k in e.partner.signing_keys)
            )
            for code, e in definitions.partners.items()
        ],
        force=force,
    )


class _TrustAnchors:
    """Feeds gRPC the CAs of the directory in force, so a reload that adds or removes a partner
    changes who may connect, for every new connection, without a restart."""

    def __init__(self, directory: FileDirectory, home_ca: bytes, pair: tuple[bytes, bytes]) -> None:
        self._directory = directory
        self._home_ca = home_ca
        self._pair = pair
        self._version = 0
        self._lock = threading.Lock()

    def configuration(self, snapshot: Directory) -> grpc.ServerCertificateConfiguration:
        roots = self._home_ca + b"".join(snapshot.trust_anchors.values())
        return grpc.ssl_server_certificate_configuration([self._pair], root_certificates=roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:  # only ever forward: two handshakes racing a reload agree
            snapshot = self._directory.current()
            if snapshot.version <= self._version:
                return None
            self._version = snapshot.version
            return self.configuration(snapshot)


@dataclass
class Core:
    """What every way in shares, gRPC or a file: directory, codecs, receipt signer, store."""

    settings: Settings
    clock: Clock
    formats: dict[str, WireCodec]
    directory: FileDirectory
    signer: Signer
    store: SqlStore
    #: Programme states (notice, suspension) by partner and time; ``paused`` for delivery.
    programmes: ProgrammeStates

    def submitter(
        self, transactions: Transactions, max_age: timedelta | None = None
    ) -> SubmitStatusMessage:
        settings = self.settings
        return SubmitStatusMessage(
            self.formats,
            transactions,
            ProtobufReceiptSealer(self.signer),
            Limits(
                max_payload_bytes=settings.max_payload_bytes,
                max_records=settings.max_records_per_message,
                clock_skew=timedelta(seconds=settings.clock_skew_seconds),
                max_open_gaps=settings.max_open_gaps,
                max_age=max_age,
            ),
        )

    def outcome_reports(self, sink: OutcomeSink, recognise: Recognise) -> SubmitOutcomeReport:
        """Partners' signed outcome reports, recorded in ``sink``; the status exchange's size,
        record and clock-skew limits."""
        settings = self.settings
        return SubmitOutcomeReport(
            outcome_codecs(),
            sink,
            ProtobufReceiptSealer(self.signer),
            recognise,
            Limits(
                max_payload_bytes=settings.max_payload_bytes,
                max_records=settings.max_records_per_message,
                clock_skew=timedelta(seconds=settings.clock_skew_seconds),
            ),
        )

    @cached_property
    def outcomes(self) -> SqlOutcomes:
        """Declaration outcomes and partners' baseline totals (facilitation tracking)."""
        return SqlOutcomes(self.store.database)

    def record_outcomes(
        self, outcomes: Sequence[Outcome], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        """Stores classified outcomes and baseline totals (a reporter's, e.g. one partner's
        OutcomeReport) in one transaction; duplicates change nothing. Returns how many
        outcomes were new."""
        return self.outcomes.record(outcomes, aggregates)

    def outcome_recorder(self) -> RecordOutcomes:
        """Classifies outcomes by the recognition answer at arrival, and stores them."""
        return RecordOutcomes(self.recogniser(), self.outcomes)

    def recogniser(self) -> Recognise:
        return Recognise(
            self.store.reader, self.clock, self.settings.max_codes_per_query, self.programmes
        )

    def facilitation_report(self) -> ReportFacilitation:
        """The report use case, without gRPC (the CLI's `report facilitation`)."""
        return ReportFacilitation(self.outcomes)

    # --- the tamper-evident audit log (docs/audit.md) ---

    @cached_property
    def audit_store(self) -> SqlAuditStore:
        return SqlAuditStore(self.store.database)

    def audit_checkpoints(self) -> AuditCheckpoints:
        settings = self.settings
        return AuditCheckpoints(
            self.audit_store,
            self.signer,
            self.clock,
            settings.audit_checkpoint_every_entries,
            settings.audit_checkpoint_every_seconds,
        )

    def audit_verifier(self, earlier_keys: Sequence[PublicKey] = ()) -> VerifyAuditLog:
        """Checks checkpoints with the gateway's key and ``earlier_keys`` (after rotations)."""
        keys = [self.signer.public_key(), *earlier_keys]
        return VerifyAuditLog(self.audit_store, checkpoint_checker(keys))

    def evidence_exporter(self) -> ExportEvidence:
        return ExportEvidence(
            self.audit_store,
            StoreEvidence(self.audit_store, self.directory, self.signer),
            self.audit_checkpoints(),
            verifier_script(),
        )


def open_core(
    settings: Settings, clock: Clock | None = None, extra_codecs: Sequence[WireCodec] = ()
) -> Core:
    """Loads the directory and the gateway's key, opens and migrates the store (not started)."""
    clock = clock or SystemClock()
    formats = codecs(*extra_codecs)
    home_ca_pem = _read(settings.home_ca, "home CA")
    try:
        directory = FileDirectory(
            settings.home_file, settings.partners_dir, formats, clock, home_ca_pem
        )
    except DefinitionInvalid as exc:
        raise ConfigurationError(str(exc)) from exc
    _read(settings.signing_key, "gateway signing key")
    signer = Signer.from_file(
        settings.signing_key, settings.signing_key_id, settings.signing_algorithm
    )
    store = SqlStore.open(settings.database_url, settings.read_pool_size)
    try:
        store.migrate()
    except GatewayError as exc:
        store.database.close()
        # The operator is the reader here: the driver's own first line says what is wrong.
        cause = " ".join(str(exc.__cause__ or exc.message).split())
        raise ConfigurationError(
            f"cannot open the database at {settings.database_url}: {cause}; check that it is "
            "running and that database_url is right"
        ) from exc
    programmes = ProgrammeStates(SqlProgrammeStates(store.database))
    return Core(settings, clock, formats, directory, signer, store, programmes)


def build(
    settings: Settings,
    clock: Clock | None = None,
    extra_codecs: Sequence[WireCodec] = (),
    outcome_sink: OutcomeSink | None = None,
) -> Gateway:
    """Builds and starts the gateway described by ``settings``. ``outcome_sink``: where
    partners' outcome reports are recorded (default: the store)."""
    core = open_core(settings, clock, extra_codecs)
    clock, directory, store = core.clock, core.directory, core.store
    home_ca_pem = _read(settings.home_ca, "home CA")
    submit = core.submitter(YieldingTransactions(store.transactions))
    recognise = core.recogniser()
    reload_partners = ReloadPartners(directory, store.transactions)

    admission = Admission(
        AdmissionLimits(
            max_calls=settings.max_calls_per_client,
            max_active=settings.max_active_per_client,
            body_timeout=settings.request_body_timeout_seconds,
            # As many may wait for their body, apart: stalled streams leave room for real calls,
            # and a client within its limit never has one of its own evicted (under load a
            # real body can take a moment to be read).
            max_waiting=settings.max_calls_per_client,
            bytes_per_second=settings.max_bytes_per_second_per_client,
            refusals_per_second=settings.max_refusals_per_second_per_client,
            refusal_burst=5 * settings.max_refusals_per_second_per_client,
            burst_bytes=max(
                2 * settings.max_payload_bytes, 2 * settings.max_bytes_per_second_per_client
            ),
        )
    )
    authenticator = Authenticator(
        x509.load_pem_x509_certificate(home_ca_pem), insecure=settings.insecure_plaintext
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rpc"),
        interceptors=[
            GatewayInterceptor(
                authenticator,
                directory,
                admission,
                audit=RecordAdminAction(core.audit_store, clock),
            )
        ],
        options=[
            ("grpc.max_receive_message_length", settings.max_payload_bytes + ENVELOPE_OVERHEAD),
            # Slack over the per-client limit: a client may see a call end (and start the next)
            # before the server has closed its stream; at the limit that would be refused.
            ("grpc.max_concurrent_streams", 2 * settings.max_calls_per_client),
            ("grpc.so_reuseport", 0),
        ],
        # Limits are per client (admission) and per connection (streams). The server-wide
        # cap is only a memory backstop, far above what the per-client limits let clients
        # hold unless many misbehave at once.
        maximum_concurrent_rpcs=4 * settings.workers,
    )
    exchange_pb2_grpc.add_PartnerExchangeServiceServicer_to_server(
        PartnerExchangeServicer(
            submit,
            clock,
            core.outcome_reports(outcome_sink or SqlOutcomeReports(store.database), recognise),
        ),
        server,
    )
    recognition_pb2_grpc.add_RecognitionServiceServicer_to_server(
        RecognitionServicer(recognise), server
    )
    outbound_store = SqlOutbound(store.database)
    dispatcher = _dispatcher(core, outbound_store) if settings.outbound_enabled else None
    wake = dispatcher.wake if dispatcher is not None else _no_wake
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminServicer(
            store.reader,
            reload_partners,
            ReconcilePartner(store.reader, clock),
            clock,
            core.programmes,
            SetProgrammeState(core.programmes.store, clock),
            OutboundAdmin(outbound_store, clock, core.programmes.paused, wake),
        ),
        server,
    )
    change_feed = ChangeFeedServicer(WatchChanges(SqlChangeFeed(store.database, store.reader)))
    changes_pb2_grpc.add_ChangeFeedServiceServicer_to_server(change_feed, server)
    home_pb2_grpc.add_HomeRegistryServiceServicer_to_server(
        HomeRegistryServicer(
            RecordGradeChange(
                YieldingTransactions(store.transactions),
                clock,
                settings.signing_key_id,
                settings.signing_algorithm,
                queued=wake,
            )
        ),
        server,
    )
    facilitation_pb2_grpc.add_FacilitationServiceServicer_to_server(
        FacilitationServicer(core.outcome_recorder(), core.facilitation_report()), server
    )
    audit_pb2_grpc.add_AuditServiceServicer_to_server(
        AuditServicer(core.audit_store, core.audit_verifier(), core.evidence_exporter()), server
    )
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    if settings.insecure_plaintext:
        log.warning("serving PLAINTEXT without client authentication: development only")
        port = server.add_insecure_port(settings.listen)
    else:
        pair = (_read(settings.tls_key, "TLS key"), _read(settings.tls_cert, "TLS certificate"))
        anchors = _TrustAnchors(directory, home_ca_pem, pair)
        credentials = grpc.dynamic_ssl_server_credentials(
            anchors.configuration(directory.current()),
            anchors.fetch,  # type: ignore[arg-type]  # the stubs miss that None means "no change"
            require_client_authentication=True,
        )
        port = server.add_secure_port(settings.listen, credentials)
    if port == 0:
        raise ConfigurationError(f"cannot listen on {settings.listen}")

    store.start()
    audit_checkpointer = AuditCheckpointer(core.audit_checkpoints())
    audit_checkpointer.start()
    if dispatcher is not None:
        dispatcher.start()
    server.start()
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info(
        "aeo-gateway serving on port %d (%d partners, %s)",
        port,
        len(directory.current().partners),
        store.database.dialect.name,
    )
    return Gateway(
        server,
        port,
        health_servicer,
        store,
        directory,
        reload_partners,
        settings.grace_seconds,
        change_feed,
        dispatcher,
        audit_checkpointer,
    )


def _no_wake(partners: Collection[str]) -> None:
    pass


def _dispatcher(core: Core, store: SqlOutbound) -> Dispatcher:
    """Delivery of home AEO changes to partners' gateways (started with the server)."""
    settings = core.settings
    sender = GrpcSender(
        ClientIdentity(
            _read(settings.outbound_tls_cert, "outbound TLS certificate"),
            _read(settings.outbound_tls_key, "outbound TLS key"),
        ),
        settings.outbound_call_timeout_seconds,
    )
    max_age = timedelta(seconds=settings.outbound_dead_letter_after_seconds)
    deliver = DeliverPartner(
        store,
        sender,
        core.formats,
        core.signer,
        core.clock,
        DeliveryLimits(settings.outbound_max_records_per_message, max_age),
        paused=core.programmes.paused,
    )
    return Dispatcher(
        deliver,
        store,
        PartnerLocks(core.store.database),
        core.directory,
        core.clock,
        settings.outbound_workers,
        settings.outbound_poll_seconds,
        max_age,
        sender.close,
    )
