"""AuditService: list the audit log, read one entry, verify its chain, export a message's
evidence bundle."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api import pages
from gateway.app.audit_log import AuditFilter, AuditStore, ExportEvidence, VerifyAuditLog
from gateway.domain.audit import KINDS, AuditEntry, canonical_json
from gateway.domain.errors import AuditEntryUnknown, AuditFilterInvalid, shown
from gateway.pb import audit_pb2, audit_pb2_grpc

_PAGE_KIND = "audit"


def entry_to_pb(e: AuditEntry) -> audit_pb2.AuditEntry:
    v = e.event
    return audit_pb2.AuditEntry(
        position=e.position,
        record_time=protomap.timestamp(v.at),
        kind=v.kind.value,
        partner=v.partner,
        actor_subject=v.actor_subject,
        actor_fingerprint=v.actor_fingerprint,
        subject=v.subject,
        sequence=v.sequence or 0,
        digest=v.digest,
        key_id=v.key_id,
        receipt_digest=v.receipt_digest,
        detail_json=canonical_json(dict(v.detail)).decode(),
        prev_hash=e.prev_hash,
        entry_hash=e.entry_hash,
    )


def audit_filter(request: audit_pb2.ListAuditEntriesRequest) -> AuditFilter:
    """The request's filters; INVALID_ARGUMENT audit.filter_invalid for what cannot be one."""
    kind = None
    if request.kind:
        kind = KINDS.get(request.kind)
        if kind is None:
            raise AuditFilterInvalid(
                f"kind {shown(request.kind)} is not one of {', '.join(sorted(KINDS))}",
                field="kind",
            )
    try:
        since = protomap.instant(request.start_time) if request.HasField("start_time") else None
        until = protomap.instant(request.end_time) if request.HasField("end_time") else None
    except ValueError as exc:
        raise AuditFilterInvalid(f"a time bound is out of range: {exc}", field="time") from exc
    if since is not None and until is not None and until < since:
        raise AuditFilterInvalid("end_time is before start_time", field="end_time")
    return AuditFilter(request.partner, kind, since, until)


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(
        self,
        store: AuditStore,
        verify: VerifyAuditLog,
        export: ExportEvidence,
    ) -> None:
        self._store = store
        self._verify = verify
        self._export = export

    def ListAuditEntries(
        self, request: audit_pb2.ListAuditEntriesRequest, context: grpc.ServicerContext
    ) -> audit_pb2.ListAuditEntriesResponse:
        where = audit_filter(request)
        size = pages.page_size(request.page_size)
        after = pages.cursor(_PAGE_KIND, request.page_token)
        found = self._store.search(where, after, size + 1)
        page = found[:size]
        more = len(found) > size
        return audit_pb2.ListAuditEntriesResponse(
            entries=[entry_to_pb(e) for e in page],
            next_page_token=pages.token(_PAGE_KIND, str(page[-1].position)) if more else "",
        )

    def GetAuditEntry(
        self, request: audit_pb2.GetAuditEntryRequest, context: grpc.ServicerContext
    ) -> audit_pb2.GetAuditEntryResponse:
        # Positions have no gaps: the one entry after position - 1 is the entry, if any.
        # Beyond a signed 64-bit integer no database holds one.
        position = request.position
        found = self._store.entries(position - 1, 1) if 0 < position < 2**63 else []
        if not found or found[0].position != position:
            raise AuditEntryUnknown(f"the audit log has no entry at position {position}")
        return audit_pb2.GetAuditEntryResponse(entry=entry_to_pb(found[0]))

    def VerifyAuditLog(
        self, request: audit_pb2.VerifyAuditLogRequest, context: grpc.ServicerContext
    ) -> audit_pb2.VerifyAuditLogResponse:
        verdict = self._verify()
        problem = verdict.problem
        return audit_pb2.VerifyAuditLogResponse(
            ok=verdict.ok,
            entries=verdict.entries,
            checkpoints=verdict.checkpoints,
            head_position=verdict.head_position,
            broken_position=problem.position if problem else 0,
            breach=problem.breach.value if problem else "",
            message=problem.message if problem else "",
        )

    def ExportEvidence(
        self, request: audit_pb2.ExportEvidenceRequest, context: grpc.ServicerContext
    ) -> audit_pb2.ExportEvidenceResponse:
        return audit_pb2.ExportEvidenceResponse(bundle=self._export(request.message_id))
