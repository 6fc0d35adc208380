"""The facilitation report over a growing outcomes table: how its time grows from 100,000 to
1,000,000 outcomes, on SQLite and PostgreSQL, against a bare count over the same rows.

    python -m bench.facilitation [--outcomes 1000000] [--first 100000] [--repeats 5]
                                 [--url postgresql://postgres@127.0.0.1:5432/postgres]

Bulk-loads --first generated outcomes of 2026 (gateway/facilitation_generator.py, already
classified, in transactions of 50,000 through the store's bulk insert), times the report for
2026Q3 and for 2026, then loads up to --outcomes and times them again. The baseline, in the
same run on the same table: `SELECT COUNT(*) FROM outcomes WHERE arrived_at >= ? AND
arrived_at < ?` over the same period, the least any report of that period must read. Each time
is the median of --repeats. --url: also on PostgreSQL, in a fresh database created on that
server (and dropped after).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from adapters.store.facilitation import SqlOutcomes
from adapters.store.sql import SqlStore
from gateway import facilitation_generator as generator
from gateway.domain.facilitation import Outcome
from gateway.times import to_us
from tests.facilitation_report import report_over  # noqa: F401 (replaced below)

SEED = 1
YEAR = 2026
PERIODS = ("2026Q3", "2026")
CHUNK = 50_000


@dataclass
class Timing:
    rows: int
    load_seconds: float
    #: period -> (report seconds, bare count seconds, rows counted)
    periods: dict[str, tuple[float, float, int]]


def chunks(outcomes: Iterator[Outcome]) -> Iterator[list[Outcome]]:
    while chunk := list(itertools.islice(outcomes, CHUNK)):
        yield chunk


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
