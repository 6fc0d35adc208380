"""Observation of use-case results, for operations (metrics), kept out of the use cases: a
partner's status message in, as accepted, duplicate or refused with its reason."""

from __future__ import annotations

from typing import Protocol

from gateway.app.submit import SubmitResult, SubmitStatusMessage
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.messages import InboundMessage

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REFUSED = "refused"


class MessageObserver(Protocol):
    def message_in(self, partner: str, outcome: str, reason: str) -> None:
        """A partner's message ended as ``outcome`` (accepted, duplicate, refused); ``reason``
        is the refusal's stable reason ("" otherwise)."""
        ...


class ObservedSubmit(SubmitStatusMessage):
    """SubmitStatusMessage whose every outcome is told to ``observer``; the work is ``inner``'s."""

    def __init__(self, inner: SubmitStatusMessage, observer: MessageObserver) -> None:
        # Not super().__init__: everything is delegated to ``inner``.
        self._inner = inner
        self._observer = observer

    def __call__(self, message: InboundMessage, directory: Directory) -> SubmitResult:
        try:
            result = self._inner(message, directory)
        except GatewayError as exc:
            self._observer.message_in(message.partner, REFUSED, exc.reason)
            raise
        self._observer.message_in(message.partner, DUPLICATE if result.duplicate else ACCEPTED, "")
        return result
