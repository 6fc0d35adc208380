"""GetPartner and ListPartners carry each partner's TLS trust anchor certificates with their
validity, so that an operator sees a CA expiry coming (the console's partner page shows it)."""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.client import AdminClient
from gateway.pb import admin_pb2, admin_pb2_grpc
from tests.conftest import Live


def test_a_partners_trust_anchor_is_listed_with_its_fingerprint_and_expiry(live: Live) -> None:
    """An admin gets SG. Result: one trust anchor, SG's CA as the directory holds it: its
    subject, the SHA-256 of its DER, not_before and not_after; ListPartners carries the same."""
    with live.channel("admin") as channel:
        partner = (
            admin_pb2_grpc.AdminServiceStub(channel)
            .GetPartner(admin_pb2.GetPartnerRequest(name="partners/SG"), timeout=10)
            .partner
        )
        listed = {p.name: p for p in AdminClient(channel).partners()}
    directory = live.gateway.directory.current()
    cert = x509.load_pem_x509_certificate(directory.trust_anchors["SG"])
    [anchor] = partner.trust_anchors
    assert anchor.subject == cert.subject.rfc4514_string()
    assert anchor.sha256_fingerprint == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert anchor.not_before.ToDatetime().date() == cert.not_valid_before_utc.date()
    assert anchor.not_after.ToDatetime().date() == cert.not_valid_after_utc.date()
    assert list(listed["partners/SG"].trust_anchors) == [anchor]
