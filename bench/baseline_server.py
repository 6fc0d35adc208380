"""Bare baselines on the gateway's own TLS setup (same certificates, same client auth):

- ``trivial``: a servicer that answers every unary call with an empty message;
- ``verify-insert``: verify the Ed25519 signature of a native envelope with a preloaded key,
  decode it and insert its records into SQLite (WAL, synchronous=FULL) with group commit, reply
  after COMMIT. The least a durable, verified ingest can do, without the gateway's checks,
  history, receipts or authorisation.

Run as ``python -m bench.baseline_server MODE WORKSPACE``; prints 'listening on port N'.
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from adapters.crypto.signatures import load_public_key, verifier
from gateway.pb import common_pb2, exchange_pb2


def _identity(x: bytes) -> bytes:
    return x


def trivial_handler() -> grpc.GenericRpcHandler[Any, Any]:
    def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""

    handler = grpc.unary_unary_rpc_method_handler(
        answer, request_deserializer=_identity, response_serializer=_identity
    )

    class Generic(grpc.GenericRpcHandler):  # type: ignore[type-arg]
        def service(self, details: grpc.HandlerCallDetails) -> Any:
            return handler

    return Generic()


class Inserter:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS r (partner TEXT, identifier TEXT, version INTEGER, "
            "status INTEGER, body BLOB, PRIMARY KEY (partner, identifier, version)) WITHOUT ROWID"
        )
        self.queue: queue.SimpleQueue[tuple[list[tuple[Any, ...]], Future[None]]] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self.run, daemon=True).start()

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        future: Future[None] = Future()
        self.queue.put((rows, future))
        future.result()

    def run(self) -> None:
        while True:
            group = [self.queue.get()]
            while True:
                try:
                    group.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self.conn.execute("BEGIN IMMEDIATE")
            for rows, _ in group:
                self.conn.executemany("INSERT OR REPLACE INTO r VALUES (?, ?, ?, ?, ?)", rows)
            self.conn.execute("COMMIT")
            for _, future in group:
                future.set_result(None)


def verify_insert_handler(workspace: Path) -> grpc.GenericRpcHandler[Any, Any]:
    pub = workspace / "certs/dev/partners/SG/signing-SG-2026-1.pub.pem"
    # The same signature primitive as the gateway: the comparison is of everything else.
    verify = verifier(load_public_key(pub.read_bytes(), "ed25519"), "ed25519")
    inserter = Inserter(workspace / "baseline.db")

    def submit(
        request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        envelope = request.envelope
        if not verify(envelope.payload, envelope.detached_signature.signature):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "bad signature")
        batch = common_pb2.StatusBatch.FromString(envelope.payload)
        inserter.insert(
            [
                (batch.partner, r.identifier, r.version, r.status, r.SerializeToString())
                for r in batch.records
            ]
        )
        return exchange_pb2.SubmitStatusMessageResponse()

    handler = grpc.unary_unary_rpc_method_handler(
        submit,
        request_deserializer=exchange_pb2.SubmitStatusMessageRequest.FromString,
        response_serializer=exchange_pb2.SubmitStatusMessageResponse.SerializeToString,
    )

    class Generic(grpc.GenericRpcHandler):  # type: ignore[type-arg]
        def service(self, details: grpc.HandlerCallDetails) -> Any:
            return handler

    return Generic()


def main() -> None:
    mode, workspace = sys.argv[1], Path(sys.argv[2])
    pki = workspace / "certs/dev"
    roots = b"".join(
        p.read_bytes() for p in [pki / "ca.pem", *sorted((pki / "partners").glob("*/ca.pem"))]
    )
    server = grpc.server(ThreadPoolExecutor(max_workers=128))
    server.add_generic_rpc_handlers(
        [trivial_handler() if mode == "trivial" else verify_insert_handler(workspace)]
    )
    credentials = grpc.ssl_server_credentials(
        [((pki / "server.key.pem").read_bytes(), (pki / "server.pem").read_bytes())],
        root_certificates=roots,
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    print(f"listening on port {port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
