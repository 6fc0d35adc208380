"""Who is calling: the verified TLS client certificate decides the caller's role.

TLS has already checked the chain against the bundle of trusted CAs. Here the certificate is
matched to the CA that issued it, in the directory snapshot the request runs on: a partner's
CA makes the caller that partner; the home CA makes it a domestic system or an admin, by the
role URI in its subjectAltName.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol, cast

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.domain.directory import Directory
from gateway.domain.errors import CertificateExpired, NoClientIdentity

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
    SERVICE_PREFIX + "RecognitionService": frozenset(
        {Role.DOMESTIC, Role.ADMIN, Role.INSECURE_LOCAL}
    ),
    SERVICE_PREFIX + "AdminService": frozenset({Role.ADMIN, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "HomeRegistryService": frozenset({Role.REGISTRY, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "FacilitationService": frozenset(
        {Role.DOMESTIC, Role.ADMIN, Role.INSECURE_LOCAL}
    ),
    SERVICE_PREFIX + "ChangeFeedService": frozenset(
        {Role.DOMESTIC, Role.ADMIN, Role.INSECURE_LOCAL}
    ),
    SERVICE_PREFIX + "KeyManagementService": frozenset({Role.ADMIN, Role.INSECURE_LOCAL}),
    # Consent decisions: admins, and the home credit system, which knows who consented.
    SERVICE_PREFIX + "ConsentService": frozenset({Role.ADMIN, Role.REGISTRY, Role.INSECURE_LOCAL}),
    SERVICE_PREFIX + "PartnerOnboardingService": frozenset({Role.ADMIN, Role.INSECURE_LOCAL}),
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


class RevocationCheck(Protocol):
    """What the authenticator asks on every call of a partner (adapters.crypto.revocation)."""

    def check(self, partner: str, chain: Sequence[x509.Certificate]) -> None:
        """Raises CertificateRevoked when a certificate of ``chain`` (leaf first, anchor last)
        is on its issuer's CRL."""


class _NoRevocation:
    def check(self, partner: str, chain: Sequence[x509.Certificate]) -> None:
        pass


class Authenticator:
    def __init__(
        self,
        home_ca: x509.Certificate,
        insecure: bool = False,
        revocation: RevocationCheck | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._home_ca = home_ca
        self._insecure = insecure
        self._revocation: RevocationCheck = revocation or _NoRevocation()
        self._now = now or (lambda: datetime.now(UTC))
        # Keyed by directory version: a reload that removes a partner's CA takes effect at once.
        # With the partner's verified chain (leaf first, trust anchor last), checked every call.
        self._known: dict[
            tuple[bytes, bytes, int], tuple[Principal, tuple[x509.Certificate, ...]]
        ] = {}
        self._cas: tuple[int, dict[str, x509.Certificate]] = (-1, {})

    def principal(self, context: grpc.ServicerContext, directory: Directory) -> Principal:
        auth = context.auth_context()
        pems = auth.get("x509_pem_cert")
        if not pems:
            if self._insecure:
                return Principal(Role.INSECURE_LOCAL, None, "", "")
            raise NoClientIdentity("a verified TLS client certificate is required")
        pem = cast(bytes, pems[0])  # the stubs type the values as bytes; they are lists of them
        # The CA certificates the client presented after its own (grpc's peer chain).
        presented = auth.get("x509_pem_cert_chain")
        chain_pem = cast(bytes, presented[0]) if presented else b""
        key = (pem, chain_pem, directory.version)
        found = self._known.get(key)
        if found is None:
            found = self._identify(pem, chain_pem, self._partner_cas(directory))
            if len(self._known) >= 4096:
                self._known.clear()
            self._known[key] = found
        principal, chain = found
        if principal.partner is not None:
            # Every call: a connection outlives a certificate's expiry and its revocation.
            _check_validity(chain[:-1], self._now())
            self._revocation.check(principal.partner, chain)
        return principal

    def _partner_cas(self, directory: Directory) -> dict[str, x509.Certificate]:
        version, cas = self._cas
        if version != directory.version:
            cas = {
                code: x509.load_pem_x509_certificate(pem)
                for code, pem in directory.trust_anchors.items()
            }
            self._cas = (directory.version, cas)
        return cas

    def _identify(
        self, pem: bytes, chain_pem: bytes, partner_cas: Mapping[str, x509.Certificate]
    ) -> tuple[Principal, tuple[x509.Certificate, ...]]:
        cert = x509.load_pem_x509_certificate(pem)
        fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
        subject = cert.subject.rfc4514_string()
        intermediates = [
            c
            for c in (x509.load_pem_x509_certificates(chain_pem) if chain_pem else [])
            if c != cert
        ]
        for code, ca in partner_cas.items():
            path = _path_to(cert, intermediates, ca)
            if path is not None:
                return Principal(Role.PARTNER, code, fingerprint, subject), path
        if _issued_by(cert, self._home_ca):
            for role in (Role.DOMESTIC, Role.ADMIN, Role.REGISTRY):
                if ROLE_URI_PREFIX + role.value in _uris(cert):
                    return Principal(role, None, fingerprint, subject), ()
            return Principal(Role.NONE, None, fingerprint, subject), ()
        raise NoClientIdentity(f"certificate {subject} chains to no configured authority")


def _path_to(
    cert: x509.Certificate, intermediates: Sequence[x509.Certificate], anchor: x509.Certificate
) -> tuple[x509.Certificate, ...] | None:
    """The chain from ``cert`` through CA certificates among ``intermediates`` up to
    ``anchor`` (leaf first, anchor last), each signature checked; None if there is none."""
    path = [cert]
    while len(path) <= len(intermediates) + 1:
        current = path[-1]
        if _issued_by(current, anchor):
            return (*path, anchor)
        issuer = next(
            (c for c in intermediates if c not in path and _is_ca(c) and _issued_by(current, c)),
            None,
        )
        if issuer is None:
            return None
        path.append(issuer)
    return None


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _check_validity(certs: Sequence[x509.Certificate], now: datetime) -> None:
    for cert in certs:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise CertificateExpired(
                f"certificate {cert.subject.rfc4514_string()} is valid from "
                f"{cert.not_valid_before_utc.isoformat()} to "
                f"{cert.not_valid_after_utc.isoformat()}, not at {now.isoformat()}",
                serial=f"{cert.serial_number:x}",
            )


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
