"""The image's HEALTHCHECK: exit 0 when the gateway in this container is ready to serve.

Where the gateway has a metrics endpoint (the metrics_listen setting), its /readyz must answer
200 (not while migrations run or the store is unreachable). Otherwise the gRPC port must accept
a connection. Settings as `aeo-gateway serve` reads them: ./aeo-gateway.toml, then AEO_GATEWAY_*.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.request
from pathlib import Path

from gateway.settings import SettingsError, load

TIMEOUT = 2.0


def _local(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    wildcard = host in ("", "0.0.0.0", "[::]", "::")  # noqa: S104
    return ("127.0.0.1" if wildcard else host.strip("[]"), int(port))


def main() -> int:
    config = Path("aeo-gateway.toml")
    try:
        settings = load(config if config.exists() else None, os.environ)
    except SettingsError as exc:
        print(f"settings refused: {exc}", file=sys.stderr)
        return 1
    metrics = getattr(settings, "metrics_listen", None)
    try:
        if metrics:
            host, port = _local(str(metrics))
            url = f"http://{host}:{port}/readyz"
            with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:
                return 0 if answer.status == 200 else 1
        with socket.create_connection(_local(settings.listen), timeout=TIMEOUT):
            return 0
    except OSError as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
