"""`aeo-gateway audit verify|list|export|verify-bundle|public-key`: the tamper-evident audit
log (docs/audit.md).

verify, list, export and public-key read the store and keys the settings name, directly (no
running gateway needed; AuditService offers the same over gRPC). verify-bundle needs no
settings, database or network at all: only the bundle and the gateway's public key.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.domain.audit import AuditKind

if TYPE_CHECKING:
    from gateway.bootstrap import Core
    from gateway.domain.audit import AuditEntry

#: `audit list --kind` choices: the domain's kinds, so a kind added there is never refused here.
KIND_NAMES = tuple(kind.value for kind in AuditKind)
#: Kinds whose detail holds the call's outcome (`status`).
_CALL_KINDS = (AuditKind.ADMIN_ACTION, AuditKind.PARTNER_CALL)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser(
        "audit",
        help="the tamper-evident audit log: verify its hash chain, list it, export and verify "
        "a message's evidence bundle",
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = audit_sub.add_parser(
        "verify",
        help="walk the whole chain in the store, recompute every hash, check every checkpoint "
        "signature; name the first broken entry (exit 1)",
    )
    verify.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    verify.add_argument(
        "--public-key",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="an earlier gateway signing key (after a rotation) that checkpoints may be signed "
        "with; the current one is always used (repeatable)",
    )
    verify.set_defaults(func=cmd_verify)

    listing = audit_sub.add_parser("list", help="audit entries in chain order, filtered")
    listing.add_argument("--partner", default="", help="only entries about this partner")
    listing.add_argument("--kind", choices=KIND_NAMES, help="only entries of this kind")
    listing.add_argument("--since", help="only entries at or after this ISO 8601 time")
    listing.add_argument("--until", help="only entries before this ISO 8601 time")
    listing.add_argument(
        "--limit", type=int, default=0, help="at most this many entries (default: all)"
    )
    listing.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    listing.set_defaults(func=cmd_list)

    export = audit_sub.add_parser(
        "export",
        help="write the evidence bundle of a received or sent message (raw bytes, signature, "
        "signer key, receipt, chain proof up to a signed checkpoint)",
    )
    export.add_argument(
        "message_id",
        metavar="MESSAGE_ID",
        help="the message id, e.g. KR-7-1a2b3c4d5e6f7a8b (received) or out-KR-3-... (sent): "
        "see `audit list`",
    )
    export.add_argument(
        "--out", type=Path, help="bundle file to write (default: evidence-MESSAGE_ID.zip)"
    )
    export.set_defaults(func=cmd_export)

    bundle = audit_sub.add_parser(
        "verify-bundle",
        help="verify an evidence bundle offline: needs only the bundle and the gateway's "
        "public key (no settings, database or network)",
    )
    bundle.add_argument("bundle", type=Path, metavar="BUNDLE.zip")
    bundle.add_argument(
        "--public-key", type=Path, required=True, metavar="PEM", help="the gateway's public key"
    )
    bundle.add_argument("--quiet", action="store_true", help="print only the verdict")
    bundle.set_defaults(func=cmd_verify_bundle)

    public = audit_sub.add_parser(
        "public-key",
        help="print (or write) the gateway's public signing key, PEM: what a third party "
        "verifies checkpoints and bundles with",
    )
    public.add_argument("--out", type=Path, help="file to write instead of printing")
    public.add_argument(
        "--key-id",
        help="a key the gateway signed with before a rotation (default: the key in force; "
        "a bundle's checkpoint.json names the key that signed it)",
    )
    public.set_defaults(func=cmd_public_key)


def _core(args: argparse.Namespace) -> Core:
    from gateway.bootstrap import open_core
    from gateway.cli import _settings

    return open_core(_settings(args))


def _time(option: str, text: str | None) -> datetime | None:
    from gateway.cli import UsageError

    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not an ISO 8601 time; write e.g. 2026-11-01T09:30:00+08:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _progress(enabled: bool) -> Callable[[int, int], None] | None:
    if not enabled:
        return None

    def show(done: int, total: int) -> None:
        print(f"\rverified {done} of {total} entries", end="", file=sys.stderr, flush=True)

    return show


def cmd_verify(args: argparse.Namespace) -> int:
    from adapters.crypto.audit_keys import load_public_keys
    from gateway.cli import UsageError

    try:
        earlier = load_public_keys(args.public_key)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--public-key: {exc}; give a PEM public key file") from exc
    core = _core(args)
    try:
        progress = sys.stderr.isatty() and args.format == "text"
        verdict = core.audit_verifier(earlier)(_progress(progress))
        if progress:
            print(file=sys.stderr)
    finally:
        core.store.database.close()
    problem = verdict.problem
    if args.format == "json":
        print(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "entries": verdict.entries,
                    "checkpoints": verdict.checkpoints,
                    "head_position": verdict.head_position,
                    "broken_position": problem.position if problem else None,
                    "breach": problem.breach.value if problem else None,
                    "message": problem.message if problem else None,
                },
                indent=2,
            )
        )
    elif problem is None:
        print(
            f"audit log intact: {verdict.entries} entries, {verdict.checkpoints} signed "
            f"checkpoints, head at entry {verdict.head_position}"
        )
    else:
        print(
            f"aeo-gateway: audit log BROKEN at entry {problem.position} "
            f"({problem.breach.value}): {problem.message}",
            file=sys.stderr,
        )
    return 0 if problem is None else 1


def entry_dict(e: AuditEntry) -> dict[str, Any]:
    v = e.event
    return {
        "position": e.position,
        "recorded_at": v.at.isoformat(),
        "kind": v.kind.value,
        "partner": v.partner,
        "actor_subject": v.actor_subject,
        "actor_fingerprint": v.actor_fingerprint,
        "subject": v.subject,
        "sequence": v.sequence,
        "digest": v.digest,
        "key_id": v.key_id,
        "receipt_digest": v.receipt_digest,
        "detail": dict(v.detail),
        "prev_hash": e.prev_hash,
        "entry_hash": e.entry_hash,
    }


def cmd_list(args: argparse.Namespace) -> int:
    from gateway.app.audit_log import AuditFilter, pages
    from gateway.cli import UsageError
    from gateway.domain.audit import KINDS

    since, until = _time("--since", args.since), _time("--until", args.until)
    if since is not None and until is not None and until < since:
        raise UsageError("--until is before --since; swap them")
    if args.limit < 0:
        raise UsageError("--limit must not be negative")
    where = AuditFilter(args.partner, KINDS[args.kind] if args.kind else None, since, until)
    core = _core(args)
    found: list[AuditEntry] = []
    try:
        for page in pages(core.audit_store, where, 500):
            found.extend(page)
            if args.limit and len(found) >= args.limit:
                found = found[: args.limit]
                break
    finally:
        core.store.database.close()
    if args.format == "json":
        print(json.dumps([entry_dict(e) for e in found], indent=2))
        return 0
    for e in found:
        v = e.event
        who = v.actor_subject or "-"
        outcome = v.detail.get("status", "") if v.kind in _CALL_KINDS else ""
        print(
            f"{e.position:>8} {v.at.isoformat(timespec='seconds')} {v.kind.value:<23} "
            f"{v.partner or '-':<4} {v.subject} {outcome} by {who} {e.entry_hash[:16]}"
        )
    if not found:
        print("no audit entries match", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gateway.cli import UsageError
    from gateway.domain.errors import AuditMessageUnknown

    out: Path = args.out or Path(f"evidence-{args.message_id}.zip")
    core = _core(args)
    try:
        bundle = core.evidence_exporter()(args.message_id)
    except AuditMessageUnknown as exc:
        raise UsageError(f"{exc.message}; find message ids with `aeo-gateway audit list`") from exc
    finally:
        core.store.database.close()
    try:
        out.write_bytes(bundle)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(
        f"wrote {out} ({len(bundle)} bytes); verify it offline with: aeo-gateway audit "
        f"verify-bundle {out} --public-key gateway.pub.pem"
    )
    return 0


def cmd_verify_bundle(args: argparse.Namespace) -> int:
    from adapters.crypto import verify_bundle

    command = [str(args.bundle), "--public-key", str(args.public_key)]
    return verify_bundle.main([*command, "--quiet"] if args.quiet else command)


def cmd_public_key(args: argparse.Namespace) -> int:
    from adapters.crypto.audit_keys import public_pem
    from gateway.cli import UsageError
    from gateway.domain.signing import pinned

    core = _core(args)
    try:
        keys = core.gateway_public_keys()
        in_force = pinned(core.signer).key_id
    finally:
        core.store.database.close()
    key_id = args.key_id or in_force
    if key_id not in keys:
        raise UsageError(
            f"the gateway has signed with no key {key_id!r}; its keys are "
            f"{', '.join(sorted(keys))} ({in_force} in force)"
        )
    pem = public_pem(keys[key_id])
    if args.out:
        try:
            args.out.write_bytes(pem)
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"wrote {args.out} ({key_id})")
    else:
        sys.stdout.write(pem.decode())
    return 0
