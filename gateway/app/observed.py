"""Observation of use-case results, for operations (metrics) and the admin console's overview,
kept out of the use cases: a partner's status message in, as accepted, duplicate or refused
with its reason; a refusal is also kept in the refusal log."""

from __future__ import annotations

import logging
from typing import Protocol

from gateway.app.refusals import Refusal, RefusalLog
from gateway.app.submit import SubmitResult, SubmitStatusMessage
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.messages import InboundMessage

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"


class MessageObserver(Protocol):
    def message_in(self, partner: str, outcome: str, reason: str) -> None:
        """A partner's message ended as ``outcome`` (accepted, duplicate, refused); ``reason``
        is the refusal's stable reason ("" otherwise)."""
        ...


class ObservedSubmit(SubmitStatusMessage):
    """SubmitStatusMessage whose every outcome is told to ``observer`` (and each refusal kept in
    ``refusals``, when given); the work is ``inner``'s."""

    def __init__(
        self,
        inner: SubmitStatusMessage,
        observer: MessageObserver,
        refusals: RefusalLog | None = None,
    ) -> None:
        # Not super().__init__: everything is delegated to ``inner``.
        self._inner = inner
        self._observer = observer
        self._refusals = refusals

    def __call__(self, message: InboundMessage, directory: Directory) -> SubmitResult:
        try:
            result = self._inner(message, directory)
        except GatewayError as exc:
            self._observer.message_in(message.partner, REFUSED, exc.reason)
            self._keep(Refusal(message.partner, message.received_at, exc.reason, exc.status.value))
            raise
        self._observer.message_in(message.partner, DUPLICATE if result.duplicate else ACCEPTED, "")
        return result

    def _keep(self, refusal: Refusal) -> None:
        """The partner is answered with its refusal whatever happens here: a refusal not kept
        only leaves the overview short of one, so it is logged, not raised."""
        if self._refusals is None:
            return
        try:
            self._refusals.record(refusal)
        except Exception:
            log.exception(
                "refusal of a message of %s (%s) not kept", refusal.partner, refusal.reason
            )
