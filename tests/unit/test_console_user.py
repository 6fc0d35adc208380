"""The authenticator's console users: verified once, dated on every call (the gateway's clock is
injected, so expiry needs no waiting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from adapters import pki
from gateway.api import auth
from gateway.api.auth import CONSOLE_USER_METADATA, Authenticator, Role
from gateway.domain.errors import ConsoleUserExpired

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
HOME = pki.make_ca("CN customs test CA", "GACC")
CONSOLE = pki.issue(HOME, "CN console system", "GACC", uris=[pki.ROLE_URI_PREFIX + "console"])
#: What the authenticator reads of the directory: its version and the partners' CAs (none).
NO_PARTNERS: Any = SimpleNamespace(version=1, trust_anchors={})


class Context:
    """What the authenticator reads of a gRPC call: the TLS peer and the metadata."""

    def __init__(self, user: bytes) -> None:
        self._user = user

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": [pki.cert_pem(CONSOLE.cert)]}

    def invocation_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return ((CONSOLE_USER_METADATA, self._user),)


def test_a_console_user_is_verified_once_but_dated_on_every_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A viewer certificate valid until NOW + 1 h, forwarded by the console three times, then
    once more two hours later. Result: three calls as the viewer via the console, costing one
    signature check for the console's certificate and one for the viewer's; the fourth is
    refused console.user_expired though the viewer is cached."""
    viewer = pki.issue(
        HOME,
        "CN viewer system",
        "GACC",
        uris=[pki.ROLE_URI_PREFIX + "viewer"],
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(hours=1),
    )
    checks: list[str] = []
    issued_by = auth._issued_by

    def counted(cert: Any, ca: Any) -> bool:
        checks.append(cert.subject.rfc4514_string())
        return issued_by(cert, ca)

    monkeypatch.setattr(auth, "_issued_by", counted)
    clock = [NOW]
    authenticator = Authenticator(HOME.cert, now=lambda: clock[0])
    context: Any = Context(viewer.cert.public_bytes(Encoding.DER))
    found = [authenticator.principal(context, NO_PARTNERS) for _ in range(3)]
    assert {(p.role, p.subject, p.via) for p in found} == {
        (Role.VIEWER, "CN=CN viewer system,O=GACC", "CN=CN console system,O=GACC")
    }
    assert checks == ["CN=CN console system,O=GACC", "CN=CN viewer system,O=GACC"]
    clock[0] = NOW + timedelta(hours=2)
    with pytest.raises(ConsoleUserExpired):
        authenticator.principal(context, NO_PARTNERS)
