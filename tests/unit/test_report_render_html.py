"""The HTML report: one self-contained page (nothing to fetch), with its charts inline,
accessible basics, and every string from the report escaped."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

from gateway.report_render import render
from tests.report_samples import report

_PNG = b"\x89PNG\r\n\x1a\n"


def test_the_page_fetches_nothing() -> None:
    """Result: no http(s) or protocol-relative URL anywhere, no script, no stylesheet link;
    every src is a data URI."""
    page = render(report(), "html")
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_the_page_holds_three_charts_with_alt_text() -> None:
    """Inspection rates, release times, the trend. Result: three PNG images inline, each with
    an alt text that names its numbers."""
    page = render(report(), "html")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)">', page)
    assert len(images) == 3
    for data, _ in images:
        png = base64.b64decode(data)
        assert png.startswith(_PNG)
        assert len(png) > 10_000
    alts = [alt for _, alt in images]
    assert alts[0].startswith("Inspection rate, AEO against baseline, 2026Q3.")
    assert "home imp advanced certified: 0.52% against 2.60%" in alts[0]
    assert "abroad SG exp advanced certified: 1.00% against n/a" in alts[0]
    assert alts[1].startswith("Release time per group, 2026Q3.")
    assert "median 1.2 h, mean 1.4 h, 90th percentile 3.0 h" in alts[1]
    assert alts[2].startswith("Inspection rate against baseline, 2025Q4 to 2026Q3.")


def test_without_earlier_periods_there_is_no_trend_chart() -> None:
    page = render(report(trend=0), "html")
    assert page.count("<img ") == 2


def test_the_page_has_a_language_a_title_and_table_headers() -> None:
    page = render(report(), "html")
    assert '<html lang="en">' in page
    assert "<title>Facilitation report 2026Q3</title>" in page
    assert '<th scope="col">inspection reduction [95% CI]</th>' in page
    assert page.count('<th scope="row">') == len(report().rows)
    assert "<caption>Facilitation measures, 2026Q3</caption>" in page
    assert "<td>SG</td>" in page
    assert page.count('<td class="n">n/a</td>') >= 5


def test_every_string_from_the_report_is_escaped() -> None:
    """A grade and a partner code with markup in them. Result: shown as text, never as markup,
    in the table and in the alt text."""
    made = report(trend=0)
    hostile = '<script>alert("x")</script>&'
    rows = (replace(made.rows[0], grade=hostile, partner='K"R'), *made.rows[1:])
    page = render(replace(made, rows=rows), "html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert 'K"R' not in page
    assert "K&quot;R" in page


def test_a_period_without_declarations_is_a_page_without_charts() -> None:
    page = render(replace(report(), rows=(), trend=()), "html")
    assert "No declarations in the period." in page
    assert "<img " not in page
    assert page.rstrip().endswith("</html>")
