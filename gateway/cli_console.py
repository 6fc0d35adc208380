"""`aeo-gateway console`: the admin web console on its own, a client of a running gateway
(inside `serve` it runs when console_listen is set; docs/console.md)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = sub.add_parser(
        "console",
        help="serve the admin web console (HTTPS, admin or viewer client certificate) for a "
        "running gateway",
    )
    console.add_argument(
        "--target", help="host:port of the gateway's API (default: from the settings' listen)"
    )
    console.add_argument(
        "--console-listen",
        dest="console_listen",
        help="host:port to serve the console on (default: the console_listen setting)",
    )
    console.set_defaults(func=cmd_console)


def cmd_console(args: argparse.Namespace) -> int:
    from gateway.cli import UsageError, _settings, _target
    from gateway.console import serve

    settings = _settings(args)
    if args.console_listen is not None:
        settings = settings.with_overrides(console_listen=args.console_listen)
    if not settings.console_listen:
        raise UsageError('console_listen is ""; give --console-listen HOST:PORT')
    try:
        server = serve.start(settings, _target(args, settings))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise UsageError(
            f"cannot serve the console on {settings.console_listen}: {where}"
            f"{exc.strerror or exc}; run `aeo-gateway certs init` for its development "
            "certificate, or choose a free port with --console-listen"
        ) from None
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"aeo-gateway console on {url(settings.console_listen, server.port)}", flush=True)
    while not stopped.wait(1.0):
        pass
    server.stop()
    return 0


def url(listen: str, port: int) -> str:
    """Where a browser on this machine finds a console serving on ``listen``."""
    host = listen.rpartition(":")[0]
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "[::]", "") else host  # noqa: S104
    return f"https://{shown}:{port}/"
