"""axe-core (the copy axe-playwright-python bundles) run on a page of the console.

The console's CSP forbids injected scripts; page.evaluate is not subject to it, so axe's source
is evaluated there rather than added as a <script> tag (no bypass_csp needed)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

#: Violations of these impacts fail a test; the others are reported.
FAILING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact}: {self.rule} ({self.help}) at {', '.join(self.targets)}"


@cache
def _source() -> str:
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def violations(page: Any) -> list[Violation]:
    """Every violation axe finds on ``page`` as it is now (WCAG 2.x A and AA, best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    found = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [
        Violation(
            v["id"],
            v.get("impact") or "minor",
            v["help"],
            tuple(str(t) for node in v["nodes"] for t in node["target"]),
        )
        for v in found
    ]


def serious(found: list[Violation]) -> list[Violation]:
    return [v for v in found if v.impact in FAILING]
