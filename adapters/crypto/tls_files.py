"""The gateway's TLS certificate and key files, watched: replaced files take effect for every
new connection without a restart.

gRPC asks the server's certificate fetcher at each handshake; the fetcher asks ``changed()``,
which costs two stat calls while nothing changed. A changed pair is used only once the
certificate loads, the key loads and the two match: a half-written pair (the certificate
replaced, the key not yet) keeps the pair in force, so no client's handshake fails, and is
taken at the next handshake after the second file is in place. Replace each file atomically
(write a temporary file, then rename it), key first.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

log = logging.getLogger(__name__)

_Stamp = tuple[tuple[int, int, int], ...]


class TlsFiles:
    def __init__(self, cert: Path, key: Path) -> None:
        self._cert = cert
        self._key = key
        self._stamp = self._stat()
        self.loaded = 0

    def _stat(self) -> _Stamp | None:
        try:
            stats = [p.stat() for p in (self._cert, self._key)]
        except OSError:
            return None
        return tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in stats)

    def changed(self) -> tuple[bytes, bytes] | None:
        """The new (key, certificate chain) PEM pair when the files changed and hold a matching
        pair; None otherwise (the pair in force stays)."""
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            key_pem = self._key.read_bytes()
            cert_pem = self._cert.read_bytes()
            cert = x509.load_pem_x509_certificates(cert_pem)[0]
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (OSError, ValueError, TypeError, IndexError) as exc:
            log.error(
                "TLS certificate %s or key %s unusable (%s): the pair in force stays",
                self._cert,
                self._key,
                exc,
            )
            return None
        der = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if cert.public_key().public_bytes(*der) != key.public_key().public_bytes(*der):
            log.error(
                "TLS certificate %s does not match the key %s (yet): the pair in force stays",
                self._cert,
                self._key,
            )
            return None
        self.loaded += 1
        log.info(
            "TLS certificate %s (serial %x, valid until %s) in force for new connections",
            self._cert,
            cert.serial_number,
            cert.not_valid_after_utc.isoformat(),
        )
        return key_pem, cert_pem
