"""Every call passes here: the caller is identified and authorised for the service, and gateway
errors become precise statuses. Unexpected exceptions become INTERNAL without internals leaked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc

from gateway.api.auth import SERVICE_ROLES, Authenticator, Principal, Role, _current
from gateway.api.errors import abort
from gateway.domain.errors import GatewayError, NoClientIdentity, RoleNotPermitted

log = logging.getLogger(__name__)

Behavior = Callable[[Any, grpc.ServicerContext], Any]


if TYPE_CHECKING:  # the stubs make ServerInterceptor generic; the runtime class is not
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.ServerInterceptor


class GatewayInterceptor(_Interceptor):
    def __init__(self, authenticator: Authenticator) -> None:
        self._auth = authenticator
        # Wrapped handlers per method: built once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            wrapped = self._wrap(continuation(details), details.method)
            if wrapped is not None:  # unknown methods are not cached: their names are unbounded
                self._wrapped[details.method] = wrapped
        return wrapped

    def _wrap(
        self, handler: grpc.RpcMethodHandler[Any, Any] | None, method: str
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler is None:
            return None
        service = method.split("/")[1] if method.count("/") == 2 else ""
        allowed = SERVICE_ROLES.get(service)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._guard(handler.unary_unary, allowed, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._guard_stream(handler.unary_stream, allowed, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._guard_stream(handler.stream_stream, allowed, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        assert handler.stream_unary is not None
        return grpc.stream_unary_rpc_method_handler(
            self._guard(handler.stream_unary, allowed, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _authorise(
        self, context: grpc.ServicerContext, allowed: frozenset[Any] | None, method: str
    ) -> Principal:
        principal = self._auth.principal(context)
        if allowed is not None and principal.role not in allowed:
            if principal.role is Role.INSECURE_LOCAL:
                raise NoClientIdentity(f"{method} needs a verified client certificate")
            raise RoleNotPermitted(
                f"a {principal.role.value} certificate may not call {method}",
                role=principal.role.value,
            )
        return principal

    def _guard(self, behavior: Behavior, allowed: frozenset[Any] | None, method: str) -> Behavior:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                token = _current.set(self._authorise(context, allowed, method))
                try:
                    return behavior(request, context)
                finally:
                    _current.reset(token)
            except GatewayError as error:
                abort(context, error)
            except Exception:
                if context.code() is not None:  # type: ignore[attr-defined]  # the servicer aborted
                    raise
                log.exception("unexpected error in %s", method)
                abort(context, GatewayError("internal error; see the gateway's log"))

        return guarded

    def _guard_stream(
        self, behavior: Behavior, allowed: frozenset[Any] | None, method: str
    ) -> Behavior:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                self._authorise(context, allowed, method)
            except GatewayError as error:
                abort(context, error)
            yield from behavior(request, context)

        return guarded
