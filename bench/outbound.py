"""bench.outbound: home AEO changes out to the partners' own gateways, run here.

The home gateway and one real partner gateway per partner (gateway.federation: the same
software with home = the partner and partner = CN), each a process. Three measurements:

1. **Latency**: revocations and grants recorded through HomeRegistryService at a steady rate;
   for each partner, from the commit that queued a change to the verified receipt that settled
   it (queued_at to settled_at, as the home gateway stored them). The baseline, measured in the
   same run against the same partner gateways: the bare exchange, i.e. a client sealing the
   same one-record message with the home key in the partner's format, submitting it and
   verifying the receipt, to every partner at once.
2. **Outage**: one partner's gateway is stopped while a backlog is queued (the changes of a
   5-minute outage at a busy rate); when it comes back, how fast its backlog drains, and the
   other partners' latency meanwhile.
3. **Replicas** (with --url, PostgreSQL): a backlog queued for every partner, drained by one
   home gateway, then (fresh databases) by two sharing the database: the rate ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from adapters.directory.files import read_definitions
from bench.harness import cpu_seconds, workspace
from gateway.client import connect
from gateway.devkit import DevWorkspace
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.federation import (
    Federation,
    PeerWorkspace,
    gateway_key,
    open_receipt,
    outbound_messages,
    record_grade_change,
    spawn_peer,
    write_federation,
)
from gateway.pb import admin_pb2, admin_pb2_grpc, exchange_pb2, exchange_pb2_grpc

AEO = "advanced certified"
REGULAR = "regular"


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text:<78}", end="", file=sys.stderr, flush=True)


def _done() -> None:
    if sys.stderr.isatty():
        print("\r" + " " * 78 + "\r", end="", file=sys.stderr, flush=True)


def enterprise(i: int) -> str:
    return f"AEOCN{1_000_000_000 + i:010d}"


@dataclass
class Home:
    """A home gateway process and how to call it as its admin and its credit system."""

    federation: Federation
    config: Path
    procs: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.federation.home_target

    def identity(self, who: str) -> Any:
        return DevWorkspace(self.config.parent).identity(who)

    def spawn(self, config: Path | None = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # our own interpreter and module
            [sys.executable, "-m", "gateway", "--config", str(config or self.config), "serve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        if "listening on port" not in proc.stdout.readline():
            proc.kill()
            raise RuntimeError("the home gateway did not start")
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def change(self, i: int, grade: str) -> None:
        record_grade_change(
            self.target, self.identity("registry"), enterprise(i), grade, name=f"Enterprise {i}"
        )

    def messages(self, partner: str) -> list[admin_pb2.OutboundMessage]:
        return outbound_messages(self.target, self.identity("admin"), partner)

    def backlog(self, partner: str) -> int:
        with connect(self.target, self.identity("admin")) as channel:
            state = admin_pb2_grpc.AdminServiceStub(channel).GetPartnerState(
                admin_pb2.GetPartnerStateRequest(name=f"partners/{partner}/state"), timeout=10
            )
        return int(state.partner_state.outbound.backlog)

    def import_rows(self, rows: int, start: int, config: Path | None = None) -> None:
        """`aeo-gateway home import` of ``rows`` grants, effective an hour ago."""
        path = self.config.parent / f"backlog-{start}.csv"
        at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["enterprise_code", "name", "address", "grade", "effective_at"])
            for i in range(start, start + rows):
                writer.writerow([enterprise(i), f"Enterprise {i}", "1 Bench Road", AEO, at])
        subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(config or self.config), "home",
             "import", str(path), "--format", "json"],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def wait_drained(self, partners: Sequence[str], timeout: float = 600) -> float:
        """Seconds until no partner in ``partners`` has a change waiting."""
        began = time.perf_counter()
        waiting = list(partners)
        while waiting:
            waiting = [p for p in waiting if self.backlog(p)]
            _progress(f"draining: {len(waiting)} partners with changes waiting")
            if time.perf_counter() - began > timeout:
                raise RuntimeError(f"not drained within {timeout:.0f} s: {waiting}")
            if waiting:
                time.sleep(0.1)
        _done()
        return time.perf_counter() - began


def latencies_ms(
    messages: Sequence[admin_pb2.OutboundMessage], since: datetime | None = None
) -> list[float]:
    """Commit (queued_at) to verified receipt (settled_at) of every settled message."""
    out = []
    for m in messages:
        if m.state != admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED:
            continue
        queued = m.queued_at.ToDatetime(UTC)
        if since is not None and queued < since:
            continue
        out.append((m.settled_at.ToDatetime(UTC) - queued).total_seconds() * 1000)
    return out


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def steady_changes(home: Home, count: int, rate: float, first: int) -> None:
    """``count`` changes at ``rate`` per second: a grant, then a revocation of the same
    enterprise, alternately."""
    began = time.perf_counter()
    for n in range(count):
        i = first + n // 2
        home.change(i, AEO if n % 2 == 0 else REGULAR)
        _progress(f"changes: {n + 1}/{count}")
        pause = began + (n + 1) / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    _done()


def bare_exchange(
    federation: Federation, codes: Sequence[str], count: int, rate: float, first: int
) -> list[float]:
    """The baseline: each change sealed by a client with the home key in the partner's format,
    submitted to every partner's gateway at once, receipt verified; milliseconds per exchange.
    Sequence numbers continue each partner's (the gateway has stopped sending)."""
    home = federation.home
    channels = {c: connect(federation.peers[c].target, federation.home_calling(c)) for c in codes}
    stubs = {c: exchange_pb2_grpc.PartnerExchangeServiceStub(ch) for c, ch in channels.items()}
    keys = {c: gateway_key(federation.peers[c].settings()) for c in codes}
    formats = {c: _format(federation.peers[c]) for c in codes}
    sequences = {c: _last_settled(federation, c) for c in codes}
    out: list[float] = []
    lock = threading.Lock()

    def one(code: str, n: int) -> None:
        began = time.perf_counter()
        now = datetime.now(UTC)
        record = AeoRecord(
            identifier=enterprise(first + n),
            name=f"Enterprise {first + n}",
            address="1 Bench Road",
            status=RecordStatus.REVOKED,
            tier=REGULAR,
            version=1_000 + n,
            effective_at=now,
            event=StatusEvent.REVOKED,
            revoked_on=now.date(),
        )
        with lock:
            sequences[code] += 1
            sequence = sequences[code]
        batch = OutboundBatch(home.home_file.stem, sequence, now, BatchKind.DELTA, (record,))
        envelope = federation.seal(home.home_file.stem, batch, formats[code])
        response = stubs[code].SubmitStatusMessage(
            exchange_pb2.SubmitStatusMessageRequest(envelope=envelope), timeout=10
        )
        receipt = open_receipt(response.receipt, keys[code])
        assert receipt.sequence == sequence
        with lock:
            out.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    with ThreadPoolExecutor(len(codes)) as pool:
        for n in range(count):
            list(pool.map(lambda c, n=n: one(c, n), codes))
            _progress(f"bare: {n + 1}/{count}")
            pause = began + (n + 1) / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    _done()
    for ch in channels.values():
        ch.close()
    return out


def _format(peer: PeerWorkspace) -> str:
    text = (peer.root / "partners" / "CN.toml").read_text()
    return text.split("wire_formats = [", 1)[1].split('"')[1]


def _last_settled(federation: Federation, code: str) -> int:
    # The peer's own count of CN's messages: what it has received from the home gateway.
    peer = federation.peers[code]
    with connect(peer.target, peer.identity("admin")) as channel:
        state = admin_pb2_grpc.AdminServiceStub(channel).GetPartnerState(
            admin_pb2.GetPartnerStateRequest(name="partners/CN/state"), timeout=10
        )
    return int(state.partner_state.last_sequence)


@contextmanager
def federation_running(
    ws: DevWorkspace, name: str, codes: Sequence[str], home_url: str | None, **home: Any
) -> Iterator[tuple[Home, dict[str, subprocess.Popen[str]]]]:
    root = ws.root / name
    urls = {"CN": home_url} if home_url else None
    fed = write_federation(ws.settings(), root, codes, urls)
    values: dict[str, Any] = {
        "listen": fed.home.listen,
        "partners_dir": str(fed.home.partners_dir),
        "database_url": fed.home.database_url,
        **home,
    }
    config = ws.write_config(f"{name}.toml", **values)
    runner = Home(fed, config)
    peers: dict[str, subprocess.Popen[str]] = {}
    try:
        for code in codes:
            _progress(f"starting {code}'s gateway")
            peers[code] = spawn_peer(fed.peers[code])
        _done()
        yield runner, peers
    finally:
        runner.stop()
        for proc in peers.values():
            proc.terminate()
        for proc in peers.values():
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def latency_and_outage(args: argparse.Namespace, codes: Sequence[str]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    with workspace() as ws, federation_running(ws, "fed", codes, None) as (home, peers):
        home.spawn()
        began = datetime.now(UTC)
        steady_changes(home, args.changes, args.rate, first=0)
        home.wait_drained(codes)
        gateway = [v for c in codes for v in latencies_ms(home.messages(c), began)]
        report["latency"] = {
            "partners": len(codes),
            "messages": len(gateway),
            "p50_ms": pct(gateway, 50),
            "p99_ms": pct(gateway, 99),
            "max_ms": max(gateway),
        }

        victim = args.outage_partner
        peers[victim].terminate()
        peers[victim].communicate(timeout=30)
        _progress(f"queueing {args.backlog} changes while {victim} is down")
        home.import_rows(args.backlog, start=1_000_000)
        others = [c for c in codes if c != victim]
        report["others_drain_s"] = home.wait_drained(others)
        peers[victim] = spawn_peer(home.federation.peers[victim])
        restarted = time.perf_counter()  # listening again: the drain starts
        during = datetime.now(UTC)
        trickle = threading.Thread(
            target=steady_changes, args=(home, args.trickle, args.rate, 2_000_000)
        )
        trickle.start()
        home.wait_drained([victim])
        drain = time.perf_counter() - restarted
        trickle.join()
        home.wait_drained(codes)
        others_during = [v for c in others for v in latencies_ms(home.messages(c), during)]
        report["outage"] = {
            "partner": victim,
            "backlog": args.backlog,
            "drain_s": drain,
            "drain_per_s": args.backlog / drain,
            "others_p99_ms_during": pct(others_during, 99),
            "others_messages_during": len(others_during),
        }
        home.stop()
        bare = bare_exchange(home.federation, codes, args.changes // 2, args.rate, 3_000_000)
        report["bare"] = {"exchanges": len(bare), "p50_ms": pct(bare, 50), "p99_ms": pct(bare, 99)}
    return report


def _fresh_database(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def _busy() -> tuple[int, int]:
    """(idle, total) jiffies of the machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return values[3] + values[4], sum(values)


def replicas(args: argparse.Namespace, codes: Sequence[str]) -> dict[str, Any]:
    """A backlog queued for every partner with no replica running, then drained by one
    replica, and (fresh databases, the same backlog) by two sharing the database."""
    runs = {}
    for count in (1, 2):
        url = _fresh_database(args.url, "aeo_bench_outbound")
        with (
            workspace() as ws,
            federation_running(ws, f"rep{count}", codes, url, outbound_enabled=False) as (
                home,
                peers,
            ),
        ):
            home.import_rows(args.replica_backlog, start=0)
            values = {
                **_config_values(home.config),
                "outbound_enabled": True,
                "outbound_workers": args.replica_workers,
            }
            peers_before = sum(cpu_seconds(p.pid) for p in peers.values())
            idle_before, total_before = _busy()
            began = time.perf_counter()
            home.spawn(ws.write_config(f"rep{count}-0.toml", **values))  # Admin asks this one
            for n in range(1, count):
                home.spawn(
                    ws.write_config(f"rep{count}-{n}.toml", **{**values, "listen": "127.0.0.1:0"})
                )
            home.wait_drained(codes)
            seconds = time.perf_counter() - began
            idle, total = _busy()
            runs[count] = {
                "per_s": args.replica_backlog * len(codes) / seconds,
                "machine_idle": (idle - idle_before) / (total - total_before),
                "replicas_cpu_s": sum(cpu_seconds(p.pid) for p in home.procs),
                "partners_cpu_s": sum(cpu_seconds(p.pid) for p in peers.values()) - peers_before,
                "seconds": seconds,
            }
    return {
        "replicas": {
            "events": args.replica_backlog * len(codes),
            "workers": args.replica_workers,
            "one": runs[1],
            "two": runs[2],
            "ratio": runs[2]["per_s"] / runs[1]["per_s"],
        }
    }


def _config_values(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.outbound", description=__doc__)
    p.add_argument("--partners", default="all", help="partner codes, comma-separated")
    p.add_argument("--changes", type=int, default=200, help="steady changes (latency)")
    p.add_argument("--rate", type=float, default=20.0, help="changes per second")
    p.add_argument("--backlog", type=int, default=20_000, help="changes queued in the outage")
    p.add_argument("--outage-partner", default="SG")
    p.add_argument("--trickle", type=int, default=100, help="changes while the backlog drains")
    p.add_argument("--url", help="PostgreSQL server URL: also measure one and two replicas")
    p.add_argument("--replica-backlog", type=int, default=5_000)
    p.add_argument(
        "--replica-workers", type=int, default=8, help="outbound_workers of each replica"
    )
    p.add_argument("--only", choices=("latency", "replicas"), help="one measurement only")
    p.add_argument("--format", choices=("table", "json"), default="table")
    args = p.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    known = sorted(read_definitions(root / "home" / "CN.toml", root / "partners").partners)
    codes = known if args.partners == "all" else args.partners.split(",")
    report: dict[str, Any] = {}
    if args.only != "replicas":
        report.update(latency_and_outage(args, codes))
    if args.url and args.only != "latency":
        report.update(replicas(args, codes))
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(table(report))
    return 0


def table(report: dict[str, Any]) -> str:
    lines = []
    if "latency" in report:
        lat, bare = report["latency"], report["bare"]
        lines += [
            f"commit to verified receipt, {lat['partners']} partner gateways, "
            f"{lat['messages']} messages:",
            f"  gateway  p50 {lat['p50_ms']:7.1f} ms  p99 {lat['p99_ms']:7.1f} ms  "
            f"max {lat['max_ms']:7.1f} ms",
            f"  bare     p50 {bare['p50_ms']:7.1f} ms  p99 {bare['p99_ms']:7.1f} ms  "
            f"({bare['exchanges']} exchanges; gateway p99 = "
            f"{lat['p99_ms'] / bare['p99_ms']:.2f}x bare)",
        ]
    if "outage" in report:
        o = report["outage"]
        lines += [
            f"outage of {o['partner']}: {o['backlog']} changes drained in {o['drain_s']:.1f} s "
            f"= {o['drain_per_s']:,.0f} changes/s; others' p99 meanwhile "
            f"{o['others_p99_ms_during']:.1f} ms ({o['others_messages_during']} messages)",
        ]
    if "replicas" in report:
        r = report["replicas"]
        lines.append(
            f"replicas on PostgreSQL, {r['events']:,} changes, {r['workers']} workers each: "
            f"two = {r['ratio']:.2f}x one"
        )
        for label in ("one", "two"):
            run = r[label]
            lines.append(
                f"  {label}: {run['per_s']:8,.0f} changes/s; machine idle "
                f"{run['machine_idle']:4.0%}; CPU s: replicas {run['replicas_cpu_s']:.1f}, "
                f"partner gateways {run['partners_cpu_s']:.1f}"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
