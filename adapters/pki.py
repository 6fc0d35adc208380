"""A development PKI: a home CA, the gateway's TLS and signing keys, a client certificate for
each home role (domestic, admin, registry, viewer, console), and a simulated CA, TLS client
and signing key for every partner.

Enough to run the whole exchange on one machine. Production points the settings and the partner
files at real certificates and keys instead.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from adapters.crypto.signatures import ECDSA_P256, ED25519, RSA_PKCS1, RSA_PSS, PrivateKey

ROLE_URI_PREFIX = "urn:aeo-gateway:role:"
TlsKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: TlsKey


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(common_name: str, org: str, days: int = 3650, path_length: int | None = 0) -> Issued:
    """A self-signed root CA; ``path_length`` None lets it issue intermediate CAs."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = _name(common_name, org)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue(
    ca: Issued,
    common_name: str,
    org: str,
    *,
    server: bool = False,
    dns: Iterable[str] = (),
    ips: Iterable[str] = (),
    uris: Iterable[str] = (),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, org))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


_CA_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


def make_intermediate(
    ca: Issued,
    common_name: str,
    org: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """An intermediate CA issued by ``ca`` (which must allow one: ``make_ca(path_length=None)``);
    it issues leaf certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, org))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(days=1825))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_USAGE, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_crl(
    issuer: Issued,
    revoked: Iterable[int] = (),
    *,
    last_update: datetime | None = None,
    next_update: datetime | None = None,
    signed_by: TlsKey | None = None,
) -> x509.CertificateRevocationList:
    """A CRL of ``issuer`` revoking the certificates with the ``revoked`` serial numbers;
    ``signed_by`` another key forges one."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(last_update or now - timedelta(minutes=5))
        .next_update(next_update or now + timedelta(days=7))
    )
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - timedelta(minutes=1))
            .build()
        )
    return builder.sign(signed_by or issuer.key, hashes.SHA256())


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def signing_key(algorithm: str) -> PrivateKey:
    if algorithm == ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == ECDSA_P256:
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm in (RSA_PSS, RSA_PKCS1):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}")


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load(cert_path: Path, key_path: Path) -> Issued:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: expected an EC key")
    return Issued(cert, key)


class Writer:
    """Writes files once: an existing file is kept (idempotent), unless ``force``."""

    def __init__(self, root: Path, force: bool) -> None:
        self.root = root
        self.force = force
        self.written: list[Path] = []
        self.kept: list[Path] = []

    def exists(self, *relative: str) -> bool:
        return not self.force and all((self.root / r).exists() for r in relative)

    def put(self, relative: str, data: bytes, private: bool = False) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if private:
            os.chmod(path, 0o600)
        self.written.append(path)

    def pair(self, stem: str, issued: Issued) -> None:
        self.put(f"{stem}.pem", cert_pem(issued.cert))
        self.put(f"{stem}.key.pem", key_pem(issued.key), private=True)


@dataclass(frozen=True)
class PartnerKeys:
    code: str
    name: str
    signing: tuple[tuple[str, str], ...]  # (key_id, algorithm)


def init(
    root: Path,
    home_code: str,
    home_name: str,
    gateway_key: tuple[str, str],
    partners: Iterable[PartnerKeys],
    force: bool = False,
) -> Writer:
    """Creates whatever is missing under ``root``; returns what was written and what kept."""
    w = Writer(root, force)
    if w.exists("ca.pem", "ca.key.pem"):
        home = load(root / "ca.pem", root / "ca.key.pem")
        w.kept.append(root / "ca.pem")
    else:
        home = make_ca(f"{home_code} customs development CA", home_name)
        w.pair("ca", home)
    if not w.exists("server.pem"):
        w.pair(
            "server",
            issue(
                home,
                "aeo-gateway",
                home_name,
                server=True,
                dns=["localhost"],
                ips=["127.0.0.1", "::1"],
            ),
        )
    # viewer: reads what admins read; console: the admin console, which calls for its users.
    for role in ("domestic", "admin", "registry", "viewer", "console"):
        if not w.exists(f"clients/{role}.pem"):
            w.pair(
                f"clients/{role}",
                issue(home, f"{home_code} {role} system", home_name, uris=[ROLE_URI_PREFIX + role]),
            )
    if not w.exists("clients/gateway.pem"):
        # What the gateway presents when it sends home AEO changes to partners' gateways: they
        # know it by the home CA that issued it (no role: it calls only partners).
        w.pair("clients/gateway", issue(home, f"{home_code} customs gateway", home_name))
    key_id, algorithm = gateway_key
    if not w.exists(f"gateway/signing-{key_id}.key.pem"):
        key = signing_key(algorithm)
        w.put(f"gateway/signing-{key_id}.key.pem", key_pem(key), private=True)
        w.put(f"gateway/signing-{key_id}.pub.pem", public_pem(key))
    for partner in partners:
        base = f"partners/{partner.code}"
        if w.exists(f"{base}/ca.pem", f"{base}/ca.key.pem"):
            ca = load(root / base / "ca.pem", root / base / "ca.key.pem")
        else:
            ca = make_ca(f"{partner.code} customs simulated CA", partner.name)
            w.pair(f"{base}/ca", ca)
        if not w.exists(f"{base}/client.pem"):
            w.pair(f"{base}/client", issue(ca, f"{partner.code} customs gateway", partner.name))
        if not w.exists(f"{base}/server.pem"):
            # The partner's own gateway, run locally by the demo and the federation tests.
            w.pair(
                f"{base}/server",
                issue(
                    ca,
                    f"{partner.code} customs gateway",
                    partner.name,
                    server=True,
                    dns=["localhost"],
                    ips=["127.0.0.1", "::1"],
                ),
            )
        for pk_id, pk_alg in partner.signing:
            if not w.exists(f"{base}/signing-{pk_id}.key.pem"):
                key = signing_key(pk_alg)
                w.put(f"{base}/signing-{pk_id}.key.pem", key_pem(key), private=True)
                w.put(f"{base}/signing-{pk_id}.pub.pem", public_pem(key))
    return w
