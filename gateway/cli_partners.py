"""`aeo-gateway partners list` and `partners show CODE`: the partner definitions as configured.

Read from the files with the loader the gateway uses (every check, keys and CAs included), so
what is shown is what a start or a reload would put in force; no running gateway is needed.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path
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


def cmd_request_snapshot(args: argparse.Namespace) -> int:
    """Marks a partner as needing a snapshot: its next receipt asks it for its whole set."""
    import grpc

    from gateway.cli import _identity, _rpc_error, _settings, _target
    from gateway.client import TlsIdentity, connect
    from gateway.pb import admin_pb2, admin_pb2_grpc

    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    request = admin_pb2.RequestPartnerSnapshotRequest(name=f"partners/{args.code.upper()}")
    with connect(_target(args, settings), identity) as channel:
        try:
            state = (
                admin_pb2_grpc.AdminServiceStub(channel)
                .RequestPartnerSnapshot(request, timeout=30)
                .partner_state
            )
        except grpc.RpcError as err:
            return _rpc_error(err)
    print(
        f"{request.name}: snapshot requested; the receipt of its next message says so "
        f"(last sequence {state.last_sequence})"
    )
    return 0


def request_snapshot_parser(
    partners_sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Any,
) -> None:
    sub = partners_sub.add_parser(
        "request-snapshot",
        help="ask a partner for a snapshot of its whole current set, through the signed "
        "receipt of its next message (needs_snapshot)",
    )
    sub.add_argument("code", metavar="CODE", help="the partner, e.g. SG")
    client_options(sub)
    sub.set_defaults(func=cmd_request_snapshot)


# --- onboarding lifecycle of a running gateway (issue 10) -----------------------------------------

#: `partners onboard|configure|test|activate|retire|lifecycle` and what each does.
LIFECYCLE_HELP = {
    "onboard": "onboard a partner as a draft: a new one from --definition FILE.toml (its trust "
    "files are sent inline and stored by the gateway), or one whose file says "
    'lifecycle = "draft"',
    "configure": "validate a draft partner's trust anchor, signing keys, endpoint and mapping: "
    "configured",
    "test": "send a signed test message to the partner's gateway and verify its receipt "
    "(configured -> testing); exit 1 when the test fails",
    "activate": "activate a partner in testing once test messages verified both ways",
    "retire": "retire a partner for good: nothing accepted or sent, operators not recognised",
    "lifecycle": "show partners' lifecycle states, or one partner's history",
}


def definition_files(path: Path) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The definition's bytes and the trust files it names (trust.ca, outbound.ca,
    signing_keys[].public_key), read relative to the file, under the names it uses."""
    import tomllib

    from gateway.cli import UsageError

    try:
        text = path.read_bytes()
        data = tomllib.loads(text.decode())
    except OSError as exc:
        raise UsageError(f"--definition {path}: {exc.strerror}; give a partner TOML file") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"--definition {path} is not TOML: {exc}; fix the file") from None
    names: list[str] = []
    for table in ("trust", "outbound"):
        section = data.get(table)
        if isinstance(section, dict) and isinstance(section.get("ca"), str):
            names.append(section["ca"])
    for key in data.get("signing_keys", []) if isinstance(data.get("signing_keys"), list) else []:
        if isinstance(key, dict) and isinstance(key.get("public_key"), str):
            names.append(key["public_key"])
    files = []
    for name in dict.fromkeys(names):
        target = path.parent / name
        try:
            files.append((name, target.read_bytes()))
        except OSError as exc:
            raise UsageError(
                f"{path} names {name}, which cannot be read ({exc.strerror}); put the file "
                "beside the definition or fix the path"
            ) from None
    return text, files


def cmd_lifecycle(args: argparse.Namespace) -> int:
    """One onboarding step (or the lifecycle view) through PartnerOnboardingService."""
    import grpc

    from gateway.cli import UsageError, _identity, _rpc_error, _settings, _target
    from gateway.client import TlsIdentity, connect
    from gateway.pb import onboarding_pb2 as pb
    from gateway.pb import onboarding_pb2_grpc

    step = args.lifecycle_command
    code = (getattr(args, "code", None) or "").upper()
    reason = getattr(args, "reason", None) or ""
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("--reason is not valid UTF-8 text") from None
    name = f"partners/{code}"
    definition: tuple[bytes, list[tuple[str, bytes]]] | None = None
    if step == "onboard" and args.definition is not None:
        definition = definition_files(args.definition)
    settings = _settings(args)
    identity = _identity(args, settings, "admin")
    assert identity is None or isinstance(identity, TlsIdentity)
    timeout = 60.0
    with connect(_target(args, settings), identity) as channel:
        stub = onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel)
        try:
            if step == "onboard":
                request = pb.OnboardPartnerRequest(name=name, reason=reason)
                if definition is not None:
                    request.definition = definition[0]
                    request.attachments.extend(
                        pb.Attachment(name=n, content=c) for n, c in definition[1]
                    )
                found = [stub.OnboardPartner(request, timeout=timeout).lifecycle]
            elif step == "configure":
                found = [
                    stub.ConfigurePartner(
                        pb.ConfigurePartnerRequest(name=name), timeout=timeout
                    ).lifecycle
                ]
            elif step == "test":
                tested = stub.TestPartner(pb.TestPartnerRequest(name=name), timeout=timeout)
                return _tested(args, tested)
            elif step == "activate":
                found = [
                    stub.ActivatePartner(
                        pb.ActivatePartnerRequest(name=name), timeout=timeout
                    ).lifecycle
                ]
            elif step == "retire":
                found = [
                    stub.RetirePartner(
                        pb.RetirePartnerRequest(name=name, reason=reason), timeout=timeout
                    ).lifecycle
                ]
            elif code:
                found = [
                    stub.GetPartnerLifecycle(
                        pb.GetPartnerLifecycleRequest(name=f"{name}/lifecycle"), timeout=timeout
                    ).lifecycle
                ]
            else:
                found = list(
                    stub.ListPartnerLifecycles(
                        pb.ListPartnerLifecyclesRequest(), timeout=timeout
                    ).lifecycles
                )
        except grpc.RpcError as err:
            return _rpc_error(err)
    if args.format == "json":
        shown = [lifecycle_dict(f) for f in found]
        print(json.dumps(shown if step == "lifecycle" and not code else shown[0], indent=2))
        return 0
    if step == "lifecycle" and not code:
        print(f"{'CODE':<6}{'STATE':<12}SINCE")
        for f in found:
            d = lifecycle_dict(f)
            print(f"{d['partner']:<6}{d['state']:<12}{d['since'] or '-'}")
        return 0
    d = lifecycle_dict(found[0])
    print(f"{d['partner']}: {d['state']} since {d['since'] or 'its definition'}")
    if step == "lifecycle":
        for e in d["events"]:
            print("  " + _event_line(e))
    return 0


def _tested(args: argparse.Namespace, tested: Any) -> int:
    d = lifecycle_dict(tested.lifecycle)
    if args.format == "json":
        print(json.dumps({"passed": tested.passed, "detail": tested.detail, "lifecycle": d},
                         indent=2))  # fmt: skip
    else:
        verdict = "passed" if tested.passed else "FAILED"
        print(f"{d['partner']}: {d['state']}; outbound test {verdict}: {tested.detail}")
        missing = sorted({"inbound", "outbound"} - set(d["verified"]))
        if tested.passed and missing:
            print(f"still to verify before `partners activate`: {', '.join(missing)}")
    return 0 if tested.passed else 1


def lifecycle_dict(found: Any) -> dict[str, Any]:
    """A PartnerLifecycle as JSON values."""
    from gateway.pb import onboarding_pb2 as pb

    def state(value: int) -> str:
        return pb.LifecycleState.Name(value).removeprefix("LIFECYCLE_STATE_").lower()  # type: ignore[arg-type]

    def direction(value: int) -> str:
        return pb.TestDirection.Name(value).removeprefix("TEST_DIRECTION_").lower()  # type: ignore[arg-type]

    return {
        "partner": found.name.removeprefix("partners/").removesuffix("/lifecycle"),
        "state": state(found.state),
        "since": found.since.ToJsonString() if found.HasField("since") else None,
        "verified": [direction(v) for v in found.verified_directions],
        "events": [
            {
                "kind": pb.LifecycleEventKind.Name(e.kind)
                .removeprefix("LIFECYCLE_EVENT_KIND_")
                .lower(),
                "state": state(e.state),
                "actor": e.actor,
                "reason": e.reason,
                "time": e.time.ToJsonString(),
                "direction": direction(e.direction) if e.direction else None,
                "passed": e.passed,
                "detail": e.detail,
            }
            for e in found.events
        ],
    }


def _event_line(e: dict[str, Any]) -> str:
    if e["kind"] == "test":
        verdict = "passed" if e["passed"] else "failed"
        what = f"{e['direction']} test {verdict} ({e['detail']})"
    else:
        what = f"-> {e['state']}" + (f" ({e['reason']})" if e["reason"] else "")
    return f"{e['time']}  {what}  by {e['actor']}"


def lifecycle_parsers(
    partners_sub: argparse._SubParsersAction[argparse.ArgumentParser],
    client_options: Any,
) -> None:
    """`partners onboard|configure|test|activate|retire CODE` and `partners lifecycle [CODE]`."""
    for step, text in LIFECYCLE_HELP.items():
        sub = partners_sub.add_parser(step, help=text)
        if step == "lifecycle":
            sub.add_argument("code", metavar="CODE", nargs="?", help="one partner's history")
        else:
            sub.add_argument("code", metavar="CODE", help="the partner, e.g. CL")
        if step == "onboard":
            sub.add_argument(
                "--definition",
                type=Path,
                metavar="FILE.toml",
                help="the new partner's definition, as a partners/*.toml file; the CA and key "
                "files it names are read relative to it and sent with it",
            )
            sub.add_argument("--reason", help="why, for the record")
        if step == "retire":
            sub.add_argument("--reason", required=True, help="why, for the record")
        sub.add_argument("--format", choices=("text", "json"), default="text", help="output form")
        client_options(sub)
        sub.set_defaults(func=cmd_lifecycle, lifecycle_command=step)
