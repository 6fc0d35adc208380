"""A partner's gateway whose behaviour a test sets: PartnerExchangeService over real mutual TLS
(the partner's server certificate; clients of the home CA), answering native messages with a
receipt signed by the partner's key, or failing in one precise way.

It keeps every envelope it was sent, so a test sees what arrived, in which order, how often."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import grpc
from google.rpc import code_pb2, status_pb2

from adapters.crypto.signatures import Signer
from gateway import protomap
from gateway.pb import common_pb2, exchange_pb2, exchange_pb2_grpc


class Behaviour(Enum):
    OK = "ok"  # a receipt signed with the partner's registered key
    SLOW = "slow"  # answers only after the caller's deadline
    ABORT = "abort"  # ends the call UNAVAILABLE, as a connection reset mid-call
    REFUSE = "refuse"  # a final answer: INVALID_ARGUMENT
    FORGED_SIGNATURE = "forged_signature"  # the right key id, a signature that does not verify
    OTHER_KEY = "other_key"  # validly signed, by a key not registered for the partner
    OTHER_MESSAGE = "other_message"  # a valid receipt, for another message (sequence + 1)
    #: INVALID_ARGUMENT with status details that contradict it (a broken gateway or proxy)
    BAD_DETAILS = "bad_details"


@dataclass(frozen=True)
class Arrival:
    sequence: int
    digest: bytes
    payload: bytes


class StatusOnly(exchange_pb2_grpc.PartnerExchangeServiceServicer):
    """A partner's gateway that takes status messages only (the home gateway sends no outcome
    reports): the generated servicer's methods are abstract to mypy."""

    def SubmitOutcomeReport(
        self, request: exchange_pb2.SubmitOutcomeReportRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitOutcomeReportResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "status messages only")

    def AnnounceSigningKey(
        self, request: exchange_pb2.AnnounceSigningKeyRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.AnnounceSigningKeyResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "status messages only")

    def SubmitTestMessage(
        self, request: exchange_pb2.SubmitTestMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitTestMessageResponse:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "status messages only")


@dataclass
class FakePartner(StatusOnly):
    code: str
    sender: str
    signer: Signer
    other_signer: Signer
    behaviour: Behaviour = Behaviour.OK
    slow_seconds: float = 1.0
    #: Time every call takes, whatever the behaviour (within the caller's deadline).
    delay_seconds: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    #: Receipts given, by digest: a duplicate gets the same one back, as a real gateway does.
    _given: dict[bytes, exchange_pb2.SignedReceipt] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def SubmitStatusMessage(
        self, request: exchange_pb2.SubmitStatusMessageRequest, context: grpc.ServicerContext
    ) -> exchange_pb2.SubmitStatusMessageResponse:
        payload = request.envelope.payload
        batch = common_pb2.StatusBatch()
        batch.ParseFromString(payload)
        digest = hashlib.sha256(payload).digest()
        with self._lock:
            self.arrivals.append(Arrival(batch.sequence, digest, payload))
            behaviour = self.behaviour
        time.sleep(self.delay_seconds)
        if behaviour is Behaviour.SLOW:
            time.sleep(self.slow_seconds)
        elif behaviour is Behaviour.ABORT:
            context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset by the fake partner")
        elif behaviour is Behaviour.REFUSE:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused by the fake partner")
        elif behaviour is Behaviour.BAD_DETAILS:
            details = status_pb2.Status(code=code_pb2.INTERNAL, message="not this call's status")
            context.set_trailing_metadata(
                (("grpc-status-details-bin", details.SerializeToString()),)
            )
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused, with mismatched details")
        with self._lock:
            kept = self._given.get(digest)
        if kept is not None and behaviour is Behaviour.OK:
            return exchange_pb2.SubmitStatusMessageResponse(receipt=kept, duplicate=True)
        sequence = batch.sequence + (1 if behaviour is Behaviour.OTHER_MESSAGE else 0)
        receipt = exchange_pb2.Receipt(
            message_id=f"{self.code}-{uuid.uuid4().hex}",
            partner=f"partners/{self.sender}",
            sequence=sequence,
            payload_sha256=digest,
            records_received=len(batch.records),
            records_applied=len(batch.records),
        ).SerializeToString()
        signer = self.other_signer if behaviour is Behaviour.OTHER_KEY else self.signer
        signature = signer.sign(receipt)
        if behaviour is Behaviour.FORGED_SIGNATURE:
            signature = bytes(b ^ 0xFF for b in signature)
        signed = exchange_pb2.SignedReceipt(
            receipt=receipt,
            signature=common_pb2.DetachedSignature(
                key_id=signer.key_id,
                algorithm=protomap.ALGORITHM_TO_PB[signer.algorithm],
                signature=signature,
            ),
        )
        if behaviour is Behaviour.OK:
            with self._lock:
                self._given[digest] = signed
        return exchange_pb2.SubmitStatusMessageResponse(receipt=signed)

    def given(self, digest: bytes) -> exchange_pb2.SignedReceipt | None:
        """The valid receipt given for the message with ``digest``, if any."""
        with self._lock:
            return self._given.get(digest)

    def sequences(self) -> list[int]:
        with self._lock:
            return [a.sequence for a in self.arrivals]


@contextmanager
def serving(fake: FakePartner, port: int, pki: Path) -> Iterator[grpc.Server]:
    """``fake`` on ``port`` with the partner's development server certificate, accepting
    clients whose certificates the home CA issued (the home gateway's outbound one)."""
    theirs = pki / "partners" / fake.code
    credentials = grpc.ssl_server_credentials(
        [((theirs / "server.key.pem").read_bytes(), (theirs / "server.pem").read_bytes())],
        root_certificates=(pki / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=4),
        options=[("grpc.so_reuseport", 0)],
    )
    exchange_pb2_grpc.add_PartnerExchangeServiceServicer_to_server(fake, server)
    if server.add_secure_port(f"127.0.0.1:{port}", credentials) == 0:
        raise RuntimeError(f"the fake partner cannot listen on port {port}")
    server.start()
    try:
        yield server
    finally:
        server.stop(0).wait()
