"""`aeo-gateway facilitation import FILE.csv`: historical declaration outcomes in bulk, straight
into the store, classified as RecordDeclarationOutcome classifies one (at home), or as a
partner's report abroad (`--reporter KR`).

All or nothing: a first pass reads and checks every row (a malformed one is refused with its
line number before anything is opened for writing); a second classifies each row by the
recognition answer at its arrival and stores them in batches within one transaction, which a
failure rolls back whole. Neither pass holds the file in memory. A declaration id stored
already, or repeated in the file, is a duplicate and changes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.app.facilitation import BulkRecorded, RecordOutcomes
    from gateway.domain.directory import Directory
    from gateway.domain.facilitation import DeclarationFacts, Outcome

COLUMNS = (
    "declaration_id",
    "declared_code",
    "direction",
    "mode",
    "arrived_at",
    "released_at",
    "document_review",
    "inspected",
)
#: Only in a partner's file: true for a declaration of a non-AEO (the partner's baseline).
BASELINE = "baseline"
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
#: Rows classified and written per batch; progress is shown per batch on a terminal.
BATCH = 10_000
#: RFC 3339's date-time (fromisoformat alone accepts more).
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


class RowInvalid(ValueError):
    """A line of the file cannot be read as a declaration outcome."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    facts: DeclarationFacts
    baseline: bool


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    facilitation = sub.add_parser(
        "facilitation", help="declaration outcomes: what mutual recognition achieved"
    )
    facilitation_sub = facilitation.add_subparsers(dest="facilitation_command", required=True)
    load = facilitation_sub.add_parser(
        "import",
        help="record declaration outcomes from a CSV file, all or none: every row is checked "
        "first; declaration ids already stored are duplicates",
        description="CSV header: "
        + ",".join(COLUMNS)
        + f" (and {BASELINE} for a partner's file). direction: import or export; mode: sea, "
        "rail, road, air, postal or empty; times RFC 3339 with an offset, e.g. "
        "2026-07-01T09:00:00+08:00; document_review, inspected, baseline: true or false. "
        "Reads the store named by the settings directly.",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.add_argument(
        "--reporter",
        default="",
        metavar="CODE",
        help="who lodged the declarations: the home administration (default) or a partner, "
        "whose file reports home AEOs' declarations abroad and its baseline",
    )
    load.add_argument("--format", choices=("table", "json"), default="table", help="output form")
    load.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from gateway.bootstrap import open_core
    from gateway.cli import UsageError, _settings

    settings = _settings(args)
    progress = sys.stderr.isatty() and args.format == "table"
    started = time.monotonic()
    core = open_core(settings)
    try:
        directory = core.directory.current()
        reporter = args.reporter.strip().upper()
        abroad = bool(reporter) and reporter != directory.home.code
        if abroad and reporter not in directory.partners:
            raise UsageError(f"--reporter {args.reporter}: no such partner; see `partners list`")
        count = _check_file(args.file, abroad, progress)
        if count == 0:
            raise UsageError(f"{args.file}: has a header but no rows; nothing applied")
        recorder = core.outcome_recorder()
        result = recorder.many(
            _classified(recorder, directory, args.file, abroad, reporter, count, progress)
        )
    finally:
        core.store.database.close()
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
    report = summary(args.file, result, time.monotonic() - started)
    print(json.dumps(report, indent=2) if args.format == "json" else _table(report))
    return 0


def _check_file(path: Path, abroad: bool, progress: bool) -> int:
    """The first pass: every row read and checked; UsageError names the first bad line."""
    from gateway.cli import UsageError
    from gateway.domain.errors import GatewayError
    from gateway.domain.facilitation import check_facts

    count = 0
    try:
        for row in read_rows(path, abroad):
            try:
                check_facts(row.facts)
            except GatewayError as exc:
                raise RowInvalid(f"line {row.line}: {exc.reason}: {exc.message}") from exc
            count += 1
            if progress and count % BATCH == 0:
                print(f"\rchecked {count} rows", end="", file=sys.stderr)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: is not UTF-8 text ({exc.reason})") from exc
    except (RowInvalid, csv.Error) as exc:
        raise UsageError(f"{path}: {exc}; nothing applied") from exc
    return count


def _classified(
    recorder: RecordOutcomes,
    directory: Directory,
    path: Path,
    abroad: bool,
    reporter: str,
    count: int,
    progress: bool,
) -> Iterator[list[Outcome]]:
    """The second pass, batch by batch, inside the import's transaction."""
    from gateway.cli import UsageError
    from gateway.domain.errors import GatewayError

    batch: list[Outcome] = []
    done = 0
    for row in read_rows(path, abroad):
        try:
            outcome, _ = recorder.classify(
                directory, row.facts, reporter if abroad else "", row.baseline
            )
        except GatewayError as exc:
            raise UsageError(
                f"{path}: line {row.line}: {exc.reason}: {exc.message}; nothing applied"
            ) from exc
        batch.append(outcome)
        if len(batch) == BATCH:
            done += len(batch)
            yield batch
            batch = []
            if progress:
                print(f"\rapplied {done}/{count} rows", end="", file=sys.stderr)
    if batch:
        yield batch


def read_rows(path: Path, abroad: bool) -> Iterator[Row]:
    """The file's rows as declaration facts; RowInvalid names the line and what is wrong."""
    limit = csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size + 1))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            yield from _rows(reader, abroad)
        except csv.Error as exc:
            raise RowInvalid(f"line {max(reader.line_num, 1)}: {exc}") from exc
        finally:
            csv.field_size_limit(limit)


def _rows(reader: Any, abroad: bool) -> Iterator[Row]:
    from gateway.domain.facilitation import DeclarationFacts

    expected = (*COLUMNS, BASELINE) if abroad else COLUMNS
    header = [h.strip() for h in next(reader, [])]
    if sorted(header) != sorted(expected):
        missing = [c for c in expected if c not in header]
        unknown = [c for c in header if c not in expected]
        raise RowInvalid(
            "line 1: the header must name the columns "
            + ",".join(expected)
            + ", each once"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    line = reader.line_num + 1
    for values in reader:
        if values:  # a blank line
            if len(values) != len(header):
                raise RowInvalid(
                    f"line {line}: {len(values)} fields where the header names {len(header)}"
                )
            f = dict(zip(header, values, strict=True))
            if not f["declared_code"].strip():
                raise RowInvalid(f"line {line}: declared_code is empty")
            yield Row(
                line,
                DeclarationFacts(
                    declaration_id=f["declaration_id"],
                    declared_code=f["declared_code"],
                    direction=_direction(f["direction"], line),
                    mode=_mode(f["mode"], line),
                    arrived_at=_time(f["arrived_at"], "arrived_at", line),
                    released_at=_time(f["released_at"], "released_at", line),
                    document_review=_flag(f["document_review"], "document_review", line),
                    inspected=_flag(f["inspected"], "inspected", line),
                ),
                _flag(f[BASELINE], BASELINE, line) if abroad else False,
            )
        line = reader.line_num + 1


def _direction(text: str, line: int) -> Any:
    from gateway.domain.partners import TradeDirection

    try:
        return TradeDirection(text.strip().lower())
    except ValueError:
        raise RowInvalid(f"line {line}: direction {text!r} is not import or export") from None


def _mode(text: str, line: int) -> Any:
    from gateway.domain.partners import TransportMode

    if not text.strip():
        return None
    try:
        return TransportMode(text.strip().lower())
    except ValueError:
        names = ", ".join(m.value for m in TransportMode)
        raise RowInvalid(f"line {line}: mode {text!r} is not one of {names} or empty") from None


def _time(text: str, column: str, line: int) -> datetime:
    at = None
    if _RFC3339.fullmatch(text.strip()):
        with contextlib.suppress(ValueError):  # a 13th month, a 25th hour
            at = datetime.fromisoformat(text.strip())
    if at is None or at.utcoffset() is None:
        raise RowInvalid(
            f"line {line}: {column} {text!r} is not an RFC 3339 time with an offset "
            "(e.g. 2026-07-01T09:00:00+08:00)"
        )
    return at


def _flag(text: str, column: str, line: int) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowInvalid(f"line {line}: {column} {text!r} is not true or false")


def summary(path: Path, result: BulkRecorded, seconds: float) -> dict[str, object]:
    return {
        "file": str(path),
        "rows": result.rows,
        "recorded": result.added,
        "duplicates": result.duplicates,
        "seconds": round(seconds, 3),
        "rows_per_second": round(result.rows / seconds) if seconds > 0 else result.rows,
    }


def _table(report: dict[str, Any]) -> str:
    return (
        f"{report['file']}: {report['rows']} rows, {report['recorded']} recorded, "
        f"{report['duplicates']} duplicates ({report['seconds']} s, "
        f"{report['rows_per_second']} rows/s)"
    )
