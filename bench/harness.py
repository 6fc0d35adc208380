"""What the benchmarks share: a workspace with a development PKI, server processes pinned to one
core, and a load generator (on the other core) that keeps N calls in flight."""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from gateway.client import TlsIdentity, connect
from gateway.devkit import DevWorkspace

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
CLIENT_CPU = 1


@contextmanager
def workspace() -> Iterator[DevWorkspace]:
    with tempfile.TemporaryDirectory(prefix="aeo-bench-") as tmp:
        yield DevWorkspace.create(Path(tmp), ROOT)


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > cpu:
        os.sched_setaffinity(0, {cpu})


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int

    @property
    def target(self) -> str:
        return f"localhost:{self.port}"

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS:")

    def peak_rss_mb(self) -> float:
        """The most resident memory the process has had so far (its high-water mark)."""
        return self._status_mb("VmHWM:")

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the process has used so far."""
        return cpu_seconds(self.proc.pid)

    def _status_mb(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) / 1024
        return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system, all threads) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(args: Sequence[str], cwd: Path) -> Iterator[Server]:
    """A server process pinned to the server core; it must print 'listening on port N'."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=lambda: pin(SERVER_CPU),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on port" not in line:
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    try:
        yield Server(proc, int(line.split("port ")[1].split()[0]))
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@dataclass(frozen=True)
class Result:
    calls: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def line(self, label: str, unit: str = "calls/s", scale: int = 1) -> str:
        return (
            f"{label:<44} {self.per_second * scale:>9.0f} {unit:<10} "
            f"p50 {self.percentile(50):6.2f} ms  p99 {self.percentile(99):6.2f} ms"
            + (f"  errors {self.errors}" if self.errors else "")
        )


def run_load(
    start: Callable[[Any], grpc.Future[Any]], items: Sequence[Any], in_flight: int
) -> Result:
    """Issues one call per item, keeping ``in_flight`` outstanding; latencies per call."""
    slots = threading.Semaphore(in_flight)
    latencies: list[float] = []
    errors = [0]
    finished = threading.Event()
    remaining = [len(items)]
    lock = threading.Lock()

    def done(future: grpc.Future[Any], began: float) -> None:
        elapsed = (time.perf_counter() - began) * 1000
        failed = future.exception() is not None
        with lock:
            latencies.append(elapsed)
            errors[0] += failed
            remaining[0] -= 1
            if remaining[0] == 0:
                finished.set()
        slots.release()

    t0 = time.perf_counter()
    for item in items:
        slots.acquire()
        began = time.perf_counter()
        start(item).add_done_callback(functools.partial(_call_done, done, began))
    finished.wait()
    return Result(len(items), time.perf_counter() - t0, latencies, errors[0])


def _call_done(
    done: Callable[[grpc.Future[Any], float], None], began: float, future: grpc.Future[Any]
) -> None:
    done(future, began)


Starter = Callable[[grpc.Channel], Callable[[Any], "grpc.Future[Any]"]]


def raw(method: str) -> Starter:
    """Calls ``method`` with pre-serialized request bytes (for the trivial servicer)."""

    def start(ch: grpc.Channel) -> Callable[[Any], grpc.Future[Any]]:
        call = ch.unary_unary(method, None, None)
        return lambda payload: call.future(payload, timeout=60)

    return start


def measure(
    ws: DevWorkspace,
    args: Sequence[str],
    who: str,
    starter: Starter,
    items: Sequence[Any],
    in_flight: int,
) -> tuple[Result, float]:
    """Starts a server, loads it as ``who``; returns the result and the server's RSS in MB."""
    with server(args, ws.root) as srv:
        ch = channel(srv.target, ws.identity(who))
        result = run_load(starter(ch), items, in_flight)
        ch.close()
        return result, srv.rss_mb()


def channel(target: str, identity: TlsIdentity) -> grpc.Channel:
    ch = connect(target, identity)
    grpc.channel_ready_future(ch).result(timeout=30)
    return ch


def median_of(results: list[Result]) -> Result:
    """The run with the median throughput (runs are repeated to tame a noisy machine)."""
    ordered = sorted(results, key=lambda r: r.per_second)
    return ordered[len(ordered) // 2]


def ratio(a: Result, b: Result) -> str:
    return f"{a.per_second / b.per_second:.2f}x"


def mean(values: list[float]) -> float:
    return statistics.fmean(values)
