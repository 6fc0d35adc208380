"""AdminService: the partner directory, each partner's exchange state, and the change log."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api import pages
from gateway.api.auth import current
from gateway.api.certificates import trust_anchor_certificates
from gateway.api.change_pages import first_page
from gateway.api.convert import (
    PARTNER_PREFIX,
    PROGRAMME_SUFFIX,
    gaps,
    optional_duration,
    partner_code,
    partner_to_pb,
    programme_state,
    programme_to_pb,
)
from gateway.api.outbound_convert import (
    message_name,
    message_to_pb,
    outbound_state_to_pb,
    page_after,
    page_token,
    parent_partner,
    redrive_sequences,
    state_filter,
)
from gateway.app.audit import ExchangeAudit
from gateway.app.deliver import OutboundAdmin
from gateway.app.directory import ReloadPartners
from gateway.app.programme import ProgrammeStates, SetProgrammeState
from gateway.app.reconcile import ReconcilePartner
from gateway.app.refusals import RecentRefusals
from gateway.app.snapshot_request import RequestSnapshot
from gateway.domain.directory import Directory
from gateway.domain.errors import PartnerNotFound, shown
from gateway.domain.ports import Clock
from gateway.domain.reconciliation import Reconciliation
from gateway.pb import admin_pb2, admin_pb2_grpc

#: How many open gaps PartnerState lists (the newest): the store keeps at most max_open_gaps,
#: which an operator may set higher than an answer should carry.
STATE_GAPS = 1_000
STATE_SUFFIX = "/state"


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(
        self,
        audit: ExchangeAudit,
        reload: ReloadPartners,
        reconcile: ReconcilePartner,
        clock: Clock,
        programmes: ProgrammeStates,
        set_programme: SetProgrammeState,
        request_snapshot: RequestSnapshot,
        outbound: OutboundAdmin | None = None,
        refusals: RecentRefusals | None = None,
    ) -> None:
        self._audit = audit
        self._reload = reload
        self._reconcile = reconcile
        self._clock = clock
        self._programmes = programmes
        self._set_programme = set_programme
        self._request_snapshot = request_snapshot
        self._outbound = outbound
        #: The partner's refused messages in PartnerState (None: not kept, fields left empty).
        self._refusals = refusals

    def ListPartners(
        self, request: admin_pb2.ListPartnersRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListPartnersResponse:
        directory = current().directory
        size = pages.page_size(request.page_size)
        after = pages.position("partners", request.page_token)
        codes = sorted(c for c in directory.partners if after is None or c > after)
        page = codes[:size]
        response = admin_pb2.ListPartnersResponse(partners=[_partner(directory, c) for c in page])
        if len(codes) > size:
            response.next_page_token = pages.token("partners", page[-1])
        return response

    def GetPartner(
        self, request: admin_pb2.GetPartnerRequest, context: grpc.ServicerContext
    ) -> admin_pb2.GetPartnerResponse:
        directory = current().directory
        code = partner_code(request.name)
        partner = directory.partners.get(code)
        if partner is None:
            raise PartnerNotFound(f"no partner {shown(request.name)} is registered")
        return admin_pb2.GetPartnerResponse(partner=_partner(directory, code))

    def GetPartnerState(
        self, request: admin_pb2.GetPartnerStateRequest, context: grpc.ServicerContext
    ) -> admin_pb2.GetPartnerStateResponse:
        code = partner_code(request.name, STATE_SUFFIX)
        return admin_pb2.GetPartnerStateResponse(partner_state=self._state(code))

    def RequestPartnerSnapshot(
        self, request: admin_pb2.RequestPartnerSnapshotRequest, context: grpc.ServicerContext
    ) -> admin_pb2.RequestPartnerSnapshotResponse:
        code = partner_code(request.name)
        self._request_snapshot(current().directory, code)
        return admin_pb2.RequestPartnerSnapshotResponse(partner_state=self._state(code))

    def _state(self, code: str) -> admin_pb2.PartnerState:
        partner = current().directory.partners.get(code)
        if partner is None:
            raise PartnerNotFound(f"no partner {PARTNER_PREFIX}{code} is registered")
        stats = self._audit.partner_stats(code)
        fresh = partner.freshness
        state = admin_pb2.PartnerState(
            name=PARTNER_PREFIX + code + STATE_SUFFIX,
            last_sequence=stats.last_sequence,
            open_gaps=gaps(stats.gaps[-STATE_GAPS:]),
            messages_received=stats.messages,
            operators_known=stats.operators,
            open_gaps_total=len(stats.gaps),
            needs_snapshot=stats.needs_snapshot,
            sequences_written_off=stats.written_off,
            stale=fresh is not None and fresh.stale(stats.last_received_at, self._clock.now()),
        )
        if stats.last_received_at is not None:
            protomap.set_timestamp(state.last_received_at, stats.last_received_at)
        programme = self._programmes.at(code, self._clock.now())
        state.programme.CopyFrom(programme_to_pb(code, programme))
        if self._outbound is not None:
            summary, paused = self._outbound.summary(code)
            state.outbound.CopyFrom(outbound_state_to_pb(partner, summary, paused))
        if self._refusals is not None:
            refused = self._refusals.of(code)
            state.refused_last_24h = refused.count
            if refused.last is not None:
                protomap.set_timestamp(state.last_refused_at, refused.last.refused_at)
                state.last_refused_reason = refused.last.reason
        return state

    # --- outbound delivery -------------------------------------------------------------------

    def ListOutboundMessages(
        self, request: admin_pb2.ListOutboundMessagesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListOutboundMessagesResponse:
        code = self._outbound_parent(request.parent)
        size = pages.page_size(request.page_size)
        assert self._outbound is not None
        found = self._outbound.messages(
            code, state_filter(request.state), page_after(request.page_token), size + 1
        )
        response = admin_pb2.ListOutboundMessagesResponse(
            messages=[message_to_pb(m) for m in found[:size]]
        )
        if len(found) > size:
            response.next_page_token = page_token(found[size - 1])
        return response

    def RedriveOutboundMessages(
        self, request: admin_pb2.RedriveOutboundMessagesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.RedriveOutboundMessagesResponse:
        code = self._outbound_parent(request.parent)
        assert self._outbound is not None
        found = self._outbound.redrive(code, redrive_sequences(code, request.sequences))
        return admin_pb2.RedriveOutboundMessagesResponse(
            redriven=[message_name(p, s) for p, s in found]
        )

    def _outbound_parent(self, parent: str) -> str | None:
        if self._outbound is None:
            raise PartnerNotFound("outbound delivery is not configured on this gateway")
        code = parent_partner(parent)
        if code is not None and code not in current().directory.partners:
            raise PartnerNotFound(f"no partner {PARTNER_PREFIX}{code} is registered")
        return code

    def SetProgrammeState(
        self, request: admin_pb2.SetProgrammeStateRequest, context: grpc.ServicerContext
    ) -> admin_pb2.SetProgrammeStateResponse:
        code = partner_code(request.name, PROGRAMME_SUFFIX)
        principal = current().principal
        found = self._set_programme(
            current().directory,
            code,
            programme_state(request.state),
            request.reason,
            principal.subject or principal.role.value,
            optional_duration(request, "notice_period"),
        )
        return admin_pb2.SetProgrammeStateResponse(programme=programme_to_pb(code, found))

    def ReloadPartners(
        self, request: admin_pb2.ReloadPartnersRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ReloadPartnersResponse:
        report = self._reload()
        response = admin_pb2.ReloadPartnersResponse(
            directory_version=report.version,
            added_partners=[PARTNER_PREFIX + c for c in report.added],
            changed_partners=[PARTNER_PREFIX + c for c in report.changed],
            removed_partners=[PARTNER_PREFIX + c for c in report.removed],
        )
        protomap.set_timestamp(response.loaded_at, report.loaded_at)
        return response

    def ListChanges(
        self, request: admin_pb2.ListChangesRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListChangesResponse:
        size = pages.page_size(request.page_size)
        after = pages.cursor("changes", request.page_token)
        changes = first_page(self._audit.changes_after(after, size))  # bounded in bytes too
        last = changes[-1].cursor if changes else after
        return admin_pb2.ListChangesResponse(
            changes=changes,
            next_page_token=pages.token("changes", str(last)),
        )

    def GetPartnerReconciliation(
        self, request: admin_pb2.GetPartnerReconciliationRequest, context: grpc.ServicerContext
    ) -> admin_pb2.GetPartnerReconciliationResponse:
        code = partner_code(request.name, RECONCILIATION_SUFFIX)
        found = self._reconcile(current().directory, code)
        return admin_pb2.GetPartnerReconciliationResponse(
            reconciliation=_reconciliation_to_pb(found)
        )


RECONCILIATION_SUFFIX = "/reconciliation"


def _partner(directory: Directory, code: str) -> admin_pb2.Partner:
    msg = partner_to_pb(directory.partners[code], directory.version)
    anchor = directory.trust_anchors.get(code)
    if anchor:
        msg.trust_anchors.extend(trust_anchor_certificates(anchor))
    return msg


def _reconciliation_to_pb(found: Reconciliation) -> admin_pb2.Reconciliation:
    msg = admin_pb2.Reconciliation(
        name=PARTNER_PREFIX + found.partner + RECONCILIATION_SUFFIX,
        sha256=found.sha256,
        operators=found.operators,
        last_sequence=found.last_sequence,
    )
    protomap.set_timestamp(msg.computed_at, found.computed_at)
    return msg
