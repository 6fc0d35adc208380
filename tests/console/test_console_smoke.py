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


def test_preferences_redirect_only_within_the_console(console: LiveConsole) -> None:
    browser = console.client("admin")
    first = browser.get("/")
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        answer = browser.post("/preferences", {"language": "en", "next": target}, first)
        assert answer.status == 303
        assert answer.headers["location"] in ("/", f"https://localhost:{console.port}/")


def test_a_chosen_time_zone_is_kept_and_an_unknown_one_ignored(console: LiveConsole) -> None:
    browser = console.client("admin")
    first = browser.get("/")
    browser.post("/preferences", {"zone": "Asia/Shanghai", "next": "/"}, first)
    assert browser.cookies["aeo_console_tz"] == "Asia/Shanghai"
    browser.post("/preferences", {"zone": "Nowhere/Else", "next": "/"}, first)
    assert browser.cookies["aeo_console_tz"] == "Asia/Shanghai"
    assert "Asia/Shanghai" in browser.get("/").text


def test_static_files_carry_the_security_headers(console: LiveConsole) -> None:
    page = console.client("admin").get("/static/console.js")
    assert page.status == 200
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_the_preferences_page_offers_languages_and_zones(console: LiveConsole) -> None:
    browser = console.client("admin")
    form = browser.get("/preferences?next=/partners/SG")
    assert form.status == 200
    assert '<label for="zone">' in form.text
    assert "<option>Asia/Shanghai</option>" in form.text
    assert 'name="next" value="/partners/SG"' in form.text
    saved = browser.post(
        "/preferences", {"language": "zh-Hans", "zone": "Asia/Shanghai", "next": "/"}, form
    )
    assert saved.status == 303
    assert "偏好设置" in browser.get("/preferences").text


def test_a_viewer_sees_everything_and_is_offered_no_action(console: LiveConsole) -> None:
    page = console.client("viewer").get("/")
    assert page.status == 200
    assert '<a href="/partners/SG">SG</a>' in page.text
    assert "viewer (read only)" in page.text
    assert "/partners/new" not in page.text
    assert "/partners/new" in console.client("admin").get("/").text


def test_the_zone_the_pages_script_sets_is_understood(console: LiveConsole) -> None:
    browser = console.client("admin")
    browser.cookies["aeo_console_tz"] = "America%2FArgentina%2FBuenos_Aires"
    assert "Times in America/Argentina/Buenos_Aires" in browser.get("/").text
