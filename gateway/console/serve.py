"""The console put together from settings: its client of the gateway's API, its application
and its HTTPS server (inside ``serve``, or alone with `aeo-gateway console`)."""

from __future__ import annotations

from gateway.client import TlsIdentity
from gateway.console.api import GatewayApi
from gateway.console.app import create_app
from gateway.console.server import ConsoleServer
from gateway.settings import Settings


def start(settings: Settings, target: str) -> ConsoleServer:
    """Serves the console on settings.console_listen, calling the gateway at ``target``.
    Raises OSError when a certificate or key file cannot be read or the port is taken."""
    for path in (settings.console_client_cert, settings.console_client_key, settings.tls_cert):
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", str(path))
    api = GatewayApi(
        target,
        TlsIdentity(settings.home_ca, settings.console_client_cert, settings.console_client_key),
    )
    try:
        server = ConsoleServer(
            create_app(api, settings.home_file.stem),
            settings.console_listen,
            settings.tls_cert,
            settings.tls_key,
            settings.home_ca,
            closing=api.close,
        )
    except BaseException:
        api.close()
        raise
    server.start()
    return server
