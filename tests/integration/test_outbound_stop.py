"""Stopping a gateway that delivers outbound closes its channels to partners' gateways."""

from __future__ import annotations

from adapters.outbound.sender import GrpcSender
from gateway.bootstrap import build
from gateway.domain.partners import OutboundEndpoint
from tests.conftest import Workspace


def test_stop_closes_the_partner_channels(workspace: Workspace) -> None:
    """A channel to SG's gateway is open. Result: after stop the sender holds none."""
    gateway = build(workspace.settings(outbound_enabled=True, outbound_workers=1))
    assert gateway.dispatcher is not None
    sender = gateway.dispatcher._deliver._transport
    assert isinstance(sender, GrpcSender)
    ca = (workspace.pki / "ca.pem").read_bytes()
    sender._stub("SG", OutboundEndpoint("127.0.0.1:1", "native"), ca)
    assert sender._channels
    gateway.stop(grace=0)
    assert sender._channels == {}
