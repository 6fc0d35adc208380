"""`aeo-gateway import FILE... --partner CODE`: signed batches that arrived out of band, through
the use case a gRPC submission goes through (gateway/importer.py), with progress on a terminal
and a JSON report for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path


def cmd_import(args: argparse.Namespace) -> int:
    """Signed batches that arrived out of band, through the same use case as gRPC."""
    import getpass

    from google.protobuf.json_format import MessageToDict

    from gateway import protomap
    from gateway.bootstrap import open_core
    from gateway.cli import UsageError, _settings
    from gateway.importer import import_files, printable
    from gateway.pb import exchange_pb2

    settings = _settings(args)
    if args.receipts is not None and not args.receipts.is_dir():
        raise UsageError(f"--receipts {args.receipts} is not a folder; create it first")
    core = open_core(settings)
    if args.partner not in core.directory.current().partners:
        core.store.database.close()
        known = ", ".join(sorted(core.directory.current().partners))
        raise UsageError(f"no partner {args.partner!r} is registered (known: {known})")
    lifecycle = core.lifecycles.of(args.partner)
    if not lifecycle.active:  # issue 10: only an active partner's status messages are applied
        core.store.database.close()
        raise UsageError(
            f"partner {args.partner} is {lifecycle.state.value}: its status messages are applied "
            "only once it is active (aeo-gateway partners lifecycle)"
        )
    # Files are old by nature (a back-fill): issued_at may lie far in the past, not in the future.
    max_age = timedelta(days=args.max_age_days)
    submit = core.submitter(core.store.transactions, max_age=max_age)
    progress = sys.stderr.isatty() and len(args.files) > 1 and args.format == "text"
    refused = 0
    reports = []
    core.store.start()
    try:
        outcomes = import_files(
            args.files,
            args.partner,
            submit,
            core.directory.current,
            core.clock,
            args.wire_format or "",
            getpass.getuser(),
        )
        for i, outcome in enumerate(outcomes, 1):
            if progress:
                print(
                    f"\r[{i}/{len(args.files)}] {printable(Path(outcome.path.name))[:60]}",
                    end="",
                    file=sys.stderr,
                )
            report: dict[str, object] = {"file": printable(outcome.path)}
            if outcome.result is None:
                refused += 1
                reason = getattr(outcome.refusal, "reason", "file.unreadable")
                message = getattr(outcome.refusal, "message", str(outcome.refusal))
                report.update(refused=True, reason=reason, message=message)
            else:
                signed = protomap.signed_receipt(outcome.result.receipt)
                receipt = exchange_pb2.Receipt.FromString(signed.receipt)
                report.update(
                    refused=False,
                    duplicate=outcome.result.duplicate,
                    receipt=MessageToDict(receipt),
                )
                if args.receipts is not None:
                    # Named by message id: two files of one name in two folders stay apart.
                    target = args.receipts / f"{receipt.message_id}.receipt.pb"
                    target.write_bytes(signed.SerializeToString())
                    report["receipt_file"] = str(target)
            reports.append(report)
            if args.format == "text":
                if progress:
                    print("\r\033[K", end="", file=sys.stderr)
                print(_line(report, receipt if outcome.result else None))
    finally:
        core.store.stop()
    if args.format == "json":
        print(json.dumps(reports, indent=2))
    return 1 if refused else 0


def days(text: str) -> int:
    """A number of days from 0 to 36500 (argparse reports the ValueError in one line)."""
    days = int(text)
    if not 0 <= days <= 36_500:
        raise ValueError(text)
    return days


def _line(report: dict[str, object], receipt: object) -> str:
    from gateway.pb import exchange_pb2

    if not isinstance(receipt, exchange_pb2.Receipt):
        return f"{report['file']}: refused: {report['reason']}: {report['message']}"
    line = (
        f"{report['file']}: message {receipt.message_id} (sequence {receipt.sequence}): "
        f"{receipt.records_applied} of {receipt.records_received} records applied"
    )
    if report.get("duplicate"):
        line += "; received before, original receipt returned"
    for ignored in receipt.ignored_records:
        line += f"\n  not applied: {ignored.identifier} v{ignored.version}: {ignored.reason}"
    return line
