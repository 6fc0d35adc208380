"""`aeo-gateway facilitation generate`: a year of outcomes with known true rates, as the
facilitation import CSV, to try the import and the report on (and to check what it finds)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from gateway import facilitation_generator as generator
from gateway.domain.facilitation import Outcome

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
        help="write a year of generated outcomes with known true rates as an import CSV",
        description="Deterministic from --seed: the same seed, year and count write the same "
        "file. Home grades (advanced certified inspected at 0.52 %%, regular at 2.6 %%, "
        "discredited at 98 %%), KR and MN AEOs at home, and KR's report of home AEOs' "
        "shipments (inspection 50 %% below KR's baseline, median release 0.7 of it).",
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
    rows = generator.generate(args.seed, args.year, args.outcomes)

    def counted() -> Iterator[Outcome]:
        for number, row in enumerate(rows, 1):
            if progress and number % _PROGRESS_EVERY == 0:
                print(f"\r\033[Kwrote {number:,}/{args.outcomes:,}", end="", file=sys.stderr)
            yield row

    try:
        with args.out.open("w", encoding="utf-8", newline="") as out:
            written = generator.write_csv(counted(), out)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    if progress:
        print("\r\033[K", end="", file=sys.stderr)
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
        print(
            json.dumps(
                {
                    "file": str(args.out),
                    "outcomes": written,
                    "seed": args.seed,
                    "year": args.year,
                    "groups": groups,
                },
                indent=2,
            )
        )
        return 0
    print(f"wrote {written:,} outcomes of {args.year} (seed {args.seed}) to {args.out}")
    print(f"{'true rates':<26}{'outcomes':>10}{'inspection':>12}{'doc review':>12}{'median h':>10}")
    for group in groups:
        print(
            f"{group['group']:<26}{group['outcomes']:>10,}{group['inspection']:>12.2%}"
            f"{group['document_review']:>12.1%}{group['release_median_hours']:>10.1f}"
        )
    return 0
