"""The Docker image, built and run for real: docker/build-image.sh builds the local base (when
missing), the wheels on the host and the image with no network; a container runs it with a
development PKI made on the host by `aeo-gateway certs init`, mounted read-only, and answers over
real mutual TLS. docker/compose.yaml is validated by `docker compose config` or Debian's
`docker-compose config`.

Skips where docker (or its daemon, or for the base image debootstrap and root) is missing,
except under CI=true, where that fails: .ci/run installs docker.io, debootstrap and
docker-compose, starts dockerd and builds the base image."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest

from adapters.crypto.signatures import load_public_key
from gateway.client import PartnerClient, RecognitionClient, connect, open_receipt
from gateway.devkit import DevWorkspace, pb_records
from gateway.pb import recognition_pb2, recognition_pb2_grpc
from gateway.settings import Settings
from tests.conftest import ROOT, Workspace
from tests.factories import record

#: Building the base image (debootstrap) takes about a minute, the image about twenty seconds.
pytestmark = pytest.mark.timeout(900)

#: A tag of this run's own: other runs may build on the same daemon at the same time.
IMAGE = f"aeo-gateway:test-{uuid.uuid4().hex[:10]}"
BASE = os.environ.get("AEO_GATEWAY_BASE_IMAGE", "aeo-gateway-base:bookworm")
#: The image's user (docker/Dockerfile).
UID = 10001
#: Seconds `docker stop` waits before SIGKILL; the gateway's grace_seconds is 10.
STOP_TIMEOUT = 30
#: Seconds a container may take to start serving before the test gives up.
START_TIMEOUT = 90.0
RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
HAS_METRICS = "metrics_listen" in {f.name for f in dataclasses.fields(Settings)}


def _unavailable(reason: str) -> None:
    """Skips, except under CI, where docker is required and its absence fails the test."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI requires it (.ci/run installs and starts it)")
    pytest.skip(reason)


def run(
    *args: str, timeout: float = 120, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def _base_exists() -> bool:
    return run("docker", "image", "inspect", BASE, check=False).returncode == 0


@pytest.fixture(scope="module")
def docker() -> None:
    """A docker client and a running daemon (and what building the base image needs)."""
    if shutil.which("docker") is None:
        _unavailable("docker is missing (apt-get install docker.io)")
    if run("docker", "info", check=False, timeout=30).returncode != 0:
        _unavailable("the docker daemon is not running (start dockerd)")
    if not _base_exists() and (shutil.which("debootstrap") is None or os.geteuid() != 0):
        _unavailable(f"no base image {BASE}, and building it needs debootstrap and root")


@pytest.fixture(scope="module")
def image(docker: None) -> Iterator[str]:
    """The image as `make docker-image` builds it (docker build --network=none), tagged for
    this run and removed after it."""
    built = run(
        "docker/build-image.sh", IMAGE, timeout=800, env={"PYTHON": sys.executable}, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert f"{IMAGE} built from {BASE}" in built.stdout
    yield IMAGE
    run("docker", "image", "rm", "--force", IMAGE, check=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevWorkspace:
    """A development PKI made on the host by `aeo-gateway certs init`, beside copies of
    partners/ and home/ (whose files name ../certs/dev/...), readable by the image's user."""
    root = tmp_path_factory.mktemp("docker-pki")
    shutil.copytree(ROOT / "partners", root / "partners")
    shutil.copytree(ROOT / "home", root / "home")
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "certs", "init"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
    )
    assert done.returncode == 0, done.stderr
    # As docs/operations.md says: the keys are readable by uid 10001 (chown as root; a user in
    # the docker group makes them readable by all, acceptable for a throwaway development PKI).
    for path in [root / "certs", *(root / "certs").rglob("*")]:
        if os.geteuid() == 0:
            os.chown(path, UID, UID)
        elif path.is_file():
            path.chmod(0o644)
    return DevWorkspace(root)


@dataclass
class Container:
    name: str
    #: host:port of the gateway's gRPC port, published on 127.0.0.1.
    target: str
    pki: DevWorkspace

    def logs(self) -> tuple[str, str]:
        done = run("docker", "logs", self.name, check=False)
        return done.stdout, done.stderr

    def state(self) -> dict[str, Any]:
        state = json.loads(
            run("docker", "inspect", "--format", "{{json .State}}", self.name).stdout
        )
        assert isinstance(state, dict)
        return state

    def published(self, port: int) -> str:
        address = run("docker", "port", self.name, f"{port}/tcp").stdout.splitlines()[0]
        return f"localhost:{address.rpartition(':')[2]}"

    def channel(self, who: str) -> grpc.Channel:
        return connect(self.target, self.pki.identity(who))


@pytest.fixture
def start(image: str, pki: DevWorkspace) -> Iterator[Callable[..., Container]]:
    """Runs the image with the PKI mounted read-only at /app/certs; waits until it serves.
    Its gRPC port is published on 127.0.0.1, or, with ``--network host``, the port it listens
    on (AEO_GATEWAY_LISTEN) is the host's."""
    names: list[str] = []

    def start_container(*options: str) -> Container:
        name = f"aeo-gateway-test-{uuid.uuid4().hex[:10]}"
        names.append(name)
        host_network = "host" in options
        published = [] if host_network else ["--publish", "127.0.0.1::50051"]
        published += [] if host_network else ["--publish", "127.0.0.1::9464"]
        published += [] if host_network else ["--publish", "127.0.0.1::8443"]
        run(
            "docker",
            "run",
            "--detach",
            "--name",
            name,
            *published,
            "--volume",
            f"{pki.root / 'certs'}:/app/certs:ro",
            "--health-interval",
            "1s",
            *options,
            image,
        )
        container = Container(name, "", pki)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            stdout, stderr = container.logs()
            # On stdout today; in either stream should it become a (JSON) log line.
            if found := re.search(r"listening on port (\d+) \(mutual TLS\)", stdout + stderr):
                break
            assert container.state()["Running"], f"the container exited:\n{stdout}\n{stderr}"
            assert time.monotonic() < deadline, f"not serving:\n{stdout}\n{stderr}"
            time.sleep(0.2)
        port = int(found.group(1))
        container.target = f"localhost:{port}" if host_network else container.published(port)
        return container

    yield start_container
    for name in names:
        run("docker", "rm", "--force", "--volumes", name, check=False)


@pytest.fixture
def container(start: Callable[..., Container]) -> Container:
    return start()


def test_the_image_stores_a_partner_message_and_answers_a_query_over_mutual_tls(
    container: Container,
) -> None:
    """SG submits a signed delta to the container over mTLS; the domestic system asks about the
    operator. Result: a receipt signed with the gateway's key from the mounted PKI, counting the
    record (stored in the SQLite database in the var volume), and the operator RECOGNISED."""
    sg = PartnerClient(container.channel("SG"), "SG", container.pki.signer("SG"))
    response = sg.submit(1, pb_records([record()]))
    gateway_key = load_public_key(
        (container.pki.pki / "gateway" / "signing-CN-GW-2.pub.pem").read_bytes(),
        "ecdsa-p256-sha256",
    )
    receipt = open_receipt(response.receipt, gateway_key)
    assert (receipt.partner, receipt.sequence, receipt.records_applied) == ("partners/SG", 1, 1)

    answer = RecognitionClient(container.channel("domestic")).recognise("SG000000000001")
    assert (answer.outcome, answer.administration, answer.tier) == (RECOGNISED, "SG", "STP-Plus")


def test_the_cli_on_the_host_queries_the_container(container: Container) -> None:
    """`aeo-gateway query --target` from the host with the domestic client certificate.
    Result: exit 0 and a JSON answer for the code (no data yet: UNKNOWN_OPERATOR)."""
    identity = container.pki.identity("domestic")
    done = run(
        sys.executable,
        "-m",
        "gateway",
        "query",
        "SG000000000009",
        "--format",
        "json",
        "--target",
        container.target,
        "--ca",
        str(identity.ca),
        "--cert",
        str(identity.cert),
        "--key",
        str(identity.key),
    )
    [answer] = json.loads(done.stdout)
    assert answer["declaredCode"] == "SG000000000009"
    assert answer["outcome"] == "RECOGNITION_OUTCOME_UNKNOWN_OPERATOR"


def test_a_client_without_a_certificate_is_refused_by_the_container(
    container: Container,
) -> None:
    """A client that trusts the gateway's CA but presents no certificate of its own. Result:
    the TLS handshake fails, the call is UNAVAILABLE and nothing is answered."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=container.pki.identity("domestic").ca.read_bytes()
    )
    with grpc.secure_channel(container.target, credentials) as channel:
        stub = recognition_pb2_grpc.RecognitionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetRecognition(
                recognition_pb2.GetRecognitionRequest(declared_code="SG000000000001"), timeout=10
            )
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE


def test_the_gateway_in_the_container_runs_as_uid_10001_not_root(container: Container) -> None:
    """The container's process 1 (aeo-gateway serve) and a command run in it. Result: real,
    effective, saved and file-system user ids all 10001; the image's user is 10001:10001."""
    assert run("docker", "exec", container.name, "id", "-u").stdout.strip() == str(UID)
    status = run("docker", "exec", container.name, "cat", "/proc/1/status").stdout
    [uids] = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
    assert uids == [str(UID)] * 4
    cmdline = run("docker", "exec", container.name, "cat", "/proc/1/cmdline").stdout
    assert cmdline.split("\0")[1:3] == ["/opt/aeo-gateway/bin/aeo-gateway", "serve"]
    user = run("docker", "image", "inspect", "--format", "{{.Config.User}}", IMAGE).stdout
    assert user.strip() == f"{UID}:{UID}"


def test_docker_stop_drains_and_the_gateway_exits_0_saying_it_stopped(
    container: Container,
) -> None:
    """`docker stop` sends SIGTERM (the image's STOPSIGNAL) and would SIGKILL after 30 s.
    Result: the gateway shuts down gracefully within that, exit code 0 (not 137, a kill), and
    its log says it took the signal and stopped with the store closed."""
    run("docker", "stop", "--time", str(STOP_TIMEOUT), container.name, timeout=STOP_TIMEOUT + 30)
    state = container.state()
    assert (state["Running"], state["ExitCode"], state["OOMKilled"]) == (False, 0, False)
    stdout, stderr = container.logs()
    assert f"signal {int(signal.SIGTERM)}: shutting down gracefully" in stdout + stderr
    assert "stopped: in-flight calls drained, store closed" in stdout + stderr


def test_the_image_health_check_reports_healthy_once_serving(container: Container) -> None:
    """The image's HEALTHCHECK (run every second here). Result: the container becomes healthy,
    its last check exiting 0."""
    deadline = time.monotonic() + START_TIMEOUT
    health = container.state()["Health"]
    while health["Status"] != "healthy":
        assert health["Status"] == "starting", health
        assert time.monotonic() < deadline, health
        time.sleep(0.5)
        health = container.state()["Health"]
    assert health["Log"][-1]["ExitCode"] == 0


def test_the_image_holds_no_key_or_database_and_mounts_certs_and_var(image: str) -> None:
    """The image as built. Result: /app/certs and /app/var are volumes, 50051, 9464 and 8443
    exposed, STOPSIGNAL SIGTERM, entrypoint aeo-gateway serve; no private key, database or
    wheel in it."""
    config = json.loads(
        run("docker", "image", "inspect", "--format", "{{json .Config}}", image).stdout
    )
    assert set(config["Volumes"]) == {"/app/certs", "/app/var"}
    assert set(config["ExposedPorts"]) == {"50051/tcp", "9464/tcp", "8443/tcp"}
    assert config["StopSignal"] == "SIGTERM"
    assert (config["Entrypoint"], config["Cmd"]) == (["aeo-gateway"], ["serve"])
    found = run(
        "docker",
        "run",
        "--rm",
        "--network=none",
        "--user",
        "0",
        "--entrypoint",
        "find",
        image,
        "/",
        "-xdev",
        "(",
        "-name",
        "*.key.pem",
        "-o",
        "-name",
        "*.db",
        "-o",
        "-name",
        "*.whl",
        "-o",
        "-path",
        "/wheels",
        ")",
        "-print",
    )
    # pip's own bundled wheels (python3-venv's) are the only wheels allowed.
    leftovers = [p for p in found.stdout.split() if not p.startswith("/usr/share/python-wheels/")]
    assert leftovers == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.postgres
def test_the_image_stores_in_postgresql_as_compose_runs_it(
    start: Callable[..., Container], postgres_url: str
) -> None:
    """The container on the host's network with AEO_GATEWAY_DATABASE_URL naming an empty
    PostgreSQL database (as docker/compose.yaml runs it). Result: it migrates the database and
    serves; SG's signed message is stored in PostgreSQL and its operator is RECOGNISED."""
    metrics = (f"AEO_GATEWAY_METRICS_LISTEN=127.0.0.1:{_free_port()}",) if HAS_METRICS else ()
    environment = (f"AEO_GATEWAY_DATABASE_URL={postgres_url}", "AEO_GATEWAY_LISTEN=127.0.0.1:0")
    container = start(
        "--network", "host", *(a for e in (*environment, *metrics) for a in ("--env", e))
    )
    sg = PartnerClient(container.channel("SG"), "SG", container.pki.signer("SG"))
    assert sg.submit(1, pb_records([record()])).HasField("receipt")
    answer = RecognitionClient(container.channel("domestic")).recognise("SG000000000001")
    assert answer.outcome == RECOGNISED
    with psycopg.connect(postgres_url) as conn:
        stored = conn.execute("SELECT partner, sequence, key_id FROM messages").fetchall()
    assert stored == [("SG", 1, "SG-2026-1")]


@pytest.mark.skipif(not HAS_METRICS, reason="this gateway has no metrics_listen setting yet")
def test_the_container_serves_metrics_and_health_over_http(container: Container) -> None:
    """The metrics endpoint the image's settings put on 0.0.0.0:9464, published on the host.
    Result: /healthz answers 200 and /metrics the Prometheus text format."""
    base = f"http://{container.published(9464)}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
        assert answer.status == 200
        assert b"# TYPE " in answer.read()


def test_the_container_serves_the_console_to_an_admin_certificate(container: Container) -> None:
    """The console the image's settings put on 0.0.0.0:8443, published on the host, opened
    with the development admin certificate. Result: the overview page, over HTTPS."""
    host, _, port = container.published(8443).rpartition(":")
    identity = container.pki.identity("admin")
    context = ssl.create_default_context(cafile=str(container.pki.pki / "ca.pem"))
    context.load_cert_chain(identity.cert, identity.key)
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=20)
    try:
        connection.request("GET", "/")
        answer = connection.getresponse()
        assert answer.status == 200
        assert b'href="/partners/SG"' in answer.read()
    finally:
        connection.close()


def test_the_base_image_is_not_rebuilt_when_it_exists(docker: None) -> None:
    """docker/build-base.sh where the base image exists (CI builds it once per machine).
    Result: exit 0, nothing rebuilt, and it says how to force a rebuild."""
    if not _base_exists():
        run("docker/build-base.sh", timeout=800)
    done = run("docker/build-base.sh")
    assert done.stdout.strip() == (
        f"build-base: {BASE} exists (docker/build-base.sh --force rebuilds it)"
    )


def test_build_image_refuses_a_python_other_than_bookworms() -> None:
    """docker/build-image.sh with PYTHON naming an interpreter that is not Python 3.11 (the
    base image's). Result: exit 1 before anything is built, one line saying what to set."""
    done = run("docker/build-image.sh", env={"PYTHON": "/bin/false"}, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "build-image: /bin/false is not Python 3.11 (bookworm's, the image's): "
        "set PYTHON=/path/to/python3.11"
    )


def test_build_base_refuses_an_unknown_option() -> None:
    """docker/build-base.sh --fast. Result: exit 2 and its usage, nothing built."""
    done = run("docker/build-base.sh", "--fast", check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "usage: docker/build-base.sh [--force]"


def _compose() -> list[str]:
    """`docker compose` where the plugin is installed, else Debian's `docker-compose`."""
    if shutil.which("docker") and run("docker", "compose", "version", check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    _unavailable("neither `docker compose` nor docker-compose is installed")
    raise AssertionError  # unreachable: _unavailable skips or fails


def test_compose_file_is_valid_with_gateway_postgres_and_prometheus() -> None:
    """`compose config` on docker/compose.yaml, with POSTGRES_IMAGE set. Result: valid; the
    services certs, gateway, postgres and prometheus; the gateway built from docker/Dockerfile
    with no network and the base image as a build argument, on PostgreSQL, the PKI read-only;
    the image variable applied."""
    compose = [*_compose(), "--file", "docker/compose.yaml"]
    env = {"POSTGRES_IMAGE": "registry.invalid/postgres:16", "AEO_GATEWAY_BASE_IMAGE": "base:x"}
    services = run(*compose, "config", "--services", env=env).stdout.split()
    assert sorted(services) == ["certs", "gateway", "postgres", "prometheus"]
    config = run(*compose, "config", env=env).stdout
    assert "image: registry.invalid/postgres:16" in config
    assert "dockerfile: docker/Dockerfile" in config
    assert "network: none" in config
    assert "BASE: base:x" in config
    assert "AEO_GATEWAY_DATABASE_URL: postgresql://postgres:aeo@postgres:5432/aeo" in config
    assert "certs:/app/certs:ro" in config
    assert "/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in config


def test_compose_file_with_a_mistake_is_refused_by_compose_config(tmp_path: Path) -> None:
    """A copy of docker/compose.yaml whose gateway depends on a service that does not exist
    (the check `compose config` makes). Result: non-zero exit naming the missing service."""
    broken = tmp_path / "compose.yaml"
    text = (ROOT / "docker" / "compose.yaml").read_text()
    broken.write_text(
        text.replace("      postgres:\n        condition", "      pg:\n        condition")
    )
    assert broken.read_text() != text
    done = run(*_compose(), "--file", str(broken), "config", "--quiet", check=False)
    assert done.returncode != 0
    assert "pg" in done.stderr


def test_prometheus_scrapes_the_gateway_metrics_endpoint() -> None:
    """docker/prometheus.yml, which compose mounts into Prometheus. Result: one job scraping
    /metrics at gateway:9464, the port the image's settings put the metrics endpoint on."""
    text = (ROOT / "docker" / "prometheus.yml").read_text()
    assert "metrics_path: /metrics" in text
    assert 'targets: ["gateway:9464"]' in text
    settings = (ROOT / "docker" / "container_settings.py").read_text()
    assert '"metrics_listen": "0.0.0.0:9464"' in settings


def test_serve_logs_that_it_stopped_after_sigterm(workspace: Workspace, tmp_path: Path) -> None:
    """`aeo-gateway serve` (as the image runs it, here as a host process) gets SIGTERM.
    Result: exit 0, and its log says it shut down gracefully and then that it stopped with the
    store closed, in that order."""
    config = workspace.write_config(
        f"stop-{tmp_path.name}.toml",
        listen="127.0.0.1:0",
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "listening on port" in line
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    graceful = stderr.index("shutting down gracefully")
    assert stderr.index("stopped: in-flight calls drained, store closed") > graceful
