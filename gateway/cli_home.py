"""`aeo-gateway home import FILE.csv`: a bulk load of home enterprise grade changes, straight
into the store through the use case the HomeRegistryService RPC runs.

The whole file is read and every row checked before anything is applied; then all rows are
applied in order in one transaction, so a refused file leaves the store as it was. Rows already
stored (or repeated in the file) are duplicates: loading a file twice changes nothing.
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
    from gateway.app.home_registry import BulkResult, RecordGradeChange
    from gateway.domain.directory import Directory
    from gateway.domain.home_registry import CheckedChange, GradeChange

REQUIRED = ("enterprise_code", "name", "address", "grade", "effective_at")
OPTIONAL = ("suspended", "recertified")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}
#: Rows between two progress updates on a terminal.
_PROGRESS_EVERY = 5000


class RowInvalid(ValueError):
    """A line of the file cannot be read as a grade change."""


@dataclass(frozen=True)
class Row:
    line: int
    change: GradeChange


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    home = sub.add_parser("home", help="the home administration's own AEOs")
    home_sub = home.add_subparsers(dest="home_command", required=True)
    load = home_sub.add_parser(
        "import",
        help="record home enterprise grade changes from a CSV file, all or none: every row is "
        "checked first; rows already stored are duplicates",
        description="CSV header: "
        + ",".join(REQUIRED)
        + " and optionally "
        + ", ".join(OPTIONAL)
        + " (true/false). effective_at is RFC 3339 with an offset, e.g. "
        "2026-11-27T09:00:00+08:00. Reads the store named by the settings directly.",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.add_argument("--format", choices=("table", "json"), default="table", help="output form")
    load.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from gateway.app.home_registry import RecordGradeChange
    from gateway.bootstrap import open_core
    from gateway.cli import UsageError, _settings
    from gateway.domain.errors import EnterpriseUnknown

    settings = _settings(args)
    progress = sys.stderr.isatty() and args.format == "table"
    started = time.monotonic()
    try:
        rows = list(read_rows(args.file))
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{args.file}: is not UTF-8 text ({exc.reason})") from exc
    except (RowInvalid, csv.Error) as exc:
        raise UsageError(f"{args.file}: {exc}; nothing applied") from exc
    if not rows:
        raise UsageError(f"{args.file}: has a header but no rows; nothing applied")

    core = open_core(settings)
    registry = RecordGradeChange(
        core.store.transactions,
        core.clock,
        settings.signing_key_id,
        settings.signing_algorithm,
        retired=core.lifecycles.retired,
    )
    directory = core.directory.current()
    try:
        checked = _check_all(registry, directory, rows, args.file, progress)
    except BaseException:
        core.store.database.close()
        raise
    if progress:
        print(f"\r\033[Kapplying {len(rows)} rows in one transaction", end="", file=sys.stderr)
    core.store.start()
    try:
        result = registry.apply(checked, directory)
    except EnterpriseUnknown as exc:
        line = _first_line(rows, checked, exc.metadata.get("enterprise_code", ""))
        raise UsageError(
            f"{args.file}: line {line}: {exc.reason}: {exc.message}; nothing applied"
        ) from exc
    finally:
        core.store.stop()
        if progress:
            print("\r\033[K", end="", file=sys.stderr)
    report = summary(args.file, result, time.monotonic() - started)
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(_table(report))
    return 0


def _check_all(
    registry: RecordGradeChange,
    directory: Directory,
    rows: list[Row],
    path: Path,
    progress: bool,
) -> list[CheckedChange]:
    """Every row checked before any is applied: the first refused names its line."""
    from gateway.cli import UsageError
    from gateway.domain.errors import GatewayError

    checked = []
    for i, row in enumerate(rows, 1):
        try:
            checked.append(registry.check(row.change, directory))
        except GatewayError as exc:
            raise UsageError(
                f"{path}: line {row.line}: {exc.reason}: {exc.message}; nothing applied"
            ) from exc
        if progress and i % _PROGRESS_EVERY == 0:
            print(f"\rchecked {i}/{len(rows)} rows", end="", file=sys.stderr)
    return checked


def read_rows(path: Path) -> Iterator[Row]:
    """The file's rows as grade changes; RowInvalid names the line and what is wrong."""
    # No field is longer than the file: csv's own limit (128 KiB) would refuse a long field
    # without saying which; the rules for each column do, naming it.
    limit = csv.field_size_limit(max(csv.field_size_limit(), path.stat().st_size + 1))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            yield from _rows(reader)
        except csv.Error as exc:  # bad quoting, an unterminated quote: say where
            raise RowInvalid(f"line {max(reader.line_num, 1)}: {exc}") from exc
        finally:
            csv.field_size_limit(limit)


def _rows(reader: Any) -> Iterator[Row]:
    """The header checked, then each row as a grade change."""
    from gateway.domain.home_registry import GradeChange

    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if not header or missing or unknown or len(set(header)) != len(header):
        raise RowInvalid(
            "line 1: the header must name the columns "
            + ",".join(REQUIRED)
            + f" (optionally {', '.join(OPTIONAL)}), each once"
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
            fields = dict(zip(header, values, strict=True))
            yield Row(
                line,
                GradeChange(
                    enterprise_code=fields["enterprise_code"],
                    name=fields["name"],
                    address=fields["address"],
                    grade=fields["grade"],
                    effective_at=_time(fields["effective_at"], line),
                    suspended=_flag(fields, "suspended", line),
                    recertified=_flag(fields, "recertified", line),
                ),
            )
        line = reader.line_num + 1


#: RFC 3339's date-time: fromisoformat alone takes more (basic format, offsets with seconds).
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _time(text: str, line: int) -> datetime:
    at = None
    if _RFC3339.fullmatch(text.strip()):
        with contextlib.suppress(ValueError):  # a 13th month, a 25th hour
            at = datetime.fromisoformat(text.strip())
    if at is None or at.utcoffset() is None:
        raise RowInvalid(
            f"line {line}: effective_at {text!r} is not an RFC 3339 time with an offset "
            "(e.g. 2026-11-27T09:00:00+08:00)"
        )
    return at


def _flag(fields: dict[str, str], name: str, line: int) -> bool:
    value = fields.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowInvalid(f"line {line}: {name} {fields[name]!r} is not true or false")


def _first_line(rows: list[Row], checked: list[CheckedChange], identifier: str) -> int:
    return next(
        (row.line for row, c in zip(rows, checked, strict=True) if c.identifier == identifier),
        rows[0].line,
    )


def summary(path: Path, result: BulkResult, seconds: float) -> dict[str, object]:
    rows = len(result.results)
    return {
        "file": str(path),
        "rows": rows,
        "new_versions": result.new_versions,
        "duplicates": result.duplicates,
        "queued": result.queued_per_partner(),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds) if seconds > 0 else rows,
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"{report['file']}: {report['rows']} rows, {report['new_versions']} new versions, "
        f"{report['duplicates']} duplicates ({report['seconds']} s, "
        f"{report['rows_per_second']} rows/s)"
    ]
    queued = report["queued"]
    if queued:
        lines.append("partner  queued")
        lines.extend(f"{code:<8} {count}" for code, count in queued.items())
    else:
        lines.append("queued for no partner")
    return "\n".join(lines)
