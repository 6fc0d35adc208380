"""The credential expiry inventory: every certificate and key the gateway relies on that has an
end of validity, and when it ends. One module for `aeo-gateway doctor`, the
``aeo_gateway_credential_expiry_seconds`` metric and the expiry warnings in the log.

The gateway's own: its TLS certificate, the outbound client certificate, the home CA, and its
signing key's certificate when one lies beside the key (``signing-KEY.pem`` next to
``signing-KEY.key.pem``). Each partner's: its trust anchor (the CA of its clients), the CA of its
gateway's server certificate, and its signing keys that have a ``not_after``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from gateway.domain.directory import Directory

log = logging.getLogger(__name__)

#: A credential ending within this is a warning in doctor and the log.
WARNING_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Credential:
    #: tls_certificate, outbound_client_certificate, home_ca, signing_certificate,
    #: partner_trust_anchor, partner_server_ca or partner_signing_key.
    kind: str
    #: The partner it belongs to; "" for the gateway's own.
    partner: str
    #: The certificate's subject, or the signing key's id.
    name: str
    not_after: datetime
    #: Where it comes from (a file, or the partner's definition), for what to do about it.
    source: str

    def seconds_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds()

    def describe(self) -> str:
        whose = f"partner {self.partner} " if self.partner else ""
        return f"{whose}{self.kind.replace('_', ' ')} {self.name} ({self.source})"


@dataclass(frozen=True, slots=True)
class OwnFiles:
    """The gateway's own certificate files (from the settings)."""

    tls_cert: Path
    outbound_tls_cert: Path
    home_ca: Path
    signing_key: Path


def _certificates(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def _from_pem(kind: str, partner: str, pem: bytes, source: str) -> list[Credential]:
    return [
        Credential(kind, partner, c.subject.rfc4514_string(), c.not_valid_after_utc, source)
        for c in _certificates(pem)
    ]


def signing_certificate(signing_key: Path) -> Path:
    """Where the gateway signing key's certificate lies, if it has one."""
    name = signing_key.name
    stem = name.removesuffix(".key.pem") if name.endswith(".key.pem") else signing_key.stem
    return signing_key.with_name(f"{stem}.pem")


def own(files: OwnFiles) -> tuple[list[Credential], list[str]]:
    """The gateway's own credentials, and a line for each file that cannot be read (doctor
    reports those; the metric and the log leave them out)."""
    found: list[Credential] = []
    problems: list[str] = []
    named = [
        ("tls_certificate", files.tls_cert, True),
        ("outbound_client_certificate", files.outbound_tls_cert, True),
        ("home_ca", files.home_ca, True),
        ("signing_certificate", signing_certificate(files.signing_key), False),
    ]
    for kind, path, required in named:
        if not required and not path.exists():
            continue
        try:
            found += _from_pem(kind, "", path.read_bytes(), str(path))
        except OSError as exc:
            problems.append(f"{kind.replace('_', ' ')} {path}: {exc.strerror}")
        except ValueError as exc:
            problems.append(f"{kind.replace('_', ' ')} {path} is not a PEM certificate: {exc}")
    return found, problems


def partners(directory: Directory) -> list[Credential]:
    """Every partner's trust anchor, gateway server CA and signing keys with an end."""
    found: list[Credential] = []
    for code in sorted(directory.partners):
        source = f"partner {code}'s definition"
        if code in directory.trust_anchors:
            found += _from_pem("partner_trust_anchor", code, directory.trust_anchors[code], source)
        if code in directory.server_cas:
            found += _from_pem("partner_server_ca", code, directory.server_cas[code], source)
        for key in directory.partners[code].signing_keys:
            if key.not_after is not None:
                found.append(
                    Credential("partner_signing_key", code, key.key_id, key.not_after, source)
                )
    return found


def inventory(files: OwnFiles, directory: Directory) -> list[Credential]:
    """The gateway's own credentials (those readable) and every partner's."""
    return own(files)[0] + partners(directory)


def expiring(
    credentials: Iterable[Credential], now: datetime, window: timedelta = WARNING_WINDOW
) -> list[Credential]:
    """Those that end within ``window`` of ``now``, or have ended, soonest first."""
    return sorted(
        (c for c in credentials if c.not_after - now <= window), key=lambda c: c.not_after
    )


def log_expiring(credentials: Sequence[Credential], now: datetime) -> int:
    """A WARNING for each credential ending within the window; returns how many."""
    soon = expiring(credentials, now)
    for c in soon:
        left = c.not_after - now
        if left.total_seconds() <= 0:
            log.warning("%s EXPIRED on %s: replace it", c.describe(), c.not_after.isoformat())
        else:
            log.warning(
                "%s expires on %s, in %d days: renew it before then",
                c.describe(),
                c.not_after.isoformat(),
                left.days,
            )
    return len(soon)
