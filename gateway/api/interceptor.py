"""Every call passes here before it costs the gateway anything: the caller is identified and,
for the gateway's own services, authorised against one directory snapshot; the call is admitted
under its client's limits (gateway.api.admission); only then is its request body awaited and
parsed. Gateway errors become precise statuses; a request that does not parse answers
INVALID_ARGUMENT request.malformed; anything unexpected answers INTERNAL with a correlation id
that is in the log. No internal text reaches a caller.

Health checking and reflection pass here too, so that their calls count against their client's
limits; any certificate the TLS layer verified may call them, role or not.

To identify a caller before its body arrives, every handler is served in its client-streaming
form (the same bytes on the wire) with raw bytes in, and the request is parsed here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from gateway import logs
from gateway.api.admission import Admission
from gateway.api.auth import (
    CONSOLE_USER_METADATA,
    SERVICE_ROLES,
    Authenticator,
    Principal,
    RequestContext,
    Role,
    _current,
)
from gateway.api.errors import abort
from gateway.api.observe import CallObserver, observed
from gateway.app.audit_log import is_mutating
from gateway.app.directory import PartnerDirectory
from gateway.domain.errors import (
    ConsoleUserMissing,
    GatewayError,
    InternalError,
    MalformedRequest,
    NoClientIdentity,
    ReadOnlyRole,
    RoleNotPermitted,
    Status,
    shown,
)

log = logging.getLogger(__name__)

Parse = Callable[[bytes], Any]
#: Records an admin action: method, role, certificate subject, fingerprint, request bytes,
#: status, reason (gateway.app.audit_log.RecordAdminAction).
RecordAction = Callable[[str, str, str, str, bytes, str, str, str], None]
#: Whose mutating calls are admin actions in the audit log.
_AUDITED_ROLES = frozenset({Role.ADMIN, Role.REGISTRY, Role.INSECURE_LOCAL})
#: A partner's calls that store no message in their own transaction, recorded here instead
#: (status messages and outcome reports are chained with what they store).
_AUDITED_PARTNER_CALLS = frozenset({"SubmitTestMessage", "AnnounceSigningKey"})

if TYPE_CHECKING:  # the stubs make these generic; the runtime classes are not
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:
    Handler = grpc.RpcMethodHandler
    _Interceptor = grpc.ServerInterceptor


class GatewayInterceptor(_Interceptor):
    def __init__(
        self,
        authenticator: Authenticator,
        directory: PartnerDirectory,
        admission: Admission,
        observer: CallObserver | None = None,
        audit: RecordAction | None = None,
    ) -> None:
        self._auth = authenticator
        #: Told each call's method, status code and duration (the metrics); None: nobody.
        self._observer = observer
        self._directory = directory
        self._admission = admission
        #: Records every mutating call of an admin (or the registry) in the audit log.
        self._audit = audit
        # Wrapped handlers per method: built once, not on every call.
        self._wrapped: dict[str, Handler] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        wrapped = self._wrapped.get(details.method)
        if wrapped is None:
            handler = continuation(details)
            if handler is None:
                return None  # unknown method: gRPC answers UNIMPLEMENTED
            wrapped = observed(self._wrap(handler, details.method), details.method, self._observer)
            self._wrapped[details.method] = wrapped
        return wrapped

    def _wrap(self, handler: Handler, method: str) -> Handler:
        service = method.split("/")[1] if method.count("/") == 2 else ""
        # None: not one of the gateway's services (health, reflection): any verified caller.
        allowed = SERVICE_ROLES.get(service)
        call = _Call(
            self.authorise, self._admission, method, allowed, handler.request_deserializer or bytes
        )
        if allowed is not None and self._audit is not None and is_mutating(method):
            call.audit = self._audit
        serialize = handler.response_serializer
        if handler.unary_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                call.unary(handler.unary_unary), response_serializer=serialize
            )
        if handler.unary_stream is not None:
            return grpc.stream_stream_rpc_method_handler(
                call.unary_stream(handler.unary_stream), response_serializer=serialize
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                call.client_streaming(handler.stream_unary), response_serializer=serialize
            )
        assert handler.stream_stream is not None
        return grpc.stream_stream_rpc_method_handler(
            call.bidi_streaming(handler.stream_stream), response_serializer=serialize
        )

    def authorise(
        self, context: grpc.ServicerContext, allowed: frozenset[Role] | None, method: str
    ) -> RequestContext:
        directory = self._directory.current()
        principal = self._auth.principal(context, directory)
        logs.note_partner(principal.partner)
        if allowed is None:
            return RequestContext(principal, directory)  # health, reflection: any caller
        if principal.role is Role.CONSOLE:
            raise ConsoleUserMissing(
                f"the console calls {method} only for a user: send the user's certificate in "
                f"{CONSOLE_USER_METADATA}"
            )
        if principal.role not in allowed:
            if principal.role is Role.INSECURE_LOCAL:
                raise NoClientIdentity(f"{method} needs a verified client certificate")
            if principal.role is Role.NONE:
                raise RoleNotPermitted(
                    f"certificate {principal.subject} carries no gateway role", role="none"
                )
            raise RoleNotPermitted(
                f"a {principal.role.value} certificate may not call {method}",
                role=principal.role.value,
            )
        if principal.role is Role.VIEWER and is_mutating(method):
            raise ReadOnlyRole(
                f"{principal.subject} is a viewer: it may read but not call {method}, which "
                "changes something",
                role=principal.role.value,
            )
        return RequestContext(principal, directory)


#: Refusals that are the caller's fault, and cost the gateway the work of finding it out: they
#: are charged to the caller's refusal budget (Admission.refused). Throttling and the gateway's
#: own failures are not.
_CALLERS_FAULT = frozenset(
    {
        Status.INVALID_ARGUMENT,
        Status.UNAUTHENTICATED,
        Status.PERMISSION_DENIED,
        Status.ALREADY_EXISTS,
        Status.FAILED_PRECONDITION,
        Status.NOT_FOUND,
    }
)


def _client(principal: Principal) -> str:
    """Whose limits a call counts against: a partner as a whole (its CA may issue many
    certificates), otherwise the one home certificate."""
    if principal.partner is not None:
        return f"partner:{principal.partner}"
    return f"certificate:{principal.fingerprint}"


def _actor(principal: Principal) -> str:
    """Who the audit log names: the certificate's subject, and the console it acted through."""
    subject = principal.subject or principal.role.value
    return f"{subject} via {principal.via}" if principal.via else subject


class _Call:
    """The wrapped behaviours of one method."""

    def __init__(
        self,
        authorise: Callable[[grpc.ServicerContext, frozenset[Role] | None, str], RequestContext],
        admission: Admission,
        method: str,
        allowed: frozenset[Role] | None,
        parse: Parse,
    ) -> None:
        self._authorise = authorise
        self._admission = admission
        self._method = method
        self._allowed = allowed
        self._parse = parse
        #: Set for the mutating methods of the gateway's own services (see _recorded).
        self.audit: RecordAction | None = None

    def unary(self, behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Any:
        def served(requests: Iterator[bytes], context: grpc.ServicerContext) -> Any:
            try:
                request_context = self._authorise(context, self._allowed, self._method)
                client = _client(request_context.principal)
                raw = self._body(client, requests, context)
                with self._admission.call(client):
                    if self._allowed is not None:  # the gateway's own work waits its turn
                        self._admission.check_refusals(client)
                        self._admission.meter(client, len(raw))
                        self._admission.take_turn()
                    token = _current.set(request_context)
                    try:
                        return self._recorded(
                            request_context.principal,
                            raw,
                            lambda: behavior(self._parsed(raw), context),
                        )
                    except GatewayError as exc:
                        if exc.status in _CALLERS_FAULT:
                            self._admission.refused(client)
                        raise
                    finally:
                        _current.reset(token)
            except Exception as exc:  # answered precisely below
                self._fail(exc, context)

        return served

    def unary_stream(self, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Any:
        def served(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                request_context = self._authorise(context, self._allowed, self._method)
                client = _client(request_context.principal)
                raw = self._body(client, requests, context)
                with self._admission.call(client):
                    yield from behavior(self._parsed(raw), context)
            except Exception as exc:
                self._fail(exc, context)

        return served

    def client_streaming(
        self, behavior: Callable[[Iterator[Any], grpc.ServicerContext], Any]
    ) -> Any:
        def served(requests: Iterator[bytes], context: grpc.ServicerContext) -> Any:
            try:
                request_context = self._authorise(context, self._allowed, self._method)
                with self._admission.call(_client(request_context.principal)):
                    return behavior(map(self._parsed, requests), context)
            except Exception as exc:
                self._fail(exc, context)

        return served

    def bidi_streaming(
        self, behavior: Callable[[Iterator[Any], grpc.ServicerContext], Iterator[Any]]
    ) -> Any:
        def served(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                request_context = self._authorise(context, self._allowed, self._method)
                with self._admission.call(_client(request_context.principal)):
                    yield from behavior(map(self._parsed, requests), context)
            except Exception as exc:
                self._fail(exc, context)

        return served

    def _recorded(self, principal: Principal, raw: bytes, call: Callable[[], Any]) -> Any:
        """Runs ``call``; an admin's (or the registry's) mutating call is then recorded in the
        audit log with who, what (a digest of the request) and the outcome."""
        partner_call = (
            principal.role is Role.PARTNER
            and self._method.rsplit("/", 1)[-1] in _AUDITED_PARTNER_CALLS
        )
        if self.audit is None or not (principal.role in _AUDITED_ROLES or partner_call):
            return call()
        status, reason = "OK", ""
        try:
            return call()
        except GatewayError as exc:
            status, reason = exc.status.value, exc.reason
            raise
        except Exception:
            status, reason = "INTERNAL", "internal"
            raise
        finally:
            try:
                self.audit(
                    self._method,
                    principal.role.value,
                    _actor(principal),
                    principal.fingerprint,
                    raw,
                    status,
                    reason,
                    principal.partner or "" if partner_call else "",
                )
            except Exception:  # the action stands; its record is missing: say so loudly
                log.exception("admin action %s NOT recorded in the audit log", self._method)

    def _body(self, client: str, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        """The one request message's bytes, awaited no longer than the body timeout."""
        raw = self._admission.body(client, lambda: next(requests, None), context.cancel)
        if raw is None:
            raise MalformedRequest(f"{self._method} expects exactly one request message")
        return raw

    def _parsed(self, raw: bytes) -> Any:
        try:
            return self._parse(raw)
        except Exception as exc:  # whatever the parser raises: the caller's fault
            raise MalformedRequest(f"the request is not a valid {self._method} request") from exc

    def _fail(self, exc: Exception, context: grpc.ServicerContext) -> None:
        if isinstance(exc, grpc.RpcError):
            raise exc  # the call was cancelled (by its client or the body timeout): no answer
        if isinstance(exc, MalformedRequest) and context.is_active():
            # One line, no traceback: a client's mistake, not the gateway's. (A call the
            # gateway cancelled while it waited may also end without a message: not logged.)
            log.warning(
                "malformed request to %s from %s: %s",
                self._method,
                shown(context.peer()),
                shown(str(exc.__cause__ or exc), 200),
            )
        if isinstance(exc, GatewayError):
            abort(context, exc)
        if context.code() is not None:  # type: ignore[attr-defined]  # the servicer aborted
            raise exc
        internal = InternalError.referenced("internal error")
        log.error(
            "unexpected error in %s (reference %s)", self._method, internal.reference, exc_info=exc
        )
        abort(context, internal)
