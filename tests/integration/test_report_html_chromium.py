"""The HTML report as a browser shows it: headless Chromium (Debian's `chromium`) renders the
page from a file, offline, and the screenshot has content. Skips where chromium is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from matplotlib.image import imread

from gateway.report_render import render
from tests.report_samples import report

_CHROMIUM = shutil.which("chromium")
_PNG = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.skipif(
    _CHROMIUM is None,
    reason="headless Chromium is missing: install the Debian package chromium "
    "(apt-get install chromium); .ci/run does",
)


def test_headless_chromium_renders_the_report_page(tmp_path: Path) -> None:
    """The 2026Q3 page with its three charts, opened from a file with no network. Result: a
    1280-pixel-wide screenshot, large, with many distinct pixel values (not a blank page)."""
    page = tmp_path / "facilitation-2026Q3.html"
    page.write_text(render(report(), "html"), encoding="utf-8")
    shot = tmp_path / "screenshot.png"
    assert _CHROMIUM is not None
    done = subprocess.run(
        [
            _CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            # Offline: a page that tried to fetch anything would render without it.
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert data.startswith(_PNG)
    assert len(data) > 50_000
    assert _width_height(data) == (1280, 2000)
    # Not blank: decoded, the pixels take many colours, and more than one in twenty differ from the
    # background (the page's corner).
    pixels = imread(shot)[:, :, :3]
    colours = {tuple(p) for p in pixels[::7, ::7].reshape(-1, 3).tolist()}
    assert len(colours) > 50
    differ = (abs(pixels - pixels[0, 0]).sum(axis=2) > 0.05).mean()
    assert differ > 0.05


def _width_height(png: bytes) -> tuple[int, int]:
    """From the IHDR chunk, which a PNG always starts with."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
