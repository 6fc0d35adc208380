"""Admin: the partner registry and each partner's exchange state."""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from adapters.store.sql_store import SqlStore
from gateway.api.convert import timestamp
from gateway.domain.errors import PartnerNotFound
from gateway.domain.partners import Partner
from gateway.pb import admin_pb2, admin_pb2_grpc, exchange_pb2


class AdminServicer(admin_pb2_grpc.AdminServicer):
    def __init__(self, partners: Mapping[str, Partner], store: SqlStore) -> None:
        self._partners = partners
        self._store = store

    def ListPartners(
        self, request: admin_pb2.ListPartnersRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListPartnersResponse:
        return admin_pb2.ListPartnersResponse(
            partners=[
                admin_pb2.Partner(
                    code=p.code,
                    name=p.name,
                    programme=p.programme,
                    tiers=p.tiers,
                    recognised_tiers=sorted(p.recognised_tiers),
                    mra_signed=p.mra_signed or "",
                    mra_in_force=p.mra_in_force.isoformat() if p.mra_in_force else "",
                    direction=p.direction,
                    declared_code_patterns=p.identifiers.patterns,
                    signing_keys=[
                        admin_pb2.SigningKey(key_id=k.key_id, algorithm=k.algorithm)
                        for k in p.signing_keys
                    ],
                    wire_format=p.wire_format,
                )
                for p in self._partners.values()
            ]
        )

    def GetPartnerState(
        self, request: admin_pb2.GetPartnerStateRequest, context: grpc.ServicerContext
    ) -> admin_pb2.PartnerState:
        if request.partner not in self._partners:
            raise PartnerNotFound(f"no partner {request.partner!r} is registered")
        stats = self._store.partner_stats(request.partner)
        state = admin_pb2.PartnerState(
            partner=request.partner,
            last_sequence=stats.last_sequence,
            open_gaps=[exchange_pb2.SequenceGap(first=a, last=b) for a, b in stats.gaps],
            messages_received=stats.messages,
            operators_known=stats.operators,
        )
        if stats.last_received_at is not None:
            state.last_received_at.CopyFrom(timestamp(stats.last_received_at))
        return state
