"""Use cases of the tamper-evident audit log (docs/audit.md): record, checkpoint, verify,
list, export evidence.

Entries about a stored thing are appended in the transaction that stores it, through the unit
of work (``uow.audit.append(AuditEvent(...))``) or an adapter's own transaction; admin actions
are recorded by the gRPC interceptor through ``RecordAdminAction``, once the call has answered.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.domain.audit import (
    AuditEntry,
    AuditEvent,
    AuditKind,
    ChainWalk,
    Checkpoint,
    Verdict,
    checkpoint_due,
    checkpoint_payload,
    entry_document,
    sha256_hex,
)
from gateway.domain.errors import AuditMessageUnknown
from gateway.domain.ports import Clock, Signer
from gateway.domain.signing import pinned

#: Entries read per statement while walking the chain.
WALK_PAGE = 2000
BUNDLE_FORMAT = "aeo-gateway-evidence-bundle"
#: Method name prefixes of read-only RPCs: not recorded as admin actions.
READ_ONLY_PREFIXES = ("Get", "List", "Watch", "Verify", "Export", "BatchGet")


class AuditLog(Protocol):
    """The unit of work's audit repository: entries chained and written with the transaction."""

    def append(self, event: AuditEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class AuditFilter:
    partner: str = ""
    kind: AuditKind | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditStore(Protocol):
    def append(self, events: Sequence[AuditEvent]) -> list[AuditEntry]:
        """Chains and writes ``events`` in a transaction of their own."""
        ...

    def head(self) -> tuple[int, str]:
        """The last position and its hash (0 and the genesis hash for an empty log)."""
        ...

    def entries(self, after: int, limit: int) -> list[AuditEntry]:
        """Up to ``limit`` entries above position ``after``, in position order."""
        ...

    def search(self, where: AuditFilter, after: int, limit: int) -> list[AuditEntry]: ...

    def about(self, subject: str) -> list[AuditEntry]:
        """Every entry whose subject is ``subject`` (a message id), in position order."""
        ...

    def checkpoints(self) -> list[Checkpoint]: ...

    def last_checkpoint(self) -> Checkpoint | None: ...

    def checkpoint_from(self, position: int) -> Checkpoint | None:
        """The first checkpoint at or after ``position``."""
        ...

    def add_checkpoint(self, checkpoint: Checkpoint) -> bool:
        """Stores it; False when one at that position exists already (another replica)."""
        ...


class AuditCheckpoints:
    """Signs the chain's head with the gateway's key: when due, or on demand."""

    def __init__(
        self,
        store: AuditStore,
        signer: Signer,
        clock: Clock,
        every_entries: int = 1000,
        every_seconds: float = 300.0,
    ) -> None:
        self._store = store
        self._signer = signer
        self._clock = clock
        self._every = every_entries
        self._after = every_seconds

    def due(self) -> Checkpoint | None:
        """Writes a checkpoint if ``every_entries`` entries or ``every_seconds`` passed with
        new entries since the last one; returns it."""
        position, _ = self._store.head()
        last = self._store.last_checkpoint()
        now = self._clock.now()
        if not checkpoint_due(
            position,
            last.position if last else 0,
            last.signed_at if last else None,
            now,
            self._every,
            self._after,
        ):
            return None
        return self.now()

    def now(self) -> Checkpoint | None:
        """A checkpoint at the head (None for an empty log, or the one already there)."""
        position, head_hash = self._store.head()
        if position == 0:
            return None
        last = self._store.last_checkpoint()
        if last is not None and last.position >= position:
            return last
        signer = pinned(self._signer)  # one key for the id named and the signature
        draft = Checkpoint(position, head_hash, self._clock.now(), signer.key_id, signer.algorithm)
        signed = Checkpoint(
            draft.position,
            draft.head_hash,
            draft.signed_at,
            draft.key_id,
            draft.algorithm,
            signer.sign(checkpoint_payload(draft)),
        )
        self._store.add_checkpoint(signed)
        return signed


class VerifyAuditLog:
    """Walks the whole chain, recomputing every hash and checking every checkpoint."""

    def __init__(self, store: AuditStore, signature_valid: Callable[[Checkpoint], bool]) -> None:
        self._store = store
        self._valid = signature_valid

    def __call__(self, progress: Callable[[int, int], None] | None = None) -> Verdict:
        checkpoints = self._store.checkpoints()
        head, _ = self._store.head()
        walk = ChainWalk(c.position for c in checkpoints)
        after = 0
        while True:
            page = self._store.entries(after, WALK_PAGE)
            for entry in page:
                walk.feed(entry)
            if progress is not None:
                progress(walk.entries, head)
            if len(page) < WALK_PAGE or page[-1].position <= after:
                break  # the last page (or rows whose position reads as no number)
            after = page[-1].position
        return walk.finish(head, checkpoints, self._valid)


class RecordAdminAction:
    """One admin action (or a partner's call that stores no message of its own) in the log,
    in its own transaction: who, when, what, the outcome."""

    def __init__(self, store: AuditStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def __call__(
        self,
        method: str,
        role: str,
        subject: str,
        fingerprint: str,
        request: bytes,
        status: str,
        reason: str,
        partner: str = "",
    ) -> None:
        self._store.append(
            [
                AuditEvent(
                    AuditKind.PARTNER_CALL if partner else AuditKind.ADMIN_ACTION,
                    self._clock.now(),
                    partner=partner,
                    actor_subject=subject,
                    actor_fingerprint=fingerprint,
                    subject=method,
                    digest=sha256_hex(request),
                    detail={"role": role, "status": status, "reason": reason},
                )
            ]
        )


def is_mutating(method: str) -> bool:
    """``/pkg.Service/Method`` changes something (not Get*, List*, Watch*, Verify*, Export*)."""
    name = method.rsplit("/", 1)[-1]
    return not name.startswith(READ_ONLY_PREFIXES)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A received or sent message as stored, for evidence. ``payload`` is None when retention
    purged the raw bytes (the digest stays in the chain)."""

    direction: str  # "received" or "sent"
    partner: str
    sequence: int
    wire_format: str
    payload: bytes | None
    digest: str
    key_id: str
    algorithm: str
    signature: bytes
    receipt: bytes | None
    receipt_signature: bytes
    receipt_key_id: str
    receipt_algorithm: str


class EvidenceSource(Protocol):
    def message(self, entry: AuditEntry) -> RawMessage | None:
        """The stored message an entry of kind message.received or message.sent names."""
        ...

    def partner_key_pem(self, partner: str, key_id: str) -> bytes | None:
        """A partner's registered public key, PEM, if it is still registered."""
        ...

    def gateway_key_pem(self, key_id: str) -> bytes | None:
        """The gateway's public key ``key_id`` (the current one or one it rotated from), PEM."""
        ...


_MESSAGE_KINDS = (
    AuditKind.MESSAGE_RECEIVED,
    AuditKind.MESSAGE_SENT,
    AuditKind.OUTCOME_REPORT_RECEIVED,
)


class ExportEvidence:
    """An evidence bundle (zip) for one message: what a third party verifies offline with the
    gateway's public key only (docs/audit.md)."""

    def __init__(
        self,
        store: AuditStore,
        source: EvidenceSource,
        checkpoints: AuditCheckpoints,
        verifier_script: bytes,
    ) -> None:
        self._store = store
        self._source = source
        self._checkpoints = checkpoints
        self._script = verifier_script

    def __call__(self, message_id: str) -> bytes:
        entries = self._store.about(message_id)
        anchors = [e for e in entries if e.event.kind in _MESSAGE_KINDS]
        if not anchors:
            raise AuditMessageUnknown(f"no message {message_id!r} in the audit log")
        first, last = anchors[0], entries[-1]
        checkpoint = self._store.checkpoint_from(last.position)
        if checkpoint is None:
            checkpoint = self._checkpoints.now()
        assert checkpoint is not None
        assert checkpoint.position >= last.position
        proof = self._proof(first.position, checkpoint.position)
        raw = self._source.message(first)
        return self._bundle(message_id, first, raw, proof, checkpoint)

    def _proof(self, start: int, end: int) -> list[AuditEntry]:
        found: list[AuditEntry] = []
        after = start - 1
        while after < end:
            page = self._store.entries(after, min(WALK_PAGE, end - after))
            if not page or page[-1].position <= after:
                break
            found.extend(page)
            after = page[-1].position
        return found

    def _bundle(
        self,
        message_id: str,
        anchor: AuditEntry,
        raw: RawMessage | None,
        proof: list[AuditEntry],
        checkpoint: Checkpoint,
    ) -> bytes:
        event = anchor.event
        files: dict[str, bytes] = {}
        sent = event.kind is AuditKind.MESSAGE_SENT
        manifest: dict[str, object] = {
            "format": BUNDLE_FORMAT,
            "version": 1,
            "message_id": message_id,
            "direction": "sent" if sent else "received",
            "partner": event.partner,
            "sequence": event.sequence,
            "message_sha256": event.digest,
            "entry_position": anchor.position,
        }
        # The keys of the moment: a rotation since leaves the old key naming them.
        gateway_pem = self._source.gateway_key_pem(checkpoint.key_id)
        signer_pem = (
            self._source.gateway_key_pem(event.key_id)
            if sent
            else self._source.partner_key_pem(event.partner, event.key_id)
        )
        purged = raw is None or raw.payload is None
        message: dict[str, object] = {"purged": purged, "key_id": event.key_id}
        if raw is not None:
            message.update(wire_format=raw.wire_format, algorithm=raw.algorithm)
            if raw.payload is not None:
                files["message.bin"] = raw.payload
                message["file"] = "message.bin"
            if raw.signature:
                files["signature.bin"] = raw.signature
                message["signature_file"] = "signature.bin"
            else:
                message["signature"] = "embedded in the payload (its wire format signs inside)"
        if signer_pem is not None:
            files["signer.pub.pem"] = signer_pem
            message["signer_public_key"] = "signer.pub.pem"
        manifest["message"] = message
        if raw is not None and raw.receipt:
            files["receipt.bin"] = raw.receipt
            files["receipt.sig"] = raw.receipt_signature
            receipt: dict[str, object] = {
                "file": "receipt.bin",
                "signature_file": "receipt.sig",
                "key_id": raw.receipt_key_id,
                "algorithm": raw.receipt_algorithm,
                # A receipt for a message we received is ours; one for a message we sent is
                # the partner's.
                "signed_by": "partner" if sent else "gateway",
            }
            if sent:
                pem = self._source.partner_key_pem(event.partner, raw.receipt_key_id)
                if pem is not None:
                    files["receipt-signer.pub.pem"] = pem
                    receipt["signer_public_key"] = "receipt-signer.pub.pem"
            manifest["receipt"] = receipt
        files["chain.json"] = json.dumps(
            [
                {**entry_document(e.position, e.event, e.prev_hash), "entry_hash": e.entry_hash}
                for e in proof
            ],
            indent=1,
            sort_keys=True,
        ).encode()
        files["checkpoint.json"] = json.dumps(
            {
                "payload": checkpoint_payload(checkpoint).decode(),
                "signature": checkpoint.signature.hex(),
            },
            indent=1,
            sort_keys=True,
        ).encode()
        if gateway_pem is not None:
            files["gateway.pub.pem"] = gateway_pem
        files["verify_bundle.py"] = self._script
        manifest["files"] = {name: sha256_hex(data) for name, data in sorted(files.items())}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, data in [("manifest.json", _json(manifest)), *sorted(files.items())]:
                info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, data)
        return out.getvalue()


def _json(value: object) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True).encode()


def pages(store: AuditStore, where: AuditFilter, size: int) -> Iterator[list[AuditEntry]]:
    """Every entry matching ``where``, a page at a time (the CLI's list)."""
    after = 0
    while True:
        page = store.search(where, after, size)
        if page:
            yield page
        if len(page) < size:
            return
        after = page[-1].position
