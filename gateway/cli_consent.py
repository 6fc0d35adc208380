"""`aeo-gateway consent grant|withdraw|list` (ConsentService on the running gateway) and
`aeo-gateway retention purge` (on the database, as the scheduled purge inside `serve` does).
See docs/data-protection.md."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

import grpc

from gateway.pb import consent_pb2, consent_pb2_grpc

STATES = {
    consent_pb2.CONSENT_STATE_GRANTED: "granted",
    consent_pb2.CONSENT_STATE_WITHDRAWN: "withdrawn",
}
COLUMNS = (("PARTNER", 9), ("OPERATOR", 20), ("STATE", 10), ("RECORDED", 28), ("ACTOR", 20))


def as_dict(c: consent_pb2.OperatorConsent) -> dict[str, Any]:
    return {
        "partner": c.partner,
        "identifier": c.identifier,
        "state": STATES.get(c.state, "unspecified"),
        "recorded_at": c.recorded_at.ToJsonString(),
        "actor": c.actor,
        "reason": c.reason,
    }


def _partner(text: str) -> str:
    code = text.upper()
    if not (code.isalpha() and 2 <= len(code) <= 3):
        raise argparse.ArgumentTypeError(f"{text!r} is not a partner code (e.g. EU)")
    return code


def _stub(args: argparse.Namespace) -> tuple[Any, consent_pb2_grpc.ConsentServiceStub]:
    from gateway.cli import _identity, _settings, _target
    from gateway.client import TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    channel = connect(_target(args, settings), identity)
    return channel, consent_pb2_grpc.ConsentServiceStub(channel)


def cmd_record(args: argparse.Namespace) -> int:
    from gateway.cli import UsageError, _rpc_error

    if not args.reason.strip():
        raise UsageError("--reason must say why (e.g. the reference of the operator's form)")
    state = (
        consent_pb2.CONSENT_STATE_GRANTED
        if args.consent_command == "grant"
        else consent_pb2.CONSENT_STATE_WITHDRAWN
    )
    request = consent_pb2.RecordOperatorConsentRequest(
        partner=f"partners/{args.partner}",
        enterprise_code=args.enterprise,
        state=state,
        actor=args.actor or "",
        reason=args.reason,
    )
    channel, stub = _stub(args)
    with channel:
        try:
            response = stub.RecordOperatorConsent(request, timeout=30)
        except grpc.RpcError as err:
            return _rpc_error(err)
    found = as_dict(response.consent)
    found["changed"] = response.changed
    found["queued_version"] = response.queued_version
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return 0
    what = f"consent {found['state']}: {found['identifier']} with {found['partner']}"
    if not response.changed:
        print(f"{what} (already so: recorded, nothing sent)")
    elif response.queued_version:
        print(f"{what}; version {response.queued_version} queued for {found['partner']}")
    else:
        print(f"{what}; nothing to send")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from gateway.cli import _rpc_error

    found: list[dict[str, Any]] = []
    token = ""
    channel, stub = _stub(args)
    with channel:
        try:
            while True:
                page = stub.ListOperatorConsents(
                    consent_pb2.ListOperatorConsentsRequest(
                        partner=f"partners/{args.partner}" if args.partner else "",
                        enterprise_code=args.enterprise or "",
                        history=args.history,
                        page_size=500,
                        page_token=token,
                    ),
                    timeout=30,
                )
                found.extend(as_dict(c) for c in page.consents)
                token = page.next_page_token
                if not token:
                    break
        except grpc.RpcError as err:
            return _rpc_error(err)
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return 0
    print("  ".join(name.ljust(width) for name, width in COLUMNS) + "  REASON")
    for c in found:
        cells = (c["partner"], c["identifier"], c["state"], c["recorded_at"], c["actor"])
        row = "  ".join(str(v).ljust(w) for v, (_, w) in zip(cells, COLUMNS, strict=True))
        print(f"{row}  {c['reason'] or '-'}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from adapters.store.retention import SqlRetention
    from gateway.app.retention import PurgeRetention
    from gateway.bootstrap import open_core
    from gateway.cli import _settings

    settings = _settings(args)
    core = open_core(settings)
    try:
        purged = PurgeRetention(SqlRetention(core.store.database), core.clock)(
            core.directory.current(), dry_run=args.dry_run
        )
    finally:
        core.store.database.close()
    rows = [
        {
            "partner": p.partner,
            "received": p.received,
            "sent": p.sent,
            "outcome_reports": p.outcome_reports,
        }
        for p in purged
    ]
    if args.format == "json":
        print(json.dumps({"dry_run": args.dry_run, "partners": rows}, indent=2))
        return 0
    if not rows:
        print("no partner has a retention ([data_protection] retention): nothing to purge")
        return 0
    verb = "would purge" if args.dry_run else "purged"
    for r in rows:
        print(
            f"{r['partner']}: {verb} {r['received']} received, {r['sent']} sent, "
            f"{r['outcome_reports']} outcome reports"
        )
    return 0


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    consent = sub.add_parser(
        "consent",
        help="home operators' consent to the exchange of their data with a partner that asks "
        "for it (the EU): grant, withdraw, list (asks the running gateway)",
    )
    consent_sub = consent.add_subparsers(dest="consent_command", required=True)
    for name, text in (
        ("grant", "record an operator's consent: its current state is sent to the partner"),
        (
            "withdraw",
            "record a withdrawal: its unsent changes are dropped and a consent-withdrawn "
            "record is sent to the partner",
        ),
    ):
        cmd = consent_sub.add_parser(name, help=text)
        cmd.add_argument("partner", type=_partner, metavar="PARTNER", help="e.g. EU")
        cmd.add_argument(
            "enterprise", metavar="ENTERPRISE", help="home enterprise code, e.g. 0123456781"
        )
        cmd.add_argument(
            "--reason", required=True, help="why, e.g. the reference of the operator's form"
        )
        cmd.add_argument("--actor", help="who records it (default: the certificate's subject)")
        cmd.add_argument("--format", choices=("text", "json"), default="text", help="output form")
        client_options(cmd)
        cmd.set_defaults(func=cmd_record)
    listing = consent_sub.add_parser(
        "list", help="each operator's current consent per partner (--history: every decision)"
    )
    listing.add_argument("--partner", type=_partner, help="one partner, e.g. EU (default: all)")
    listing.add_argument("--enterprise", help="one home enterprise code")
    listing.add_argument("--history", action="store_true", help="every decision, newest first")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output form")
    client_options(listing)
    listing.set_defaults(func=cmd_list)

    retention = sub.add_parser(
        "retention",
        help="raw message bytes past each partner's retention ([data_protection] retention)",
    )
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    purge = retention_sub.add_parser(
        "purge",
        help="empty the raw bytes of messages exchanged before each partner's retention "
        "(digests, sequences and ids stay; unsettled messages are never touched); on the "
        "database, as the scheduled purge in serve does",
    )
    purge.add_argument("--dry-run", action="store_true", help="only count what would be purged")
    purge.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    purge.set_defaults(func=cmd_purge)
