"""`aeo-gateway outbox [list]` and `outbox redrive`: home AEO changes out to partners, as the
running gateway reports them (AdminService), and dead letters put back in their queue."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any, Literal

import grpc

from gateway.pb import admin_pb2, common_pb2

STATES = {
    "sending": admin_pb2.OUTBOUND_MESSAGE_STATE_SENDING,
    "settled": admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED,
    "dead": admin_pb2.OUTBOUND_MESSAGE_STATE_DEAD_LETTERED,
}
_STATE_NAMES = {v: k for k, v in STATES.items()}
#: The highest message sequence (a signed 64-bit number in the store).
MAX_SEQUENCE = 2**63 - 1
COLUMNS = (("MESSAGE", 26), ("STATE", 8), ("RECORDS", 7), ("ATTEMPTS", 8), ("QUEUED", 27))


_Moment = Literal["queued_at", "sealed_at", "next_attempt_at", "settled_at", "dead_lettered_at"]


def _when(message: admin_pb2.OutboundMessage, field: _Moment) -> str | None:
    return str(getattr(message, field).ToJsonString()) if message.HasField(field) else None


def as_dict(m: admin_pb2.OutboundMessage) -> dict[str, Any]:
    return {
        "name": m.name,
        "sequence": m.sequence,
        "state": _STATE_NAMES.get(m.state, "unspecified"),
        "records": m.records,
        "wire_format": common_pb2.WireFormat.Name(m.wire_format)
        .removeprefix("WIRE_FORMAT_")
        .lower(),
        "payload_sha256": m.payload_sha256.hex(),
        "queued_at": _when(m, "queued_at"),
        "sealed_at": _when(m, "sealed_at"),
        "attempts": m.attempts,
        "last_error": m.last_error,
        "next_attempt_at": _when(m, "next_attempt_at"),
        "settled_at": _when(m, "settled_at"),
        "dead_lettered_at": _when(m, "dead_lettered_at"),
        "receipt_key_id": m.receipt.signature.key_id if m.HasField("receipt") else None,
    }


def cmd_list(args: argparse.Namespace) -> int:
    from gateway.cli import _identity, _rpc_error, _settings, _target
    from gateway.client import AdminClient, TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    state = STATES[args.state] if args.state else admin_pb2.OUTBOUND_MESSAGE_STATE_UNSPECIFIED
    with connect(_target(args, settings), identity) as channel:
        try:
            found = [
                as_dict(m) for m in AdminClient(channel).outbound_messages(args.partner, state)
            ]
        except grpc.RpcError as err:
            return _rpc_error(err)
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return 0
    print("  ".join(name.ljust(width) for name, width in COLUMNS) + "  LAST ERROR")
    for m in found:
        cells = (m["name"], m["state"], str(m["records"]), str(m["attempts"]), m["queued_at"])
        row = "  ".join(str(c).ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True))
        print(f"{row}  {m['last_error'] or '-'}")
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from gateway.cli import _identity, _rpc_error, _settings, _target
    from gateway.client import AdminClient, TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        try:
            redriven = AdminClient(channel).redrive_outbound(
                args.redrive_partner, args.sequence or ()
            )
        except grpc.RpcError as err:
            return _rpc_error(err)
    if args.format == "json":
        print(json.dumps({"redriven": redriven}, indent=2))
    elif redriven:
        print(f"re-driven: {', '.join(redriven)}")
    else:
        print("no dead letters matched: nothing re-driven")
    return 0


def _partner(text: str) -> str:
    code = text.upper()
    if code != "-" and not (code.isalpha() and 2 <= len(code) <= 3):
        raise argparse.ArgumentTypeError(f"{text!r} is not a partner code (e.g. KR) or -")
    return code


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner", type=_partner, default="-", help="one partner, e.g. KR (default: all)"
    )
    parser.add_argument("--state", choices=tuple(STATES), help="only messages in this state")
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output form")


def _sequence(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_SEQUENCE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a message sequence (1 to {MAX_SEQUENCE})"
        )
    return value


def _given_before(parent: argparse.ArgumentParser, sub: argparse.ArgumentParser) -> None:
    """The subcommand's options that ``outbox`` also takes default to nothing, so one given
    before the subcommand (``outbox --target X list``) is not overwritten by its default."""
    shared = {a.dest for a in parent._actions if a.dest != "help"}
    for action in sub._actions:
        if action.dest in shared:
            action.default = argparse.SUPPRESS


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    outbox = sub.add_parser(
        "outbox",
        help="home AEO changes out to partners' gateways: messages and their delivery, "
        "re-drive of dead letters (asks the running gateway)",
    )
    _list_options(outbox)
    client_options(outbox)
    outbox.set_defaults(func=cmd_list)
    outbox_sub = outbox.add_subparsers(dest="outbox_command")
    listing = outbox_sub.add_parser(
        "list", help="messages to partners, newest first (the default command)"
    )
    _list_options(listing)
    client_options(listing)
    listing.set_defaults(func=cmd_list)
    _given_before(outbox, listing)
    redrive = outbox_sub.add_parser(
        "redrive",
        help="put a partner's dead letters back in its queue, with a new age window",
    )
    # Its own dest: --partner given before `redrive` is refused as missing, never taken as "-".
    redrive.add_argument(
        "--partner",
        dest="redrive_partner",
        type=_partner,
        required=True,
        help="e.g. KR, or - for all",
    )
    redrive.add_argument(
        "--sequence",
        type=_sequence,
        action="append",
        metavar="N",
        help="only this dead letter (repeatable, at most 1000; default: all of the partner's)",
    )
    redrive.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    client_options(redrive)
    redrive.set_defaults(func=cmd_redrive)
    _given_before(outbox, redrive)
