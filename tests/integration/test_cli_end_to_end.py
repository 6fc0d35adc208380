"""End to end with real processes: `aeo-gateway serve`, then `demo` and `query` against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.conftest import Workspace


def cli(
    config: Path, *args: str, timeout: float = 60, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def config(workspace: Workspace, tmp_path: Path) -> Path:
    return workspace.write_config(
        f"e2e-{tmp_path.name}.toml",
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
    )


@pytest.fixture
def served(config: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on port" in line, proc.stderr.read() if proc.stderr else line
    yield proc, f"localhost:{line.split('port ')[1].split()[0]}"
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)  # reaps the process and closes its pipes


def test_certs_init_is_idempotent(config: Path) -> None:
    """`certs init` on a workspace that has a PKI. Result: nothing rewritten, exit 0."""
    result = cli(config, "certs", "init")
    assert result.returncode == 0, result.stderr
    assert "0 files written" in result.stdout


def test_demo_submits_as_a_partner_and_queries_as_a_domestic_system(
    served: tuple[subprocess.Popen[str], str], config: Path
) -> None:
    """A gateway process; the demo submits SG's signed delta, then queries. Result: the valid
    STP-Plus operator recognised, the suspended one not, unknown and malformed codes told apart;
    SIGTERM then stops the gateway cleanly."""
    proc, target = served
    eu = cli(config, "demo", "--partner", "EU", "--target", target)
    assert eu.returncode == 0, eu.stderr
    assert "(xmldsig): 3 of 3 records applied" in eu.stdout
    assert "DE123456789012341: RECOGNISED (recognised)" in eu.stdout
    demo = cli(config, "demo", "--target", target)
    assert demo.returncode == 0, demo.stderr
    assert "3 of 3 records applied" in demo.stdout
    assert "SG201912345671: RECOGNISED (recognised)" in demo.stdout
    assert "SG201912345672: NOT_RECOGNISED (status.suspended)" in demo.stdout
    assert "SG201912345673: NOT_RECOGNISED (tier.not_recognised)" in demo.stdout
    assert "SG201912345674: UNKNOWN_OPERATOR" in demo.stdout
    assert "XX123: CODE_FORMAT_UNKNOWN" in demo.stdout

    query = cli(
        config, "query", "AEO<SG201912345671>", "--target", target, "--as-of", "2026-01-01T00:00:00"
    )
    assert query.returncode == 0, query.stderr
    assert "UNKNOWN_OPERATOR" in query.stdout  # the record took effect yesterday, not in January

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_bad_settings_exit_with_a_message(workspace: Workspace, tmp_path: Path) -> None:
    """A settings file with an unknown key. Result: exit 2 and the key named."""
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    result = cli(bad, "serve")
    assert result.returncode == 2
    assert "colour" in result.stderr


def test_serve_with_an_unreachable_database_exits_2_with_one_line(config: Path) -> None:
    """`serve` with AEO_GATEWAY_DATABASE_URL naming a PostgreSQL nobody listens on. Result:
    exit 2 without listening; stderr is one line naming the database and what to check, and
    no traceback."""
    url = "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1"
    result = cli(config, "serve", env={"AEO_GATEWAY_DATABASE_URL": url})
    assert result.returncode == 2, result.stderr
    assert "listening" not in result.stdout
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("aeo-gateway:")]
    assert len(errors) == 1, result.stderr
    assert f"cannot open the database at {url}" in errors[0]
    assert "check that it is running" in errors[0]
    assert result.stderr.strip() == errors[0], result.stderr


def test_help_lists_commands_and_settings() -> None:
    """--help. Result: the commands and the environment variables of every setting."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, check=True
    )
    for word in (
        "serve",
        "certs",
        "query",
        "demo",
        "partners",
        "AEO_GATEWAY_DATABASE_URL",
        "AEO_GATEWAY_INSECURE_PLAINTEXT",
    ):
        assert word in result.stdout
