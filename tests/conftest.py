"""Shared fixtures: a development PKI minted per session, settings, PostgreSQL, live gateways."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from adapters.crypto.signatures import Signer
from gateway.bootstrap import Gateway, build, init_dev_pki, load_registry
from gateway.client import TlsIdentity, connect
from gateway.settings import Settings, load

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Workspace:
    """A copy of partners/ and home/ beside a freshly minted development PKI."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "certs" / "dev"

    def settings(self, **overrides: Any) -> Settings:
        env = {"AEO_GATEWAY_LISTEN": "127.0.0.1:0"}
        base = load(None, env, base=self.root)
        db = f"sqlite:///{self.root / 'var' / (uuid.uuid4().hex + '.db')}"
        return base.with_overrides(**{"database_url": db, "grace_seconds": 1.0, **overrides})

    def identity(self, who: str) -> TlsIdentity:
        return TlsIdentity.dev(self.pki, who)

    def signer(
        self, partner: str, key_id: str | None = None, algorithm: str | None = None
    ) -> Signer:
        _, entries = load_registry(self.settings())
        key = entries[partner].partner.signing_keys[0]
        key_id = key_id or key.key_id
        return Signer.from_file(
            self.pki / "partners" / partner / f"signing-{key_id}.key.pem",
            key_id,
            algorithm or key.algorithm,
        )


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("workspace")
    shutil.copytree(ROOT / "partners", root / "partners")
    shutil.copytree(ROOT / "home", root / "home")
    ws = Workspace(root)
    init_dev_pki(ws.settings())
    return ws


@dataclass
class Live:
    """A gateway serving on a free port, and how to reach it."""

    gateway: Gateway
    settings: Settings
    workspace: Workspace

    @property
    def target(self) -> str:
        return f"localhost:{self.gateway.port}"

    def channel(self, who: str) -> Any:
        return connect(self.target, self.workspace.identity(who))


@pytest.fixture
def start_gateway(workspace: Workspace) -> Iterator[Callable[..., Live]]:
    started: list[Gateway] = []

    def start(**overrides: Any) -> Live:
        settings = workspace.settings(**overrides)
        gateway = build(settings)
        started.append(gateway)
        return Live(gateway, settings, workspace)

    yield start
    for gateway in started:
        gateway.stop(grace=0)


@pytest.fixture
def live(start_gateway: Callable[..., Live]) -> Live:
    return start_gateway()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """PostgreSQL at 127.0.0.1:5432. Skips when absent, except under CI, where absence fails."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at 127.0.0.1:5432 ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI requires it")
        pytest.skip(message)
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"aeo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
