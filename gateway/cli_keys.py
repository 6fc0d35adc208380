"""`aeo-gateway keys list|add|retire|rotate-gateway` (KeyManagementService of the running
gateway) and `aeo-gateway certs rotate-tls` (a new development TLS server certificate, picked up
by the running gateway at its next handshake)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from gateway.pb import common_pb2, exchange_pb2, keys_pb2, keys_pb2_grpc

ALGORITHMS = {
    "ed25519": common_pb2.SIGNATURE_ALGORITHM_ED25519,
    "ecdsa-p256-sha256": common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256,
    "rsa-pss-sha256": common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256,
    "rsa-pkcs1-sha256": common_pb2.SIGNATURE_ALGORITHM_RSA_PKCS1_SHA256,
}
_ALGORITHM_NAMES = {v: k for k, v in ALGORITHMS.items()}
_SOURCES = {
    keys_pb2.KEY_SOURCE_FILE: "file",
    keys_pb2.KEY_SOURCE_ADMIN: "admin",
    keys_pb2.KEY_SOURCE_ANNOUNCEMENT: "announcement",
}
_OUTCOMES = {
    keys_pb2.ANNOUNCEMENT_OUTCOME_DELIVERED: "delivered",
    keys_pb2.ANNOUNCEMENT_OUTCOME_TO_FORWARD: "to forward",
    keys_pb2.ANNOUNCEMENT_OUTCOME_FAILED: "failed",
}


def _partner(text: str) -> str:
    code = text.upper()
    if not (code.isalpha() and 2 <= len(code) <= 3):
        raise argparse.ArgumentTypeError(f"{text!r} is not a partner code (e.g. SG)")
    return code


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2027-01-01T00:00:00Z)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _when(message: Any, field: str) -> str | None:
    return str(getattr(message, field).ToJsonString()) if message.HasField(field) else None


def as_dict(key: keys_pb2.PartnerSigningKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "algorithm": _ALGORITHM_NAMES.get(key.algorithm, "unspecified"),
        "not_before": _when(key, "not_before"),
        "not_after": _when(key, "not_after"),
        "source": _SOURCES.get(key.source, "unspecified"),
    }


def _call(
    args: argparse.Namespace, call: Callable[[keys_pb2_grpc.KeyManagementServiceStub], Any]
) -> Any:
    from gateway.cli import _identity, _settings, _target
    from gateway.client import TlsIdentity, connect

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    with connect(_target(args, settings), identity) as channel:
        return call(keys_pb2_grpc.KeyManagementServiceStub(channel))


def cmd_list(args: argparse.Namespace) -> int:
    from gateway.cli import _rpc_error

    request = keys_pb2.ListPartnerSigningKeysRequest(parent=f"partners/{args.partner}")
    try:
        answer = _call(args, lambda stub: stub.ListPartnerSigningKeys(request, timeout=30))
    except grpc.RpcError as err:
        return _rpc_error(err)
    found = [as_dict(k) for k in answer.keys]
    if args.format == "json":
        print(json.dumps(found, indent=2))
        return 0
    print(f"{'KEY ID':24}  {'ALGORITHM':18}  {'NOT BEFORE':22}  {'NOT AFTER':22}  SOURCE")
    for k in found:
        print(
            f"{k['key_id']:24}  {k['algorithm']:18}  {k['not_before'] or '-':22}  "
            f"{k['not_after'] or '-':22}  {k['source']}"
        )
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from gateway import protomap
    from gateway.cli import UsageError, _rpc_error

    try:
        pem = Path(args.public_key).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the public key {args.public_key}: {exc}; give a PEM public key file"
        ) from exc
    key = keys_pb2.PartnerSigningKey(
        key_id=args.key_id, algorithm=ALGORITHMS[args.algorithm], public_key_pem=pem
    )
    if args.not_before:
        protomap.set_timestamp(key.not_before, args.not_before)
    if args.not_after:
        protomap.set_timestamp(key.not_after, args.not_after)
    request = keys_pb2.AddPartnerSigningKeyRequest(parent=f"partners/{args.partner}", key=key)
    try:
        answer = _call(args, lambda stub: stub.AddPartnerSigningKey(request, timeout=30))
    except grpc.RpcError as err:
        return _rpc_error(err)
    added = as_dict(answer.key)
    if args.format == "json":
        print(json.dumps(added, indent=2))
    else:
        print(
            f"{args.partner}: key {added['key_id']} ({added['algorithm']}) registered, valid "
            f"from {added['not_before'] or 'now'} until {added['not_after'] or 'retired'}"
        )
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    from gateway import protomap
    from gateway.cli import _rpc_error

    request = keys_pb2.RetirePartnerSigningKeyRequest(
        parent=f"partners/{args.partner}", key_id=args.key_id
    )
    if args.at:
        protomap.set_timestamp(request.retire_at, args.at)
    try:
        answer = _call(args, lambda stub: stub.RetirePartnerSigningKey(request, timeout=30))
    except grpc.RpcError as err:
        return _rpc_error(err)
    retired = as_dict(answer.key)
    if args.format == "json":
        print(json.dumps(retired, indent=2))
    else:
        print(f"{args.partner}: key {retired['key_id']} valid until {retired['not_after']}")
    return 0


def cmd_rotate_gateway(args: argparse.Namespace) -> int:
    from gateway.cli import _rpc_error

    request = keys_pb2.RotateGatewaySigningKeyRequest(
        key_id=args.key_id,
        algorithm=ALGORITHMS[args.algorithm]
        if args.algorithm
        else common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED,
        key_file=str(Path(args.key_file).resolve()) if args.key_file else "",
    )
    try:
        answer = _call(args, lambda stub: stub.RotateGatewaySigningKey(request, timeout=120))
    except grpc.RpcError as err:
        return _rpc_error(err)
    forwarded = _write_announcements(args.announcements_dir, answer)
    result = {
        "previous_key_id": answer.previous_key_id,
        "key_id": answer.key_id,
        "algorithm": _ALGORITHM_NAMES.get(answer.algorithm, "unspecified"),
        "public_key_pem": answer.public_key_pem,
        "announcements": [
            {
                "partner": a.partner.removeprefix("partners/"),
                "outcome": _OUTCOMES.get(a.outcome, "unspecified"),
                "detail": a.detail,
                "file": forwarded.get(a.partner),
            }
            for a in answer.announcements
        ],
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    print(f"gateway signing key {answer.previous_key_id} -> {answer.key_id} (in force now)")
    for a in result["announcements"]:
        line = f"  {a['partner']}: {a['outcome']}"
        if a["detail"]:
            line += f" ({a['detail']})"
        if a["file"]:
            line += f"; forward {a['file']}"
        print(line)
    return 0


def _write_announcements(
    folder: Path | None, answer: keys_pb2.RotateGatewaySigningKeyResponse
) -> dict[str, str]:
    """Each undelivered signed announcement as a file (a serialized SignedKeyAnnouncement) for
    the administrator to forward; returns partner -> file."""
    if folder is None:
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for a in answer.announcements:
        if a.outcome == keys_pb2.ANNOUNCEMENT_OUTCOME_DELIVERED:
            continue
        code = a.partner.removeprefix("partners/")
        path = folder / f"announce-{answer.key_id}-to-{code}.binpb"
        announcement: exchange_pb2.SignedKeyAnnouncement = a.announcement
        path.write_bytes(announcement.SerializeToString(deterministic=True))
        written[a.partner] = str(path)
    return written


def cmd_rotate_tls(args: argparse.Namespace) -> int:
    """A new TLS server certificate from the development home CA, written over the gateway's
    tls_cert and tls_key (key first, each file replaced atomically)."""
    from adapters import pki
    from gateway.cli import UsageError, _settings

    settings = _settings(args)
    ca_key = settings.pki_dir / "ca.key.pem"
    try:
        home = pki.load(settings.home_ca, ca_key)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read the development CA ({settings.home_ca}, {ca_key}): {exc}; certs "
            "rotate-tls is for the development PKI: with a real CA, replace the tls_cert and "
            "tls_key files (the gateway reads them again at the next connection)"
        ) from exc
    issued = pki.issue(
        home,
        "aeo-gateway",
        _organisation(home.cert),
        server=True,
        dns=["localhost", *args.dns],
        ips=["127.0.0.1", "::1", *args.ip],
    )
    _replace(settings.tls_key, pki.key_pem(issued.key), private=True)
    _replace(settings.tls_cert, pki.cert_pem(issued.cert))
    print(
        f"wrote {settings.tls_cert} (serial {issued.cert.serial_number:x}, valid until "
        f"{issued.cert.not_valid_after_utc.date()}): a running gateway serves it to every new "
        "connection"
    )
    return 0


def _organisation(cert: Any) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(names[0].value) if names else "aeo-gateway"


def _replace(path: Path, data: bytes, private: bool = False) -> None:
    temporary = path.with_name(path.name + ".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Callable[[argparse.ArgumentParser], None],
) -> None:
    keys = sub.add_parser(
        "keys",
        help="message-signing keys: partners' keys (list, add, retire) and the gateway's own "
        "(rotate-gateway), on the running gateway",
    )
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    listing = keys_sub.add_parser("list", help="a partner's signing keys and their windows")
    listing.add_argument("partner", type=_partner, help="e.g. SG")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    client_options(listing)
    listing.set_defaults(func=cmd_list)

    add = keys_sub.add_parser(
        "add", help="register a partner's new signing key (its overlap window with the old one)"
    )
    add.add_argument("partner", type=_partner, help="e.g. SG")
    add.add_argument("key_id", help="the key id the partner's signatures will name")
    add.add_argument("public_key", help="PEM public key file")
    add.add_argument("--algorithm", choices=tuple(ALGORITHMS), required=True)
    add.add_argument("--not-before", type=_moment, help="valid from (ISO 8601; default: now)")
    add.add_argument("--not-after", type=_moment, help="valid until (default: until retired)")
    add.add_argument("--format", choices=("text", "json"), default="text")
    client_options(add)
    add.set_defaults(func=cmd_add)

    retire = keys_sub.add_parser(
        "retire", help="end a partner key's validity (refused if no valid key would remain)"
    )
    retire.add_argument("partner", type=_partner, help="e.g. SG")
    retire.add_argument("key_id", help="the key to retire")
    retire.add_argument("--at", type=_moment, help="when it stops being valid (default: now)")
    retire.add_argument("--format", choices=("text", "json"), default="text")
    client_options(retire)
    retire.set_defaults(func=cmd_retire)

    rotate = keys_sub.add_parser(
        "rotate-gateway",
        help="put a new gateway signing key in force without a restart, announced to every "
        "partner signed with the old key",
    )
    rotate.add_argument("key_id", help="the new key's id (never used before)")
    rotate.add_argument("--algorithm", choices=tuple(ALGORITHMS), help="default: the current")
    rotate.add_argument(
        "--key-file", help="an existing PEM private key on the gateway's host (default: generate)"
    )
    rotate.add_argument(
        "--announcements-dir",
        type=Path,
        help="write each announcement not delivered (no endpoint, or failed) here to forward",
    )
    rotate.add_argument("--format", choices=("text", "json"), default="text")
    client_options(rotate)
    rotate.set_defaults(func=cmd_rotate_gateway)


def add_certs_parser(certs_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rotate_tls = certs_sub.add_parser(
        "rotate-tls",
        help="issue a new development TLS server certificate over tls_cert and tls_key; the "
        "running gateway serves it to new connections without a restart",
    )
    rotate_tls.add_argument("--dns", action="append", default=[], help="extra DNS name")
    rotate_tls.add_argument("--ip", action="append", default=[], help="extra IP address")
    rotate_tls.set_defaults(func=cmd_rotate_tls)
