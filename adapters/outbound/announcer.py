"""Announcing the gateway's new signing key to partners' gateways (AnnounceSigningKey).

The announcement is a serialized KeyAnnouncement signed with the gateway's previous key, which
every partner already holds. A partner with an outbound endpoint is sent it over mutual TLS
with the gateway's outbound client certificate; for one without, or one that cannot be reached,
the signed announcement is returned (and logged) for an administrator to forward.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import grpc

from adapters.outbound.sender import ClientIdentity, peer_reason, reason
from gateway import protomap
from gateway.app.directory import PartnerDirectory
from gateway.app.keys import Announcement, AnnouncementOutcome, Delivery, NewGatewayKey
from gateway.domain.ports import Signer
from gateway.pb import common_pb2, exchange_pb2, exchange_pb2_grpc

log = logging.getLogger(__name__)


def signed_announcement(announcement: Announcement) -> exchange_pb2.SignedKeyAnnouncement:
    return exchange_pb2.SignedKeyAnnouncement(
        announcement=announcement.payload,
        signature=common_pb2.DetachedSignature(
            key_id=announcement.key_id,
            algorithm=protomap.ALGORITHM_TO_PB[announcement.algorithm],
            signature=announcement.signature,
        ),
    )


class GrpcAnnouncer:
    def __init__(
        self, directory: PartnerDirectory, identity: Callable[[], ClientIdentity], timeout: float
    ) -> None:
        self._directory = directory
        self._identity = identity
        self._timeout = timeout

    def announcement(
        self, partner: str, key: NewGatewayKey, old: Signer, at: datetime
    ) -> Announcement:
        message = exchange_pb2.KeyAnnouncement(
            announcer=self._directory.current().home.code,
            recipient=partner,
            key_id=key.signer.key_id,
            algorithm=protomap.ALGORITHM_TO_PB[key.signer.algorithm],
            public_key_pem=key.public_key,
        )
        protomap.set_timestamp(message.valid_from, at)
        protomap.set_timestamp(message.issued_at, at)
        payload = message.SerializeToString(deterministic=True)
        return Announcement(partner, payload, old.key_id, old.algorithm, old.sign(payload))

    def deliver(self, announcement: Announcement) -> Delivery:
        snapshot = self._directory.current()
        partner = snapshot.partners.get(announcement.partner)
        endpoint = partner.outbound if partner is not None else None
        server_ca = snapshot.server_cas.get(announcement.partner)
        if endpoint is None or server_ca is None:
            log.warning(
                "partner %s has no outbound endpoint: forward the announcement of key %s to it",
                announcement.partner,
                announcement.key_id,
            )
            return Delivery(announcement, AnnouncementOutcome.TO_FORWARD, "no outbound endpoint")
        identity = self._identity()  # read when needed: outbound may be unconfigured
        credentials = grpc.ssl_channel_credentials(
            root_certificates=server_ca, private_key=identity.key, certificate_chain=identity.cert
        )
        options = (
            [("grpc.ssl_target_name_override", endpoint.server_name)]
            if endpoint.server_name
            else []
        )
        channel = grpc.secure_channel(endpoint.address, credentials, options=options)
        try:
            exchange_pb2_grpc.PartnerExchangeServiceStub(channel).AnnounceSigningKey(
                exchange_pb2.AnnounceSigningKeyRequest(
                    announcement=signed_announcement(announcement)
                ),
                timeout=self._timeout,
            )
        except grpc.RpcError as exc:
            detail = f"{peer_reason(exc) or reason(exc)}: {exc.details() or ''}"
            log.warning(
                "partner %s did not take the announcement of the new key (%s): forward it",
                announcement.partner,
                detail,
            )
            return Delivery(announcement, AnnouncementOutcome.FAILED, detail)
        finally:
            channel.close()
        return Delivery(announcement, AnnouncementOutcome.DELIVERED)
