"""aeo-gateway command line: serve, certs init, query, partners, demo, migrate, report, doctor."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import grpc

from gateway import (
    cli_audit,
    cli_consent,
    cli_console,
    cli_demo,
    cli_doctor,
    cli_facilitation,
    cli_generate,
    cli_home,
    cli_import,
    cli_keys,
    cli_outbox,
    cli_partners,
    cli_report,
    logs,
)
from gateway.settings import Settings, SettingsError, describe, load

if TYPE_CHECKING:
    from gateway.bootstrap import Gateway

DEFAULT_CONFIG = Path("aeo-gateway.toml")
#: Modes of transport, as `query --mode` and partner files name them.
MODES = ("sea", "rail", "road", "air", "postal")


class UsageError(Exception):
    """A person's mistake on the command line: one line saying what is wrong and what to do."""


def _settings(args: argparse.Namespace) -> Settings:
    config = args.config or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    settings = load(config, os.environ)
    if getattr(args, "listen", None):
        settings = settings.with_overrides(listen=args.listen)
    if getattr(args, "insecure_plaintext", False):
        settings = settings.with_overrides(insecure_plaintext=True)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.bootstrap import build

    settings = _settings(args)
    logs.configure(settings.log_format, args.verbose)
    gateway = build(settings)
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stopped.is_set():
            stopped.set()
            logging.getLogger("aeo-gateway").info("signal %d: shutting down gracefully", signum)
            threading.Thread(target=gateway.stop, name="shutdown").start()

    def reload(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=_reload, args=(gateway,), name="reload").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    # Only now: whoever waits for this line may signal at once.
    print(
        f"aeo-gateway listening on port {gateway.port}"
        f"{' (PLAINTEXT, insecure)' if settings.insecure_plaintext else ' (mutual TLS)'}",
        flush=True,
    )
    if gateway.console_port:
        url = cli_console.url(settings.console_listen, gateway.console_port)
        print(f"admin console on {url}", flush=True)
    gateway.wait()
    # The server has stopped; the shutdown thread still closes the dispatcher and the store.
    for thread in threading.enumerate():
        if thread.name == "shutdown":
            thread.join()
    logging.getLogger("aeo-gateway").info("stopped: in-flight calls drained, store closed")
    return 0


def _reload(gateway: Gateway) -> None:
    from gateway.domain.errors import GatewayError

    log = logging.getLogger("aeo-gateway")
    try:
        report = gateway.reload()
    except GatewayError as exc:
        log.error("SIGHUP: partner definitions refused, those in force stay: %s", exc.message)
        return
    log.info(
        "SIGHUP: partner directory version %d (added %s, changed %s, removed %s)",
        report.version,
        list(report.added),
        list(report.changed),
        list(report.removed),
    )


def cmd_certs_init(args: argparse.Namespace) -> int:
    from gateway.bootstrap import init_dev_pki

    settings = _settings(args)
    root = args.dir or settings.pki_dir
    written = init_dev_pki(settings, root, force=args.force)
    for path in written.written:
        print(f"wrote {path}")
    print(
        f"development PKI in {root}: {len(written.written)} files written, "
        f"existing ones kept (use --force to replace)"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from adapters.store.sql import SqlStore
    from gateway.domain.errors import GatewayError

    url = _settings(args).database_url
    store = SqlStore.open(url, read_pool_size=1)
    try:
        applied = store.migrate()
    except GatewayError as exc:
        raise UsageError(f"cannot migrate the database at {url}: {exc.message}") from exc
    finally:
        store.database.close()
    print(f"applied migrations: {applied or 'none pending'}")
    return 0


def _identity(args: argparse.Namespace, settings: Settings, who: str) -> object:
    from gateway.client import TlsIdentity

    if settings.insecure_plaintext:
        return None
    if args.cert:
        return TlsIdentity(Path(args.ca or settings.home_ca), Path(args.cert), Path(args.key))
    return TlsIdentity.dev(settings.pki_dir, who)


def _target(args: argparse.Namespace, settings: Settings) -> str:
    if args.target:
        return str(args.target)
    host, _, port = settings.listen.rpartition(":")
    # A wildcard listen address is not a place to connect to; the local name is.
    wildcard = host in ("127.0.0.1", "0.0.0.0", "[::]")  # noqa: S104
    return f"{'localhost' if wildcard else host}:{port}"


def _rpc_error(err: grpc.RpcError) -> int:
    from gateway.api.errors import error_info

    info = error_info(err)
    reason = f" {info.reason}" if info else ""
    hint = ""
    if err.code() is grpc.StatusCode.UNAVAILABLE and info is None:
        hint = " (is the gateway running, and is --target right?)"
    print(f"aeo-gateway: {err.code().name}{reason}: {err.details()}{hint}", file=sys.stderr)
    return 1


def _as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--as-of {text!r} is not an ISO 8601 time; write e.g. 2026-11-01T09:30:00+08:00"
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not datetime(1, 1, 2, tzinfo=UTC) <= moment <= datetime(9999, 12, 30, tzinfo=UTC):
        raise UsageError(f"--as-of {text!r} is outside the years 1 to 9999 in UTC")
    return moment


def _algorithm(value: int) -> str:
    """SIGNATURE_ALGORITHM_ED25519 -> "ed25519", as partner files name algorithms."""
    from gateway.pb import common_pb2

    name = common_pb2.SignatureAlgorithm.Name(value)  # type: ignore[arg-type]
    return name.removeprefix("SIGNATURE_ALGORITHM_").lower().replace("_", "-")


def cmd_query(args: argparse.Namespace) -> int:
    from google.protobuf.json_format import MessageToDict

    from gateway.client import EXPORT, IMPORT, RecognitionClient, TlsIdentity, connect
    from gateway.pb import common_pb2, recognition_pb2

    modes = {m: common_pb2.TransportMode.Value(f"TRANSPORT_MODE_{m.upper()}") for m in MODES}

    settings = _settings(args)
    identity = _identity(args, settings, "domestic")
    as_of = _as_of(args.as_of)
    direction = IMPORT if args.direction == "import" else EXPORT
    mode = modes[args.mode] if args.mode else common_pb2.TRANSPORT_MODE_UNSPECIFIED
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        try:
            client = RecognitionClient(channel)
            # One code is one GetRecognition (a blank one is refused); several are one batch,
            # in which every code gets its own answer.
            if len(args.codes) == 1:
                answers = [client.recognise(args.codes[0], direction, as_of, mode)]
            else:
                answers = client.recognise_many(args.codes, direction, as_of, mode)
        except grpc.RpcError as err:
            return _rpc_error(err)
    if args.format == "json":
        print(json.dumps([MessageToDict(a) for a in answers], indent=2))
        return 0
    for a in answers:
        outcome = recognition_pb2.RecognitionOutcome.Name(a.outcome).removeprefix(
            "RECOGNITION_OUTCOME_"
        )
        by = f" by {args.mode}" if args.mode else ""
        print(f"{a.declared_code}: {outcome} ({a.reason}){by}")
        if a.administration:
            fresh = (
                f"; data received {a.partner_data_received_at.ToJsonString()}"
                if a.HasField("partner_data_received_at")
                else ""
            )
            fresh += " (STALE)" if a.partner_data_stale else ""
            print(
                f"  administration {a.administration} {a.programme}; tier {a.tier or '-'}; "
                f"operator {a.operator_name or '-'}{fresh}"
            )
        print(
            f"  treatment {a.treatment or '-'} under {a.grade_scheme or '-'}; "
            f"benefits {', '.join(a.benefits) or 'none'}"
        )
        if a.HasField("basis"):
            b = a.basis
            print(
                f"  basis message {b.message_id} received {b.received_at.ToJsonString()} "
                f"signed by {b.key_id} ({_algorithm(b.algorithm)}); "
                f"record version {b.record_version}"
            )
    return 0


def cmd_partners_reload(args: argparse.Namespace) -> int:
    from gateway.client import AdminClient, TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        try:
            report = AdminClient(channel).reload_partners()
        except grpc.RpcError as err:
            return _rpc_error(err)
    print(
        f"partner directory version {report.directory_version}: "
        f"added {', '.join(report.added_partners) or 'none'}; "
        f"changed {', '.join(report.changed_partners) or 'none'}; "
        f"removed {', '.join(report.removed_partners) or 'none'}"
    )
    return 0


def cmd_partners_reconcile(args: argparse.Namespace) -> int:
    """The reconciliation digest of one partner's current set, to compare with the partner's."""
    from gateway.client import AdminClient, TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        try:
            found = AdminClient(channel).reconciliation(args.code)
        except grpc.RpcError as err:
            return _rpc_error(err)
    # Hex, as sha256sum prints it: what a partner compares its own digest with.
    summary = {
        "name": found.name,
        "sha256": found.sha256.hex(),
        "operators": found.operators,
        "last_sequence": found.last_sequence,
        "computed_at": found.computed_at.ToJsonString(),
    }
    if args.format == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['name']}: sha256 {summary['sha256']} over {found.operators} operators; "
            f"last sequence {found.last_sequence}; computed {summary['computed_at']}"
        )
    return 0


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="host:port of the gateway (default: from settings)")
    parser.add_argument("--ca", help="CA certificate that issued the gateway's certificate")
    parser.add_argument("--cert", help="client certificate (default: the development PKI's)")
    parser.add_argument("--key", help="client private key")


def _reconcile_parser(partners_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reconcile = partners_sub.add_parser(
        "reconcile",
        help="the digest over a partner's current set of operators, to compare with the one "
        "the partner computes (docs/api.md)",
    )
    reconcile.add_argument("code", metavar="CODE", help="the partner, e.g. SG")
    reconcile.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    _client_options(reconcile)
    reconcile.set_defaults(func=cmd_partners_reconcile)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aeo-gateway",
        description="Exchange AEO status with partner customs administrations over gRPC and "
        "mutual TLS.",
        epilog="Settings come from --config (default ./aeo-gateway.toml when present), then "
        "environment variables:\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", type=Path, help="settings file (TOML)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--listen", help="host:port (overrides the setting)")
    serve.add_argument(
        "--insecure-plaintext",
        action="store_true",
        help="serve without TLS or client authentication (development only)",
    )
    serve.set_defaults(func=cmd_serve)

    certs = sub.add_parser("certs", help="development PKI")
    certs_sub = certs.add_subparsers(dest="certs_command", required=True)
    init = certs_sub.add_parser("init", help="write a development PKI (idempotent)")
    init.add_argument("--dir", type=Path, help="target folder (default: the pki_dir setting)")
    init.add_argument("--force", action="store_true", help="replace existing files")
    init.set_defaults(func=cmd_certs_init)
    cli_keys.add_certs_parser(certs_sub)

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    imports = sub.add_parser(
        "import",
        help="submit signed batches that arrived out of band (files), as the partner had sent "
        "them over gRPC: same verification, storage and signed receipt",
    )
    imports.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="a serialized SignedEnvelope, an XML-DSig document or a JWS compact serialization; "
        "several are submitted in the order given",
    )
    imports.add_argument("--partner", required=True, help="the partner that signed the files")
    imports.add_argument(
        "--wire-format",
        choices=("native", "xmldsig", "jws"),
        help="the files' wire format (default: recognised from the content)",
    )
    imports.add_argument(
        "--receipts", type=Path, metavar="DIR", help="write each signed receipt to DIR"
    )
    imports.add_argument(
        "--max-age-days",
        type=cli_import.days,
        default=3650,
        help="oldest issue time accepted, in days before now (default 3650)",
    )
    imports.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    imports.set_defaults(func=cli_import.cmd_import)

    query = sub.add_parser("query", help="ask whether declared codes are recognised AEOs")
    query.add_argument("codes", nargs="+", metavar="CODE")
    query.add_argument("--as-of", help="ISO 8601 time of the declaration (default: now)")
    query.add_argument(
        "--direction",
        choices=("import", "export"),
        default="import",
        help="direction of the declaration (default import); MRAs may cover only one",
    )
    query.add_argument(
        "--mode",
        choices=MODES,
        help="mode of transport of the declaration (default: not stated); where an MRA entered "
        "into force on different dates by mode, benefits without one need every mode in force",
    )
    query.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    _client_options(query)
    query.set_defaults(func=cmd_query)

    partners = sub.add_parser(
        "partners",
        help="partner definitions as configured; reload them, or give notice, suspend or "
        "resume a partner's programme, on a running gateway; onboard, configure, test, "
        "activate or retire a partner (docs/onboarding.md)",
    )
    partners_sub = partners.add_subparsers(dest="partners_command", required=True)
    listing = partners_sub.add_parser(
        "list",
        help="every partner as its file defines it (read with the gateway's own loader and "
        "checks; no running gateway needed)",
    )
    listing.add_argument(
        "--format", choices=("table", "json"), default="table", help="output form (json: all)"
    )
    listing.set_defaults(func=cli_partners.cmd_list)
    show = partners_sub.add_parser(
        "show",
        help="one partner's whole definition: dated tiers and mapping, entry into force by "
        "mode, freshness, keys, formats, assumed fields",
    )
    show.add_argument("code", metavar="CODE", help="partner code, e.g. EU or SG")
    show.add_argument("--format", choices=("table", "json"), default="table", help="output form")
    show.set_defaults(func=cli_partners.cmd_show)
    reload = partners_sub.add_parser(
        "reload",
        help="reload partner definitions without a restart (as SIGHUP does); an invalid "
        "definition is refused and the ones in force stay",
    )
    _client_options(reload)
    reload.set_defaults(func=cmd_partners_reload)
    _reconcile_parser(partners_sub)
    cli_partners.programme_parsers(partners_sub, _client_options)
    cli_partners.lifecycle_parsers(partners_sub, _client_options)
    cli_partners.request_snapshot_parser(partners_sub, _client_options)

    cli_home.add_parser(sub)
    cli_facilitation.add_parser(sub)
    cli_outbox.add_parser(sub, _client_options)
    cli_keys.add_parser(sub, _client_options)
    cli_consent.add_parser(sub, _client_options)
    cli_report.add_parser(sub)
    cli_generate.add_parser(sub)  # after any other `facilitation` command: it joins them
    cli_doctor.add_parser(sub)
    cli_audit.add_parser(sub)
    cli_console.add_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="submit a signed partner message, then query it; --federation: home AEOs out to "
        "partners' own gateways, run here",
    )
    cli_demo.arguments(demo)
    _client_options(demo)
    demo.set_defaults(func=cli_demo.cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure("text", args.verbose)
    from gateway.bootstrap import ConfigurationError
    from gateway.domain.errors import GatewayError

    try:
        return int(args.func(args))
    except (
        SettingsError,
        cli_demo.DemoFailed,
        ConfigurationError,
        UsageError,
        cli_partners.DefinitionsUnreadable,
    ) as exc:
        print(f"aeo-gateway: {exc}", file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"aeo-gateway: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`... | head`): nothing more to say, and nothing to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a certificate or key file named on the command line
        print(f"aeo-gateway: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
