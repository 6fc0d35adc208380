"""`aeo-gateway report facilitation --period 2026Q3`: what mutual recognition achieved, read
straight from the store named by the settings (no running gateway needed; the same numbers as
FacilitationService.GetFacilitationReport), as a table, CSV, JSON or one HTML page with charts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.report_render import FORMATS

if TYPE_CHECKING:
    from gateway.bootstrap import Core
    from gateway.domain.facilitation import Report


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports over the store")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    facilitation = report_sub.add_parser(
        "facilitation",
        help="what mutual recognition achieved in a period: inspection rate, document review "
        "and release time of AEOs against their baseline, at home and abroad",
        description="Reads the store named by the settings directly (no running gateway "
        "needed). Formats: table (a terminal, 100 columns), csv (one line per row and period, "
        "every measure and interval bound in a column), json (everything), html (one "
        "self-contained page with charts; needs --output or a pipe). Not available: n/a in "
        "the table and the page, an empty cell in CSV, null in JSON.",
    )
    facilitation.add_argument(
        "--period",
        required=True,
        help="a year, quarter or month in the home administration's days: 2026, 2026Q3, "
        "2026-07; the trend covers the earlier ones of the same kind within the year before",
    )
    facilitation.add_argument("--partner", help="only this partner's rows, e.g. KR")
    facilitation.add_argument(
        "--format", choices=FORMATS, default="table", help="output form (default table)"
    )
    facilitation.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )
    facilitation.set_defaults(func=cmd_facilitation)


def cmd_facilitation(args: argparse.Namespace) -> int:
    from gateway.bootstrap import open_core
    from gateway.cli import UsageError, _settings
    from gateway.report_render import render

    if args.format == "html" and args.output is None and sys.stdout.isatty():
        raise UsageError("--format html writes a whole page: give --output FILE, or pipe it")
    if args.output is not None and args.output.is_dir():
        raise UsageError(f"--output {args.output} is a folder; name a file")
    settings = _settings(args)
    progress = sys.stderr.isatty()
    if progress:
        print(f"reading {args.period} from the store", end="", file=sys.stderr, flush=True)
    core = open_core(settings)
    try:
        report = report_from_store(core, args.period, (args.partner or "").upper())
        if progress:
            print(
                "\r\033[Kdrawing" if args.format == "html" else "\r\033[K", end="", file=sys.stderr
            )
        text = render(report, args.format)
    finally:
        core.store.database.close()
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
    if progress:
        print(
            f"wrote {args.output} ({report.period.label}, {len(report.rows)} rows)", file=sys.stderr
        )
    return 0


def report_from_store(core: Core, period: str, partner: str) -> Report:
    """The report use case of gateway.app.facilitation (ReportFacilitation), as the composition
    root builds it (Core.facilitation_report), over the directory in force.

    Looked up by name so that this command builds before the use case is merged; once it is,
    this is `return core.facilitation_report()(core.directory.current(), period, partner)`.
    """
    from gateway.cli import UsageError

    build = getattr(core, "facilitation_report", None)
    if build is None:
        raise UsageError(
            "this build has no facilitation report use case (gateway.app.facilitation)"
        )
    report: Report = build()(core.directory.current(), period, partner)
    return report
