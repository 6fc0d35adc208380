"""The console in a real browser: Debian's chromium driven by Playwright (its own browser
downloads are not reachable), one browser per session, one gateway with its console per module,
and a browser context per user with that user's development certificate.

Skips where chromium or Playwright is missing, except under CI=true, where that fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.bootstrap import Gateway, build
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import partner_client, submit

CHROMIUM = shutil.which("chromium")
#: SG's operator whose status message every module's gateway has received.
SG_OPERATOR = "SG000000000001"


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}; CI requires it")
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless chromium, shared by every test."""
    if CHROMIUM is None:
        _missing(
            "headless Chromium is missing: install the Debian package chromium "
            "(apt-get install chromium); .ci/run does"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        _missing("Playwright is missing: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@dataclass
class Site:
    """A gateway serving its console, and browser contexts opened on it (closed at the end)."""

    live: Live
    browser: Any
    contexts: list[Any] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.live.gateway.console_port

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def context(
        self,
        who: str | None = "admin",
        locale: str = "en-GB",
        timezone_id: str = "UTC",
    ) -> Any:
        """A browser profile of its own presenting ``who``'s development certificate (None:
        none); ``locale`` and ``timezone_id`` as the browser reports them."""
        certificates = []
        if who is not None:
            identity = self.live.workspace.identity(who)
            certificates = [
                {
                    "origin": self.origin,
                    "certPath": str(identity.cert),
                    "keyPath": str(identity.key),
                }
            ]
        # The development CA is not the browser's: its errors are ignored, the page's are not.
        opened = self.browser.new_context(
            client_certificates=certificates,
            ignore_https_errors=True,
            locale=locale,
            timezone_id=timezone_id,
            viewport={"width": 1280, "height": 900},
        )
        opened.set_default_timeout(15_000)  # a missing element fails sooner than 30 s
        self.contexts.append(opened)
        return opened

    def close(self) -> None:
        for opened in self.contexts:
            opened.close()
        self.contexts.clear()


def start_site(workspace: Workspace, browser: Any, **overrides: Any) -> tuple[Site, Gateway]:
    settings = workspace.settings(**{"console_listen": "127.0.0.1:0", **overrides})
    gateway = build(settings)
    return Site(Live(gateway, settings, workspace), browser), gateway


@pytest.fixture(scope="module")
def site(workspace: Workspace, browser: Any) -> Iterator[Site]:
    """One gateway per module with its console, that has received one signed status message
    from SG (so pages have times and an audit log to show)."""
    started, gateway = start_site(workspace, browser)
    submit(partner_client(started.live), 1, record(SG_OPERATOR))
    yield started
    started.close()
    gateway.stop(grace=0)


@pytest.fixture
def open_page(site: Site) -> Iterator[Callable[..., Any]]:
    """Pages of ``site`` for one test; their contexts are closed after it."""
    opened: list[Any] = []

    def open_(who: str | None = "admin", **options: str) -> Any:
        context = site.context(who, **options)
        opened.append(context)
        return context.new_page()

    yield open_
    for context in opened:
        context.close()
        site.contexts.remove(context)
