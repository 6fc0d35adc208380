"""Who is calling: the verified TLS client certificate decides the caller's role.

TLS has already checked the chain against the bundle of trusted CAs. Here the certificate is
matched to the CA that issued it, in the directory snapshot the request runs on: a partner's
CA makes the caller that partner; the home CA makes it a domestic system or an admin, by the
role URI in its subjectAltName.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import cast

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.domain.directory import Directory
from gateway.domain.errors import NoClientIdentity

ROLE_URI_PREFIX = "urn:aeo-gateway:role:"
SERVICE_PREFIX = "aeo.gateway.v1."


class Role(Enum):
    PARTNER = "partner"
    DOMESTIC = "domestic"
    ADMIN = "admin"
    #: The home credit system: feeds the home administration's own AEO changes.
    REGISTRY = "registry"
    #: Plaintext development mode: no certificate, so no partner identity.
    INSECURE_LOCAL = "insecure-local"
    #: A home certificate without a gateway role: health and reflection only.
    NONE = "none"


@dataclass(frozen=True)
class Principal:
    role: Role
    partner: str | None
    fingerprint: str
    subject: str


#: Which role may call which of the gateway's services.
SERVICE_ROLES: Mapping[str, frozenset[Role]] = {
    SERVICE_PREFIX + "PartnerExchangeService": frozenset({Role.PARTNER}),
    SERVICE_PREFIX + "RecognitionService": frozenset({Role.DOMESTIC, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "AdminService": frozenset({Role.ADMIN, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "HomeRegistryService": frozenset({Role.REGISTRY, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "FacilitationService": frozenset(
        {Role.DOMESTIC, Role.ADMIN, Role.INSECURE_LOCAL}
    ),
    SERVICE_PREFIX + "ChangeFeedService": frozenset(
        {Role.DOMESTIC, Role.ADMIN, Role.INSECURE_LOCAL}
    ),
    SERVICE_PREFIX + "AuditService": frozenset({Role.ADMIN, Role.INSECURE_LOCAL}),
}


@dataclass(frozen=True)
class RequestContext:
    """Who is calling, and the one directory snapshot the whole request runs on."""

    principal: Principal
    directory: Directory


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("request")


def current() -> RequestContext:
    """The context of the RPC being handled on this thread (set by the interceptor)."""
    return _current.get()


class Authenticator:
    def __init__(self, home_ca: x509.Certificate, insecure: bool = False) -> None:
        self._home_ca = home_ca
        self._insecure = insecure
        # Keyed by directory version: a reload that removes a partner's CA takes effect at once.
        self._known: dict[tuple[bytes, int], Principal] = {}
        self._cas: tuple[int, dict[str, x509.Certificate]] = (-1, {})

    def principal(self, context: grpc.ServicerContext, directory: Directory) -> Principal:
        pems = context.auth_context().get("x509_pem_cert")
        if not pems:
            if self._insecure:
                return Principal(Role.INSECURE_LOCAL, None, "", "")
            raise NoClientIdentity("a verified TLS client certificate is required")
        pem = cast(bytes, pems[0])  # the stubs type the values as bytes; they are lists of them
        key = (pem, directory.version)
        found = self._known.get(key)
        if found is None:
            found = self._identify(pem, self._partner_cas(directory))
            if len(self._known) >= 4096:
                self._known.clear()
            self._known[key] = found
        return found

    def _partner_cas(self, directory: Directory) -> dict[str, x509.Certificate]:
        version, cas = self._cas
        if version != directory.version:
            cas = {
                code: x509.load_pem_x509_certificate(pem)
                for code, pem in directory.trust_anchors.items()
            }
            self._cas = (directory.version, cas)
        return cas

    def _identify(self, pem: bytes, partner_cas: Mapping[str, x509.Certificate]) -> Principal:
        cert = x509.load_pem_x509_certificate(pem)
        fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
        subject = cert.subject.rfc4514_string()
        for code, ca in partner_cas.items():
            if _issued_by(cert, ca):
                return Principal(Role.PARTNER, code, fingerprint, subject)
        if _issued_by(cert, self._home_ca):
            for role in (Role.DOMESTIC, Role.ADMIN, Role.REGISTRY):
                if ROLE_URI_PREFIX + role.value in _uris(cert):
                    return Principal(role, None, fingerprint, subject)
            return Principal(Role.NONE, None, fingerprint, subject)
        raise NoClientIdentity(f"certificate {subject} chains to no configured authority")


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _uris(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return san.value.get_values_for_type(x509.UniformResourceIdentifier)
