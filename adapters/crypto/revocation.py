"""Certificate revocation lists of partners, loaded at start, refreshed, checked on every call.

Each partner may name CRL files and URLs (``trust.crl``, ``trust.crl_url``). Every source is
read at start and again every ``crl_refresh_seconds``; a source that cannot be read or parsed
keeps its last good CRLs, and the failure is logged. A CRL counts only for the certificates its
issuer issued, and only once its signature verifies under that issuer's key (the issuer is the
CA certificate of the caller's verified chain, so a CRL signed by anyone else is ignored, and
logged). A CRL past its nextUpdate by more than ``crl_grace_seconds`` is logged at WARNING and
still used: the gateway fails open on a stale CRL (refusing every call of a partner because its
CRL server is down would be an outage of the exchange), and fails closed on every serial it lists.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.domain.errors import CertificateRevoked

log = logging.getLogger(__name__)

_PEM_CRL = re.compile(rb"-----BEGIN X509 CRL-----.+?-----END X509 CRL-----", re.DOTALL)
#: Largest CRL document read from a file or URL.
MAX_CRL_BYTES = 8 * 1024 * 1024
_SHA256 = hashes.SHA256()


@dataclass(frozen=True)
class _Loaded:
    source: str
    crls: tuple[x509.CertificateRevocationList, ...]


def parse_crls(data: bytes) -> tuple[x509.CertificateRevocationList, ...]:
    """Every CRL in ``data``: PEM blocks (one or more), or one DER CRL."""
    blocks = _PEM_CRL.findall(data)
    if blocks:
        return tuple(x509.load_pem_x509_crl(b) for b in blocks)
    return (x509.load_der_x509_crl(data),)


def read_source(source: str, timeout: float = 5.0) -> bytes:
    """The bytes of a CRL file or http(s) URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=timeout) as answer:  # noqa: S310
            data: bytes = answer.read(MAX_CRL_BYTES + 1)
    else:
        with Path(source).open("rb") as file:
            data = file.read(MAX_CRL_BYTES + 1)
    if len(data) > MAX_CRL_BYTES:
        raise ValueError(f"larger than {MAX_CRL_BYTES} bytes")
    return data


class Revocation:
    """The partners' CRLs in force, and the check every call makes against them."""

    def __init__(
        self,
        sources: Callable[[], Mapping[str, Sequence[str]]],
        now: Callable[[], datetime],
        refresh_seconds: float,
        grace: timedelta,
        read: Callable[[str], bytes] = read_source,
    ) -> None:
        self._sources = sources
        self._now = now
        self._refresh_seconds = refresh_seconds
        self._grace = grace
        self._read = read
        #: source -> its last good CRLs (a failed refresh keeps them).
        self._loaded: dict[str, _Loaded] = {}
        #: partner -> its CRLs, by issuer name (DER): swapped whole on each refresh.
        self._by_partner: dict[str, dict[bytes, tuple[x509.CertificateRevocationList, ...]]] = {}
        #: (CRL fingerprint, issuer fingerprint) -> whether the signature verifies.
        self._verified: dict[tuple[bytes, bytes], bool] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0

    def refresh(self) -> None:
        """Reads every partner's sources; a source that fails keeps its last good CRLs."""
        with self._lock:
            sources = self._sources()
            by_partner: dict[str, dict[bytes, tuple[x509.CertificateRevocationList, ...]]] = {}
            now = self._now()
            for partner, names in sources.items():
                issuers: dict[bytes, tuple[x509.CertificateRevocationList, ...]] = {}
                for source in names:
                    loaded = self._load(partner, source)
                    for crl in loaded.crls if loaded else ():
                        self._warn_if_stale(partner, source, crl, now)
                        key = crl.issuer.public_bytes()
                        issuers[key] = (*issuers.get(key, ()), crl)
                by_partner[partner] = issuers
            self._by_partner = by_partner  # one reference swap: calls see old or new, whole
            self.refreshes += 1

    def _load(self, partner: str, source: str) -> _Loaded | None:
        try:
            crls = parse_crls(self._read(source))
        except (OSError, ValueError) as exc:
            kept = self._loaded.get(source)
            log.error(
                "partner %s: CRL %s cannot be read (%s); %s",
                partner,
                source,
                exc,
                "keeping the last good one" if kept else "no CRL of it is in force",
            )
            return kept
        loaded = _Loaded(source, crls)
        self._loaded[source] = loaded
        return loaded

    def _warn_if_stale(
        self, partner: str, source: str, crl: x509.CertificateRevocationList, now: datetime
    ) -> None:
        next_update = crl.next_update_utc
        if next_update is not None and now > next_update + self._grace:
            log.warning(
                "partner %s: CRL %s of %s is past its nextUpdate %s; still used (ask the "
                "partner to publish a fresh one)",
                partner,
                source,
                crl.issuer.rfc4514_string(),
                next_update.isoformat(),
            )

    def check(self, partner: str, chain: Sequence[x509.Certificate]) -> None:
        """``chain``: the caller's verified chain, leaf first, ending with the partner's trust
        anchor. Each certificate is looked up on the CRLs its issuer signed."""
        crls = self._by_partner.get(partner)
        if not crls:
            return
        for cert, issuer in itertools.pairwise(chain):
            for crl in crls.get(cert.issuer.public_bytes(), ()):
                if not self._signed_by(crl, issuer):
                    continue
                if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                    raise CertificateRevoked(
                        f"certificate {cert.subject.rfc4514_string()} (serial "
                        f"{cert.serial_number:x}) is revoked by its issuer's CRL",
                        serial=f"{cert.serial_number:x}",
                    )

    def _signed_by(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        key = (crl.fingerprint(_SHA256), issuer.fingerprint(_SHA256))
        verified = self._verified.get(key)
        if verified is None:
            public = issuer.public_key()
            verified = isinstance(
                public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
            ) and crl.is_signature_valid(public)
            if not verified:
                log.error(
                    "a CRL naming %s as issuer is not signed by it: ignored",
                    issuer.subject.rfc4514_string(),
                )
            if len(self._verified) >= 4096:
                self._verified.clear()
            self._verified[key] = verified
        return verified

    def start(self) -> None:
        """Refreshes every ``refresh_seconds`` on a thread of its own, until stop()."""
        self._thread = threading.Thread(target=self._run, name="crl-refresh", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._refresh_seconds):
            try:
                self.refresh()
            except Exception:  # the refresher must outlive any one bad round
                log.exception("CRL refresh failed; the CRLs in force stay")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
