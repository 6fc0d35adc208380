"""Issue 10's lifecycle gate as a step of the status-message pipeline: only an active
partner's status messages are applied. A step of the pipeline (not a check in the servicer)
so that its refusals pass the one observation point (ObservedSubmit) like any other."""

from __future__ import annotations

from typing import Protocol

from gateway.app.submit import SubmitResult, SubmitStatusMessage
from gateway.domain.directory import Directory
from gateway.domain.messages import InboundMessage


class LifecycleGate(Protocol):
    def require_active(self, code: str, directory: Directory) -> None:
        """Raises PartnerNotActive unless ``code`` is an active partner."""
        ...


class ActivePartnersOnly(SubmitStatusMessage):
    """SubmitStatusMessage refusing (``partner.not_active``) a partner that is not active
    before ``inner`` does any work."""

    def __init__(self, inner: SubmitStatusMessage, gate: LifecycleGate) -> None:
        # Not super().__init__: everything is delegated to ``inner``.
        self._inner = inner
        self._gate = gate

    def __call__(self, message: InboundMessage, directory: Directory) -> SubmitResult:
        self._gate.require_active(message.partner, directory)
        return self._inner(message, directory)
