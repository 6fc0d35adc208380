"""`aeo-gateway partners list` and `partners show CODE`: the partner definitions as configured.

Read from the files with the loader the gateway uses (every check, keys and CAs included), so
what is shown is what a start or a reload would put in force; no running gateway is needed.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import date, datetime, timedelta
from typing import Any

from gateway.domain.directory import Directory
from gateway.domain.partners import Partner

WIDTH = 100
_LABEL = 15  # the label column of `partners show`


class DefinitionsUnreadable(Exception):
    """The definitions do not load: one line saying what is wrong and what to do."""


def load(args: argparse.Namespace) -> Directory:
    """The directory snapshot the gateway would build from the configured files."""
    from adapters.directory.files import FileDirectory
    from adapters.wire.registry import codecs
    from gateway.cli import _settings
    from gateway.clock import SystemClock
    from gateway.domain.errors import DefinitionInvalid

    settings = _settings(args)
    home_ca = settings.home_ca.read_bytes() if settings.home_ca.is_file() else None
    try:
        return FileDirectory(
            settings.home_file, settings.partners_dir, codecs(), SystemClock(), home_ca
        ).current()
    except DefinitionInvalid as exc:
        todo = "" if "run `aeo-gateway" in exc.message else "; fix the file named and run again"
        raise DefinitionsUnreadable(
            f"partner definitions do not load: {exc.message}{todo}"
        ) from exc


def cmd_list(args: argparse.Namespace) -> int:
    directory = load(args)
    partners = [directory.partners[c] for c in sorted(directory.partners)]
    if args.format == "json":
        print(json.dumps([as_dict(p, directory) for p in partners], indent=2))
        return 0
    columns = (("CODE", 4), ("NAME", 18), ("PROGRAMME", 24), ("IN FORCE", 11),
               ("DIRECTION", 13), ("FORMATS", 8), ("ASSUMED", 9))  # fmt: skip
    print(_row([name for name, _ in columns], columns))
    for p in partners:
        in_force = _day(p.mra_in_force) or "unknown"
        cells = [
            p.code,
            p.name,
            p.programme,
            in_force + ("*" if p.mra_in_force_by_mode else ""),
            _directions(p),
            ",".join(p.wire_formats),
            f"{len(p.assumed)} field{'s' if len(p.assumed) != 1 else ''}" if p.assumed else "-",
        ]
        print(_row(cells, columns))
    print(f"{len(partners)} partners. * other dates for some modes; `partners show CODE`: all.")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    directory = load(args)
    code = args.code.upper()
    partner = directory.partners.get(code)
    if partner is None:
        known = ", ".join(sorted(directory.partners))
        add = f", or add partners/{code}.toml" if code.isalnum() else ""
        raise DefinitionsUnreadable(
            f"no partner {args.code!r} is defined (known: {known}); check the code{add}"
        )
    if args.format == "json":
        print(json.dumps(as_dict(partner, directory), indent=2))
        return 0
    for label, value in show_lines(partner, directory):
        print(_labelled(label, value))
    return 0


def as_dict(p: Partner, directory: Directory) -> dict[str, Any]:
    """Everything in the definition, as JSON values (dates ISO, durations as in the files)."""
    fresh = p.freshness
    return {
        "code": p.code,
        "name": p.name,
        "programme": p.programme,
        "tiers": list(p.tiers),
        "recognised_tiers": [
            {"tier": r.tier, "start": _day(r.start), "end": _day(r.end)} for r in p.recognised_tiers
        ],
        "directions": sorted(d.value for d in p.directions),
        "mra": {
            "signed": p.mra_signed,
            "in_force": _day(p.mra_in_force),
            "in_force_by_mode": {m.value: _day(d) for m, d in p.mra_in_force_by_mode},
            "suspensions": [{"start": _day(s.start), "end": _day(s.end)} for s in p.suspensions],
        },
        "identifiers": {
            "prefix": p.identifiers.prefix,
            "patterns": list(p.identifiers.patterns),
            "aliases": [
                {"pattern": a.pattern, "template": a.template} for a in p.identifiers.aliases
            ],
            "takes_precedence_over": sorted(directory.precedence.get(p.code, ())),
            "examples": list(p.identifiers.examples),
        },
        "wire_formats": list(p.wire_formats),
        "signing_keys": [
            {
                "key_id": k.key_id,
                "algorithm": k.algorithm,
                "not_before": _moment(k.not_before),
                "not_after": _moment(k.not_after),
            }
            for k in p.signing_keys
        ],
        "mapping": [
            {
                "tier": r.tier,
                "grade": r.grade,
                "scheme": r.scheme,
                "benefits": list(r.benefits) if r.benefits is not None else None,
                "start": _day(r.start),
                "end": _day(r.end),
            }
            for r in p.mapping
        ],
        "benefits": list(p.benefits),
        "freshness": None
        if fresh is None
        else {
            "expected_cadence": duration_text(fresh.expected_cadence),
            "max_staleness": duration_text(fresh.max_staleness),
            "stale_grants_benefits": fresh.stale_grants_benefits,
        },
        "assumed": list(p.assumed),
    }


def show_lines(p: Partner, directory: Directory) -> list[tuple[str, str]]:
    """`partners show` as label and value; fields resting on an assumption are marked."""

    def mark(field: str) -> str:
        return (
            " (assumed)" if any(a == field or a.startswith(field + ".") for a in p.assumed) else ""
        )

    ids = p.identifiers
    lines = [
        ("partner", f"{p.code} {p.name}"),
        ("programme", p.programme),
        ("tiers", ", ".join(p.tiers) + mark("tiers")),
        ("recognised", ", ".join(_tier(r.tier, r.start, r.end) for r in p.recognised_tiers)
         + mark("recognised_tiers")),
        ("directions", _directions(p)),
        ("mra", f"signed {p.mra_signed or 'unknown'}; in force {_day(p.mra_in_force) or 'unknown'}"
         + mark("mra")),
    ]  # fmt: skip
    if p.mra_in_force_by_mode:
        by_mode = ", ".join(f"{m.value} {_day(d)}" for m, d in p.mra_in_force_by_mode)
        others = _day(p.mra_in_force) or "unknown"
        lines.append(("by mode", f"in force {by_mode}; other modes {others}"))
    for s in p.suspensions:
        lines.append(("suspended", _span(s.start, s.end)))
    lines.append(("declared codes", ", ".join(ids.patterns) + mark("identifiers")))
    if ids.prefix:
        lines.append(("prefix", f"{ids.prefix} (added to identifiers {p.code} sends bare)"))
    for a in ids.aliases:
        lines.append(("alias", f"{a.pattern} -> {a.template}"))
    if ids.examples:
        lines.append(("examples", ", ".join(ids.examples)))
    wins = sorted(directory.precedence.get(p.code, ()))
    if wins:
        lines.append(("wins over", ", ".join(wins)))
    lines.append(("wire formats", ", ".join(p.wire_formats) + " (first: primary)"))
    for k in p.signing_keys:
        validity = f"; valid {_moment(k.not_before) or '-'} to {_moment(k.not_after) or '-'}"
        bounded = k.not_before or k.not_after
        lines.append(("signing key", f"{k.key_id} {k.algorithm}{validity if bounded else ''}"))
    for r in p.mapping:
        scheme = f" under {r.scheme}" if r.scheme else ""
        own = f"; benefits {', '.join(r.benefits)}" if r.benefits is not None else ""
        dated = f" ({_span(r.start, r.end)})" if r.start or r.end else ""
        lines.append(("mapping", f"{r.tier} -> {r.grade}{scheme}{dated}{own}"))
    lines.append(("benefits", ", ".join(p.benefits) or "none"))
    fresh = p.freshness
    if fresh is None:
        lines.append(("freshness", "no expectation: never judged stale"))
    else:
        grants = "still grants" if fresh.stale_grants_benefits else "grants no"
        lines.append((
            "freshness",
            f"expected every {duration_text(fresh.expected_cadence)}; stale after "
            f"{duration_text(fresh.max_staleness)} of silence; stale data {grants} benefits"
            + mark("freshness"),
        ))  # fmt: skip
    lines.append(("assumed", ", ".join(p.assumed) or "nothing"))
    return lines


def duration_text(span: timedelta) -> str:
    """As partner files write durations: "24h", "90m", "45s"."""
    seconds = int(span.total_seconds())
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _moment(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _span(start: date | None, end: date | None) -> str:
    return f"from {_day(start) or 'the start'} until {_day(end) or 'further notice'}"


def _tier(tier: str, start: date | None, end: date | None) -> str:
    return f"{tier} ({_span(start, end)})" if start or end else tier


def _directions(p: Partner) -> str:
    return "+".join(d.value for d in sorted(p.directions, key=lambda d: d.value != "import"))


def _row(cells: list[str], columns: tuple[tuple[str, int], ...]) -> str:
    out = []
    for cell, (_, width) in zip(cells, columns, strict=True):
        text = cell if len(cell) <= width else cell[: width - 1] + "…"
        out.append(text.ljust(width))
    return "  ".join(out).rstrip()


def _labelled(label: str, value: str) -> str:
    return textwrap.fill(
        value,
        width=WIDTH,
        initial_indent=label.ljust(_LABEL) + "  ",
        subsequent_indent=" " * (_LABEL + 2),
        break_on_hyphens=False,
    )


# --- programme states of a running gateway ------------------------------------------------------

#: `partners notice|suspend|resume` and the state each asks for (common.proto ProgrammeState).
PROGRAMME_COMMANDS = {
    "notice": "PROGRAMME_STATE_NOTICE_OF_SUSPENSION",
    "suspend": "PROGRAMME_STATE_SUSPENDED",
    "resume": "PROGRAMME_STATE_ACTIVE",
}


def notice_days(text: str) -> int:
    """--notice-days: a whole number of days, at least 1, at most the gateway's MAX_NOTICE."""
    from gateway.domain.programme import MAX_NOTICE

    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if days < 1:
        raise argparse.ArgumentTypeError(f"{days} days is no notice; give 1 or more")
    if days > MAX_NOTICE.days:
        raise argparse.ArgumentTypeError(
            f"{days} days is too long; give {MAX_NOTICE.days} or fewer"
        )
    return days


def cmd_programme(args: argparse.Namespace) -> int:
    """Sets a partner's programme state on the running gateway, through AdminService."""
    import grpc

    from gateway.cli import UsageError, _identity, _rpc_error, _settings, _target
    from gateway.client import AdminClient, TlsIdentity, connect
    from gateway.pb import common_pb2

    if args.notice_days is not None and args.programme_command != "notice":
        raise UsageError("--notice-days applies to `partners notice` only")
    try:
        args.reason.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("--reason is not valid UTF-8 text") from None
    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    state = common_pb2.ProgrammeState.Value(PROGRAMME_COMMANDS[args.programme_command])
    notice = timedelta(days=args.notice_days) if args.notice_days is not None else None
    with connect(_target(args, settings), identity) as channel:
        try:
            found = AdminClient(channel).set_programme_state(
                args.code.upper(), state, args.reason, notice
            )
        except grpc.RpcError as err:
            return _rpc_error(err)
    summary = {
        "name": found.name,
        "state": common_pb2.ProgrammeState.Name(found.state).removeprefix("PROGRAMME_STATE_"),
        "since": found.since.ToJsonString() if found.HasField("since") else None,
        "suspends_at": found.suspends_at.ToJsonString() if found.HasField("suspends_at") else None,
        "reason": found.reason,
    }
    if args.format == "json":
        print(json.dumps(summary, indent=2))
        return 0
    until = f"; suspended from {summary['suspends_at']}" if summary["suspends_at"] else ""
    print(f"{found.name}: {summary['state']} since {summary['since']}{until} ({found.reason})")
    return 0


def programme_parsers(
    partners_sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Any,
) -> None:
    """`partners notice|suspend|resume CODE --reason TEXT [--notice-days N]`."""
    helps = {
        "notice": "give a partner's programme notice of suspension (60 days unless "
        "--notice-days): benefits apply until it takes effect",
        "suspend": "suspend a partner's programme now: its operators earn no benefits and "
        "nothing is sent to it",
        "resume": "resume a partner's programme (active): benefits and delivery again",
    }
    for name, text in helps.items():
        sub = partners_sub.add_parser(name, help=text)
        sub.add_argument("code", metavar="CODE", help="the partner, e.g. KR")
        sub.add_argument("--reason", required=True, help="why, for the record")
        sub.add_argument(
            "--notice-days",
            type=notice_days,
            help="days until the suspension takes effect (notice only; default 60, at most 1826)",
        )
        sub.add_argument("--format", choices=("text", "json"), default="text", help="output form")
        client_options(sub)
        sub.set_defaults(func=cmd_programme, programme_command=name)
