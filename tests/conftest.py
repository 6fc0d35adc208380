"""Shared fixtures: a development PKI minted per session, settings, PostgreSQL, live gateways."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.bootstrap import Gateway, build
from gateway.client import connect
from gateway.devkit import DevWorkspace
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Workspace(DevWorkspace):
    """The session's development installation; each settings() gets its own empty database."""

    def settings(self, **overrides: Any) -> Settings:
        db = f"sqlite:///{self.root / 'var' / (uuid.uuid4().hex + '.db')}"
        defaults = {"listen": "127.0.0.1:0", "database_url": db, "grace_seconds": 1.0}
        return super().settings(**{**defaults, **overrides})


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace.create(tmp_path_factory.mktemp("workspace"), ROOT)


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
