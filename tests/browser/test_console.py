"""The console as a browser shows it: the overview, the language switch, times in the browser's
zone with UTC on hover, what a viewer is offered, and who is refused: no certificate (the TLS
handshake fails, the navigation errors) and a certificate with no console role (the 403 page)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Error, expect

from tests.browser.conftest import Site


def test_the_overview_lists_the_partners_with_links_to_their_pages(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page()
    answer = page.goto(site.url("/"))
    assert answer is not None
    assert answer.status == 200
    expect(page.locator("h1")).to_have_text("Partners")
    link = page.locator("main a[href='/partners/SG']")
    expect(link).to_have_text("SG")
    expect(page.locator("main a[href='/partners/new']")).to_be_visible()
    # Its stylesheet and script loaded under its CSP (no violation is an error in the console).
    assert page.evaluate("() => getComputedStyle(document.querySelector('.top')).display") == (
        "flex"
    )


def test_the_language_switch_turns_every_page_chinese_and_back(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page()
    page.goto(site.url("/"))
    page.locator("header button[lang='zh-Hans']").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    assert page.url == site.url("/")
    expect(page.locator("h1")).to_have_text("合作海关")
    page.goto(site.url("/audit"))  # the choice is kept (a cookie)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("nav a[aria-current='page']")).to_have_text(re.compile("审计"))
    page.locator("header button[lang='en']").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.url.startswith(site.url("/audit"))


def test_a_chinese_browser_gets_chinese_pages(site: Site, open_page: Callable[..., Any]) -> None:
    page = open_page(locale="zh-CN")
    page.goto(site.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("nav a[href='/']")).to_have_text("概览")


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_times_are_shown_in_the_browsers_zone_with_utc_on_hover(
    site: Site, open_page: Callable[..., Any], zone: str
) -> None:
    """The page's script tells the console the browser's zone (once, then reloads)."""
    page = open_page(timezone_id=zone)
    page.goto(site.url("/"))
    expect(page.locator("p.zone")).to_contain_text(zone)
    shown = page.locator("main time").first  # SG's last message
    moment = datetime.fromisoformat(shown.get_attribute("datetime").replace("Z", "+00:00"))
    assert shown.get_attribute("title") == moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    local = moment.astimezone(ZoneInfo(zone))
    assert shown.inner_text().startswith(local.strftime("%Y-%m-%d %H:%M:%S"))


def test_a_chosen_zone_is_kept_over_the_browsers(site: Site, open_page: Callable[..., Any]) -> None:
    page = open_page(timezone_id="Europe/Brussels")
    page.goto(site.url("/"))
    expect(page.locator("p.zone")).to_contain_text("Europe/Brussels")
    page.locator("p.zone a").click()
    page.locator("#zone").select_option("Asia/Singapore")
    page.locator("main form button[type='submit']").click()
    expect(page.locator("p.zone")).to_contain_text("Asia/Singapore")
    page.goto(site.url("/audit"))
    expect(page.locator("p.zone")).to_contain_text("Asia/Singapore")


def test_no_certificate_no_console(site: Site, open_page: Callable[..., Any]) -> None:
    """The TLS handshake needs a client certificate: the browser never gets a page."""
    page = open_page(None)
    # Which net:: error depends on when chromium sees the handshake fail; none is a page.
    with pytest.raises(Error, match=r"net::ERR_"):
        page.goto(site.url("/"))


def test_a_certificate_with_no_console_role_gets_the_refusal_page(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page("domestic")
    answer = page.goto(site.url("/"))
    assert answer is not None
    assert answer.status == 403
    alert = page.locator("[role='alert']")
    expect(alert).to_contain_text("carries no console role")
    expect(alert).to_contain_text("console.no_role")
    assert page.locator("main a[href='/partners/SG']").count() == 0


def test_an_unknown_audit_entry_is_the_not_found_page(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page()
    answer = page.goto(site.url("/audit/999999"))
    assert answer is not None
    assert answer.status == 404
    expect(page.locator("[role='alert']")).to_contain_text("NOT_FOUND")


def test_a_viewer_reads_and_is_offered_no_action(site: Site, open_page: Callable[..., Any]) -> None:
    page = open_page("viewer")
    page.goto(site.url("/"))
    expect(page.locator(".role")).to_have_text("viewer (read only)")
    expect(page.locator("main a[href='/partners/SG']")).to_be_visible()
    assert page.locator("a[href='/partners/new']").count() == 0


def test_a_viewer_sees_a_partner_without_its_actions(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page("viewer")
    answer = page.goto(site.url("/partners/SG"))
    assert answer is not None
    assert answer.status == 200
    expect(page.locator("#lifecycle-state")).to_have_class(re.compile(r"\bstate-active\b"))
    for action in ("configure", "test", "activate", "suspend", "resume", "retire", "snapshot"):
        assert page.locator(f"a[href='/partners/SG/{action}']").count() == 0


def test_a_viewers_action_is_refused_by_the_gateway(
    site: Site, open_page: Callable[..., Any]
) -> None:
    """The confirmation page is only a page: the viewer's POST reaches the gateway, which
    refuses it (role.read_only), and the 403 page says so."""
    page = open_page("viewer")
    page.goto(site.url("/partners/SG/snapshot"))
    answer_of = page.expect_response(lambda r: r.request.method == "POST")
    with answer_of as posted:
        page.locator("#confirm").click()
    assert posted.value.status == 403
    expect(page.locator("[role='alert']")).to_contain_text("role.read_only")
