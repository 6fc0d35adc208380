"""aeo-gateway command line: serve, certs init, query, demo, migrate."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import grpc

from gateway.settings import Settings, SettingsError, describe, load

DEFAULT_CONFIG = Path("aeo-gateway.toml")


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
    gateway = build(settings)
    print(
        f"aeo-gateway listening on port {gateway.port}"
        f"{' (PLAINTEXT, insecure)' if settings.insecure_plaintext else ' (mutual TLS)'}",
        flush=True,
    )
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        if not stopped.is_set():
            stopped.set()
            logging.getLogger("aeo-gateway").info("signal %d: shutting down gracefully", signum)
            threading.Thread(target=gateway.stop, name="shutdown").start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    gateway.wait()
    return 0


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
    from adapters.store.dialects import from_url
    from adapters.store.sql_store import SqlStore

    store = SqlStore(from_url(_settings(args).database_url))
    applied = store.migrate()
    store.close()
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


def cmd_query(args: argparse.Namespace) -> int:
    from gateway.api.errors import error_info
    from gateway.client import RecognitionClient, TlsIdentity, connect
    from gateway.pb import recognition_pb2

    settings = _settings(args)
    identity = _identity(args, settings, "domestic")
    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        client = RecognitionClient(channel)
        try:
            answers = client.recognise_many(args.codes, as_of)
        except grpc.RpcError as err:
            info = error_info(err)
            print(
                f"error: {err.code().name} {info.reason if info else ''}: {err.details()}",
                file=sys.stderr,
            )
            return 1
    for a in answers:
        outcome = recognition_pb2.Outcome.Name(a.outcome).removeprefix("OUTCOME_")
        print(f"{a.declared_code}: {outcome} ({a.reason})")
        if a.administration:
            print(
                f"  administration {a.administration} {a.programme}; tier {a.tier or '-'}; "
                f"operator {a.operator_name or '-'}"
            )
        print(
            f"  treatment {a.treatment or '-'} under {a.grade_scheme or '-'}; "
            f"benefits {', '.join(a.benefits) or 'none'}"
        )
        if a.HasField("basis"):
            b = a.basis
            print(
                f"  basis message {b.message_id} received {b.received_at.ToJsonString()} "
                f"signed by {b.key_id} ({b.algorithm}); record version {b.record_version}"
            )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A partner (SG) submits a signed delta, then a domestic system asks about its operators."""
    from adapters.crypto.signatures import Signer
    from gateway.bootstrap import load_registry
    from gateway.client import AdminClient, PartnerClient, TlsIdentity, connect
    from gateway.domain.records import AeoRecord, RecordStatus, StatusEvent

    settings = _settings(args)
    _, entries = load_registry(settings)
    partner = entries[args.partner].partner
    key = partner.signing_keys[0]
    signer = Signer.from_file(
        settings.pki_dir / "partners" / partner.code / f"signing-{key.key_id}.key.pem",
        key.key_id,
        key.algorithm,
    )
    target = _target(args, settings)
    with connect(target, TlsIdentity.dev(settings.pki_dir, "admin")) as admin_channel:
        sequence = AdminClient(admin_channel).partner_state(partner.code).last_sequence + 1
    now = datetime.now(UTC)
    version = int(time.time() * 1000)
    digits = "0" * (12 if partner.code == "SG" else 10)
    tiers = sorted(partner.recognised_tiers) + [
        t for t in partner.tiers if t not in partner.recognised_tiers
    ]
    records = [
        AeoRecord(
            f"{partner.code}{digits[:-1]}1",
            "Demo Logistics Pte Ltd",
            "1 Harbour Road",
            RecordStatus.VALID,
            tiers[0],
            version,
            now - timedelta(days=1),
            StatusEvent.GRANTED,
        ),
        AeoRecord(
            f"{partner.code}{digits[:-1]}2",
            "Demo Trading Co",
            "2 Market Street",
            RecordStatus.SUSPENDED,
            tiers[0],
            version,
            now - timedelta(hours=1),
            StatusEvent.SUSPENDED,
        ),
        AeoRecord(
            f"{partner.code}{digits[:-1]}3",
            "Demo Basic Member",
            "3 Dock Lane",
            RecordStatus.VALID,
            tiers[-1],
            version,
            now - timedelta(days=1),
            StatusEvent.GRANTED,
        ),
    ]
    with connect(target, TlsIdentity.dev(settings.pki_dir, partner.code)) as channel:
        response = PartnerClient(channel, partner.code, signer).submit(sequence, records)
    from gateway.pb import exchange_pb2

    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(response.receipt.receipt)
    print(
        f"{partner.code} submitted message {receipt.message_id}: {receipt.records_applied} of "
        f"{receipt.records_received} records applied; receipt signed by "
        f"{response.receipt.key_id}"
    )
    args.codes = [r.identifier for r in records] + ["SG999999999999", "XX123"]
    args.as_of = None
    return cmd_query(args)


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="host:port of the gateway (default: from settings)")
    parser.add_argument("--ca", help="CA certificate that issued the gateway's certificate")
    parser.add_argument("--cert", help="client certificate (default: the development PKI's)")
    parser.add_argument("--key", help="client private key")


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

    migrate = sub.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=cmd_migrate)

    query = sub.add_parser("query", help="ask whether declared codes are recognised AEOs")
    query.add_argument("codes", nargs="+", metavar="CODE")
    query.add_argument("--as-of", help="ISO 8601 time of the declaration (default: now)")
    _client_options(query)
    query.set_defaults(func=cmd_query)

    demo = sub.add_parser("demo", help="submit a signed partner message, then query it")
    demo.add_argument("--partner", default="SG", help="partner to simulate (default SG)")
    _client_options(demo)
    demo.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from gateway.bootstrap import ConfigurationError

    try:
        return int(args.func(args))
    except (SettingsError, ConfigurationError) as exc:
        print(f"aeo-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
