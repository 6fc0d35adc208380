"""KeyManagementService (admin) and PartnerExchangeService.AnnounceSigningKey (partners)."""

from __future__ import annotations

import grpc
from google.protobuf.message import DecodeError

from gateway import protomap
from gateway.api.auth import current
from gateway.api.convert import partner_code
from gateway.api.exchange_servicer import PartnerExchangeServicer
from gateway.app.keys import (
    AcceptAnnouncement,
    AnnouncementOutcome,
    ListedKey,
    PartnerSigningKeys,
    ReceivedAnnouncement,
    RotateGatewayKey,
)
from gateway.app.lifecycle import Lifecycles, SubmitTestMessage
from gateway.app.outcome_report import SubmitOutcomeReport
from gateway.app.submit import SubmitStatusMessage
from gateway.domain.errors import KeyAlgorithmMismatch, KeyAnnouncementInvalid, shown
from gateway.domain.keys import KeySource
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import Clock
from gateway.pb import common_pb2, exchange_pb2, keys_pb2, keys_pb2_grpc

_SOURCES = {
    KeySource.FILE: keys_pb2.KEY_SOURCE_FILE,
    KeySource.ADMIN: keys_pb2.KEY_SOURCE_ADMIN,
    KeySource.ANNOUNCEMENT: keys_pb2.KEY_SOURCE_ANNOUNCEMENT,
}
_OUTCOMES = {
    AnnouncementOutcome.DELIVERED: keys_pb2.ANNOUNCEMENT_OUTCOME_DELIVERED,
    AnnouncementOutcome.TO_FORWARD: keys_pb2.ANNOUNCEMENT_OUTCOME_TO_FORWARD,
    AnnouncementOutcome.FAILED: keys_pb2.ANNOUNCEMENT_OUTCOME_FAILED,
}


def _actor() -> str:
    principal = current().principal
    return f"{principal.role.value}:{principal.subject or 'local'}"


def _algorithm(value: common_pb2.SignatureAlgorithm.ValueType) -> str:
    name = protomap.ALGORITHM_NAME.get(value)
    if name is None:
        raise KeyAlgorithmMismatch(f"algorithm {shown(value)} is not set or not known", pinned="")
    return name


def key_message(info: SigningKeyInfo, source: KeySource, pem: str) -> keys_pb2.PartnerSigningKey:
    msg = keys_pb2.PartnerSigningKey(
        key_id=info.key_id,
        algorithm=protomap.ALGORITHM_TO_PB[info.algorithm],
        public_key_pem=pem,
        source=_SOURCES[source],
    )
    if info.not_before is not None:
        protomap.set_timestamp(msg.not_before, info.not_before)
    if info.not_after is not None:
        protomap.set_timestamp(msg.not_after, info.not_after)
    return msg


def _listed(key: ListedKey) -> keys_pb2.PartnerSigningKey:
    return key_message(key.info, key.source, key.public_key)


class KeyManagementServicer(keys_pb2_grpc.KeyManagementServiceServicer):
    def __init__(self, keys: PartnerSigningKeys, rotate: RotateGatewayKey) -> None:
        self._keys = keys
        self._rotate = rotate

    def ListPartnerSigningKeys(
        self, request: keys_pb2.ListPartnerSigningKeysRequest, context: grpc.ServicerContext
    ) -> keys_pb2.ListPartnerSigningKeysResponse:
        listed = self._keys.list(partner_code(request.parent))
        return keys_pb2.ListPartnerSigningKeysResponse(keys=[_listed(k) for k in listed])

    def AddPartnerSigningKey(
        self, request: keys_pb2.AddPartnerSigningKeyRequest, context: grpc.ServicerContext
    ) -> keys_pb2.AddPartnerSigningKeyResponse:
        partner = partner_code(request.parent)
        key = request.key
        info = SigningKeyInfo(
            key.key_id,
            _algorithm(key.algorithm),
            protomap.instant(key.not_before) if key.HasField("not_before") else None,
            protomap.instant(key.not_after) if key.HasField("not_after") else None,
        )
        added = self._keys.add(partner, info, key.public_key_pem, _actor())
        return keys_pb2.AddPartnerSigningKeyResponse(
            key=key_message(added, KeySource.ADMIN, key.public_key_pem)
        )

    def RetirePartnerSigningKey(
        self, request: keys_pb2.RetirePartnerSigningKeyRequest, context: grpc.ServicerContext
    ) -> keys_pb2.RetirePartnerSigningKeyResponse:
        partner = partner_code(request.parent)
        at = protomap.instant(request.retire_at) if request.HasField("retire_at") else None
        retired = self._keys.retire(partner, request.key_id, at, _actor())
        listed = {k.info.key_id: k for k in self._keys.list(partner)}
        found = listed.get(retired.key_id)
        source = found.source if found is not None else KeySource.FILE
        pem = found.public_key if found is not None else ""
        return keys_pb2.RetirePartnerSigningKeyResponse(key=key_message(retired, source, pem))

    def RotateGatewaySigningKey(
        self, request: keys_pb2.RotateGatewaySigningKeyRequest, context: grpc.ServicerContext
    ) -> keys_pb2.RotateGatewaySigningKeyResponse:
        algorithm = (
            _algorithm(request.algorithm)
            if request.algorithm != common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED
            else None
        )
        rotation = self._rotate(request.key_id, algorithm, request.key_file or None, _actor())
        signer = rotation.key.signer
        return keys_pb2.RotateGatewaySigningKeyResponse(
            previous_key_id=rotation.previous_key_id,
            key_id=signer.key_id,
            algorithm=protomap.ALGORITHM_TO_PB[signer.algorithm],
            public_key_pem=rotation.key.public_key,
            announcements=[
                keys_pb2.KeyAnnouncementDelivery(
                    partner=f"partners/{d.announcement.partner}",
                    outcome=_OUTCOMES[d.outcome],
                    detail=d.detail,
                    announcement=exchange_pb2.SignedKeyAnnouncement(
                        announcement=d.announcement.payload,
                        signature=common_pb2.DetachedSignature(
                            key_id=d.announcement.key_id,
                            algorithm=protomap.ALGORITHM_TO_PB[d.announcement.algorithm],
                            signature=d.announcement.signature,
                        ),
                    ),
                )
                for d in rotation.deliveries
            ],
        )


class AnnouncingExchangeServicer(PartnerExchangeServicer):
    """PartnerExchangeService with AnnounceSigningKey: partners announce their new keys."""

    def __init__(
        self,
        submit: SubmitStatusMessage,
        clock: Clock,
        submit_outcomes: SubmitOutcomeReport | None = None,
        lifecycles: Lifecycles | None = None,
        submit_test: SubmitTestMessage | None = None,
        *,
        accept: AcceptAnnouncement,
    ) -> None:
        super().__init__(submit, clock, submit_outcomes, lifecycles, submit_test)
        self._accept = accept

    def AnnounceSigningKey(
        self, request: exchange_pb2.AnnounceSigningKeyRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.AnnounceSigningKeyResponse:
        ctx = current()
        assert ctx.principal.partner is not None  # the interceptor admits partner certificates
        signed = request.announcement
        message = exchange_pb2.KeyAnnouncement()
        try:
            message.ParseFromString(signed.announcement)
        except DecodeError as exc:
            raise KeyAnnouncementInvalid("the announcement is not a KeyAnnouncement") from exc
        algorithm = protomap.ALGORITHM_NAME.get(message.algorithm)
        signed_with = protomap.ALGORITHM_NAME.get(signed.signature.algorithm)
        if algorithm is None or signed_with is None:
            raise KeyAnnouncementInvalid("the announcement names no known algorithm")
        added = self._accept(
            ctx.principal.partner,
            ReceivedAnnouncement(
                message.announcer,
                message.recipient,
                message.key_id,
                algorithm,
                message.public_key_pem,
                protomap.instant(message.valid_from) if message.HasField("valid_from") else None,
            ),
            signed.announcement,
            signed.signature.key_id,
            signed_with,
            signed.signature.signature,
        )
        response = exchange_pb2.AnnounceSigningKeyResponse(key_id=added.key_id)
        if added.not_before is not None:
            protomap.set_timestamp(response.valid_from, added.not_before)
        return response
