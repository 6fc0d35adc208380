"""A partner's trust anchor, as the directory holds it (PEM), in the API's terms: what each
certificate is and when it expires, so that an operator sees a CA expiry coming."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway import protomap
from gateway.pb import admin_pb2


@lru_cache(maxsize=256)  # ListPartners asks on every call; the PEMs change only on reload
def _parsed(pem: bytes) -> tuple[bytes, ...]:
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:  # the loader checked it; unreadable here means nothing to show
        return ()
    return tuple(_certificate(c).SerializeToString() for c in certificates)


def _certificate(cert: x509.Certificate) -> admin_pb2.TrustAnchorCertificate:
    msg = admin_pb2.TrustAnchorCertificate(
        subject=cert.subject.rfc4514_string(),
        sha256_fingerprint=hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
    )
    protomap.set_timestamp(msg.not_before, cert.not_valid_before_utc)
    protomap.set_timestamp(msg.not_after, cert.not_valid_after_utc)
    return msg


def trust_anchor_certificates(pem: bytes) -> list[admin_pb2.TrustAnchorCertificate]:
    """Every certificate of a PEM bundle, in its order."""
    return [admin_pb2.TrustAnchorCertificate.FromString(b) for b in _parsed(pem)]
