"""The composition root: settings in, a running gateway out. Nothing else wires parts together.

Keys are loaded once here (a PEM load costs milliseconds), the store is migrated, and the gRPC
server is built with mutual TLS, health checking, reflection and the gateway's interceptor.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

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
from adapters.crypto.gateway_keys import FileGatewayKeys, PemPublicKeys, RotatingSigner
from adapters.crypto.revocation import Revocation
from adapters.crypto.signatures import PublicKey, Signer, load_public_key
from adapters.crypto.tls_files import TlsFiles
from adapters.directory.files import FileDirectory, read_definitions
from adapters.directory.stored_keys import KeyedDirectory
from adapters.ops import expiry
from adapters.ops.metrics import ObservedSqlOutbound
from adapters.ops.server import Operations
from adapters.outbound.announcer import GrpcAnnouncer
from adapters.outbound.dispatcher import Dispatcher
from adapters.outbound.sender import ClientIdentity, GrpcSender
from adapters.outbound.test_sender import GrpcTestSender
from adapters.receipts import ProtobufReceiptSealer
from adapters.store.audit import AuditCheckpointer, SqlAuditStore
from adapters.store.change_feed import SqlChangeFeed
from adapters.store.consent import SqlConsentLog
from adapters.store.facilitation import SqlOutcomes
from adapters.store.lifecycle import SqlLifecycles
from adapters.store.operations import SqlOperations
from adapters.store.outbound import PartnerLocks, SqlOutbound
from adapters.store.outcome_reports import SqlOutcomeReports
from adapters.store.programme import SqlProgrammeStates
from adapters.store.refusals import SqlRefusalLog
from adapters.store.retention import SqlRetention
from adapters.store.signing_keys import SqlSigningKeys
from adapters.store.sql import SqlStore
from adapters.wire.registry import codecs, outcome_codecs
from gateway.api.admin_servicer import AdminServicer
from gateway.api.admission import Admission, AdmissionLimits, YieldingTransactions
from gateway.api.audit_servicer import AuditServicer
from gateway.api.auth import Authenticator
from gateway.api.changes_servicer import ChangeFeedServicer
from gateway.api.consent_servicer import ConsentServicer
from gateway.api.facilitation_servicer import FacilitationServicer
from gateway.api.home_servicer import HomeRegistryServicer
from gateway.api.interceptor import GatewayInterceptor
from gateway.api.keys_servicer import AnnouncingExchangeServicer, KeyManagementServicer
from gateway.api.onboarding_servicer import PartnerOnboardingServicer
from gateway.api.recognition_servicer import RecognitionServicer
from gateway.app.active_only import ActivePartnersOnly
from gateway.app.audit_log import (
    AuditCheckpoints,
    ExportEvidence,
    RecordAdminAction,
    VerifyAuditLog,
)
from gateway.app.consent import RecordConsent
from gateway.app.deliver import DeliverPartner, DeliveryLimits, OutboundAdmin
from gateway.app.directory import ReloadPartners, ReloadReport
from gateway.app.facilitation import RecordOutcomes, ReportFacilitation
from gateway.app.home_registry import RecordGradeChange
from gateway.app.keys import AcceptAnnouncement, PartnerSigningKeys, RotateGatewayKey
from gateway.app.lifecycle import Lifecycles, Onboarding, SubmitTestMessage
from gateway.app.observed import ObservedSubmit
from gateway.app.outcome_report import OutcomeSink, SubmitOutcomeReport
from gateway.app.programme import ProgrammeStates, SetProgrammeState
from gateway.app.recognise import Recognise
from gateway.app.reconcile import ReconcilePartner
from gateway.app.refusals import RecentRefusals
from gateway.app.retention import PurgeRetention, RetentionSchedule
from gateway.app.snapshot_request import RequestSnapshot
from gateway.app.submit import SubmitStatusMessage
from gateway.app.unit_of_work import Transactions
from gateway.app.watch import WatchChanges
from gateway.clock import SystemClock
from gateway.domain.directory import Directory
from gateway.domain.errors import DefinitionInvalid, DefinitionRejected, GatewayError
from gateway.domain.exchange import Limits
from gateway.domain.facilitation import Outcome, OutcomeAggregate
from gateway.domain.lifecycle import PartnerDefinition
from gateway.domain.ports import Clock, WireCodec
from gateway.domain.signing import pinned
from gateway.pb import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    changes_pb2,
    changes_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    facilitation_pb2,
    facilitation_pb2_grpc,
    home_pb2,
    home_pb2_grpc,
    keys_pb2,
    keys_pb2_grpc,
    onboarding_pb2,
    onboarding_pb2_grpc,
    recognition_pb2,
    recognition_pb2_grpc,
)
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.console.server import ConsoleServer

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    exchange_pb2.DESCRIPTOR.services_by_name["PartnerExchangeService"].full_name,
    recognition_pb2.DESCRIPTOR.services_by_name["RecognitionService"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
    changes_pb2.DESCRIPTOR.services_by_name["ChangeFeedService"].full_name,
    home_pb2.DESCRIPTOR.services_by_name["HomeRegistryService"].full_name,
    facilitation_pb2.DESCRIPTOR.services_by_name["FacilitationService"].full_name,
    keys_pb2.DESCRIPTOR.services_by_name["KeyManagementService"].full_name,
    consent_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name,
    onboarding_pb2.DESCRIPTOR.services_by_name["PartnerOnboardingService"].full_name,
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
    #: Metrics, /healthz and /readyz, the store probe and expiry warnings.
    operations: Operations | None = None

    @property
    def metrics_port(self) -> int:
        """Port of the operations HTTP server (0: none; metrics_listen is "")."""
        return self.operations.port if self.operations is not None else 0

    #: Partners' CRLs, refreshed every crl_refresh_seconds (checked on every partner call).
    revocation: Revocation | None = None
    #: Purges raw message bytes past their partner's retention; None when its interval is 0.
    retention: RetentionSchedule | None = None
    #: Signs audit checkpoints when due.
    audit_checkpointer: AuditCheckpointer | None = None
    #: The admin web console (console_listen; None when "").
    console: ConsoleServer | None = None

    @property
    def console_port(self) -> int:
        """Port of the console's HTTPS server (0: none)."""
        return self.console.port if self.console is not None else 0

    def reload(self) -> ReloadReport:
        """Reloads the partner definitions (SIGHUP, Admin.ReloadPartners)."""
        return self.reload_partners()

    def stop(self, grace: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING first, then in-flight calls drain, then the writer."""
        if self.operations is not None:
            self.operations.draining()
        if self.console is not None:
            self.console.stop()  # a client of the server below: before it
        self.health.enter_graceful_shutdown()
        if self.change_feed is not None:
            self.change_feed.close()  # streams never end by themselves: end them first
        self.server.stop(self.grace_seconds if grace is None else grace).wait()
        if self.dispatcher is not None:
            self.dispatcher.stop()  # before the store it writes to
        if self.operations is not None:
            self.operations.stop()  # before the store it probes
        if self.revocation is not None:
            self.revocation.stop()
        if self.retention is not None:
            self.retention.stop()  # before the store it writes to
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
    changes who may connect, for every new connection, without a restart; and the gateway's
    TLS certificate and key, read again when their files change (``tls_files``)."""

    def __init__(
        self,
        directory: FileDirectory,
        home_ca: bytes,
        pair: tuple[bytes, bytes],
        tls_files: TlsFiles | None = None,
    ) -> None:
        self._directory = directory
        self._home_ca = home_ca
        self._pair = pair
        self._tls_files = tls_files
        self._version = 0
        self._lock = threading.Lock()

    def configuration(self, snapshot: Directory) -> grpc.ServerCertificateConfiguration:
        roots = self._home_ca + b"".join(snapshot.trust_anchors.values())
        return grpc.ssl_server_certificate_configuration([self._pair], root_certificates=roots)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        with self._lock:  # only ever forward: two handshakes racing a reload agree
            snapshot = self._directory.current()
            pair = self._tls_files.changed() if self._tls_files is not None else None
            if pair is not None:
                self._pair = pair
            elif snapshot.version <= self._version:
                return None
            self._version = max(self._version, snapshot.version)
            return self.configuration(snapshot)


@dataclass
class Core:
    """What every way in shares, gRPC or a file: directory, codecs, receipt signer, store."""

    settings: Settings
    clock: Clock
    formats: dict[str, WireCodec]
    directory: FileDirectory
    #: The gateway's signing key in force: swapped whole by RotateGatewaySigningKey.
    signer: RotatingSigner
    store: SqlStore
    #: Programme states (notice, suspension) by partner and time; ``paused`` for delivery.
    programmes: ProgrammeStates
    #: Partner lifecycles (issue 10): only an active partner exchanges; ``paused`` for
    #: delivery covers the programme too.
    lifecycles: Lifecycles
    #: Partners' stored signing keys and the gateway's rotated keys (migration 0012).
    signing_keys: SqlSigningKeys | None = None
    #: Which gateway key is in force (the settings' or the last rotated), and new ones.
    gateway_keys: FileGatewayKeys | None = None

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
            self.store.reader,
            self.clock,
            self.settings.max_codes_per_query,
            self.programmes,
            self.lifecycles.retired_at,
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
        keys = [*self.gateway_public_keys().values(), *earlier_keys]
        return VerifyAuditLog(self.audit_store, checkpoint_checker(keys))

    def gateway_public_keys(self) -> dict[str, PublicKey]:
        """Every key this gateway has signed with, by id: the settings' key, each rotated one
        and the one in force (old checkpoints and messages name theirs)."""
        found: dict[str, PublicKey] = {}
        # A settings key file replaced since: its public half is in the store if rotated from.
        with contextlib.suppress(OSError, ValueError):
            found[self.settings.signing_key_id] = Signer.from_file(
                self.settings.signing_key,
                self.settings.signing_key_id,
                self.settings.signing_algorithm,
            ).public_key()
        if self.signing_keys is not None:
            for row in self.signing_keys.gateway_keys():
                found[row.key_id] = load_public_key(row.public_key.encode(), row.algorithm)
        current = cast(Signer, pinned(self.signer))
        found[current.key_id] = current.public_key()
        return found

    def evidence_exporter(self) -> ExportEvidence:
        return ExportEvidence(
            self.audit_store,
            StoreEvidence(self.audit_store, self.directory, self.gateway_public_keys),
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
    signing_keys = SqlSigningKeys(store.database)
    try:
        directory = KeyedDirectory(
            settings.home_file,
            settings.partners_dir,
            formats,
            clock,
            home_ca_pem,
            signing_keys.stored,
        )
    except DefinitionInvalid as exc:
        store.database.close()
        raise ConfigurationError(str(exc)) from exc
    gateway_keys = FileGatewayKeys(
        settings.signing_key, settings.signing_key_id, signing_keys, settings.gateway_keys_dir
    )
    signer = RotatingSigner(_gateway_signer(settings, gateway_keys), gateway_keys.newer)
    programmes = ProgrammeStates(SqlProgrammeStates(store.database))
    lifecycle_store = SqlLifecycles(store.database)
    try:
        directory.use_stored(lifecycle_store.definitions)  # partners created through Admin
    except DefinitionInvalid as exc:
        store.database.close()
        raise ConfigurationError(str(exc)) from exc
    lifecycles = Lifecycles(lifecycle_store, directory, programmes, clock)
    return Core(
        settings,
        clock,
        formats,
        directory,
        signer,
        store,
        programmes,
        lifecycles,
        signing_keys,
        gateway_keys,
    )


def _gateway_signer(settings: Settings, keys: FileGatewayKeys) -> Signer:
    """The last key RotateGatewaySigningKey put in force, or the settings' signing key (also
    when that key's file cannot be read here: logged as an ERROR, and taken up once it can)."""
    rotated = keys.in_force()
    found = keys.load(rotated) if rotated is not None else None
    if found is not None:
        return found
    _read(settings.signing_key, "gateway signing key")
    return Signer.from_file(
        settings.signing_key, settings.signing_key_id, settings.signing_algorithm
    )


def build(
    settings: Settings,
    clock: Clock | None = None,
    extra_codecs: Sequence[WireCodec] = (),
    outcome_sink: OutcomeSink | None = None,
) -> Gateway:
    """Builds and starts the gateway described by ``settings``. ``outcome_sink``: where
    partners' outcome reports are recorded (default: the store)."""
    operations = _operations(settings)  # before the store is migrated: /readyz says so
    try:
        core = open_core(settings, clock, extra_codecs)
    except BaseException:
        operations.stop()
        raise
    clock, directory, store = core.clock, core.directory, core.store
    home_ca_pem = _read(settings.home_ca, "home CA")
    refusals = SqlRefusalLog(store.database)
    submit = ObservedSubmit(
        ActivePartnersOnly(
            core.submitter(YieldingTransactions(store.transactions)), core.lifecycles
        ),
        operations.metrics,
        refusals,
    )
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
    revocation = Revocation(
        lambda: directory.current().crl_sources,
        SystemClock().now,
        settings.crl_refresh_seconds,
        timedelta(seconds=settings.crl_grace_seconds),
    )
    revocation.refresh()  # at start, before the first call
    authenticator = Authenticator(
        x509.load_pem_x509_certificate(home_ca_pem),
        insecure=settings.insecure_plaintext,
        revocation=revocation,  # validity by wall time, as TLS judges it, not the domain clock
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="rpc"),
        interceptors=[
            GatewayInterceptor(
                authenticator,
                directory,
                admission,
                operations.metrics,
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
    partner_keys = PartnerSigningKeys(
        directory, SqlSigningKeys(store.database), PemPublicKeys(), reload_partners, clock
    )
    exchange_pb2_grpc.add_PartnerExchangeServiceServicer_to_server(
        AnnouncingExchangeServicer(
            submit,
            clock,
            core.outcome_reports(outcome_sink or SqlOutcomeReports(store.database), recognise),
            core.lifecycles,
            SubmitTestMessage(
                core.lifecycles,
                core.formats,
                ProtobufReceiptSealer(core.signer),
                _limits(settings),
                clock,
            ),
            accept=AcceptAnnouncement(partner_keys, directory, clock, core.lifecycles),
        ),
        server,
    )
    assert core.gateway_keys is not None
    keys_pb2_grpc.add_KeyManagementServiceServicer_to_server(
        KeyManagementServicer(
            partner_keys,
            RotateGatewayKey(
                core.signer,
                core.gateway_keys,
                GrpcAnnouncer(
                    directory,
                    lambda: ClientIdentity(
                        _read(settings.outbound_tls_cert, "outbound TLS certificate"),
                        _read(settings.outbound_tls_key, "outbound TLS key"),
                    ),
                    settings.outbound_call_timeout_seconds,
                ),
                directory,
                clock,
                core.lifecycles,
            ),
        ),
        server,
    )
    recognition_pb2_grpc.add_RecognitionServiceServicer_to_server(
        RecognitionServicer(recognise), server
    )
    outbound_store = ObservedSqlOutbound(store.database, operations.metrics)
    dispatcher = _dispatcher(core, outbound_store) if settings.outbound_enabled else None
    wake = dispatcher.wake if dispatcher is not None else _no_wake
    admin_pb2_grpc.add_AdminServiceServicer_to_server(
        AdminServicer(
            store.reader,
            reload_partners,
            ReconcilePartner(store.reader, clock),
            clock,
            core.programmes,
            SetProgrammeState(core.programmes.store, clock, core.lifecycles.guard_programme),
            RequestSnapshot(YieldingTransactions(store.transactions)),
            OutboundAdmin(outbound_store, clock, core.lifecycles.paused, wake),
            RecentRefusals(refusals, clock),
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
                retired=core.lifecycles.retired,
            )
        ),
        server,
    )
    facilitation_pb2_grpc.add_FacilitationServiceServicer_to_server(
        FacilitationServicer(core.outcome_recorder(), core.facilitation_report()), server
    )
    consent_pb2_grpc.add_ConsentServiceServicer_to_server(
        ConsentServicer(
            RecordConsent(
                YieldingTransactions(store.transactions),
                clock,
                settings.signing_key_id,
                settings.signing_algorithm,
                queued=wake,
                retired=core.lifecycles.retired,
            ),
            SqlConsentLog(store.database),
        ),
        server,
    )
    retention = None
    if settings.retention_purge_interval_seconds > 0:
        retention = RetentionSchedule(
            PurgeRetention(SqlRetention(store.database), clock),
            directory.current,
            settings.retention_purge_interval_seconds,
        )
    onboarding_pb2_grpc.add_PartnerOnboardingServiceServicer_to_server(
        PartnerOnboardingServicer(_onboarding(core, reload_partners), core.lifecycles), server
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
        tls_files = TlsFiles(settings.tls_cert, settings.tls_key)
        pair = (_read(settings.tls_key, "TLS key"), _read(settings.tls_cert, "TLS certificate"))
        anchors = _TrustAnchors(directory, home_ca_pem, pair, tls_files)
        credentials = grpc.dynamic_ssl_server_credentials(
            anchors.configuration(directory.current()),
            anchors.fetch,  # type: ignore[arg-type]  # the stubs miss that None means "no change"
            require_client_authentication=True,
        )
        port = server.add_secure_port(settings.listen, credentials)
    if port == 0:
        raise ConfigurationError(f"cannot listen on {settings.listen}")

    # Before anything starts: a console that cannot serve stops the gateway from starting.
    try:
        console = _console(settings, port) if settings.console_listen else None
    except ConfigurationError:
        operations.stop()
        store.database.close()
        raise
    store.start()
    audit_checkpointer = AuditCheckpointer(core.audit_checkpoints())
    audit_checkpointer.start()
    if dispatcher is not None:
        dispatcher.start()
    revocation.start()
    if retention is not None:
        retention.start()
    server.start()
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    operations.serving(
        SqlOperations(store.database),
        directory.current,
        _own_files(settings),
        clock.now,
        _service_health(health_servicer),
    )
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
        operations=operations,
        revocation=revocation,
        retention=retention,
        audit_checkpointer=audit_checkpointer,
        console=console,
    )


def _console(settings: Settings, port: int) -> ConsoleServer:
    """The admin console, a client of this gateway's own API on ``port``."""
    from gateway.console import serve  # Flask and cheroot load only when a console is served

    try:
        return serve.start(settings, f"localhost:{port}")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve the console on {settings.console_listen}: "
            f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}; run "
            "`aeo-gateway certs init` for its development certificate, or set console_listen "
            'to a free host:port, or to "" to serve none'
        ) from exc


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
        paused=core.lifecycles.paused,
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


def _operations(settings: Settings) -> Operations:
    """The operations HTTP server on metrics_listen ("" : none), with a registry of its own."""
    try:
        return Operations(settings.metrics_listen)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot serve metrics on {settings.metrics_listen} ({exc.strerror}); set "
            'metrics_listen to a free host:port, or to "" to serve none'
        ) from exc


def _own_files(settings: Settings) -> expiry.OwnFiles:
    return expiry.OwnFiles(
        settings.tls_cert, settings.outbound_tls_cert, settings.home_ca, settings.signing_key
    )


def _service_health(servicer: health.HealthServicer) -> Callable[[bool], None]:
    """Sets every gateway service SERVING or NOT_SERVING; "" (liveness) is left SERVING."""

    def set_serving(serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in SERVICE_NAMES:
            servicer.set(name, status)

    return set_serving


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_payload_bytes=settings.max_payload_bytes,
        max_records=settings.max_records_per_message,
        clock_skew=timedelta(seconds=settings.clock_skew_seconds),
    )


def _onboarding(core: Core, reload_partners: ReloadPartners) -> Onboarding:
    """The onboarding steps; TestPartner calls partners with the outbound client certificate
    (none when outbound delivery is off: a test then fails saying so)."""
    settings = core.settings
    transport = None
    if settings.outbound_enabled:
        transport = GrpcTestSender(
            ClientIdentity(
                _read(settings.outbound_tls_cert, "outbound TLS certificate"),
                _read(settings.outbound_tls_key, "outbound TLS key"),
            ),
            settings.outbound_call_timeout_seconds,
        )
    directory = core.directory

    def check(definition: PartnerDefinition) -> None:
        try:
            directory.build(directory.definitions({definition.partner: definition}))
        except DefinitionInvalid as exc:
            raise DefinitionRejected(exc.message, **exc.metadata) from exc

    return Onboarding(
        core.lifecycles,
        directory,
        reload_partners,
        check,
        core.clock,
        core.formats,
        core.signer,
        transport,
    )
