"""`aeo-gateway console` and the console inside `serve`, as a person runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Workspace


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_console_certificate_is_one_line_saying_what_to_do(
    workspace: Workspace, tmp_path: Path
) -> None:
    config = workspace.write_config(
        f"console-{tmp_path.name}.toml",
        console_listen="127.0.0.1:0",
        console_client_cert=str(tmp_path / "absent.pem"),
    )
    result = _cli(config, "console")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "absent.pem" in result.stderr
    assert "certs init" in result.stderr


def test_serve_says_where_its_console_is(workspace: Workspace, tmp_path: Path) -> None:
    config = workspace.write_config(
        f"serve-{tmp_path.name}.toml",
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening on port" in proc.stdout.readline()
        assert proc.stdout.readline().startswith("admin console on https://localhost:")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
