"""The console's way into the gateway: one mutual-TLS channel with the console's certificate,
and on every call the browser user's certificate, so the gateway authorises and audits the call
as that user (metadata ``aeo-console-user-bin``; gateway.api.auth)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from gateway.client import TlsIdentity, connect
from gateway.pb import (
    admin_pb2_grpc,
    audit_pb2_grpc,
    facilitation_pb2_grpc,
    keys_pb2_grpc,
    onboarding_pb2_grpc,
    recognition_pb2_grpc,
)
from gateway.protomap import error_info

USER_METADATA = "aeo-console-user-bin"
#: Seconds one page's call may take: a page that waits longer says so instead of hanging.
CALL_TIMEOUT = 20.0

Stub = TypeVar("Stub")


class ApiError(Exception):
    """A refused or failed call: its gRPC status name, stable reason and message."""

    def __init__(self, status: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    @classmethod
    def of(cls, error: grpc.RpcError) -> ApiError:
        info = error_info(error)
        code = error.code()
        return cls(
            code.name if code is not None else "UNKNOWN",
            info.reason if info is not None else "",
            str(error.details() or ""),
        )


class _Bound:
    """A stub whose every method is called with the user's certificate and the timeout, and
    raises ApiError instead of grpc.RpcError."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, bytes], ...]) -> None:
        self._stub = stub
        self._metadata = metadata

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def call(request: Any) -> Any:
            try:
                return method(request, metadata=self._metadata, timeout=CALL_TIMEOUT)
            except grpc.RpcError as exc:
                raise ApiError.of(exc) from None

        return call


@dataclass(frozen=True)
class Services:
    """The gateway's services, as one user sees them (type each as Any: bound stubs)."""

    admin: Any
    onboarding: Any
    keys: Any
    audit: Any
    recognition: Any
    facilitation: Any


class GatewayApi:
    """One channel to the gateway, shared by every request of the console."""

    def __init__(self, target: str, identity: TlsIdentity) -> None:
        self._channel = connect(target, identity, max_message_bytes=64 << 20)
        self._stubs = {
            "admin": admin_pb2_grpc.AdminServiceStub(self._channel),
            "onboarding": onboarding_pb2_grpc.PartnerOnboardingServiceStub(self._channel),
            "keys": keys_pb2_grpc.KeyManagementServiceStub(self._channel),
            "audit": audit_pb2_grpc.AuditServiceStub(self._channel),
            "recognition": recognition_pb2_grpc.RecognitionServiceStub(self._channel),
            "facilitation": facilitation_pb2_grpc.FacilitationServiceStub(self._channel),
        }

    def as_user(self, user_certificate_der: bytes) -> Services:
        metadata = ((USER_METADATA, user_certificate_der),)
        return Services(**{name: _Bound(stub, metadata) for name, stub in self._stubs.items()})

    def close(self) -> None:
        self._channel.close()
