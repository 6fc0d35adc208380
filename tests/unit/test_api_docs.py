"""docs/api.md is the partners' and declaration systems' guide: it must not fall behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.domain.errors import all_error_classes
from gateway.pb import (
    admin_pb2,
    audit_pb2,
    changes_pb2,
    consent_pb2,
    exchange_pb2,
    facilitation_pb2,
    home_pb2,
    onboarding_pb2,
    recognition_pb2,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
RPCS = [
    f"{service.name}.{method.name}" if service.name != "AdminService" else method.name
    for module in (
        exchange_pb2,
        recognition_pb2,
        admin_pb2,
        home_pb2,
        changes_pb2,
        facilitation_pb2,
        consent_pb2,
        onboarding_pb2,
        audit_pb2,
    )
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
]


@pytest.mark.parametrize("rpc", RPCS)
def test_every_rpc_is_documented(rpc: str) -> None:
    """An RPC added to the protos. Result: this test fails until docs/api.md describes it."""
    assert f"`{rpc.split('.')[-1]}`" in DOC or rpc in DOC


@pytest.mark.parametrize("reason", sorted(c.reason for c in all_error_classes()))
def test_every_error_reason_is_documented(reason: str) -> None:
    """An error class added to the core. Result: this test fails until its reason is in the
    error table of docs/api.md."""
    assert f"| `{reason}` |" in DOC


@pytest.mark.parametrize(
    "value",
    [
        name
        for name in recognition_pb2.RecognitionOutcome.keys()  # noqa: SIM118
        if not name.endswith("UNSPECIFIED")
    ],
)
def test_every_recognition_outcome_is_documented(value: str) -> None:
    """An outcome added to the API. Result: this test fails until docs/api.md explains it."""
    assert f"`{value}`" in DOC


RECOGNITION_SOURCES = [
    Path(__file__).resolve().parents[2] / "gateway" / "domain" / "recognition.py",
    Path(__file__).resolve().parents[2] / "gateway" / "app" / "recognise.py",
]
RECOGNITION_REASONS = sorted(
    {
        reason
        for source in RECOGNITION_SOURCES
        for reason in re.findall(r'"([a-z_]+\.[a-z_]+)"', source.read_text())
    }
    | {f"status.{status}" for status in ("suspended", "revoked", "expired")}
)


@pytest.mark.parametrize("reason", RECOGNITION_REASONS)
def test_every_recognition_reason_is_documented(reason: str) -> None:
    """A reason the recognition code can answer with (read from its source). Result: this
    test fails until docs/api.md names it."""
    assert f"`{reason}`" in DOC
