"""The hostile neighbour of bench.hostile: partner SG floods the gateway, in a process of its
own (pinned to the load generator's core), until its standard input closes; then it prints the
calls it made, by flood kind and outcome, as one JSON object on standard output.

Kinds (``--kinds``, all by default):

- ``stalled``: raw HTTP/2 connections with SG's certificate, each keeping ``--streams``
  streams open that send request headers (grpc-timeout 3600S) and never a body; an ended
  stream is re-opened at once, a closed connection is re-connected;
- ``poison``: validly signed messages with a record version of 2^63, NUL bytes in a name, in a
  tier, and batches numbered 2^63, from ``--poison-threads`` threads in a tight loop;
- ``oversized``: one signed payload of ``--empty-records`` empty records (about 3.9 MB for two
  million), sent again and again from ``--oversized-threads`` threads;
- ``gaps``: valid one-record messages whose sequence numbers skip one each time, from a thread;
- ``forged_xml`` (not in the default, which floods as SG): as the EU, XML-DSig documents of 100
  records under the EU's key id but signed by another key, from ``--poison-threads`` threads:
  each costs the gateway the whole hardened parse and signxml verification before its refusal,
  the most expensive refusal any format has;
- ``spin`` (a control, not in the default): no traffic, only a busy loop on the same core.

    python -m bench.flood --target localhost:PORT --workspace DIR [--kinds stalled,poison]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc

from adapters.crypto.signatures import RSA_PKCS1, Signer
from adapters.pki import signing_key
from adapters.wire.xmldsig import XmlDsigCodec
from bench.harness import CLIENT_CPU, pin
from bench.raw_h2 import CANCEL, ENHANCE_YOUR_CALM, REFUSED_STREAM, RawConnection
from gateway import protomap
from gateway.api.errors import error_info
from gateway.client import algorithm_enum, connect, native_envelope
from gateway.devkit import DevWorkspace, pb_records
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.pb import common_pb2, exchange_pb2

SUBMIT = "/aeo.gateway.v1.PartnerExchangeService/SubmitStatusMessage"
KINDS = ("stalled", "poison", "oversized", "gaps")
#: Not a flood: the flooder process only burns CPU on the load generator's core, with no
#: traffic at all. ``--kinds spin`` checks that the flooder's presence on that core does not
#: slow the well-behaved clients down by itself (ratios about 1).
CONTROL = "spin"
#: As the EU rather than SG: see the module's docstring.
FORGED_XML = "forged_xml"
_STATUS = {code.value[0]: code.name for code in grpc.StatusCode}
_RESET = {
    REFUSED_STREAM: "REFUSED_STREAM",
    CANCEL: "CANCEL",
    ENHANCE_YOUR_CALM: "ENHANCE_YOUR_CALM",
}


def outcome_of(error: grpc.RpcError | None) -> str:
    """ "OK", or the status code name and the ErrorInfo reason when there is one."""
    if error is None:
        return "OK"
    code = error.code() if isinstance(error, grpc.Call) else None
    name = code.name if code is not None else type(error).__name__
    try:
        info = error_info(error)
    except Exception:  # details that do not parse: the code is what counts
        info = None
    return f"{name} {info.reason}" if info is not None and info.reason else name


class Tally:
    """Outcomes by flood kind, from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = {}

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        with self._lock:
            self.counts.setdefault(kind, Counter())[outcome] += n


class Flood:
    def __init__(self, opts: argparse.Namespace) -> None:
        self.opts = opts
        self.ws = DevWorkspace(Path(opts.workspace))
        self.identity = self.ws.identity("SG")
        self.signer = self.ws.signer("SG")
        self.stop = threading.Event()
        self.tally = Tally()
        self.sequences = itertools.count(opts.first_sequence)  # next() is atomic under the GIL
        self.codes = itertools.count()
        self.threads: list[threading.Thread] = []
        self.connections: list[RawConnection] = []

    def start(self, kinds: list[str]) -> None:
        workers: list[tuple[str, Callable[[], None], int]] = [
            ("stalled", self.stalled, 1),
            ("poison", self.poison, self.opts.poison_threads),
            ("oversized", self.oversized, self.opts.oversized_threads),
            ("gaps", self.gaps, 1),
            (FORGED_XML, self.forged_xml, self.opts.poison_threads),
            (CONTROL, self.spin, 1),
        ]
        for kind, target, count in workers:
            if kind in kinds:
                for i in range(count):
                    thread = threading.Thread(target=target, name=f"{kind}-{i}", daemon=True)
                    self.threads.append(thread)
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    # --- stalled streams -------------------------------------------------------------------

    def stalled(self) -> None:
        host, port = self.opts.target.rsplit(":", 1)
        connections: list[RawConnection | None] = [None] * self.opts.connections
        try:
            while not self.stop.is_set():
                for i, conn in enumerate(connections):
                    if conn is not None:
                        for ended in conn.harvest():
                            self.tally.add("stalled", self._stream_outcome(ended.kind))
                    if conn is None or not conn.alive:
                        if conn is not None:
                            conn.close()
                            self.tally.add("stalled", "connection closed by the server")
                        try:
                            conn = connections[i] = RawConnection(host, int(port), self.identity)
                        except OSError as exc:
                            self.tally.add("stalled", f"connect failed: {type(exc).__name__}")
                            connections[i] = None
                            continue
                    for _ in range(self.opts.streams - conn.streams):
                        conn.open(SUBMIT)
                        self.tally.add("stalled", "opened")
                self.stop.wait(0.02)
        finally:
            for conn in connections:
                if conn is not None:
                    conn.close()

    @staticmethod
    def _stream_outcome(kind: str) -> str:
        what, _, number = kind.partition(" ")
        if what == "status":
            return _STATUS.get(int(number), kind)
        if what == "reset":
            return "reset " + _RESET.get(int(number), number)
        return "lost with its connection"

    # --- signed messages ---------------------------------------------------------------------

    def _send(
        self, kind: str, call: grpc.UnaryUnaryMultiCallable[bytes, bytes], body: bytes
    ) -> None:
        try:
            call(body, timeout=self.opts.call_timeout)
            self.tally.add(kind, "OK")
        except grpc.RpcError as exc:
            self.tally.add(kind, outcome_of(exc))

    def _call(self) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
        channel = connect(self.opts.target, self.identity)
        return channel.unary_unary(SUBMIT, None, None)

    def _record(self, **changes: object) -> AeoRecord:
        fields: dict[str, object] = {
            "identifier": f"SG{900_000_000_000 + next(self.codes):012d}",
            "name": "Flood Operator",
            "address": "1 Flood Road",
            "status": RecordStatus.VALID,
            "tier": "STP-Plus",
            "version": 1,
            "effective_at": datetime.now(UTC),
            "event": StatusEvent.GRANTED,
        }
        fields.update(changes)
        return AeoRecord(**fields)  # type: ignore[arg-type]

    def _message(self, sequence: int, record: AeoRecord) -> bytes:
        envelope = native_envelope(self.signer, "SG", sequence, pb_records([record]))
        return exchange_pb2.SubmitStatusMessageRequest(envelope=envelope).SerializeToString()

    def poison(self) -> None:
        call = self._call()
        makers: list[Callable[[], bytes]] = [
            lambda: self._message(next(self.sequences), self._record(version=2**63)),
            lambda: self._message(next(self.sequences), self._record(name="Lion\x00City")),
            lambda: self._message(next(self.sequences), self._record(tier="STP-Plus\x00")),
            lambda: self._message(2**63, self._record()),
        ]
        while not self.stop.is_set():
            for make in makers:
                self._send("poison", call, make())

    def oversized(self) -> None:
        call = self._call()
        header = common_pb2.StatusBatch(
            partner="SG", sequence=next(self.sequences), kind=common_pb2.BATCH_KIND_DELTA
        )
        header.issued_at.GetCurrentTime()
        payload = header.SerializeToString() + b"\x2a\x00" * self.opts.empty_records
        envelope = exchange_pb2.SignedEnvelope(
            format=common_pb2.WIRE_FORMAT_NATIVE,
            payload=payload,
            detached_signature=common_pb2.DetachedSignature(
                key_id=self.signer.key_id,
                algorithm=algorithm_enum(self.signer.algorithm),
                signature=self.signer.sign(payload),
            ),
        )
        body = exchange_pb2.SubmitStatusMessageRequest(envelope=envelope).SerializeToString()
        while not self.stop.is_set():
            self._send("oversized", call, body)

    def gaps(self) -> None:
        call = self._call()
        while not self.stop.is_set():
            next(self.sequences)  # skipped: every message leaves a gap behind it
            self._send("gaps", call, self._message(next(self.sequences), self._record()))

    def forged_xml(self) -> None:
        forger = Signer(signing_key(RSA_PKCS1), self.ws.signer("EU").key_id, RSA_PKCS1)
        now = datetime.now(UTC)
        records = tuple(
            AeoRecord(
                f"DE{i:012d}", "Forged GmbH", "1 Forge Road", RecordStatus.VALID, "AEOF", 1, now,
                StatusEvent.GRANTED,
            )
            for i in range(100)
        )  # fmt: skip
        batch = OutboundBatch("EU", next(self.sequences), now, BatchKind.DELTA, records)
        envelope = protomap.signed_envelope(XmlDsigCodec().seal(batch, forger))
        body = exchange_pb2.SubmitStatusMessageRequest(envelope=envelope).SerializeToString()
        call = connect(self.opts.target, self.ws.identity("EU")).unary_unary(SUBMIT, None, None)
        while not self.stop.is_set():
            self._send(FORGED_XML, call, body)

    def spin(self) -> None:
        spins = 0
        while not self.stop.is_set():
            for _ in range(10_000):
                spins += 1
        self.tally.add(CONTROL, "loops of 10,000", spins // 10_000)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True)
    parser.add_argument("--workspace", required=True, help="a bench.harness workspace")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--first-sequence", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=3, help="stalled: connections")
    parser.add_argument("--streams", type=int, default=100, help="stalled: streams each")
    parser.add_argument("--poison-threads", type=int, default=4)
    parser.add_argument("--oversized-threads", type=int, default=2)
    parser.add_argument("--empty-records", type=int, default=2_000_000)
    parser.add_argument("--call-timeout", type=float, default=30.0)
    parser.add_argument(
        "--priority",
        choices=("normal", "nice", "idle"),
        default="normal",
        help="nice: niceness 19; idle: SCHED_IDLE (only what the core's others leave idle)",
    )
    opts = parser.parse_args()
    kinds = [k for k in opts.kinds.split(",") if k]
    unknown = set(kinds) - {*KINDS, FORGED_XML, CONTROL}
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    pin(CLIENT_CPU)
    if opts.priority == "nice":
        os.nice(19)
    elif opts.priority == "idle":
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    flood = Flood(opts)
    flood.start(kinds)
    t0 = time.perf_counter()
    print("flooding", flush=True)
    sys.stdin.read()  # until the parent closes it
    seconds = time.perf_counter() - t0
    flood.finish()
    cpu = os.times()
    json.dump(
        {
            "seconds": seconds,
            "cpu_seconds": cpu.user + cpu.system,
            "calls": {k: dict(v) for k, v in flood.tally.counts.items()},
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
