"""`aeo-gateway facilitation generate`: a year of outcomes with known true rates, as the
facilitation import CSV, to try the import and the report on (and to check what it finds)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway import facilitation_generator as generator
from gateway.domain.partners import HomeAdministration

#: Rows between two progress updates on a terminal.
_PROGRESS_EVERY = 50_000


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `generate` under `facilitation`, creating that command unless registered already
    (the import and the report live there too)."""
    facilitation = sub.choices.get("facilitation") or sub.add_parser(
        "facilitation", help="declaration outcomes: what mutual recognition achieved"
    )
    commands = next(
        (a for a in facilitation._actions if isinstance(a, argparse._SubParsersAction)),
        None,
    ) or facilitation.add_subparsers(dest="facilitation_command", required=True)
    generate = commands.add_parser(
        "generate",
        help="write a year of generated outcomes with known true rates as import CSVs",
        description="Deterministic from --seed: the same seed, year and count write the same "
        "files: the home outcomes to FILE.csv, each partner's report beside it (FILE.KR.csv). "
        "Home grades (advanced certified inspected at 0.52 %, regular at 2.6 %, "
        "discredited at 98 %), KR and MN AEOs at home, and KR's report of home AEOs' "
        "shipments (inspection 50 % below KR's baseline, median release 0.7 of it).",
    )
    generate.add_argument("--seed", type=int, required=True, help="the random seed")
    generate.add_argument("--year", type=_year, required=True, help="the calendar year, e.g. 2026")
    generate.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="where")
    generate.add_argument(
        "--outcomes",
        type=_count,
        default=generator.DEFAULT_OUTCOMES,
        help=f"how many outcomes (default {generator.DEFAULT_OUTCOMES:,})",
    )
    generate.add_argument("--format", choices=("text", "json"), default="text", help="output form")
    generate.set_defaults(func=cmd_generate)


def _year(text: str) -> int:
    year = int(text) if text.isdigit() else 0
    if not 1971 <= year <= 9998:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year between 1971 and 9998")
    return year


def _count(text: str) -> int:
    count = int(text) if text.isdigit() else 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of outcomes")
    return count


def cmd_generate(args: argparse.Namespace) -> int:
    from gateway.cli import UsageError

    progress = sys.stderr.isatty() and args.format == "text"

    def counted(total: int) -> None:
        if progress and total % _PROGRESS_EVERY == 0:
            print(f"\r\033[Kwrote {total:,}/{args.outcomes:,}", end="", file=sys.stderr)

    rows = generator.generate(args.seed, args.year, args.outcomes)
    try:
        files = generator.write_files(rows, args.out, counted)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}") from exc
    finally:
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
    grades = generator.home_grades_path(args.out)
    try:
        graded = generator.write_home_grades(args.seed, args.year, _home(args), grades)
    except OSError as exc:
        raise UsageError(f"cannot write {grades}: {exc.strerror or exc}") from exc
    imports = [f"aeo-gateway home import {grades}"] + [
        f"aeo-gateway facilitation import {path}"
        + ("" if reporter == generator.HOME else f" --reporter {reporter}")
        for reporter, (path, _) in files.items()
    ]
    sized = generator.counts(args.outcomes)
    groups = [
        {
            "group": group.name,
            "outcomes": sized[group.name],
            "inspection": group.rates.inspection,
            "document_review": group.rates.document_review,
            "release_median_hours": group.rates.release_median_hours,
        }
        for group in generator.GROUPS
    ]
    if args.format == "json":
        document = {
            "seed": args.seed,
            "year": args.year,
            "files": [
                {"reporter": reporter, "file": str(path), "outcomes": count}
                for reporter, (path, count) in files.items()
            ],
            "home_operators": {"file": str(grades), "operators": graded},
            "imports": imports,
            "groups": groups,
        }
        print(json.dumps(document, indent=2))
        return 0
    for reporter, (path, count) in files.items():
        print(f"wrote {count:,} outcomes of {args.year} reported by {reporter} to {path}")
    print(f"{'true rates':<26}{'outcomes':>10}{'inspection':>12}{'doc review':>12}{'median h':>10}")
    for group in groups:
        print(
            f"{group['group']:<26}{group['outcomes']:>10,}{group['inspection']:>12.2%}"
            f"{group['document_review']:>12.1%}{group['release_median_hours']:>10.1f}"
        )
    print(f"wrote {graded:,} home operators' grades to {grades}")
    print("load, in this order (partners' operators need their signed batches as well):")
    for command in imports:
        print(f"  {command}")
    return 0


def _home(args: argparse.Namespace) -> HomeAdministration:
    """The home administration as the settings' home file defines it (its grade schemes)."""
    from adapters.directory.files import read_home
    from gateway.cli import UsageError, _settings
    from gateway.domain.errors import DefinitionInvalid

    settings = _settings(args)
    try:
        return read_home(settings.home_file)
    except DefinitionInvalid as exc:
        raise UsageError(f"{settings.home_file}: {exc}") from exc
