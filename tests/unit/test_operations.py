"""Operations without a server: the settings, the log formatters, the expiry inventory."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters import pki
from adapters.ops import expiry
from gateway import logs
from gateway.settings import SettingsError, load

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_metrics_listen_and_log_format_default_and_come_from_the_environment() -> None:
    """No setting given, then AEO_GATEWAY_METRICS_LISTEN and AEO_GATEWAY_LOG_FORMAT. Result:
    127.0.0.1:9464 and text by default; the environment's values otherwise ("" disables)."""
    settings = load(None, {}, base=Path("/tmp"))
    assert (settings.metrics_listen, settings.log_format) == ("127.0.0.1:9464", "text")
    env = {"AEO_GATEWAY_METRICS_LISTEN": "", "AEO_GATEWAY_LOG_FORMAT": "json"}
    settings = load(None, env, base=Path("/tmp"))
    assert (settings.metrics_listen, settings.log_format) == ("", "json")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AEO_GATEWAY_METRICS_LISTEN": "9464"}, "metrics_listen must be host:port"),
        ({"AEO_GATEWAY_METRICS_LISTEN": "localhost:http"}, "metrics_listen must be host:port"),
        ({"AEO_GATEWAY_LOG_FORMAT": "xml"}, "log_format must be text or json"),
    ],
)
def test_a_bad_metrics_listen_or_log_format_is_refused(env: dict[str, str], message: str) -> None:
    """A port without a host, a named port, an unknown log format. Result: SettingsError
    naming the setting."""
    with pytest.raises(SettingsError, match=message):
        load(None, env, base=Path("/tmp"))


def record(message: str = "hello") -> logging.LogRecord:
    return logging.LogRecord("gateway.test", logging.WARNING, __file__, 1, message, (), None)


def test_json_line_outside_a_call_has_no_request_id() -> None:
    """A line logged outside any call. Result: one JSON object with time, level, logger and
    message only."""
    line = json.loads(logs.JsonFormatter().format(record()))
    assert set(line) == {"time", "level", "logger", "message"}
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "gateway.test", "hello")


def test_json_line_inside_a_call_names_request_partner_and_method() -> None:
    """A line logged in a bound call whose caller turned out to be SG. Result: request_id,
    partner and method in the object; after the call, none of them."""
    with logs.bind(logs.CallInfo("r-1", "/svc/M")):
        logs.note_partner("SG")
        line = json.loads(logs.JsonFormatter().format(record('a "quoted"\nline')))
    assert (line["request_id"], line["partner"], line["method"]) == ("r-1", "SG", "/svc/M")
    assert line["message"] == 'a "quoted"\nline'
    assert "request_id" not in json.loads(logs.JsonFormatter().format(record()))


@pytest.mark.parametrize(
    ("offered", "kept"),
    [("abc-123", True), ("a" * 128, True), ("a" * 129, False), ("x y", False), ("", False)],
)
def test_a_clients_request_id_is_kept_only_when_sane(offered: str, kept: bool) -> None:
    """Client request ids: short tokens kept; too long, with a space, or empty replaced.
    Result: as listed; a replacement is 32 hex digits."""
    rid = logs.request_id(offered)
    assert (rid == offered) is kept
    if not kept:
        assert len(rid) == 32
        int(rid, 16)


def _cert(folder: Path, name: str, not_after: datetime) -> Path:
    ca = pki.make_ca("test CA", "Test")
    issued = pki.issue(ca, name, "Test", not_before=not_after - timedelta(days=400),
                       not_after=not_after)  # fmt: skip
    path = folder / f"{name}.pem"
    path.write_bytes(pki.cert_pem(issued.cert))
    return path


def test_own_inventory_reads_each_file_and_names_the_unreadable(tmp_path: Path) -> None:
    """A TLS certificate ending in 10 days, an outbound certificate in 100, a missing home CA,
    a signing key with a certificate beside it. Result: three credentials with their ends; a
    problem line naming the missing home CA; expiring() gives only the TLS certificate."""
    tls = _cert(tmp_path, "tls", NOW + timedelta(days=10))
    out = _cert(tmp_path, "out", NOW + timedelta(days=100))
    _cert(tmp_path, "signing-K1", NOW + timedelta(days=200))
    files = expiry.OwnFiles(tls, out, tmp_path / "missing.pem", tmp_path / "signing-K1.key.pem")
    found, problems = expiry.own(files)
    assert [(c.kind, c.not_after.date()) for c in found] == [
        ("tls_certificate", (NOW + timedelta(days=10)).date()),
        ("outbound_client_certificate", (NOW + timedelta(days=100)).date()),
        ("signing_certificate", (NOW + timedelta(days=200)).date()),
    ]
    assert len(problems) == 1
    assert "home ca" in problems[0]
    assert "missing.pem" in problems[0]
    assert [c.kind for c in expiry.expiring(found, NOW)] == ["tls_certificate"]


def test_expiring_credentials_are_logged_as_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One certificate ending in 10 days, one ended yesterday, one in a year. Result: two
    WARNING lines, the ended one first, saying EXPIRED and replace, the other its days left."""
    soon = _cert(tmp_path, "soon", NOW + timedelta(days=10))
    gone = _cert(tmp_path, "gone", NOW - timedelta(days=1))
    later = _cert(tmp_path, "later", NOW + timedelta(days=365))
    found, _ = expiry.own(expiry.OwnFiles(soon, gone, later, tmp_path / "none.key.pem"))
    with caplog.at_level(logging.WARNING, logger="adapters.ops.expiry"):
        assert expiry.log_expiring(found, NOW) == 2
    lines = [r.getMessage() for r in caplog.records]
    assert "EXPIRED" in lines[0]
    assert "CN=gone" in lines[0]
    assert "expires on" in lines[1]
    assert "in 10 days: renew it" in lines[1]
