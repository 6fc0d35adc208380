"""`aeo-gateway demo`: a partner submits a signed delta to the running gateway, then a domestic
system asks about its operators. With ``--federation`` the demo runs the home gateway and
partners' own gateways here (gateway/federation.py): a home enterprise's certification and
downgrade reach every one of them, each receipt verified, and one partner's own AEO reaches
the home gateway."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from adapters.directory.files import Definitions
    from gateway.client import TlsIdentity
    from gateway.domain.codes import IdentifierScheme
    from gateway.domain.partners import HomeAdministration
    from gateway.federation import Federation, SigningKeyFile
    from gateway.pb import admin_pb2

#: The partners whose gateways the federation demo runs unless --partners says otherwise: one
#: per wire format (JWS, XML-DSig, native).
DEFAULT_PEERS = ("KR", "EU", "SG")
#: How long a partner's outbound message may take to settle before the demo gives up.
SETTLE_TIMEOUT_SECONDS = 30.0


class DemoFailed(Exception):
    """Something the demo waited for did not happen: one line says what."""


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner", default="SG", help="partner to simulate (default SG)")
    parser.add_argument(
        "--federation",
        action="store_true",
        help="run the home gateway and partners' own gateways here: a home AEO's "
        "certification and downgrade reach each of them with its receipt verified, and one "
        "partner's own AEO reaches home (no running gateway needed)",
    )
    parser.add_argument(
        "--partners",
        default=",".join(DEFAULT_PEERS),
        help=f"with --federation: partner gateways to run, comma-separated (default "
        f"{','.join(DEFAULT_PEERS)}); the first also sends one of its own AEOs home",
    )
    parser.add_argument(
        "--workspace",
        type=Path,
        help="with --federation: write the gateways' files and databases here and keep them "
        "(default: a temporary folder, removed afterwards)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output form of --federation (the partner demo prints text)",
    )


def cmd_demo(args: argparse.Namespace) -> int:
    if args.federation:
        return cmd_federation(args)
    return cmd_partner_demo(args)


def cmd_partner_demo(args: argparse.Namespace) -> int:
    """A partner submits a signed delta in its own wire format, then a domestic system asks
    about its operators."""
    from adapters.crypto.signatures import Signer
    from adapters.directory.files import read_definitions
    from adapters.wire.registry import codecs
    from gateway import protomap
    from gateway.cli import UsageError, _rpc_error, _settings, _target, cmd_query
    from gateway.client import AdminClient, PartnerClient, TlsIdentity, connect
    from gateway.domain.messages import OutboundBatch
    from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
    from gateway.pb import exchange_pb2

    settings = _settings(args)
    definitions = read_definitions(settings.home_file, settings.partners_dir)
    if args.partner not in definitions.partners:
        raise UsageError(f"no partner {args.partner!r} in {settings.partners_dir}")
    partner = definitions.partners[args.partner].partner
    codes = demo_codes(partner.identifiers)
    key = partner.signing_keys[0]
    signer = Signer.from_file(
        settings.pki_dir / "partners" / partner.code / f"signing-{key.key_id}.key.pem",
        key.key_id,
        key.algorithm,
    )
    target = _target(args, settings)
    try:
        with connect(target, TlsIdentity.dev(settings.pki_dir, "admin")) as admin_channel:
            sequence = AdminClient(admin_channel).partner_state(partner.code).last_sequence + 1
        now = datetime.now(UTC)
        version = int(time.time() * 1000)
        tiers = sorted(partner.recognised_tier_names) + [
            t for t in partner.tiers if t not in partner.recognised_tier_names
        ]
        records = (
            AeoRecord(
                codes[0],
                "Demo Logistics Ltd",
                "1 Harbour Road",
                RecordStatus.VALID,
                tiers[0],
                version,
                now - timedelta(days=1),
                StatusEvent.GRANTED,
            ),
            AeoRecord(
                codes[1],
                "Demo Trading Co",
                "2 Market Street",
                RecordStatus.SUSPENDED,
                tiers[0],
                version,
                now - timedelta(hours=1),
                StatusEvent.SUSPENDED,
            ),
            AeoRecord(
                codes[2],
                "Demo Basic Member",
                "3 Dock Lane",
                RecordStatus.VALID,
                tiers[-1],
                version,
                now - timedelta(days=1),
                StatusEvent.GRANTED,
            ),
        )
        batch = OutboundBatch(partner.code, sequence, now, BatchKind.DELTA, records)
        sealed = codecs()[partner.wire_formats[0]].seal(batch, signer)
        with connect(target, TlsIdentity.dev(settings.pki_dir, partner.code)) as channel:
            response = PartnerClient(channel, partner.code, signer).submit_envelope(
                protomap.signed_envelope(sealed)
            )
    except grpc.RpcError as err:
        return _rpc_error(err)
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(response.receipt.receipt)
    print(
        f"{partner.code} submitted message {receipt.message_id} ({sealed.wire_format}): "
        f"{receipt.records_applied} of {receipt.records_received} records applied; receipt "
        f"signed by {response.receipt.signature.key_id}"
    )
    args.codes = [*codes, "XX123"]
    args.as_of = None
    args.direction = "import"
    args.mode = None
    args.format = "text"
    return cmd_query(args)


def demo_codes(scheme: IdentifierScheme) -> list[str]:
    """Four codes of the scheme, from its first example: three to send, one never sent."""
    from gateway.cli import UsageError

    if not scheme.examples:
        raise UsageError("the partner's file has no identifiers.examples to make demo codes from")
    base = scheme.examples[0]
    codes = [c for c in (base[:-1] + d for d in "12349") if scheme.declared(c) == c]
    if len(codes) < 4:
        raise UsageError(f"cannot vary the example {base!r} into demo codes; give another")
    return codes[:4]


# --- the federation ------------------------------------------------------------------------


def cmd_federation(args: argparse.Namespace) -> int:
    from adapters.directory.files import read_definitions
    from gateway.cli import UsageError, _rpc_error, _settings
    from gateway.federation import write_federation

    settings = _settings(args)
    definitions = read_definitions(settings.home_file, settings.partners_dir)
    codes = list(dict.fromkeys(c.strip().upper() for c in args.partners.split(",") if c.strip()))
    unknown = [c for c in codes if c not in definitions.partners]
    if not codes or unknown:
        known = ", ".join(definitions.partners)
        raise UsageError(f"--partners: no partner {', '.join(unknown) or '(none given)'}; "
                         f"choose among {known}")  # fmt: skip
    if not args.verbose:
        # The gateways run in this process: their INFO lines would bury the demo's own.
        logging.getLogger().setLevel(logging.WARNING)
    keep = args.workspace is not None
    root = args.workspace or Path(tempfile.mkdtemp(prefix="aeo-federation-"))
    try:
        federation = write_federation(settings, root, codes)
        with _running(federation):
            report = _federate(federation, definitions.home)
    except grpc.RpcError as err:
        return _rpc_error(err)
    except DemoFailed as exc:
        print(f"aeo-gateway: demo: {exc}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    report["workspace"] = str(root) if keep else None
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(_text(report))
    return 0


@contextmanager
def _running(federation: Federation) -> Iterator[None]:
    """The home gateway and every peer, serving in this process until the block ends."""
    from gateway.bootstrap import build
    from gateway.federation import start_peer

    with ExitStack() as stack:
        home = build(federation.home)
        stack.callback(home.stop, 0)
        for peer in federation.peers.values():
            gateway = start_peer(peer)
            stack.callback(gateway.stop, 0)
        yield


def _federate(federation: Federation, home: HomeAdministration) -> dict[str, Any]:
    from gateway.client import TlsIdentity
    from gateway.federation import gateway_key, highest_tier

    home_pki = federation.home.pki_dir
    today = datetime.now(home.zone).date()
    scheme = max((s for s in home.grade_schemes if s.in_force <= today), key=lambda s: s.in_force)
    aeo_grade = next(g for g in scheme.grades if g in scheme.aeo_grades)
    enterprise = demo_codes(home.identifiers)[0]
    admin = TlsIdentity.dev(home_pki, "admin")
    registry = TlsIdentity.dev(home_pki, "registry")
    peer_keys = {code: gateway_key(p.settings()) for code, p in federation.peers.items()}

    def outward(grade: str, name: str) -> dict[str, Any]:
        before = {code: _last_sequence(federation.home_target, admin, code) for code in peer_keys}
        change = _record(federation.home_target, registry, enterprise, grade, name)
        partners = []
        for code, peer in federation.peers.items():
            message = _settled(federation.home_target, admin, code, before[code])
            answer = _recognise(peer.target, peer.identity("domestic"), enterprise)
            partners.append(
                {"partner": code, **_delivery(message, peer_keys[code]), "answer": answer}
            )
        return {**change, "enterprise": enterprise, "grade": grade, "partners": partners}

    report: dict[str, Any] = {
        "home": {"code": home.code, "address": federation.home.listen},
        "peers": {code: f"127.0.0.1:{p.port}" for code, p in federation.peers.items()},
    }
    # A partner that asks for operators' consent (the EU) is sent the enterprise only once it
    # consented (docs/data-protection.md): the credit system records that first.
    report["consented"] = _consent(federation, registry, enterprise)
    report["certification"] = outward(aeo_grade, "Federation Demo Manufacturing Co")
    report["downgrade"] = outward(scheme.regular, "")

    # The other way once: the first partner's registry certifies one of its own enterprises;
    # its gateway delivers to the home gateway, whose Recognition then answers for it.
    code, peer = next(iter(federation.peers.items()))
    partner = _definitions(federation).partners[code].partner
    theirs = demo_codes(partner.identifiers)[1]
    before = _last_sequence(peer.target, peer.identity("admin"), home.code)
    change = _record(
        peer.target, peer.identity("registry"), theirs, highest_tier(partner), "Federation Demo Ltd"
    )
    message = _settled(peer.target, peer.identity("admin"), home.code, before)
    report["reverse"] = {
        **change,
        "partner": code,
        "enterprise": theirs,
        "grade": highest_tier(partner),
        **_delivery(message, gateway_key(federation.home)),
        "answer": _recognise(federation.home_target, TlsIdentity.dev(home_pki, "domestic"), theirs),
    }
    return report


def _consent(federation: Federation, registry: TlsIdentity, enterprise: str) -> list[str]:
    """Records ``enterprise``'s consent with every peer that asks for it; their codes."""
    from gateway.client import connect
    from gateway.pb import consent_pb2, consent_pb2_grpc

    partners = _definitions(federation).partners
    asking = [c for c in federation.peers if partners[c].partner.data_protection.consent_required]
    with connect(federation.home_target, registry) as channel:
        stub = consent_pb2_grpc.ConsentServiceStub(channel)
        for code in asking:
            stub.RecordOperatorConsent(
                consent_pb2.RecordOperatorConsentRequest(
                    partner=f"partners/{code}",
                    enterprise_code=enterprise,
                    state=consent_pb2.CONSENT_STATE_GRANTED,
                    reason="federation demo: the enterprise consented",
                ),
                timeout=10,
            )
    return asking


def _definitions(federation: Federation) -> Definitions:
    from adapters.directory.files import read_definitions

    return read_definitions(federation.home.home_file, federation.home.partners_dir)


def _record(target: str, identity: TlsIdentity, code: str, grade: str, name: str) -> dict[str, Any]:
    from gateway.federation import record_grade_change

    response = record_grade_change(target, identity, code, grade, name)
    return {
        "grade_scheme": response.grade_scheme,
        "aeo": response.aeo,
        "queued_for": [n.removeprefix("partners/") for n in response.queued_for],
    }


def _settled(
    target: str, identity: TlsIdentity, partner: str, after: int
) -> admin_pb2.OutboundMessage:
    from gateway.federation import NotSettled, wait_settled

    try:
        return wait_settled(target, identity, partner, after, SETTLE_TIMEOUT_SECONDS)
    except NotSettled as exc:
        raise DemoFailed(str(exc)) from exc


def _delivery(message: admin_pb2.OutboundMessage, key: SigningKeyFile) -> dict[str, Any]:
    """What the settled message shows, its receipt checked again here with the receiving
    gateway's published key."""
    from gateway.federation import ReceiptRefused, settled_receipt
    from gateway.pb import common_pb2

    try:
        settled_receipt(message, key)
    except ReceiptRefused as exc:
        raise DemoFailed(f"message {message.name}: {exc}") from exc
    latency = message.settled_at.ToMicroseconds() - message.queued_at.ToMicroseconds()
    wire_format = common_pb2.WireFormat.Name(message.wire_format).removeprefix("WIRE_FORMAT_")
    return {
        "wire_format": wire_format.lower(),
        "sequence": message.sequence,
        "receipt_key_id": message.receipt.signature.key_id,
        "receipt_verified": True,
        "latency_ms": round(latency / 1000, 1),
    }


def _last_sequence(target: str, identity: TlsIdentity, partner: str) -> int:
    from gateway.federation import last_sequence

    return last_sequence(target, identity, partner)


def _recognise(target: str, identity: TlsIdentity, code: str) -> dict[str, Any]:
    from gateway.client import RecognitionClient, connect
    from gateway.pb import recognition_pb2

    with connect(target, identity) as channel:
        answer = RecognitionClient(channel).recognise(code)
    return {
        "outcome": recognition_pb2.RecognitionOutcome.Name(answer.outcome).removeprefix(
            "RECOGNITION_OUTCOME_"
        ),
        "reason": answer.reason,
        "administration": answer.administration,
        "tier": answer.tier,
        "treatment": answer.treatment,
    }


def _text(report: dict[str, Any]) -> str:
    """The report at most 100 columns wide."""
    home = report["home"]
    peers = ", ".join(f"{c} {a}" for c, a in report["peers"].items())
    lines = [
        f"Home {home['code']} gateway on {home['address']}",
        *textwrap.wrap(f"Partner gateways: {peers}", 100, subsequent_indent="  "),
    ]
    steps: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("certification", lambda s: f"certifies {s['enterprise']} as {s['grade']!r}"),
        ("downgrade", lambda s: f"downgrades {s['enterprise']} to {s['grade']!r}"),
    ]
    for key, says in steps:
        step = report[key]
        queued = ", ".join(step["queued_for"]) or "no partner"
        lines += ["", f"{home['code']} {says(step)} ({step['grade_scheme']}); queued for {queued}"]
        for p in step["partners"]:
            lines.append(
                f"  {p['partner']:<3} {p['wire_format']:<8} seq {p['sequence']:<3} "
                f"receipt by {p['receipt_key_id']}, receipt verified, "
                f"{p['latency_ms']:.0f} ms after commit"
            )
            lines.append(f"      {p['partner']} answers {_answer(p['answer'])}")
    r = report["reverse"]
    lines += [
        "",
        f"{r['partner']} certifies {r['enterprise']} as {r['grade']!r} ({r['grade_scheme']}) "
        f"in its own registry",
        f"  {home['code']:<3} {r['wire_format']:<8} seq {r['sequence']:<3} "
        f"receipt by {r['receipt_key_id']}, receipt verified, "
        f"{r['latency_ms']:.0f} ms after commit",
        f"      {home['code']} answers {_answer(r['answer'])}",
    ]
    if report["workspace"]:
        lines += ["", f"files and databases kept in {report['workspace']}"]
    return "\n".join(lines)


def _answer(a: dict[str, Any]) -> str:
    basis = f"{a['administration']} tier {a['tier'] or '-'}, treatment {a['treatment'] or '-'}"
    return f"{a['outcome']} ({a['reason']}); {basis}"
