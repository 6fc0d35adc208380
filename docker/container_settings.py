"""Writes the image's settings file (run at build time by docker/Dockerfile).

The container serves on all interfaces: gRPC on 0.0.0.0:50051, and, where the installed gateway
has these settings, its metrics endpoint on 0.0.0.0:9464, the admin console on 0.0.0.0:8443,
JSON logs and the gateway keys that
`keys rotate-gateway` generates written to the writable var/gateway-keys. A setting the installed
gateway does not know is left out (the gateway refuses unknown settings), so the file always
matches the wheel it was built with.

    python container_settings.py /app/aeo-gateway.toml
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

from gateway.settings import Settings, load

CONTAINER = {
    "listen": "0.0.0.0:50051",
    "metrics_listen": "0.0.0.0:9464",
    # The admin console (HTTPS; an admin or viewer client certificate of the home CA).
    "console_listen": "0.0.0.0:8443",
    "log_format": "json",
    # The certificates volume is read-only: rotated gateway keys go to the var volume.
    "gateway_keys_dir": "var/gateway-keys",
}


def main(target: Path) -> None:
    known = {f.name for f in fields(Settings)}
    lines = [f'{name} = "{value}"\n' for name, value in CONTAINER.items() if name in known]
    target.write_text(
        "# The container's settings (docker/container_settings.py); AEO_GATEWAY_* variables\n"
        "# override them.\n" + "".join(lines)
    )
    load(target, {})  # the gateway reads it: refused here, the build fails
    print(f"{target}: {', '.join(line.split(' =')[0] for line in lines)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
