"""Screenshots of the admin console for docs/console.md, in English and Chinese.

Starts a gateway with its console in a temporary workspace (the development PKI and partner
files, an empty SQLite store), puts some data in through the gateway's API as its clients would
(a signed status message from every partner, home AEO changes, declaration outcomes), then
opens each page in Debian's headless chromium, 1280 pixels wide, with the development admin
certificate, and writes docs/console/screenshots/PAGE-LANG.png (full page). A page this branch
does not serve yet is reported and left out.

    .venv/bin/python tools/console_screenshots.py [--out DIR] [--chromium PATH]

Progress goes to a terminal; piped, only problems are printed. Needs Playwright (a dev
dependency), Debian's chromium and fonts-noto-cjk (the Chinese pages' font).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from adapters.directory.files import read_definitions
from gateway.bootstrap import Gateway, build
from gateway.client import FacilitationClient, PartnerClient, connect, declaration_outcome
from gateway.devkit import DevWorkspace
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.federation import record_grade_change

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "console" / "screenshots"
#: Language code of the file name -> the browser's locale (the console follows it).
LANGUAGES = {"en": "en-GB", "zh-Hans": "zh-CN"}
#: The home administration's zone: the times shown, and the days the facilitation report counts.
ZONE = "Asia/Shanghai"
HOME_AEO = "0123456781"  # AEOCN0123456781, an advanced certified enterprise at home
HOME_REGULAR = "0000000042"  # AEOCN0000000042, a regular one: the report's baseline
SHOWN_PARTNER = "SG"


def say(message: str) -> None:
    if sys.stdout.isatty():
        print(message, flush=True)


def warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data, through the gateway's API -----------------------------------------------------------


def partner_messages(workspace: DevWorkspace, target: str) -> dict[str, str]:
    """One signed status message from every partner, in its own wire format: two operators of
    its first recognised tier. Returns each partner's first operator code."""
    settings = workspace.settings()
    definitions = read_definitions(settings.home_file, settings.partners_dir)
    operators: dict[str, str] = {}
    now = datetime.now(UTC)
    for code, entry in sorted(definitions.partners.items()):
        partner = entry.partner
        if not partner.identifiers.examples or not partner.recognised_tiers:
            continue
        identifier = partner.identifiers.examples[0]
        records = tuple(
            AeoRecord(
                identifier=identifier if n == 0 else _variant(identifier, n),
                name=f"{partner.name} Trading Co. {n + 1}",
                address=f"{n + 1} Harbour Road",
                status=RecordStatus.VALID,
                tier=partner.recognised_tiers[0].tier,
                version=1,
                effective_at=now - timedelta(days=40),
                event=StatusEvent.GRANTED,
            )
            for n in range(2)
        )
        batch = OutboundBatch(code, 1, now, BatchKind.DELTA, records)
        try:
            with connect(target, workspace.identity(code)) as channel:
                client = PartnerClient(channel, code, workspace.signer(code))
                client.submit_envelope(workspace.envelope(batch))
        except grpc.RpcError as refused:  # a partner in draft, a programme suspended, ...
            warn(f"  {code}: its message was refused ({refused.code().name}); left out")
            continue
        operators[code] = identifier
    return operators


def _variant(identifier: str, n: int) -> str:
    """Another code of the same form: the last digit changed."""
    last = identifier[-1]
    return identifier[:-1] + (str((int(last) + n) % 10) if last.isdigit() else last)


def home_changes(workspace: DevWorkspace, target: str) -> None:
    """Two home enterprises from the credit system: an AEO (queued for the partners with an
    outbound endpoint; the development files name none) and a regular one (the facilitation
    report's baseline)."""
    registry = workspace.identity("registry")
    record_grade_change(target, registry, HOME_AEO, "advanced certified", "Ningbo Demo Co.")
    record_grade_change(target, registry, HOME_REGULAR, "regular", "Ningbo Ordinary Co.")


def outcomes(workspace: DevWorkspace, target: str, operators: dict[str, str]) -> None:
    """Declarations released in the last hour: recognised partner operators (fewer
    inspections, quicker release) and the home regular enterprise (the baseline)."""
    now = datetime.now(UTC)
    declared = [*operators.values(), f"AEOCN{HOME_AEO}"]
    number = 0
    with connect(target, workspace.identity("domestic")) as channel:
        client = FacilitationClient(channel)
        for n in range(24):
            number += 1
            arrived = now - timedelta(minutes=55) + timedelta(seconds=20 * n)
            client.record(
                declaration_outcome(
                    f"5316{number:014d}",
                    declared[n % len(declared)],
                    arrived,
                    arrived + timedelta(minutes=10 + n % 7),
                    inspected=n % 8 == 0,
                    document_review=n % 5 == 0,
                )
            )
        for n in range(16):
            number += 1
            arrived = now - timedelta(minutes=55) + timedelta(seconds=30 * n)
            client.record(
                declaration_outcome(
                    f"5316{number:014d}",
                    f"AEOCN{HOME_REGULAR}",
                    arrived,
                    arrived + timedelta(minutes=30 + n % 13),
                    inspected=n % 3 == 0,
                    document_review=n % 2 == 0,
                )
            )


# --- the console, in a browser -----------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    """One page: its name in the file name, its path, and what to do on it before the shot."""

    name: str
    path: str
    then: Callable[[Any], None] | None = None


def _verify(page: Any) -> None:
    page.locator("main form[action='/audit/verify'] button[type='submit']").click()
    page.locator("#verify-result").wait_for()


def _first_message(page: Any) -> None:
    """From the list of received messages, the first entry's page (the link is its position)."""
    entry = page.locator("main a[href^='/audit/']").filter(has_text=re.compile(r"^\d+$")).first
    entry.click()
    page.wait_for_load_state()


def shots(operator: str) -> list[Shot]:
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return [
        Shot("overview", "/"),
        Shot("partner", f"/partners/{SHOWN_PARTNER}"),
        Shot("audit", "/audit"),
        Shot("audit-entry", "/audit?kind=message.received", _first_message),
        Shot("audit-verify", "/audit/verify", _verify),
        Shot("lookup", f"/lookup?code={operator}&direction=import"),
        Shot("facilitation", f"/facilitation?start={_iso(first)}&end={_iso(last)}"),
        Shot("partner-new", "/partners/new"),
        Shot("partner-confirm", f"/partners/{SHOWN_PARTNER}/suspend"),
        Shot("preferences", "/preferences"),
    ]


def _iso(day: date) -> str:
    return day.isoformat()


@contextmanager
def console(workspace: DevWorkspace, database: Path) -> Iterator[Gateway]:
    settings = workspace.settings(
        listen="127.0.0.1:0",
        console_listen="127.0.0.1:0",
        database_url=f"sqlite:///{database}",
        grace_seconds=1.0,
    )
    gateway = build(settings)
    try:
        yield gateway
    finally:
        gateway.stop(grace=0)


def photograph(
    chromium: str, workspace: DevWorkspace, port: int, operator: str, out: Path
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    origin = f"https://localhost:{port}"
    admin = workspace.identity("admin")
    # Playwright's ClientCertificate TypedDict is not exported: the dict as its docs give it.
    certificate: Any = {"origin": origin, "certPath": str(admin.cert), "keyPath": str(admin.key)}
    written: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        for language, locale in LANGUAGES.items():
            context = browser.new_context(
                client_certificates=[certificate],
                ignore_https_errors=True,  # the development CA is not the browser's
                locale=locale,
                timezone_id=ZONE,
                viewport={"width": 1280, "height": 800},
            )
            page = context.new_page()
            page.goto(origin + "/")  # the page's script tells the console the zone, reloads
            page.locator("p.zone", has_text=ZONE).wait_for()
            for shot in shots(operator):
                answer = page.goto(origin + shot.path)
                if answer is None or answer.status != 200:
                    status = answer.status if answer is not None else "no answer"
                    warn(f"  {shot.name} ({language}): {shot.path} answered {status}; left out")
                    continue
                if shot.then is not None:
                    shot.then(page)
                path = out / f"{shot.name}-{language}.png"
                page.screenshot(path=str(path), full_page=True)
                written.append(path)
                say(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument("--chromium", default=shutil.which("chromium"), help="default: chromium")
    args = parser.parse_args(argv)
    if not args.chromium:
        warn("chromium is missing: apt-get install chromium fonts-noto-cjk")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-screenshots-") as temporary:
        root = Path(temporary)
        say("a development workspace and its PKI ...")
        workspace = DevWorkspace.create(root / "workspace", ROOT)
        with console(workspace, root / "gateway.db") as gateway:
            target = f"localhost:{gateway.port}"
            say(f"gateway on {target}, console on https://localhost:{gateway.console_port}/")
            say("partners' signed messages, home changes, declaration outcomes ...")
            operators = partner_messages(workspace, target)
            home_changes(workspace, target)
            outcomes(workspace, target, operators)
            say(f"screenshots into {args.out}:")
            written = photograph(
                args.chromium,
                workspace,
                gateway.console_port,
                operators.get(SHOWN_PARTNER, next(iter(operators.values()))),
                args.out,
            )
    say(f"{len(written)} screenshots")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
