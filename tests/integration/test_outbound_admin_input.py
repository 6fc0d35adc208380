"""Hostile input to the outbound Admin RPCs, over real mutual TLS on SQLite and PostgreSQL:
page tokens naming numbers past any stored or a partner part that is not a code, and
re-drives of sequences that cannot exist or too many at once, are INVALID_ARGUMENT with a
stable reason, never INTERNAL or UNAVAILABLE."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from gateway.pb import admin_pb2, admin_pb2_grpc
from tests.conftest import Live
from tests.integration.helpers import expect_error


@pytest.fixture(params=["sqlite", "postgresql"])
def admin(
    request: pytest.FixtureRequest, start_gateway: Callable[..., Live]
) -> admin_pb2_grpc.AdminServiceStub:
    overrides: dict[str, Any] = {"outbound_enabled": True, "outbound_workers": 1}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    live = start_gateway(**overrides)
    stub: admin_pb2_grpc.AdminServiceStub = admin_pb2_grpc.AdminServiceStub(live.channel("admin"))
    return stub


def token(position: str) -> str:
    return base64.urlsafe_b64encode(f"outbound:{position}".encode()).decode()


@pytest.mark.parametrize(
    "position",
    [
        "99999999999999999999999:KR:1",
        "1:KR:99999999999999999999",
        f"{2**63}:KR:1",
        "1:K\x00R:1",
        "-1:KR:-1",
        "1:kr:1",
        "1:KR",
    ],
)
def test_a_page_token_that_was_never_issued_is_invalid_argument(
    admin: admin_pb2_grpc.AdminServiceStub, position: str
) -> None:
    request = admin_pb2.ListOutboundMessagesRequest(parent="partners/-", page_token=token(position))
    expect_error(
        lambda: admin.ListOutboundMessages(request, timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
        "request.invalid_page_token",
    )


def test_a_page_token_at_the_limits_is_accepted(admin: admin_pb2_grpc.AdminServiceStub) -> None:
    request = admin_pb2.ListOutboundMessagesRequest(
        parent="partners/-", page_token=token(f"{2**63 - 1}:KR:{2**63 - 1}")
    )
    assert list(admin.ListOutboundMessages(request, timeout=10).messages) == []


@pytest.mark.parametrize(
    ("parent", "sequences"),
    [
        ("partners/KR", [2**64 - 1]),
        ("partners/KR", [2**63]),
        ("partners/KR", [0]),
        ("partners/KR", list(range(1, 70_001))),
        ("partners/KR", list(range(1, 1_002))),
        ("partners/-", [1]),
    ],
    ids=["u64max", "2^63", "zero", "70000", "1001", "every-partner"],
)
def test_a_redrive_of_sequences_that_cannot_be_is_invalid_argument(
    admin: admin_pb2_grpc.AdminServiceStub, parent: str, sequences: list[int]
) -> None:
    request = admin_pb2.RedriveOutboundMessagesRequest(parent=parent, sequences=sequences)
    err = expect_error(
        lambda: admin.RedriveOutboundMessages(request, timeout=20),
        grpc.StatusCode.INVALID_ARGUMENT,
        "query.invalid",
    )
    if parent == "partners/-":
        assert "name the partner" in (err.details() or "")


def test_a_thousand_sequences_of_one_partner_are_accepted(
    admin: admin_pb2_grpc.AdminServiceStub,
) -> None:
    request = admin_pb2.RedriveOutboundMessagesRequest(
        parent="partners/KR", sequences=[*range(1, 1_000), 2**63 - 1]
    )
    assert list(admin.RedriveOutboundMessages(request, timeout=20).redriven) == []
