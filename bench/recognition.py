"""Recognition benchmark: GetRecognition at 64 calls in flight over mTLS, against a trivial
servicer on the same core and TLS setup in the same run.

    python -m bench.recognition [--records 100000] [--queries 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys

from bench.data import code, preload
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
from gateway.devkit import DevWorkspace
from gateway.pb import recognition_pb2, recognition_pb2_grpc

METHOD = "/aeo.gateway.v1.Recognition/GetRecognition"


def measure(
    ws: DevWorkspace,
    args: list[str],
    requests: list[recognition_pb2.RecognitionRequest],
    in_flight: int,
    trivial: bool,
) -> tuple[Result, float]:
    with server(args, ws.root) as srv:
        ch = channel(srv.target, ws.identity("domestic"))
        if trivial:
            call = ch.unary_unary(METHOD, None, None)
            payloads = [r.SerializeToString() for r in requests]
            result = run_load(lambda p: call.future(p, timeout=60), payloads, in_flight)
        else:
            stub = recognition_pb2_grpc.RecognitionStub(ch)
            answers: list[int] = []

            def ask(request: recognition_pb2.RecognitionRequest) -> object:
                future = stub.GetRecognition.future(request, timeout=60)
                future.add_done_callback(lambda f: answers.append(f.result().outcome))
                return future

            result = run_load(ask, requests, in_flight)  # type: ignore[arg-type]
            recognised = answers.count(recognition_pb2.OUTCOME_RECOGNISED) / max(1, len(answers))
            print(f"  gateway answered {len(answers)}: {recognised:.0%} recognised", flush=True)
        ch.close()
        return result, srv.rss_mb()


def measure_batch(
    ws: DevWorkspace,
    config: object,
    batches: list[recognition_pb2.BatchRecognitionRequest],
    in_flight: int,
) -> Result:
    with server(["-m", "gateway", "--config", str(config), "serve"], ws.root) as srv:
        ch = channel(srv.target, ws.identity("domestic"))
        stub = recognition_pb2_grpc.RecognitionStub(ch)
        result = run_load(
            lambda b: stub.GetRecognitionBatch.future(b, timeout=60), batches, in_flight
        )
        ch.close()
        return result


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
            recognition_pb2.RecognitionRequest(declared_code=code(rng.randrange(opts.records)))
            for _ in range(opts.queries)
        ]
        batches = [
            recognition_pb2.BatchRecognitionRequest(
                declared_codes=[code(rng.randrange(opts.records)) for _ in range(100)]
            )
            for _ in range(opts.queries // 100)
        ]
        trivial_runs, gateway_runs, batch_runs, rss = [], [], [], []
        for _ in range(opts.repeats):
            trivial_runs.append(
                measure(
                    ws,
                    ["-m", "bench.baseline_server", "trivial", str(ws.root)],
                    requests,
                    opts.in_flight,
                    trivial=True,
                )[0]
            )
            result, mb = measure(
                ws,
                ["-m", "gateway", "--config", str(config), "serve"],
                requests,
                opts.in_flight,
                trivial=False,
            )
            gateway_runs.append(result)
            rss.append(mb)
            batch_runs.append(measure_batch(ws, config, batches, opts.in_flight))
    trivial, gateway = median_of(trivial_runs), median_of(gateway_runs)
    print(
        f"\nrecognition, {opts.in_flight} in flight, median of {opts.repeats} runs, "
        f"{opts.records:,} operators stored"
    )
    print(trivial.line("trivial servicer", "queries/s"))
    print(gateway.line("gateway GetRecognition", "queries/s"))
    print(f"{'  gateway / trivial servicer':<44} {ratio(gateway, trivial)}")
    print(median_of(batch_runs).line("gateway GetRecognitionBatch (100 codes)", "codes/s", 100))
    print(f"gateway resident memory after the runs: max {max(rss):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
