from __future__ import annotations

import grpc
import pytest

from gateway.api.errors import DOMAIN, STATUS_CODES, to_status
from gateway.domain.errors import GatewayError, InternalError, Status, all_error_classes


def test_every_status_an_error_may_declare_is_mapped_to_grpc() -> None:
    """Each Status the core can name. Result: a gRPC code of the same name."""
    for status in Status:
        assert STATUS_CODES[status].name == status.value


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda c: c.__name__)
def test_every_error_class_has_a_mapped_status_and_a_reason(cls: type[GatewayError]) -> None:
    """An error class added without a mapping or reason. Result: this test fails."""
    assert cls.status in STATUS_CODES
    assert cls.reason
    assert cls.reason == cls.reason.lower()
    status = to_status(cls("message", key="value"))
    assert status.code is STATUS_CODES[cls.status]
    assert status.details == "message"


def test_reasons_are_unique_so_callers_can_branch_on_them() -> None:
    """Two classes sharing a reason. Result: this test fails."""
    reasons = [c.reason for c in all_error_classes()]
    assert len(reasons) == len(set(reasons))


def test_unexpected_errors_are_internal_not_a_guess() -> None:
    """An unexpected failure. Result: INTERNAL with the reason 'internal' in the gateway's
    domain."""
    assert to_status(InternalError("boom")).code is grpc.StatusCode.INTERNAL
    assert InternalError.reason == "internal"
    assert DOMAIN == "aeo-gateway"
