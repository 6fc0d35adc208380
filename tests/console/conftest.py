"""A gateway serving its console on a free port, and clients of it with each role's
development certificate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import Live, Workspace
from tests.console.client import ConsoleClient


@dataclass
class LiveConsole:
    live: Live

    @property
    def port(self) -> int:
        return self.live.gateway.console_port

    def client(self, who: str | None = "admin") -> ConsoleClient:
        """A browser with the development certificate of ``who`` (None: no certificate)."""
        workspace: Workspace = self.live.workspace
        ca = workspace.pki / "ca.pem"
        if who is None:
            return ConsoleClient(self.port, ca, None, None)
        identity = workspace.identity(who)
        return ConsoleClient(self.port, ca, identity.cert, identity.key)


@pytest.fixture
def start_console(start_gateway: Callable[..., Live]) -> Callable[..., LiveConsole]:
    def start(**overrides: Any) -> LiveConsole:
        return LiveConsole(start_gateway(**{"console_listen": "127.0.0.1:0", **overrides}))

    return start


@pytest.fixture
def console(start_console: Callable[..., LiveConsole]) -> LiveConsole:
    return start_console()
