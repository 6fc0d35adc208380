"""Accessibility of every page in both languages, in Debian's chromium: axe-core finds no
serious or critical violation; one h1; every field has a label; from the page's load the Tab
key reaches the skip link, the main navigation in order, and every field of a form and its
submit button; the focused element shows an outline."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.conftest import Site
from tests.browser.pages import FORMS, READ, cases

LANGUAGES = {"en": "en-GB", "zh-Hans": "zh-CN"}
NAVIGATION = ["/", "/audit", "/lookup", "/facilitation"]
#: Enough Tab presses to cross any form of the console (a date field takes one per part).
MAX_TABS = 80


@pytest.fixture(scope="module")
def reported() -> Iterator[list[str]]:
    """Every violation found in the module (minor and moderate ones pass), printed at its end."""
    found: list[str] = []
    yield found
    if found:
        print("\naxe-core, minor and moderate:\n  " + "\n  ".join(sorted(set(found))))


def visit(open_page: Callable[..., Any], site: Site, path: str, language: str) -> Any:
    page = open_page(locale=LANGUAGES[language])
    answer = page.goto(site.url(path))
    assert answer is not None
    # The page itself, not the error page in its place (that one is READ["error"]).
    assert answer.status == (404 if path == READ["error"] else 200), f"{path}: {answer.status}"
    assert page.locator("html").get_attribute("lang") == language
    return page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", cases(READ))
def test_axe_finds_no_serious_violation(
    site: Site, open_page: Callable[..., Any], reported: list[str], name: str, language: str
) -> None:
    page = visit(open_page, site, READ[name], language)
    found = axe.violations(page)
    reported.extend(f"{name} ({language}) {v}" for v in found if v not in axe.serious(found))
    assert axe.serious(found) == [], "\n".join(map(str, found))


@pytest.mark.parametrize("name", cases(READ))
def test_one_h1_and_every_field_labelled(
    site: Site, open_page: Callable[..., Any], name: str
) -> None:
    page = visit(open_page, site, READ[name], "en")
    assert page.locator("h1").count() == 1
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden' && e.labels.length === 0)
            .map(e => e.outerHTML)"""
    )
    assert unlabelled == []
    headings = page.evaluate(
        "() => [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].map(h => +h.tagName[1])"
    )
    assert all(b - a <= 1 for a, b in itertools.pairwise(headings)), headings


def tab_stops(page: Any, count: int) -> list[dict[str, Any]]:
    """What the focus is on after each of ``count`` presses of Tab from the page's load."""
    stops = []
    for _ in range(count):
        page.keyboard.press("Tab")
        stops.append(
            page.evaluate(
                """() => { const e = document.activeElement;
                   return {tag: e.tagName.toLowerCase(), id: e.id,
                           href: e.getAttribute('href') || '', cls: e.className,
                           // Focus on a part of a field's own UI (a date's picker button) is
                           // drawn by the browser: the outline is asked of the field itself.
                           outlined: !e.matches(':focus')
                             || getComputedStyle(e).outlineStyle !== 'none'}; }"""
            )
        )
    return stops


@pytest.mark.parametrize("language", LANGUAGES)
def test_tab_reaches_the_skip_link_then_the_navigation_in_order(
    site: Site, open_page: Callable[..., Any], language: str
) -> None:
    page = visit(open_page, site, "/", language)
    stops = tab_stops(page, 1 + len(NAVIGATION))
    assert stops[0]["cls"] == "skip"
    assert stops[0]["href"] == "#content"
    assert [s["href"] for s in stops[1:]] == NAVIGATION
    # Focus is visible: the focus-visible outline, on each of them.
    assert all(s["outlined"] for s in stops)


def test_the_skip_link_moves_the_focus_to_the_content(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = visit(open_page, site, "/", "en")
    page.keyboard.press("Tab")
    assert page.locator("a.skip").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "content"


@pytest.mark.parametrize("name", cases(FORMS))
def test_tab_reaches_every_field_of_a_form_then_its_button(
    site: Site, open_page: Callable[..., Any], name: str
) -> None:
    path, form = FORMS[name]
    page = visit(open_page, site, path, "en")
    assert page.locator(form).count() == 1, f"no form {form} on {path}"
    wanted = page.locator(form).evaluate(
        """f => [...f.querySelectorAll('input, select, textarea, button, summary')]
            .filter(e => e.type !== 'hidden' && e.checkVisibility())
            .map(e => e.id || e.tagName.toLowerCase())"""
    )
    assert wanted[-1] != "", wanted
    reached: list[str] = []
    for stop in tab_stops(page, MAX_TABS):
        key = stop["id"] or stop["tag"]
        if key in wanted and (not reached or reached[-1] != key):
            reached.append(key)
        assert stop["outlined"], stop
        if reached == wanted:
            break
    assert reached == wanted
