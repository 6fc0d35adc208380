"""Structured logs: every line logged while handling a call carries the call's request id, in
JSON and in text, and the id is echoed to the client in the trailing metadata."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gateway import logs
from gateway.client import connect
from gateway.pb import exchange_pb2
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import envelope

SUBMIT = "/aeo.gateway.v1.PartnerExchangeService/SubmitStatusMessage"


class Capture(logging.Handler):
    """Lines as the gateway's formatter writes them, formatted on the logging thread."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def capture(log_format: str) -> Iterator[Capture]:
    handler = Capture(logs.formatter(log_format))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def json_lines() -> Iterator[Capture]:
    yield from capture("json")


@pytest.fixture
def text_lines() -> Iterator[Capture]:
    yield from capture("text")


def raw_submit(live: Live, body: bytes, request_id: str | None) -> tuple[grpc.StatusCode, str]:
    """SG sends ``body`` as a SubmitStatusMessage request; returns the status and the request
    id the gateway echoed in the trailing metadata."""
    metadata = [(logs.REQUEST_ID_KEY, request_id)] if request_id is not None else []
    with live.channel("SG") as channel:
        call = channel.unary_unary(SUBMIT)
        try:
            _, answer = call.with_call(body, metadata=metadata, timeout=10)
            code, trailing = grpc.StatusCode.OK, answer.trailing_metadata()
        except grpc.RpcError as err:
            code, trailing = err.code(), err.trailing_metadata()
    echoed = [v for k, v in trailing or () if k == logs.REQUEST_ID_KEY]
    assert len(echoed) == 1, trailing
    return code, str(echoed[0])


def test_every_json_line_of_a_call_carries_its_request_id(live: Live, json_lines: Capture) -> None:
    """SG sends a malformed request with x-request-id "trace-42", then another without one.
    Result: INVALID_ARGUMENT; the first call's lines (its start, the malformed-request warning,
    its end) are JSON objects with time, level, logger, message, request_id "trace-42" and
    method; those after authentication name partner SG; the second call got a generated id,
    echoed, on all its own lines."""
    code, echoed = raw_submit(live, b"\xff\xff not a request", "trace-42")
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert echoed == "trace-42"
    _, generated = raw_submit(live, b"\xff\xff not a request", None)
    assert generated != "trace-42"
    assert len(generated) == 32

    parsed = [json.loads(line) for line in json_lines.lines]
    first = [p for p in parsed if p.get("request_id") == "trace-42"]
    assert len(first) >= 3
    assert any("malformed request" in p["message"] for p in first)
    for p in first:
        assert {"time", "level", "logger", "message", "request_id", "method"} <= set(p)
        assert p["method"] == SUBMIT
    assert first[-1]["partner"] == "SG"
    assert first[-1]["message"].startswith("call ended INVALID_ARGUMENT")
    second = [p for p in parsed if p.get("request_id") == generated]
    assert len(second) >= 3
    assert any("malformed request" in p["message"] for p in second)


def test_a_request_id_that_is_not_sane_is_replaced(live: Live, json_lines: Capture) -> None:
    """SG sends x-request-id with a space and a quote in it. Result: the gateway logs and
    echoes an id of its own instead."""
    _, echoed = raw_submit(live, b"\xff", 'bad id"')
    assert echoed != 'bad id"'
    assert all('bad id"' not in line for line in json_lines.lines)


def test_a_successful_call_echoes_its_request_id(live: Live) -> None:
    """SG submits a good message with x-request-id "ok-1". Result: OK, and "ok-1" is in the
    trailing metadata."""
    env = envelope(live.workspace.signer("SG"), "SG", 1, record())
    body = exchange_pb2.SubmitStatusMessageRequest(envelope=env).SerializeToString()
    code, echoed = raw_submit(live, body, "ok-1")
    assert code is grpc.StatusCode.OK
    assert echoed == "ok-1"


def test_text_lines_of_a_call_show_the_request_id(live: Live, text_lines: Capture) -> None:
    """A malformed request with x-request-id "text-7", logged in the text format. Result: the
    warning line reads as before with [request_id=text-7 partner=SG method=...] after the
    logger's name; a line outside any call has no brackets."""
    raw_submit(live, b"\xff", "text-7")
    warning = [line for line in text_lines.lines if "malformed request" in line]
    assert len(warning) == 1
    assert (
        f" WARNING gateway.api.interceptor [request_id=text-7 partner=SG method={SUBMIT}]: "
        "malformed request" in warning[0]
    )
    logging.getLogger("outside").warning("no call here")
    assert text_lines.lines[-1].endswith(" WARNING outside: no call here")


def test_serve_with_json_logs_writes_only_json_lines_and_serves_metrics(
    workspace: Workspace, tmp_path: Path
) -> None:
    """`aeo-gateway serve` (a process) with AEO_GATEWAY_LOG_FORMAT=json; a malformed call with
    x-request-id "proc-1"; SIGTERM. Result: every stderr line is a JSON object with time,
    level, logger and message; the malformed-request warning carries request_id "proc-1" and
    partner SG; the start line names the operations endpoint; exit 0."""
    config = workspace.write_config(
        f"json-{tmp_path.name}.toml",
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AEO_GATEWAY_LOG_FORMAT": "json"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on port" in line
        target = f"localhost:{line.split('port ')[1].split()[0]}"
        with (
            connect(target, workspace.identity("SG")) as channel,
            pytest.raises(grpc.RpcError),
        ):
            channel.unary_unary(SUBMIT, None, None)(
                b"\xff", metadata=((logs.REQUEST_ID_KEY, "proc-1"),), timeout=10
            )
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    assert proc.returncode == 0
    lines = [json.loads(text) for text in stderr.splitlines()]
    assert lines
    assert all({"time", "level", "logger", "message"} <= set(p) for p in lines)
    warning = [p for p in lines if "malformed request" in p["message"]]
    assert len(warning) == 1
    assert (warning[0]["request_id"], warning[0]["partner"]) == ("proc-1", "SG")
    assert any(p["message"].startswith("operations on http://127.0.0.1:") for p in lines)
