"""The console over real HTTPS with client certificates, in front of a real gateway."""

from __future__ import annotations

import ssl

import pytest

from tests.console.conftest import LiveConsole


def test_overview_lists_every_partner_with_strict_headers(console: LiveConsole) -> None:
    page = console.client("admin").get("/")
    assert page.status == 200
    assert '<a href="/partners/SG">SG</a>' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"


def test_language_switch_needs_the_forms_csrf_token(console: LiveConsole) -> None:
    browser = console.client("admin")
    first = browser.get("/")
    assert browser.post("/preferences", {"language": "zh-Hans", "next": "/"}).status == 400
    switched = browser.post("/preferences", {"language": "zh-Hans", "next": "/"}, first)
    assert switched.status == 303
    assert 'lang="zh-Hans"' in browser.get("/").text


def test_a_certificate_without_a_console_role_is_refused(console: LiveConsole) -> None:
    page = console.client("domestic").get("/")
    assert page.status == 403
    assert "console.no_role" in page.text


def test_no_certificate_no_console(console: LiveConsole) -> None:
    with pytest.raises(ssl.SSLError):
        console.client(None).get("/")
