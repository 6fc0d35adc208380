"""Who is at the browser: the client certificate TLS verified against the home CA.

The console shows what a role may do (a viewer sees no action buttons), but decides nothing:
the gateway authorises every call again from the same certificate (gateway.api.auth).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

ROLE_URI_PREFIX = "urn:aeo-gateway:role:"
#: The roles that may use the console; other home certificates are refused with a page saying so.
CONSOLE_ROLES = ("admin", "viewer")


@dataclass(frozen=True)
class User:
    subject: str
    #: "admin" or "viewer"; "" for a certificate with neither role.
    role: str
    fingerprint: str
    der: bytes

    @property
    def may_act(self) -> bool:
        return self.role == "admin"


def from_pem(pem: str) -> User:
    """The user of a verified client certificate (cheroot's SSL_CLIENT_CERT)."""
    der = ssl.PEM_cert_to_DER_cert(pem)
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    role = next((r for r in CONSOLE_ROLES if ROLE_URI_PREFIX + r in uris), "")
    return User(
        cert.subject.rfc4514_string(),
        role,
        hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
        der,
    )
