"""`aeo-gateway serve` reloads its partner definitions on SIGHUP, as an operator expects of a
long-running service: no restart, and an invalid edit changes nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gateway.client import AdminClient, connect
from gateway.devkit import DevWorkspace
from tests.conftest import ROOT


def wait_until(condition: Callable[[], bool]) -> None:
    """Bounded wait: the assertions after it say whether the condition came true."""
    deadline = time.monotonic() + 20
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_sighup_puts_edited_definitions_in_force_and_refuses_invalid_ones(
    tmp_path: Path,
) -> None:
    """The gateway runs; an operator moves SG's in-force date and sends SIGHUP, then saves a
    typo and sends SIGHUP again. Result: version 2 with the new date; the typo is refused in
    the log with the file and field, and version 2 stays in force."""
    workspace = DevWorkspace.create(tmp_path / "ws", ROOT)
    config = workspace.write_config(
        "gw.toml", listen="127.0.0.1:0", database_url=f"sqlite:///{tmp_path / 'gw.db'}"
    )
    sg = workspace.root / "partners" / "SG.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: log.extend(proc.stderr or ()), daemon=True)
    reader.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on port" in line
        target = f"localhost:{line.split('port ')[1].split()[0]}"
        with connect(target, workspace.identity("admin")) as channel:
            admin = AdminClient(channel)
            sg.write_text(sg.read_text().replace("in_force = 2013-03-15", "in_force = 2013-04-01"))
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: admin.partner("SG").directory_version == 2)
            assert admin.partner("SG").directory_version == 2
            in_force = admin.partner("SG").mra.in_force
            assert (in_force.year, in_force.month, in_force.day) == (2013, 4, 1)
            sg.write_text(sg.read_text().replace('tier = "STP-Plus"', 'tier = "STP-Pluss"'))
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda: any("refused" in entry for entry in log))
            assert admin.partner("SG").directory_version == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == 0
    refused = [entry for entry in log if "refused" in entry]
    assert refused
    assert "mapping[0].tier" in refused[0]
