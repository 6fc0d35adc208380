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
from bench.harness import workspace
from gateway import facilitation_generator as generator
from gateway.app.facilitation import ReportFacilitation
from gateway.bootstrap import Core, open_core
from gateway.domain.facilitation import Outcome
from gateway.domain.periods import bounds, parse_period
from gateway.times import to_us

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


def bare_count(core: Core, period: str) -> Callable[[], int]:
    """The least a report of ``period`` reads: its outcomes counted through the index."""
    directory = core.directory.current()
    start, end = bounds(parse_period(period), directory.home.zone)
    db = core.store.database
    sql = db.sql("SELECT COUNT(*) FROM outcomes WHERE arrived_at >= ? AND arrived_at < ?")

    def count() -> int:
        with db.reading() as conn:
            cur = conn.cursor()
            cur.execute(sql, (to_us(start), to_us(end)))
            return int(cur.fetchone()[0])

    return count


def load(core: Core, outcomes: Iterator[Outcome]) -> tuple[int, float]:
    """Stores ``outcomes`` in transactions of CHUNK; the seconds exclude generating them."""
    store = SqlOutcomes(core.store.database)
    added, seconds = 0, 0.0
    for chunk in chunks(outcomes):
        t0 = time.perf_counter()
        added += store.record(chunk)
        seconds += time.perf_counter() - t0
    db = core.store.database
    if db.dialect.name == "postgresql":  # as autovacuum would have by the time anyone reports
        t0 = time.perf_counter()
        with db.transaction() as cur:
            cur.execute("ANALYZE outcomes")
        seconds += time.perf_counter() - t0
    return added, seconds


def measure(core: Core, rows: int, load_seconds: float, repeats: int) -> Timing:
    report = ReportFacilitation(SqlOutcomes(core.store.database))
    directory = core.directory.current()
    periods = {}
    for period in PERIODS:
        count = bare_count(core, period)
        counted = count()
        report(directory, period)  # warm: the first read pays for the cache, both ways
        periods[period] = (
            median_seconds(lambda: report(directory, period), repeats),  # noqa: B023
            median_seconds(count, repeats),
            counted,
        )
    return Timing(rows, load_seconds, periods)


def run(url: str, first: int, total: int, repeats: int) -> list[Timing]:
    with workspace() as dev:
        core = open_core(dev.settings(database_url=url))
        try:
            added, seconds = load(core, generator.generate(SEED, YEAR, first))
            timings = [measure(core, added, seconds, repeats)]
            more, seconds = load(core, generator.generate(SEED + 1, YEAR, total - first, tag="b"))
            timings.append(measure(core, added + more, seconds, repeats))
        finally:
            core.store.database.close()
    return timings


@contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """A new database on the server ``url`` names, dropped afterwards."""
    name = f"aeo_bench_facilitation_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def show(store: str, timings: list[Timing]) -> None:
    small, large = timings
    print(store)
    loaded = small.rows
    for t in timings:
        print(
            f"  {t.rows:>9,} outcomes ({loaded:,} loaded in {t.load_seconds:.1f} s, "
            f"{loaded / t.load_seconds:,.0f} rows/s)"
        )
        for period, (report, count, counted) in t.periods.items():
            print(
                f"    report {period:<7} {report * 1000:9.1f} ms   bare count of {counted:>9,} "
                f"{count * 1000:8.1f} ms   report / count {report / count:6.1f}x"
            )
        loaded = large.rows - small.rows
    for period in PERIODS:
        grown = large.periods[period][0] / small.periods[period][0]
        counts = large.periods[period][1] / small.periods[period][1]
        print(
            f"  {period}: {large.rows / small.rows:.0f}x the outcomes, the report takes "
            f"{grown:.1f}x the time (the bare count {counts:.1f}x)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outcomes", type=int, default=1_000_000)
    parser.add_argument("--first", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--url", help="a PostgreSQL server to measure on as well")
    opts = parser.parse_args()
    if not 0 < opts.first < opts.outcomes:
        parser.error("--first must be more than 0 and less than --outcomes")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite:///{Path(tmp) / 'facilitation.db'}"
        show("SQLite", run(sqlite, opts.first, opts.outcomes, opts.repeats))
    if opts.url:
        with fresh_postgres(opts.url) as url:
            show("PostgreSQL", run(url, opts.first, opts.outcomes, opts.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
