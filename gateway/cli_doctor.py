"""`aeo-gateway doctor`: checks configuration, keys, certificates, store and partner endpoints,
one line each with what to fix (gateway.doctor). Exit 0 when nothing FAILs (WARN only too), 1
otherwise."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from gateway.settings import SettingsError


def cmd_doctor(args: argparse.Namespace) -> int:
    from gateway import doctor
    from gateway.cli import _settings

    text = args.format == "text"
    try:
        settings = _settings(args)
    except SettingsError as exc:
        checks = [doctor.Check("settings", doctor.FAIL, str(exc), "correct the setting named")]
    else:

        def report(check: doctor.Check) -> None:
            if text:
                print(check.line(), flush=True)

        checks = doctor.run(settings, timeout=args.timeout, report=report)
        text = False  # already printed, one by one
    if args.format == "json":
        print(json.dumps([c.as_dict() for c in checks], indent=2))
    elif text:
        for check in checks:
            print(check.line())
    if args.format == "text":
        counts = {s: sum(c.status == s for c in checks) for s in (doctor.WARN, doctor.FAIL)}
        print(
            f"{len(checks)} checks: {counts[doctor.FAIL]} failed, {counts[doctor.WARN]} warnings",
            file=sys.stderr,
        )
    return 1 if doctor.failed(checks) else 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.1 <= value <= 60:
        raise argparse.ArgumentTypeError("give between 0.1 and 60 seconds")
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check settings, partner files, keys and certificates (expiring within 30 days: "
        "WARN), the store (reachable, migrated; nothing is applied) and partners' endpoints; "
        "one line per check with what to fix; exit 1 when any check FAILs",
    )
    doctor.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    doctor.add_argument(
        "--timeout",
        type=_seconds,
        default=3.0,
        help="seconds each partner endpoint may take to connect and shake hands (default 3)",
    )
    doctor.set_defaults(func=cmd_doctor)
