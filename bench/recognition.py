"""Recognition benchmark: GetRecognition at 64 calls in flight over mTLS, against a trivial
servicer on the same core and TLS setup in the same run.

    python -m bench.recognition [--records 100000] [--queries 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from typing import Any

import grpc

from bench.data import code, preload
from bench.harness import CLIENT_CPU, measure, median_of, pin, ratio, raw, workspace
from gateway.pb import common_pb2, recognition_pb2, recognition_pb2_grpc

METHOD = "/aeo.gateway.v1.RecognitionService/GetRecognition"


class Ask:
    """GetRecognition calls that also count the outcomes, as a check that the load is real."""

    def __init__(self) -> None:
        self.outcomes: list[int] = []

    def __call__(self, ch: grpc.Channel) -> Callable[[Any], grpc.Future[Any]]:
        stub = recognition_pb2_grpc.RecognitionServiceStub(ch)

        def ask(request: recognition_pb2.GetRecognitionRequest) -> grpc.Future[Any]:
            future: grpc.Future[Any] = stub.GetRecognition.future(request, timeout=60)
            future.add_done_callback(lambda f: self.outcomes.append(f.result().recognition.outcome))
            return future

        return ask


def ask_batch(ch: grpc.Channel) -> Callable[[Any], grpc.Future[Any]]:
    stub = recognition_pb2_grpc.RecognitionServiceStub(ch)
    return lambda batch: stub.BatchGetRecognitions.future(batch, timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000, help="operators stored")
    parser.add_argument("--queries", type=int, default=20_000, help="calls per run")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    opts = parser.parse_args()
    pin(CLIENT_CPU)
    rng = random.Random(7)
    with workspace() as ws:
        db = ws.root / "recognition.db"
        print(
            f"preloading {opts.records:,} operators: {preload(db, opts.records):.1f} s", flush=True
        )
        config = ws.write_config(
            "gateway.toml", database_url=f"sqlite:///{db}", listen="127.0.0.1:0"
        )
        requests = [
            recognition_pb2.GetRecognitionRequest(
                declared_code=code(rng.randrange(opts.records)),
                direction=common_pb2.TRADE_DIRECTION_IMPORT,
            )
            for _ in range(opts.queries)
        ]
        batches = [
            recognition_pb2.BatchGetRecognitionsRequest(
                declared_codes=[code(rng.randrange(opts.records)) for _ in range(100)],
                direction=common_pb2.TRADE_DIRECTION_IMPORT,
            )
            for _ in range(opts.queries // 100)
        ]
        raw_requests = [r.SerializeToString() for r in requests]
        trivial = ["-m", "bench.baseline_server", "trivial", str(ws.root)]
        gateway = ["-m", "gateway", "--config", str(config), "serve"]
        trivial_runs, gateway_runs, batch_runs, rss = [], [], [], []
        for _ in range(opts.repeats):
            result, _ = measure(ws, trivial, "domestic", raw(METHOD), raw_requests, opts.in_flight)
            trivial_runs.append(result)
            ask = Ask()
            result, mb = measure(ws, gateway, "domestic", ask, requests, opts.in_flight)
            recognised = ask.outcomes.count(recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED)
            print(f"  gateway answered {len(ask.outcomes)}: {recognised} recognised", flush=True)
            gateway_runs.append(result)
            rss.append(mb)
            batch_runs.append(
                measure(ws, gateway, "domestic", ask_batch, batches, opts.in_flight)[0]
            )
    trivial_best, gateway_best = median_of(trivial_runs), median_of(gateway_runs)
    print(
        f"\nrecognition, {opts.in_flight} in flight, median of {opts.repeats} runs, "
        f"{opts.records:,} operators stored"
    )
    print(trivial_best.line("trivial servicer", "queries/s"))
    print(gateway_best.line("gateway GetRecognition", "queries/s"))
    print(f"{'  gateway / trivial servicer':<44} {ratio(gateway_best, trivial_best)}")
    print(median_of(batch_runs).line("gateway BatchGetRecognitions (100 codes)", "codes/s", 100))
    print(f"gateway resident memory after the runs: max {max(rss):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
