"""Ingest benchmark: signed envelopes over mTLS, durably stored, at 64 calls in flight.

Three servers on the same core and TLS setup, in the same run: a trivial servicer, the bare
verify-and-insert path (bench/baseline_server.py), and the gateway. Ratios are to the bare path.

    python -m bench.ingest [--messages 6000] [--batch-messages 400] [--preload 1000000]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from adapters.crypto.signatures import Signer
from bench.data import code, fresh_copy, preload
from bench.harness import (
    CLIENT_CPU,
    Result,
    channel,
    median_of,
    pin,
    ratio,
    run_load,
    server,
    workspace,
)
from gateway.client import envelope
from gateway.devkit import DevWorkspace
from gateway.domain.records import AeoRecord, RecordStatus, StatusEvent
from gateway.pb import exchange_pb2, exchange_pb2_grpc

SUBMIT = "/aeo.gateway.v1.PartnerExchange/Submit"


def envelopes(
    signer: Signer, messages: int, per_message: int, offset: int
) -> list[exchange_pb2.SignedEnvelope]:
    now = datetime.now(UTC)
    out = []
    for seq in range(1, messages + 1):
        records = [
            AeoRecord(
                code(offset + (seq - 1) * per_message + j),
                "Bench Operator",
                "1 Bench Road",
                RecordStatus.VALID,
                "STP-Plus",
                1,
                now,
                StatusEvent.GRANTED,
            )
            for j in range(per_message)
        ]
        out.append(envelope(signer, "SG", seq, records, issued_at=now))
    return out


def measure(
    ws: DevWorkspace,
    args: list[str],
    items: list[exchange_pb2.SignedEnvelope],
    in_flight: int,
    trivial: bool = False,
) -> tuple[Result, float]:
    """Starts a server, runs the load as partner SG, returns the result and the server's RSS."""
    with server(args, ws.root) as srv:
        ch = channel(srv.target, ws.identity("SG"))
        if trivial:
            call = ch.unary_unary(SUBMIT, None, None)
            payloads = [e.SerializeToString() for e in items]
            result = run_load(lambda p: call.future(p, timeout=60), payloads, in_flight)
        else:
            stub = exchange_pb2_grpc.PartnerExchangeStub(ch)
            result = run_load(lambda e: stub.Submit.future(e, timeout=60), items, in_flight)
        ch.close()
        return result, srv.rss_mb()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=6000, help="single-record messages per run")
    parser.add_argument(
        "--batch-messages", type=int, default=400, help="100-record messages per run"
    )
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per server; the median is reported"
    )
    parser.add_argument(
        "--preload", type=int, default=0, help="operators stored before the gateway runs"
    )
    opts = parser.parse_args()
    pin(CLIENT_CPU)
    with workspace() as ws:
        key = ws.pki / "partners/SG/signing-SG-2026-1.key.pem"
        signer = Signer.from_file(key, "SG-2026-1", "ed25519")
        template = None
        if opts.preload:
            template = ws.root / "template.db"
            print(
                f"preloading {opts.preload:,} operators: {preload(template, opts.preload):.1f} s",
                flush=True,
            )
        offset = opts.preload + 10
        single = envelopes(signer, opts.messages, 1, offset)
        batched = envelopes(signer, opts.batch_messages, 100, offset)
        rows: dict[str, list[Result]] = {}
        rss: list[float] = []
        for run in range(opts.repeats):
            for label, items in (("single", single), ("batch100", batched)):
                rows.setdefault(f"trivial {label}", []).append(
                    measure(
                        ws,
                        ["-m", "bench.baseline_server", "trivial", str(ws.root)],
                        items,
                        opts.in_flight,
                        trivial=True,
                    )[0]
                )
                rows.setdefault(f"bare {label}", []).append(
                    measure(
                        ws,
                        ["-m", "bench.baseline_server", "verify-insert", str(ws.root)],
                        items,
                        opts.in_flight,
                    )[0]
                )
                (ws.root / "baseline.db").unlink(missing_ok=True)
                db = fresh_copy(template, ws.root / f"gw-{run}-{label}.db")
                config = ws.write_config(
                    "gateway.toml", database_url=f"sqlite:///{db}", listen="127.0.0.1:0"
                )
                result, mb = measure(
                    ws, ["-m", "gateway", "--config", str(config), "serve"], items, opts.in_flight
                )
                rows.setdefault(f"gateway {label}", []).append(result)
                rss.append(mb)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
    best = {k: median_of(v) for k, v in rows.items()}
    print(
        f"\ningest, {opts.in_flight} in flight, median of {opts.repeats} runs, "
        f"{opts.preload:,} operators preloaded"
    )
    for label in ("single", "batch100"):
        scale, unit = (1, "msgs/s") if label == "single" else (100, "records/s")
        for who in ("trivial", "bare", "gateway"):
            print(best[f"{who} {label}"].line(f"{who} ({label})", unit, scale))
        gateway = best[f"gateway {label}"]
        print(f"{'  gateway / bare verify-insert':<44} {ratio(gateway, best[f'bare {label}'])}")
        print(f"{'  gateway / trivial servicer':<44} {ratio(gateway, best[f'trivial {label}'])}")
    print(f"gateway resident memory after the runs: max {max(rss):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
