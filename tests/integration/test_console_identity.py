"""The admin console's identity and the viewer role, over real gRPC and mutual TLS with the
development PKI: the console (role console) calls for the user whose certificate it forwards in
``aeo-console-user-bin``; viewers read and change nothing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters import pki
from gateway.api.auth import CONSOLE_USER_METADATA
from gateway.api.errors import error_info
from gateway.client import AdminClient, RecognitionClient
from gateway.pb import audit_pb2, audit_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import expect_error, partner_client, submit

DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
HOME_ORG = "General Administration of Customs of China"
ADMIN_SUBJECT = f"CN=CN admin system,O={HOME_ORG}"
VIEWER_SUBJECT = f"CN=CN viewer system,O={HOME_ORG}"
CONSOLE_SUBJECT = f"CN=CN console system,O={HOME_ORG}"
RELOAD = "/aeo.gateway.v1.AdminService/ReloadPartners"


class _ForwardUser(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[type-arg]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[type-arg]
):
    """Adds the user's certificate(s) to every call, as the console does."""

    def __init__(self, users: list[bytes]) -> None:
        self._metadata = [(CONSOLE_USER_METADATA, der) for der in users]

    def _details(self, details: Any) -> Any:
        return details._replace(metadata=[*(details.metadata or ()), *self._metadata])

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


def der(live: Live, stem: str) -> bytes:
    """The DER bytes of a development certificate, e.g. "clients/admin", "partners/SG/client"."""
    cert = x509.load_pem_x509_certificate((live.workspace.pki / f"{stem}.pem").read_bytes())
    return cert.public_bytes(Encoding.DER)


def fingerprint(certificate: bytes) -> str:
    return hashlib.sha256(certificate).hexdigest()


@pytest.fixture
def console(live: Live) -> Iterator[Callable[..., grpc.Channel]]:
    """Channels of the console's certificate, forwarding the given user certificates."""
    opened: list[grpc.Channel] = []

    def channel(*users: bytes, who: str = "console") -> grpc.Channel:
        raw = live.channel(who)
        opened.append(raw)
        return grpc.intercept_channel(raw, _ForwardUser(list(users)))

    yield channel
    for raw in opened:
        raw.close()


def admin_actions(live: Live) -> list[audit_pb2.AuditEntry]:
    with live.channel("admin") as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        found = stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(kind="admin.action"))
        return list(found.entries)


def test_the_console_calls_admin_methods_for_an_admin_and_the_audit_log_names_the_admin(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The console forwards the admin's certificate; lists partners, reads SG's state and
    reloads the partner files. Result: all answer; the reload is one admin.action entry with
    the admin's subject (via the console's) and the admin certificate's fingerprint, role
    admin."""
    admin = AdminClient(console(der(live, "clients/admin")))
    assert "SG" in {p.name.removeprefix("partners/") for p in admin.partners()}
    assert admin.partner_state("SG").name == "partners/SG/state"
    admin.reload_partners()
    [action] = admin_actions(live)
    assert action.subject == RELOAD
    assert action.actor_subject == f"{ADMIN_SUBJECT} via {CONSOLE_SUBJECT}"
    assert action.actor_fingerprint == fingerprint(der(live, "clients/admin"))
    assert json.loads(action.detail_json) == {"reason": "", "role": "admin", "status": "OK"}


def test_the_console_reads_for_a_viewer_but_may_change_nothing(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The console forwards the viewer's certificate; lists partners, reads SG's state, then
    reloads the partner files. Result: the reads answer; the reload is PERMISSION_DENIED
    role.read_only and nothing is recorded as done."""
    viewer = AdminClient(console(der(live, "clients/viewer")))
    assert len(list(viewer.partners())) >= 13
    assert viewer.partner_state("SG").name == "partners/SG/state"
    err = expect_error(viewer.reload_partners, DENIED, "role.read_only")
    assert VIEWER_SUBJECT in (err.details() or "")
    assert admin_actions(live) == []


def test_the_console_without_a_user_may_call_health_checking_only(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The console's own certificate, no user forwarded. Result: health checking answers
    SERVING; ListPartners and a recognition are PERMISSION_DENIED console.user_missing."""
    channel = console()
    health = health_pb2_grpc.HealthStub(channel)
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    expect_error(lambda: list(AdminClient(channel).partners()), DENIED, "console.user_missing")
    expect_error(
        lambda: RecognitionClient(channel).recognise("SG000000000001"),
        DENIED,
        "console.user_missing",
    )


@pytest.mark.parametrize(
    ("user", "code", "reason"),
    [
        ("partners/SG/client", UNAUTHENTICATED, "console.user_invalid"),
        ("clients/domestic", DENIED, "console.user_role_not_permitted"),
        ("clients/registry", DENIED, "console.user_role_not_permitted"),
        ("clients/console", DENIED, "console.user_role_not_permitted"),
        ("ca", UNAUTHENTICATED, "console.user_invalid"),
    ],
)
def test_the_console_may_act_only_for_home_admins_and_viewers(
    live: Live, console: Callable[..., grpc.Channel], user: str, code: Any, reason: str
) -> None:
    """The console forwards a partner's client certificate, a domestic, registry or console
    one, or the home CA's own. Result: refused with a precise reason, before any work."""
    admin = AdminClient(console(der(live, user)))
    expect_error(lambda: list(admin.partners()), code, reason)


def test_a_garbled_or_doubled_user_certificate_is_refused(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The console forwards bytes that are no certificate, then two admin certificates.
    Result: UNAUTHENTICATED console.user_invalid both times."""
    garbled = AdminClient(console(b"\x30\x03not a certificate"))
    expect_error(lambda: list(garbled.partners()), UNAUTHENTICATED, "console.user_invalid")
    admin = der(live, "clients/admin")
    doubled = AdminClient(console(admin, admin))
    expect_error(lambda: list(doubled.partners()), UNAUTHENTICATED, "console.user_invalid")


def test_an_expired_user_certificate_is_refused(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The console forwards an admin certificate of the home CA that expired yesterday, and one
    valid only from tomorrow. Result: UNAUTHENTICATED console.user_expired, with its serial."""
    home = pki.load(live.workspace.pki / "ca.pem", live.workspace.pki / "ca.key.pem")
    now = datetime.now(UTC)
    for not_before, not_after in [
        (now - timedelta(days=30), now - timedelta(days=1)),
        (now + timedelta(days=1), now + timedelta(days=30)),
    ]:
        issued = pki.issue(
            home,
            "CN admin of another time",
            HOME_ORG,
            uris=[pki.ROLE_URI_PREFIX + "admin"],
            not_before=not_before,
            not_after=not_after,
        )
        admin = AdminClient(console(issued.cert.public_bytes(Encoding.DER)))
        err = expect_error(
            lambda: list(admin.partners()),  # noqa: B023
            UNAUTHENTICATED,
            "console.user_expired",
        )
        info = error_info(err)
        assert info is not None
        assert info.metadata["serial"] == f"{issued.cert.serial_number:x}"


def test_a_certificate_other_than_the_consoles_may_not_forward_a_user(
    live: Live, console: Callable[..., grpc.Channel]
) -> None:
    """The viewer's own certificate forwards the admin's and reloads the partner files.
    Result: PERMISSION_DENIED auth.role_not_permitted (forwarding is the console's alone), not
    an admin's reload."""
    pretender = AdminClient(console(der(live, "clients/admin"), who="viewer"))
    expect_error(pretender.reload_partners, DENIED, "auth.role_not_permitted")
    assert admin_actions(live) == []


def test_a_viewer_certificate_reads_directly_but_changes_nothing(live: Live) -> None:
    """The viewer's certificate itself, no console: lists partners, reads SG's state and the
    audit log, then reloads the partner files. Result: the reads answer; the reload is
    PERMISSION_DENIED role.read_only."""
    with live.channel("viewer") as channel:
        viewer = AdminClient(channel)
        assert viewer.partner("SG").name == "partners/SG"
        assert viewer.partner_state("SG").name == "partners/SG/state"
        audit = audit_pb2_grpc.AuditServiceStub(channel)
        assert audit.ListAuditEntries(audit_pb2.ListAuditEntriesRequest()).entries == []
        expect_error(viewer.reload_partners, DENIED, "role.read_only")


@pytest.mark.parametrize("through_console", [False, True])
@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_admins_and_viewers_may_ask_for_a_recognition(
    live: Live, console: Callable[..., grpc.Channel], who: str, through_console: bool
) -> None:
    """SG certifies an operator; an admin and a viewer ask RecognitionService for it, directly
    and through the console. Result: each gets SG's answer with the operator's name."""
    submit(partner_client(live), 1, record())
    channel = console(der(live, f"clients/{who}")) if through_console else console(who=who)
    answer = RecognitionClient(channel).recognise("SG000000000001")
    assert answer.operator_name


def test_each_console_user_counts_against_their_own_limits(
    start_gateway: Callable[..., Live],
) -> None:
    """A refusal budget of one (max_refusals_per_second_per_client 0.2: a burst of 1). Through
    one console connection, the admin asks for an unknown partner (NOT_FOUND, charged to the
    admin). Result: the admin's next call, through the console or with their own certificate,
    is RESOURCE_EXHAUSTED client.too_many_refusals; the viewer, through the same console, is
    answered (the limits are the user's, not the console's)."""
    live = start_gateway(max_refusals_per_second_per_client=0.2)
    with live.channel("console") as raw, live.channel("admin") as own:
        as_admin = AdminClient(
            grpc.intercept_channel(raw, _ForwardUser([der(live, "clients/admin")]))
        )
        as_viewer = AdminClient(
            grpc.intercept_channel(raw, _ForwardUser([der(live, "clients/viewer")]))
        )
        expect_error(lambda: as_admin.partner("ZZ"), grpc.StatusCode.NOT_FOUND, "partner.not_found")
        exhausted = grpc.StatusCode.RESOURCE_EXHAUSTED
        expect_error(lambda: as_admin.partner("SG"), exhausted, "client.too_many_refusals")
        expect_error(lambda: AdminClient(own).partner("SG"), exhausted, "client.too_many_refusals")
        assert as_viewer.partner("SG").name == "partners/SG"
