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
def start_console(
    start_gateway: Callable[..., Live], workspace: Workspace
) -> Callable[..., LiveConsole]:
    def start(**overrides: Any) -> LiveConsole:
        settings: dict[str, Any] = {"console_listen": "127.0.0.1:0"}
        if not (workspace.pki / "clients" / "console.pem").exists():
            # TEMPORARY until the console-auth branch lands (role console in the gateway, and
            # clients/console.pem in the development PKI): the console calls as the admin.
            settings["console_client_cert"] = workspace.pki / "clients" / "admin.pem"
            settings["console_client_key"] = workspace.pki / "clients" / "admin.key.pem"
        return LiveConsole(start_gateway(**{**settings, **overrides}))

    return start


@pytest.fixture
def console(start_console: Callable[..., LiveConsole]) -> LiveConsole:
    return start_console()
