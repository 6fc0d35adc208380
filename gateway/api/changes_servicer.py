"""ChangeFeedService: the change log streamed to domestic systems and admins as it commits."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc

from gateway.api.change_pages import pages
from gateway.app.watch import WatchChanges
from gateway.domain.errors import ShuttingDown
from gateway.pb import changes_pb2, changes_pb2_grpc

#: How long close() lets open streams end by themselves before it cancels the rest: those whose
#: client reads nothing, held in flow control where no event can reach them.
CLOSE_SECONDS = 0.5


class ChangeFeedServicer(changes_pb2_grpc.ChangeFeedServiceServicer):
    def __init__(self, watch: WatchChanges) -> None:
        self._watch = watch
        # Each open stream's event, set when its client cancels or the gateway stops, and its
        # call, cancelled when a stalled stream will not end.
        self._streams: dict[threading.Event, grpc.ServicerContext] = {}
        self._closing = False
        self._lock = threading.Condition()

    def close(self, wait_seconds: float = CLOSE_SECONDS) -> None:
        """Ends every open stream at its next read of the log (Gateway.stop, before the
        server's grace period: a stream would otherwise hold it to the end), and cancels those
        still open after ``wait_seconds``. Clients resume from their last cursor, here after a
        restart or on another replica."""
        with self._lock:
            self._closing = True
            for ended in self._streams:
                ended.set()
            self._lock.wait_for(lambda: not self._streams, timeout=wait_seconds)
            stalled = list(self._streams.values())
        for context in stalled:
            context.cancel()  # type: ignore[no-untyped-call]

    def WatchChanges(
        self, request: changes_pb2.WatchChangesRequest, context: grpc.ServicerContext
    ) -> Iterator[changes_pb2.WatchChangesResponse]:
        ended = threading.Event()
        with self._lock:
            if self._closing:
                raise ShuttingDown("the gateway is stopping; resume on another instance")
            self._streams[ended] = context
        try:
            if not context.add_callback(ended.set):  # the call has already ended
                return
            for batch in self._watch(request.after_cursor, request.from_now, ended.wait):
                if not batch.changes:  # a heartbeat
                    yield changes_pb2.WatchChangesResponse(cursor=batch.cursor)
                # A batch too large for one response goes in several, each resumable.
                for page in pages(batch.changes):
                    yield changes_pb2.WatchChangesResponse(changes=page, cursor=page[-1].cursor)
        finally:
            with self._lock:
                self._streams.pop(ended, None)
                self._lock.notify_all()
