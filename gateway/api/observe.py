"""What every call leaves for operations, added around the interceptor's handlers: its request id
(the client's ``x-request-id`` when sane, else a new one) bound to every log line of the call
and echoed in the response's trailing metadata, and its duration and status code handed to a
``CallObserver`` (the metrics)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import grpc

from gateway import logs

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


class CallObserver(Protocol):
    def call_ended(self, method: str, code: str, seconds: float) -> None:
        """A call to ``method`` ended with status ``code`` (e.g. "OK", "UNAUTHENTICATED")
        after ``seconds``."""
        ...


def observed(handler: Handler, method: str, observer: CallObserver | None) -> Handler:
    """``handler`` (as the interceptor serves it: client-streaming in) with a request id and,
    with an ``observer``, its duration and status observed."""
    serialize = handler.response_serializer
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, method, observer), response_serializer=serialize
        )
    if handler.stream_stream is not None:
        return grpc.stream_stream_rpc_method_handler(
            _streaming(handler.stream_stream, method, observer), response_serializer=serialize
        )
    return handler  # pragma: no cover  # the interceptor serves every method client-streaming


def _request_id(context: grpc.ServicerContext) -> str:
    offered = None
    for key, value in context.invocation_metadata() or ():
        if key == logs.REQUEST_ID_KEY and isinstance(value, str):
            offered = value
    return logs.request_id(offered)


def _failure(exc: BaseException) -> str:
    """The status of a call that ended in ``exc`` without a code set: the client went away
    (its call was cancelled, or the stream closed), or something unexpected."""
    return "CANCELLED" if isinstance(exc, grpc.RpcError | GeneratorExit) else "UNKNOWN"


def _ended(
    context: grpc.ServicerContext,
    method: str,
    observer: CallObserver | None,
    started: float,
    request_id: str,
    failure: str,
) -> None:
    trailing = tuple(context.trailing_metadata() or ())
    context.set_trailing_metadata((*trailing, (logs.REQUEST_ID_KEY, request_id)))
    code = context.code()  # type: ignore[attr-defined]  # set by abort and set_code
    name = code.name if code is not None else failure
    seconds = time.monotonic() - started
    if observer is not None:
        observer.call_ended(method, name, seconds)
    log.debug("call ended %s after %.1f ms", name, seconds * 1000)


def _unary(
    behavior: Callable[[Iterator[Any], grpc.ServicerContext], Any],
    method: str,
    observer: CallObserver | None,
) -> Callable[[Iterator[Any], grpc.ServicerContext], Any]:
    def served(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        started = time.monotonic()
        rid = _request_id(context)
        failure = "OK"
        with logs.bind(logs.CallInfo(rid, method)):
            log.debug("call from %s", context.peer())
            try:
                return behavior(requests, context)
            except BaseException as exc:
                failure = _failure(exc)
                raise
            finally:
                _ended(context, method, observer, started, rid, failure)

    return served


def _streaming(
    behavior: Callable[[Iterator[Any], grpc.ServicerContext], Iterator[Any]],
    method: str,
    observer: CallObserver | None,
) -> Callable[[Iterator[Any], grpc.ServicerContext], Iterator[Any]]:
    def served(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        started = time.monotonic()
        rid = _request_id(context)
        failure = "OK"
        with logs.bind(logs.CallInfo(rid, method)):
            log.debug("call from %s", context.peer())
            try:
                yield from behavior(requests, context)
            except BaseException as exc:
                failure = _failure(exc)
                raise
            finally:
                _ended(context, method, observer, started, rid, failure)

    return served
