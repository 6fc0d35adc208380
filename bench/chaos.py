"""Durability under crashes: the gateway SIGKILLed, and PostgreSQL restarted, under load.

    python -m bench.chaos --store sqlite|postgres [--kills 15] [--pg-restarts 3] [--format json]

Starts the real `aeo-gateway serve` as a subprocess (development PKI and settings in a temporary
folder; on PostgreSQL a database of its own, created here and dropped at the end) and keeps
client threads submitting signed native messages as partners SG and KR, each partner with its
own sequence (threads share it, so messages also arrive out of order and fill gaps), and one
domestic thread querying operators already acknowledged (each answer must be RECOGNISED). At
random moments it SIGKILLs the gateway and starts it again, or restarts PostgreSQL with the
gateway running (`pg_ctlcluster -m fast|immediate 15 main restart`). A call that fails with
UNAVAILABLE (or a deadline) is sent again, the same bytes, until answered; any other failure
is a wrong answer.

When the load stops, the gateway is SIGKILLed once more and started again, and then:

- every acknowledged receipt verifies under the gateway's key and names the message sent
  (partner, sequence, SHA-256 of the payload, every record applied);
- every acknowledged message is stored: each of its records is in the change log
  (Admin.ListChanges) exactly once, under the receipt's message id, and nothing else is;
- no sequence was applied twice: each partner's state (Admin.GetPartnerState) counts exactly
  the messages acknowledged, the highest sequence, the gaps left by any message never
  acknowledged, and one operator per record;
- every acknowledged message, submitted again, answers duplicate=true with the original receipt
  byte for byte, and changes nothing.

Without --pg-restarts the default is 15 SIGKILLs; with it, no SIGKILLs unless --kills is given
too. Progress goes to stderr when it is a terminal. Exit status 0 when every check holds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import grpc
import psycopg
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from gateway.client import (
    AdminClient,
    MessageSigner,
    PartnerClient,
    ReceiptInvalid,
    RecognitionClient,
    connect,
    native_envelope,
    open_receipt,
    timestamp,
)
from gateway.devkit import DevWorkspace
from gateway.pb import common_pb2, exchange_pb2, recognition_pb2

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

#: The partners the load submits as (both speak the native format): the declared form of an
#: operator code, and a tier the partner defines.
PARTNERS = {"SG": ("SG{:012d}", "STP-Plus"), "KR": ("KR{:010d}", "AAA")}

#: Answers after which the same bytes are sent again: the gateway (or its database) was not
#: there, or did not answer in time. Anything else is an answer, and had better be right.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})

CALL_TIMEOUT = 30.0

P = ParamSpec("P")
T = TypeVar("T")


# --- the ledger: every message sent, and what came back ----------------------------------------


@dataclass
class Message:
    partner: str
    sequence: int
    identifiers: tuple[str, ...]
    envelope: exchange_pb2.SignedEnvelope
    #: The first SignedReceipt answered (deterministic serialization); empty until answered.
    receipt: bytes = b""
    message_id: str = ""
    #: The first answer already said duplicate: the message was stored before a crash and that
    #: answer was lost.
    first_answer_duplicate: bool = False
    #: A final answer other than a receipt (a wrong answer under this load).
    failure: str = ""

    @property
    def label(self) -> str:
        return f"{self.partner}#{self.sequence}"


def records(partner: str, sequence: int, per_message: int) -> list[common_pb2.AeoRecord]:
    """New operators, version 1, one code per (sequence, index): each applies exactly once."""
    form, tier = PARTNERS[partner]
    now = timestamp(datetime.now(UTC))
    out = []
    for j in range(per_message):
        record = common_pb2.AeoRecord(
            identifier=form.format(sequence * per_message + j),
            name=f"Chaos Operator {sequence}-{j}",
            address="1 Crash Road",
            status=common_pb2.RECORD_STATUS_VALID,
            tier=tier,
            version=1,
            event=common_pb2.STATUS_EVENT_GRANTED,
        )
        record.effective_at.CopyFrom(now)
        out.append(record)
    return out


class Ledger:
    """Thread-safe: the messages sent, each partner's next sequence, retries, acknowledgements."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}
        self.messages: list[Message] = []
        #: Retried calls by status (and ErrorInfo reason, when the gateway gave one).
        self.retried: Counter[str] = Counter()
        #: time.monotonic() of each acknowledgement, in order.
        self.ack_times: list[float] = []
        #: (time.monotonic() the call failed, seconds it took) of each retried call, in order.
        self.failed_calls: list[tuple[float, float]] = []
        self.acked: list[Message] = []
        #: Queries of acknowledged operators: answered RECOGNISED, and retried (by status).
        self.reads = 0
        self.reads_retried: list[tuple[float, str]] = []
        #: Queries of an acknowledged operator answered otherwise (never right).
        self.wrong_reads: list[str] = []

    def new(self, partner: str, signer: MessageSigner, per_message: int) -> Message:
        with self._lock:
            sequence = self._next.get(partner, 1)
            self._next[partner] = sequence + 1
        batch = records(partner, sequence, per_message)
        envelope = native_envelope(signer, partner, sequence, batch)
        message = Message(partner, sequence, tuple(r.identifier for r in batch), envelope)
        with self._lock:
            self.messages.append(message)
        return message

    def answered(
        self, message: Message, response: exchange_pb2.SubmitStatusMessageResponse
    ) -> None:
        message.receipt = response.receipt.SerializeToString(deterministic=True)
        message.first_answer_duplicate = response.duplicate
        message.message_id = receipt_content(response.receipt).message_id
        with self._lock:
            self.ack_times.append(time.monotonic())
            self.acked.append(message)

    def any_acked(self, rng: random.Random) -> Message | None:
        with self._lock:
            return rng.choice(self.acked) if self.acked else None

    def read(self, wrong: str | None = None, retried: str | None = None) -> None:
        with self._lock:
            if retried is not None:
                self.reads_retried.append((time.monotonic(), retried))
            elif wrong is not None:
                self.wrong_reads.append(wrong)
            else:
                self.reads += 1

    def reads_retried_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(start <= at <= end for at, _ in self.reads_retried)

    def retry(self, label: str, took: float) -> None:
        with self._lock:
            self.retried[label] += 1
            self.failed_calls.append((time.monotonic(), took))

    def failed_between(self, start: float, end: float) -> list[float]:
        """How long each call that failed (and was retried) in [start, end] took."""
        with self._lock:
            return [took for at, took in self.failed_calls if start <= at <= end]

    @property
    def acknowledged(self) -> int:
        return len(self.ack_times)

    def retried_total(self) -> int:
        with self._lock:
            return sum(self.retried.values())

    def nth_ack(self, n: int) -> float | None:
        """When the n-th acknowledgement came (1-based), or None before it."""
        with self._lock:
            return self.ack_times[n - 1] if len(self.ack_times) >= n else None

    def first_ack_after(self, moment: float) -> float | None:
        with self._lock:
            i = bisect_right(self.ack_times, moment)
            return self.ack_times[i] if i < len(self.ack_times) else None

    def snapshot(self) -> list[Message]:
        with self._lock:
            return list(self.messages)


def receipt_content(signed: exchange_pb2.SignedReceipt) -> exchange_pb2.Receipt:
    receipt = exchange_pb2.Receipt()
    receipt.ParseFromString(signed.receipt)
    return receipt


def status_label(err: grpc.RpcError) -> str:
    """ "UNAVAILABLE store.unavailable": the status, and the ErrorInfo reason when there is one."""
    call = cast(grpc.Call, err)
    status = rpc_status.from_call(call)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return f"{call.code().name} {info.reason}"
    return call.code().name


# --- the gateway process -------------------------------------------------------------------------


class Endpoint(Protocol):
    def wait_ready(self, timeout: float) -> tuple[int, str] | None:
        """(generation, target) once the gateway listens, or None after ``timeout`` seconds."""


@dataclass(frozen=True)
class FixedEndpoint:
    """A gateway that is simply there (for checking a gateway this module did not start)."""

    target: str

    def wait_ready(self, timeout: float) -> tuple[int, str] | None:
        return 1, self.target


class GatewayProcess:
    """`aeo-gateway serve` as a child process: started, SIGKILLed, started again. Each start
    listens on a fresh port and is a new generation; callers wait while it is down."""

    def __init__(self, config: Path, cwd: Path, log: Path) -> None:
        self._config = config
        self._cwd = cwd
        self.log = log
        self._proc: subprocess.Popen[bytes] | None = None
        self._current = (0, "")
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def start(self, timeout: float = 120.0) -> float:
        """Starts the gateway; seconds until it listens."""
        began = time.monotonic()
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "--config", str(self._config), "serve"],
                cwd=self._cwd,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        lines: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        assert proc.stdout is not None
        threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = b""
        if b"listening on port" not in line:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"the gateway did not start ({line!r}); its log: {self.log}")
        port = int(line.split(b"port ")[1].split()[0])
        with self._lock:
            self._proc = proc
            self._current = (self._current[0] + 1, f"localhost:{port}")
        self._ready.set()
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever the gateway was doing."""
        self._ready.clear()
        if self._proc is not None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()

    def stop(self) -> int | None:
        """SIGTERM (graceful); the exit status."""
        self._ready.clear()
        if self._proc is None or self._proc.poll() is not None:
            return None if self._proc is None else self._proc.returncode
        self._proc.send_signal(signal.SIGTERM)
        try:
            return self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            return None

    def wait_ready(self, timeout: float) -> tuple[int, str] | None:
        if not self._ready.wait(timeout):
            return None
        with self._lock:
            return self._current


def _drain(pipe: IO[bytes], lines: queue.SimpleQueue[bytes]) -> None:
    with pipe:
        for line in pipe:
            lines.put(line)


class Channels:
    """One channel per caller and gateway generation, shared by the threads. Channels of an
    earlier generation stay open until close(): closing one under a call would cancel it."""

    def __init__(self, workspace: DevWorkspace, endpoint: Endpoint) -> None:
        self._workspace = workspace
        self.endpoint = endpoint
        self._open: dict[tuple[str, int], tuple[grpc.Channel, PartnerClient | None]] = {}
        self._signers: dict[str, MessageSigner] = {}
        self._lock = threading.Lock()

    def signer(self, partner: str) -> MessageSigner:
        with self._lock:
            if partner not in self._signers:
                self._signers[partner] = self._workspace.signer(partner)
            return self._signers[partner]

    def _get(self, who: str, timeout: float) -> tuple[grpc.Channel, PartnerClient | None] | None:
        current = self.endpoint.wait_ready(timeout)
        if current is None:
            return None
        generation, target = current
        with self._lock:
            key = (who, generation)
            if key not in self._open:
                channel = connect(target, self._workspace.identity(who))
                client = None
                if who in PARTNERS:
                    client = PartnerClient(channel, who, self._signers[who], CALL_TIMEOUT)
                self._open[key] = (channel, client)
            return self._open[key]

    def partner(self, partner: str, timeout: float) -> PartnerClient | None:
        self.signer(partner)
        got = self._get(partner, timeout)
        return None if got is None else got[1]

    def recognition(self, timeout: float) -> RecognitionClient | None:
        got = self._get("domestic", timeout)
        return None if got is None else RecognitionClient(got[0], timeout=CALL_TIMEOUT)

    def admin(self, timeout: float = 120.0) -> AdminClient:
        got = self._get("admin", timeout)
        if got is None:
            raise RuntimeError("the gateway is not listening")
        return AdminClient(got[0], timeout=CALL_TIMEOUT)

    def close(self) -> None:
        with self._lock:
            opened, self._open = list(self._open.values()), {}
        for channel, _ in opened:
            channel.close()


def deliver(
    message: Message,
    channels: Channels,
    ledger: Ledger,
    pause: float,
    cancelled: threading.Event,
) -> exchange_pb2.SubmitStatusMessageResponse | None:
    """Sends ``message`` (the same bytes each time) until it is answered. None when the answer
    is an error that is not retryable (``message.failure`` says which) or when ``cancelled``."""
    while not cancelled.is_set():
        client = channels.partner(message.partner, timeout=0.5)
        if client is None:
            continue  # the gateway is down: wait for it
        sent = time.monotonic()
        try:
            return client.submit_envelope(message.envelope)
        except grpc.RpcError as err:
            label = status_label(err)
            if cast(grpc.Call, err).code() not in RETRYABLE:
                message.failure = f"{label}: {cast(grpc.Call, err).details()}"
                return None
            ledger.retry(label, time.monotonic() - sent)
            time.sleep(pause)
    return None


class Load:
    """Client threads, each submitting new messages one after another as one partner; and
    domestic readers, each querying acknowledged operators one after another."""

    def __init__(
        self,
        channels: Channels,
        ledger: Ledger,
        partners: Sequence[str],
        clients: int,
        per_message: int = 1,
        pause: float = 0.01,
        readers: int = 1,
    ) -> None:
        self._channels = channels
        self._ledger = ledger
        self._partners = partners
        self._per_message = per_message
        self._pause = pause
        self._stopping = threading.Event()
        self._cancelled = threading.Event()
        self.crashes: list[str] = []
        self._started = False
        self._threads = [
            threading.Thread(target=self._client, args=(i,), name=f"chaos-client-{i}", daemon=True)
            for i in range(clients)
        ] + [
            threading.Thread(target=self._reader, args=(i,), name=f"chaos-reader-{i}", daemon=True)
            for i in range(readers)
        ]

    def start(self) -> None:
        self._started = True
        for thread in self._threads:
            thread.start()

    def stop(self, cancel: bool = False) -> None:
        """No new messages; each thread sees its last one answered (unless ``cancel``)."""
        self._stopping.set()
        if cancel:
            self._cancelled.set()
        if self._started:
            for thread in self._threads:
                thread.join()

    def _client(self, index: int) -> None:
        partner = self._partners[index % len(self._partners)]
        try:
            signer = self._channels.signer(partner)
            while not self._stopping.is_set():
                message = self._ledger.new(partner, signer, self._per_message)
                response = deliver(
                    message, self._channels, self._ledger, self._pause, self._cancelled
                )
                if response is not None:
                    self._ledger.answered(message, response)
        except Exception as exc:  # reported, never lost in a thread
            self.crashes.append(f"{threading.current_thread().name}: {exc!r}")

    def _reader(self, index: int) -> None:
        """Each answer about an acknowledged operator must be RECOGNISED (SG's STP-Plus and
        KR's AAA are recognised tiers): what was acknowledged is there to read, crash or not."""
        rng = random.Random(index)
        try:
            while not self._stopping.is_set():
                message = self._ledger.any_acked(rng)
                client = self._channels.recognition(timeout=0.5)
                if message is None or client is None:
                    time.sleep(self._pause)
                    continue
                code = message.identifiers[0]
                try:
                    answer = client.recognise(code)
                except grpc.RpcError as err:
                    label = status_label(err)
                    if cast(grpc.Call, err).code() in RETRYABLE:
                        self._ledger.read(retried=label)
                        time.sleep(self._pause)
                    else:
                        self._ledger.read(wrong=f"{code}: {label}")
                    continue
                if answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED:
                    self._ledger.read()
                else:
                    outcome = recognition_pb2.RecognitionOutcome.Name(answer.outcome)
                    self._ledger.read(wrong=f"{code}: {outcome} ({answer.reason})")
        except Exception as exc:
            self.crashes.append(f"{threading.current_thread().name}: {exc!r}")


# --- the checks --------------------------------------------------------------------------------


@dataclass
class Verdict:
    acknowledged: int = 0
    first_answer_duplicate: int = 0
    #: Sent and never acknowledged: a final error, or the run was cut short.
    unacknowledged: list[str] = field(default_factory=list)
    #: A final answer other than a receipt.
    wrong_answers: list[str] = field(default_factory=list)
    #: A receipt that does not verify, or says something other than what was sent.
    bad_receipts: list[str] = field(default_factory=list)
    #: Acknowledged, and a record of it is not in the change log.
    lost: list[str] = field(default_factory=list)
    #: A record in the change log more than once, or under another message id.
    applied_twice: list[str] = field(default_factory=list)
    #: In the change log, but not part of any acknowledged message.
    unexpected: list[str] = field(default_factory=list)
    #: A partner state that does not match the acknowledged messages.
    state_mismatches: list[str] = field(default_factory=list)
    resubmitted: int = 0
    identical: int = 0
    #: A resubmission that did not answer duplicate=true with the original receipt bytes.
    receipt_mismatches: list[str] = field(default_factory=list)

    @property
    def all_stored(self) -> bool:
        return self.acknowledged > 0 and not (self.lost or self.applied_twice or self.unexpected)

    @property
    def receipts_identical(self) -> bool:
        return self.resubmitted == self.acknowledged == self.identical > 0

    @property
    def ok(self) -> bool:
        return (
            self.all_stored
            and self.receipts_identical
            and not (
                self.unacknowledged
                or self.wrong_answers
                or self.bad_receipts
                or self.state_mismatches
                or self.receipt_mismatches
            )
        )


def gateway_key(workspace: DevWorkspace) -> object:
    key_id = workspace.settings().signing_key_id
    return load_pem_public_key(
        (workspace.pki / "gateway" / f"signing-{key_id}.pub.pem").read_bytes()
    )


def receipt_problem(message: Message, key: object) -> str | None:
    """What is wrong with the receipt acknowledged for ``message``, if anything."""
    signed = exchange_pb2.SignedReceipt()
    signed.ParseFromString(message.receipt)
    try:
        receipt = open_receipt(signed, key)
    except ReceiptInvalid as exc:
        return f"{message.label}: {exc}"
    expected = (
        f"partners/{message.partner}",
        message.sequence,
        hashlib.sha256(message.envelope.payload).digest(),
        len(message.identifiers),
        len(message.identifiers),
        message.message_id,
    )
    got = (
        receipt.partner,
        receipt.sequence,
        receipt.payload_sha256,
        receipt.records_received,
        receipt.records_applied,
        receipt.message_id,
    )
    return None if got == expected else f"{message.label}: receipt says {got}, sent {expected}"


def _admin_call(
    channels: Channels,
    method: Callable[Concatenate[AdminClient, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """An admin call, retried while the gateway or its database is briefly unavailable."""
    for attempt in range(600):
        try:
            return method(channels.admin(), *args, **kwargs)
        except grpc.RpcError as err:
            if cast(grpc.Call, err).code() not in RETRYABLE or attempt == 599:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def applied_changes(channels: Channels) -> dict[str, list[str]]:
    """identifier -> the message ids under which a version of it was applied, from the log."""
    applied: dict[str, list[str]] = {}
    token = ""
    while True:
        page = _admin_call(channels, AdminClient.changes, token, 500)
        if not page.changes:
            return applied
        for change in page.changes:
            if change.HasField("record_version_applied"):
                event = change.record_version_applied
                applied.setdefault(event.identifier, []).append(event.message_id)
        token = page.next_page_token


def expected_state(acked: Sequence[Message]) -> tuple[int, int, list[tuple[int, int]], int]:
    """(messages, last sequence, open gaps, operators) that the acknowledged messages leave."""
    sequences = sorted(m.sequence for m in acked)
    gaps, previous = [], 0
    for s in sequences:
        if s > previous + 1:
            gaps.append((previous + 1, s - 1))
        previous = s
    return len(sequences), previous, gaps, sum(len(m.identifiers) for m in acked)


def partner_states(channels: Channels, partners: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    out = {}
    for partner in partners:
        state = _admin_call(channels, AdminClient.partner_state, partner)
        gaps = [(g.first, g.last) for g in state.open_gaps]
        out[partner] = (
            state.messages_received,
            state.last_sequence,
            gaps,
            state.operators_known,
        )
    return out


def verify(
    messages: Sequence[Message],
    channels: Channels,
    key: object,
    workers: int = 8,
    pause: float = 0.05,
) -> Verdict:
    """The checks of this module's docstring, against the gateway ``channels`` reach."""
    verdict = Verdict()
    acked = [m for m in messages if m.receipt]
    verdict.acknowledged = len(acked)
    verdict.first_answer_duplicate = sum(m.first_answer_duplicate for m in acked)
    verdict.unacknowledged = [m.label for m in messages if not m.receipt]
    verdict.wrong_answers = [f"{m.label}: {m.failure}" for m in messages if m.failure]
    verdict.bad_receipts = [p for m in acked if (p := receipt_problem(m, key)) is not None]

    applied = applied_changes(channels)
    ours: set[str] = set()
    for m in acked:
        for identifier in m.identifiers:
            ours.add(identifier)
            ids = applied.get(identifier, [])
            if not ids:
                verdict.lost.append(f"{m.label} ({identifier})")
            elif ids != [m.message_id]:
                verdict.applied_twice.append(f"{m.label} ({identifier}): {ids}")
    verdict.unexpected = sorted(f"{i}: {ids}" for i, ids in applied.items() if i not in ours)

    partners = sorted({m.partner for m in messages})
    before = partner_states(channels, partners)
    for partner in partners:
        want = expected_state([m for m in acked if m.partner == partner])
        if before[partner] != want:
            verdict.state_mismatches.append(f"{partner}: stored {before[partner]}, sent {want}")

    never = threading.Event()
    scratch = Ledger()

    def resubmit(message: Message) -> str | None:
        again = message_copy(message)
        response = deliver(again, channels, scratch, pause, never)
        if response is None:
            return f"{message.label}: resubmission answered {again.failure}"
        if not response.duplicate:
            return f"{message.label}: resubmission answered duplicate=false"
        if response.receipt.SerializeToString(deterministic=True) != message.receipt:
            return f"{message.label}: resubmission answered another receipt"
        return None

    with ThreadPoolExecutor(workers) as pool:
        problems = list(pool.map(resubmit, acked))
    verdict.resubmitted = len(problems)
    verdict.identical = problems.count(None)
    verdict.receipt_mismatches = [p for p in problems if p is not None]

    after = partner_states(channels, partners)
    for partner in partners:
        if after[partner] != before[partner]:
            verdict.state_mismatches.append(
                f"{partner}: resubmission changed the state from {before[partner]} "
                f"to {after[partner]}"
            )
    return verdict


def message_copy(message: Message) -> Message:
    """The same envelope, with nothing of the first answer (deliver records failures on it)."""
    return Message(message.partner, message.sequence, message.identifiers, message.envelope)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Event:
    kind: str  # "sigkill" or "pg-restart"
    #: Seconds since the load started.
    at: float
    acknowledged_before: int
    #: SIGKILL until the gateway listens again; or PostgreSQL's first refused connection
    #: until it takes one again.
    down_seconds: float = 0.0
    #: Back up until the first acknowledgement after that.
    recovery_seconds: float = 0.0
    #: Calls that failed (retryable) from the event until the first acknowledgement after it.
    failed_calls: int = 0
    #: The longest of those calls took, in seconds: how promptly the outage was reported.
    slowest_failed_call: float = 0.0
    #: Queries retried from the moment the gateway or PostgreSQL was back up until the next
    #: event (or the end of the load).
    reads_retried_after_up: int = 0
    #: Other databases' sessions open when PostgreSQL was restarted.
    others_connected: int = 0


@dataclass
class Options:
    store: str
    kills: int
    pg_restarts: int = 0
    clients: int = 16
    partners: tuple[str, ...] = ("SG", "KR")
    records: int = 1
    #: Mean seconds of load between two events (after at least min_acks acknowledgements).
    interval: float = 1.5
    min_acks: int = 50
    seed: int = 0
    pause: float = 0.01
    pg_admin_url: str = PG_ADMIN_URL
    pg_cluster: tuple[str, str] = ("15", "main")
    #: pg_ctlcluster's shutdown mode: "fast" (sessions ended, a clean checkpoint) or
    #: "immediate" (no checkpoint: PostgreSQL starts with crash recovery from its WAL).
    pg_mode: str = "fast"
    pg_quiet_wait: float = 30.0
    progress: bool = False


@dataclass
class Report:
    options: Options
    seconds: float
    events: list[Event]
    verdict: Verdict
    retried: dict[str, int]
    final_exit_status: int | None
    crashes: list[str]
    reads: int = 0
    reads_retried: dict[str, int] = field(default_factory=dict)
    wrong_reads: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.verdict.ok
            and not self.crashes
            and not self.wrong_reads
            and self.final_exit_status == 0
        )

    def figures(self) -> dict[str, Any]:
        v = self.verdict
        kills = [e for e in self.events if e.kind == "sigkill"]
        restarts = [e for e in self.events if e.kind == "pg-restart"]
        return {
            "store": self.options.store,
            "sigkills_under_load": len(kills),
            "pg_restarts": len(restarts),
            "pg_mode": self.options.pg_mode if restarts else None,
            "clients": self.options.clients,
            "partners": list(self.options.partners),
            "records_per_message": self.options.records,
            "seed": self.options.seed,
            "seconds": round(self.seconds, 1),
            "acknowledged": v.acknowledged,
            "first_answer_duplicate": v.first_answer_duplicate,
            "all_stored": v.all_stored,
            "receipts_identical": v.receipts_identical,
            "resubmitted": v.resubmitted,
            "identical": v.identical,
            "lost": v.lost,
            "applied_twice": v.applied_twice,
            "unexpected": v.unexpected,
            "unacknowledged": v.unacknowledged,
            "wrong_answers": v.wrong_answers,
            "bad_receipts": v.bad_receipts,
            "state_mismatches": v.state_mismatches,
            "receipt_mismatches": v.receipt_mismatches,
            "retried_calls": self.retried,
            "reads": self.reads,
            "reads_retried": self.reads_retried,
            "wrong_reads": self.wrong_reads,
            "gateway_restart_seconds": _spread([e.down_seconds for e in kills]),
            "gateway_recovery_seconds": _spread([e.recovery_seconds for e in kills]),
            "pg_down_seconds": _spread([e.down_seconds for e in restarts]),
            "pg_recovery_seconds": _spread([e.recovery_seconds for e in restarts]),
            "events": [asdict(e) for e in self.events],
            "final_exit_status": self.final_exit_status,
            "crashes": self.crashes,
            "ok": self.ok,
        }


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
        "min": round(min(values), 4),
    }


@contextmanager
def database(options: Options, root: Path) -> Iterator[str]:
    """The gateway's database URL: a file in ``root``, or a PostgreSQL database of this run's
    own (created, then dropped; no other database is touched)."""
    if options.store == "sqlite":
        yield f"sqlite:///{root / 'chaos.db'}"
        return
    name = f"aeo_chaos_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(options.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = options.pg_admin_url.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(options.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def other_sessions(admin_url: str, ours: str) -> int:
    """Client sessions on databases other than this run's (a restart cuts them off too)."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM %s",
            (ours,),
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Outage:
    """A PostgreSQL restart as a client saw it (time.monotonic() values)."""

    #: The first connection refused.
    down: float
    #: The last connection refused.
    last_refused: float
    #: The first connection taken after that (`pg_ctlcluster` polls: it returns well after).
    up: float


def restart_postgres(options: Options, probe_every: float = 0.005) -> Outage:
    """`pg_ctlcluster VERSION CLUSTER restart`, while a probe opens a connection every few
    milliseconds to see when PostgreSQL went down and when it took connections again."""
    outcome: list[subprocess.CompletedProcess[bytes]] = []
    command = threading.Thread(
        target=lambda: outcome.append(
            subprocess.run(
                ["pg_ctlcluster", "-m", options.pg_mode, *options.pg_cluster, "restart"],
                capture_output=True,
                timeout=300,
            )
        )
    )
    command.start()
    down = last_refused = up = None
    deadline = time.monotonic() + 300
    while up is None and time.monotonic() < deadline:
        try:
            with psycopg.connect(options.pg_admin_url, connect_timeout=2):
                pass
        except psycopg.OperationalError:
            last_refused = time.monotonic()
            down = down or last_refused
        else:
            if down is not None:
                up = time.monotonic()
            elif not command.is_alive():
                break  # the command is over and no connection was ever refused
        time.sleep(probe_every)
    command.join()
    if not outcome or outcome[0].returncode != 0:
        text = outcome[0].stderr.decode(errors="replace") if outcome else "timed out"
        raise RuntimeError(f"pg_ctlcluster {' '.join(options.pg_cluster)} restart failed: {text}")
    if down is None or last_refused is None or up is None:
        raise RuntimeError("PostgreSQL was never seen down, or never came back up")
    return Outage(down, last_refused, up)


class Progress:
    """One line on stderr, rewritten in place (only when stderr is a terminal)."""

    def __init__(self, ledger: Ledger, enabled: bool) -> None:
        self._ledger = ledger
        self._enabled = enabled
        self.stage = "starting"
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Progress:
        if self._enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._enabled:
            self._thread.join()
            print(file=sys.stderr)

    def _run(self) -> None:
        while not self._done.wait(0.25):
            retried = self._ledger.retried_total()
            print(
                f"\rchaos: {self.stage:<28} {self._ledger.acknowledged:>8,} acknowledged "
                f"{retried:>7,} calls retried",
                end="",
                file=sys.stderr,
                flush=True,
            )


def wait_for(poll: Callable[[], float | None], timeout: float, what: str) -> float:
    """Polls until ``poll`` gives a value, and returns it."""
    deadline = time.monotonic() + timeout
    while (value := poll()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.005)
    return value


def run(options: Options) -> Report:
    rng = random.Random(options.seed)
    schedule = ["sigkill"] * options.kills + ["pg-restart"] * options.pg_restarts
    rng.shuffle(schedule)
    ledger = Ledger()
    events: list[Event] = []
    windows: list[tuple[float, float]] = []  # (down, up) of each event
    with (
        tempfile.TemporaryDirectory(prefix="aeo-chaos-") as tmp,
        database(options, Path(tmp)) as url,
        Progress(ledger, options.progress) as progress,
    ):
        workspace = DevWorkspace.create(Path(tmp), ROOT)
        config = workspace.write_config(
            "chaos.toml", listen="127.0.0.1:0", database_url=url, grace_seconds=2.0
        )
        gateway = GatewayProcess(config, workspace.root, workspace.root / "gateway.log")
        channels = Channels(workspace, gateway)
        load = Load(
            channels, ledger, options.partners, options.clients, options.records, options.pause
        )
        began = time.monotonic()
        try:
            gateway.start()
            load.start()
            for n, kind in enumerate(schedule, 1):
                progress.stage = f"{kind} {n}/{len(schedule)}: load"
                floor = ledger.acknowledged + options.min_acks
                wait_for(partial(ledger.nth_ack, floor), 300, "acknowledgements")
                time.sleep(rng.uniform(0, 2 * options.interval))
                event = Event(kind, time.monotonic() - began, ledger.acknowledged)
                progress.stage = f"{kind} {n}/{len(schedule)}: down"
                if kind == "sigkill":
                    t0 = time.monotonic()
                    gateway.kill()
                    gateway.start()
                    # An answer the killed process sent may still be read after its death.
                    up = last_down = time.monotonic()
                else:
                    database_name = url.rsplit("/", 1)[1]
                    quiet_until = time.monotonic() + options.pg_quiet_wait
                    while (others := other_sessions(options.pg_admin_url, database_name)) and (
                        time.monotonic() < quiet_until
                    ):
                        time.sleep(0.5)
                    event.others_connected = others
                    outage = restart_postgres(options)
                    t0, last_down, up = outage.down, outage.last_refused, outage.up
                event.down_seconds = up - t0
                progress.stage = f"{kind} {n}/{len(schedule)}: recovering"
                # No submission can be acknowledged while PostgreSQL is down: the first after
                # that is the first of the recovery (the probe that saw PostgreSQL up may come
                # a few milliseconds after it: then it counts as 0).
                recovered = wait_for(partial(ledger.first_ack_after, last_down), 300, "recovery")
                event.recovery_seconds = max(0.0, recovered - up)
                failed = ledger.failed_between(t0, recovered)
                event.failed_calls = len(failed)
                event.slowest_failed_call = max(failed, default=0.0)
                events.append(event)
                windows.append((t0, up))
            progress.stage = "draining"
            load.stop()
            ends = [down for down, _ in windows[1:]] + [time.monotonic()]
            for event, (_, up), end in zip(events, windows, ends, strict=True):
                event.reads_retried_after_up = ledger.reads_retried_between(up, end)
            # Verify what is on disk: one more SIGKILL, then a fresh process.
            progress.stage = "final sigkill"
            gateway.kill()
            gateway.start()
            progress.stage = "verifying"
            verdict = verify(ledger.snapshot(), channels, gateway_key(workspace))
            seconds = time.monotonic() - began
            status = gateway.stop()
        finally:
            load.stop(cancel=True)
            gateway.kill()
            channels.close()
    return Report(
        options,
        seconds,
        events,
        verdict,
        dict(ledger.retried),
        status,
        list(load.crashes),
        ledger.reads,
        dict(Counter(label for _, label in ledger.reads_retried)),
        list(ledger.wrong_reads),
    )


def render(report: Report) -> str:
    f = report.figures()
    v = report.verdict

    def yes(flag: bool) -> str:
        return "yes" if flag else "NO"

    def spread(name: str) -> str:
        s = f[name]
        return "-" if s is None else f"median {s['median']:.3f} s, max {s['max']:.3f} s"

    lines = [
        f"chaos: {f['store']}, {f['sigkills_under_load']} SIGKILLs and {f['pg_restarts']} "
        f"PostgreSQL restarts under load, {f['clients']} clients as {', '.join(f['partners'])}, "
        f"seed {f['seed']}, {f['seconds']} s",
        f"  acknowledged          {v.acknowledged:,} messages ({v.first_answer_duplicate:,} first "
        "answered duplicate=true: stored before a crash, the answer lost)",
        f"  all stored            {yes(v.all_stored)} (lost {len(v.lost)}, applied twice "
        f"{len(v.applied_twice)}, unexpected {len(v.unexpected)}, partner states "
        f"{'match' if not v.state_mismatches else 'DIFFER'})",
        f"  receipts identical    {yes(v.receipts_identical)} ({v.identical:,} of "
        f"{v.resubmitted:,} resubmissions: duplicate=true, the original receipt byte for byte)",
        f"  wrong answers         {len(v.wrong_answers)}; bad receipts {len(v.bad_receipts)}; "
        f"unacknowledged {len(v.unacknowledged)}",
        "  retried submissions   " + _counts(report.retried),
        f"  queries               {report.reads:,} answered RECOGNISED, {len(report.wrong_reads)} "
        f"wrong; retried: {_counts(report.reads_retried)}",
    ]
    if f["sigkills_under_load"]:
        lines.append(
            f"  gateway restart       {spread('gateway_restart_seconds')} (SIGKILL to listening)"
        )
        lines.append(
            f"  gateway recovery      {spread('gateway_recovery_seconds')} (listening to first ack)"
        )
    if f["pg_restarts"]:
        lines.append(
            f"  PostgreSQL down       {spread('pg_down_seconds')} (first refused to first "
            "accepted connection)"
        )
        lines.append(f"  PostgreSQL recovery   {spread('pg_recovery_seconds')} (up to first ack)")
        failed = [e.failed_calls for e in report.events if e.kind == "pg-restart"]
        slowest = max(e.slowest_failed_call for e in report.events if e.kind == "pg-restart")
        lines.append(
            f"  during the outages    {sum(failed):,} submissions answered UNAVAILABLE "
            f"(slowest answer {slowest:.3f} s)"
        )
        others = sum(e.others_connected for e in report.events)
        if others:
            lines.append(f"  note: {others} sessions of other databases were cut off by restarts")
    problems = [
        *v.lost,
        *v.applied_twice,
        *v.unexpected,
        *v.wrong_answers,
        *v.bad_receipts,
        *v.state_mismatches,
        *v.receipt_mismatches,
        *v.unacknowledged,
        *report.wrong_reads,
        *report.crashes,
    ]
    if report.final_exit_status != 0:
        problems.append(f"SIGTERM at the end: exit status {report.final_exit_status}")
    lines.extend(f"  ! {p}" for p in problems[:20])
    if len(problems) > 20:
        lines.append(f"  ! ... and {len(problems) - 20} more")
    lines.append(f"result: {'PASS' if report.ok else 'FAIL'}")
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {n:,}" for k, n in sorted(counts.items())) or "none"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=("sqlite", "postgres"), required=True)
    parser.add_argument(
        "--kills",
        type=int,
        default=None,
        help="SIGKILLs under load (default 15 without --pg-restarts, else 0)",
    )
    parser.add_argument(
        "--pg-restarts",
        type=int,
        default=0,
        help="PostgreSQL restarts under load (--store postgres)",
    )
    parser.add_argument("--clients", type=int, default=16, help="submitting threads")
    parser.add_argument("--partners", default="SG,KR", help="comma-separated: SG, KR")
    parser.add_argument("--records", type=int, default=1, help="records per message")
    parser.add_argument(
        "--interval", type=float, default=1.5, help="mean seconds of load between two events"
    )
    parser.add_argument("--seed", type=int, default=None, help="for a repeatable schedule")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument(
        "--pg-cluster", default="15 main", help="VERSION CLUSTER, as pg_ctlcluster takes them"
    )
    parser.add_argument(
        "--pg-mode",
        choices=("fast", "immediate"),
        default="fast",
        help="shutdown mode of each restart; immediate: PostgreSQL recovers from its WAL",
    )
    parser.add_argument(
        "--pg-quiet-wait",
        type=float,
        default=30.0,
        help="seconds to wait, before each restart, for other databases' sessions to end",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    partners = tuple(p.strip().upper() for p in args.partners.split(",") if p.strip())
    unknown = [p for p in partners if p not in PARTNERS]
    if unknown or not partners:
        parser.error(f"--partners: choose among {', '.join(PARTNERS)}")
    if args.pg_restarts and args.store != "postgres":
        parser.error("--pg-restarts needs --store postgres")
    version, _, cluster = args.pg_cluster.partition(" ")
    options = Options(
        store=args.store,
        kills=args.kills if args.kills is not None else (0 if args.pg_restarts else 15),
        pg_restarts=args.pg_restarts,
        clients=args.clients,
        partners=partners,
        records=args.records,
        interval=args.interval,
        seed=args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31),
        pg_admin_url=args.pg_admin_url,
        pg_cluster=(version, cluster.strip()),
        pg_mode=args.pg_mode,
        pg_quiet_wait=args.pg_quiet_wait,
        progress=sys.stderr.isatty(),
    )
    report = run(options)
    if args.format == "json":
        print(json.dumps(report.figures(), indent=2))
    else:
        print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
