"""Ingest benchmark: signed envelopes over mTLS, durably stored, at 64 calls in flight.

Three servers on the same core and TLS setup, in the same run: a trivial servicer, the bare
verify-and-insert path (bench/baseline_server.py), and the gateway. Ratios are to the bare path.
``--formats native,xmldsig,jws`` also runs the gateway on the EU's XML-DSig (RSA-SHA256) and
Korea's JWS (ES256) messages of the same records, reported beside the native rate.

    python -m bench.ingest [--messages 6000] [--batch-messages 400] [--preload 1000000]
                           [--formats native,xmldsig,jws]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from adapters.crypto.signatures import Signer
from bench.data import code, fresh_copy, preload
from bench.harness import CLIENT_CPU, Result, measure, median_of, pin, ratio, raw, workspace
from gateway.client import native_envelope
from gateway.devkit import DevWorkspace, pb_records
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.pb import common_pb2, exchange_pb2, exchange_pb2_grpc

SUBMIT = "/aeo.gateway.v1.PartnerExchangeService/SubmitStatusMessage"


def envelopes(
    signer: Signer, messages: int, per_message: int, offset: int
) -> list[exchange_pb2.SubmitStatusMessageRequest]:
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
        envelope = native_envelope(
            signer, "SG", seq, pb_records(records), common_pb2.BATCH_KIND_DELTA, issued_at=now
        )
        out.append(exchange_pb2.SubmitStatusMessageRequest(envelope=envelope))
    return out


#: The partner whose messages each other format is measured with, and its tier and prefix.
FORMAT_PARTNERS = {"xmldsig": ("EU", "AEOF", "DE"), "jws": ("KR", "AAA", "KR")}


def format_envelopes(
    ws: DevWorkspace, wire_format: str, messages: int, per_message: int, offset: int
) -> list[exchange_pb2.SubmitStatusMessageRequest]:
    """The native bench's records as the EU (XML-DSig) or Korea (JWS) would send them."""
    partner, tier, prefix = FORMAT_PARTNERS[wire_format]
    now = datetime.now(UTC)
    out = []
    for seq in range(1, messages + 1):
        records = tuple(
            AeoRecord(
                f"{prefix}{offset + (seq - 1) * per_message + j:010d}",
                "Bench Operator",
                "1 Bench Road",
                RecordStatus.VALID,
                tier,
                1,
                now,
                StatusEvent.GRANTED,
            )
            for j in range(per_message)
        )
        batch = OutboundBatch(partner, seq, now, BatchKind.DELTA, records)
        envelope = ws.envelope(batch, wire_format)
        out.append(exchange_pb2.SubmitStatusMessageRequest(envelope=envelope))
    return out


def submit(
    ch: grpc.Channel,
) -> Callable[[exchange_pb2.SubmitStatusMessageRequest], grpc.Future[Any]]:
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(ch)
    return lambda request: stub.SubmitStatusMessage.future(request, timeout=60)


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
    parser.add_argument(
        "--formats",
        default="native",
        help="wire formats to run the gateway with, a list of native, xmldsig, jws",
    )
    opts = parser.parse_args()
    others = [f for f in opts.formats.split(",") if f != "native"]
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
        loads = {
            fmt: {
                "single": format_envelopes(ws, fmt, opts.messages, 1, offset),
                "batch100": format_envelopes(ws, fmt, opts.batch_messages, 100, offset),
            }
            for fmt in others
        }
        rows: dict[str, list[Result]] = {}
        rss: list[float] = []
        baseline = ["-m", "bench.baseline_server"]
        for run in range(opts.repeats):
            for label, items in (("single", single), ("batch100", batched)):
                raw_items = [e.SerializeToString() for e in items]
                trivial = [*baseline, "trivial", str(ws.root)]
                result, _ = measure(ws, trivial, "SG", raw(SUBMIT), raw_items, opts.in_flight)
                rows.setdefault(f"trivial {label}", []).append(result)
                bare = [*baseline, "verify-insert", str(ws.root)]
                result, _ = measure(ws, bare, "SG", submit, items, opts.in_flight)
                rows.setdefault(f"bare {label}", []).append(result)
                (ws.root / "baseline.db").unlink(missing_ok=True)
                db = fresh_copy(template, ws.root / f"gw-{run}-{label}.db")
                config = ws.write_config(
                    "gateway.toml", database_url=f"sqlite:///{db}", listen="127.0.0.1:0"
                )
                gateway = ["-m", "gateway", "--config", str(config), "serve"]
                result, mb = measure(ws, gateway, "SG", submit, items, opts.in_flight)
                rows.setdefault(f"gateway {label}", []).append(result)
                rss.append(mb)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{db}{suffix}").unlink(missing_ok=True)
                for fmt in others:
                    db = fresh_copy(template, ws.root / f"gw-{run}-{label}-{fmt}.db")
                    config = ws.write_config(
                        "gateway.toml", database_url=f"sqlite:///{db}", listen="127.0.0.1:0"
                    )
                    gateway = ["-m", "gateway", "--config", str(config), "serve"]
                    who = FORMAT_PARTNERS[fmt][0]
                    load = loads[fmt][label]
                    result, mb = measure(ws, gateway, who, submit, load, opts.in_flight)
                    rows.setdefault(f"{fmt} {label}", []).append(result)
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
        ours = best[f"gateway {label}"]
        print(f"{'  gateway / bare verify-insert':<44} {ratio(ours, best[f'bare {label}'])}")
        print(f"{'  gateway / trivial servicer':<44} {ratio(ours, best[f'trivial {label}'])}")
        for fmt in others:
            theirs = best[f"{fmt} {label}"]
            print(theirs.line(f"gateway {fmt} ({label})", unit, scale))
            print(f"{f'  {fmt} / native':<44} {ratio(theirs, ours)}")
    print(f"gateway resident memory after the runs: max {max(rss):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
