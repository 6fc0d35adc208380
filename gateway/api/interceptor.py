"""Every call to the gateway's own services passes here: the request takes one directory
snapshot, the caller is identified and authorised against it, and gateway errors become
precise statuses. Anything unexpected answers INTERNAL with a correlation id that is in the
log; no internal text reaches a caller.

Health checking and reflection are not wrapped: TLS has already required a certificate from a
trusted CA, and they reveal nothing a verified caller may not see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc

from gateway.api.auth import SERVICE_ROLES, Authenticator, RequestContext, Role, _current
from gateway.api.errors import abort
from gateway.app.directory import PartnerDirectory
from gateway.domain.errors import GatewayError, InternalError, NoClientIdentity, RoleNotPermitted

log = logging.getLogger(__name__)

Behavior = Callable[[Any, grpc.ServicerContext], Any]


if TYPE_CHECKING:  # the stubs make ServerInterceptor generic; the runtime class is not
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    _Interceptor = grpc.ServerInterceptor


class GatewayInterceptor(_Interceptor):
    def __init__(self, authenticator: Authenticator, directory: PartnerDirectory) -> None:
        self._auth = authenticator
        self._directory = directory
        # Wrapped handlers per method: built once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        wrapped = self._wrapped.get(details.method)
        if wrapped is not None:
            return wrapped
        handler = continuation(details)
        service = details.method.split("/")[1] if details.method.count("/") == 2 else ""
        allowed = SERVICE_ROLES.get(service)
        if handler is None or allowed is None:
            return handler  # not the gateway's (health, reflection) or unknown: left to gRPC
        # Every RPC of the gateway's services is unary.
        assert handler.unary_unary is not None
        wrapped = grpc.unary_unary_rpc_method_handler(
            self._guard(handler.unary_unary, allowed, details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._wrapped[details.method] = wrapped
        return wrapped

    def _context(
        self, context: grpc.ServicerContext, allowed: frozenset[Role], method: str
    ) -> RequestContext:
        directory = self._directory.current()
        principal = self._auth.principal(context, directory)
        if principal.role not in allowed:
            if principal.role is Role.INSECURE_LOCAL:
                raise NoClientIdentity(f"{method} needs a verified client certificate")
            raise RoleNotPermitted(
                f"a {principal.role.value} certificate may not call {method}",
                role=principal.role.value,
            )
        return RequestContext(principal, directory)

    def _guard(self, behavior: Behavior, allowed: frozenset[Role], method: str) -> Behavior:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                token = _current.set(self._context(context, allowed, method))
                try:
                    return behavior(request, context)
                finally:
                    _current.reset(token)
            except GatewayError as error:
                abort(context, error)
            except Exception:
                if context.code() is not None:  # type: ignore[attr-defined]  # the servicer aborted
                    raise
                internal = InternalError.referenced("internal error")
                log.exception("unexpected error in %s (reference %s)", method, internal.reference)
                abort(context, internal)

        return guarded
