"""The walk issue 11 asks for, in a real browser: a partner onboarded from the new-partner form
to active (configure, test both ways, activate), a code looked up, an evidence bundle downloaded
from an audit entry and verified offline, the audit log verified by a viewer, in both
languages."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from playwright.sync_api import expect

from adapters.crypto.verify_bundle import verify
from gateway.cli import main
from gateway.federation import free_port, start_peer
from gateway.pb import onboarding_pb2, onboarding_pb2_grpc
from tests.browser.conftest import SG_OPERATOR, Site, start_site
from tests.conftest import Workspace
from tests.integration.onboarding_helpers import CODE, KEY_ID, mint
from tests.integration.test_audit_over_mtls import gateway_public_key

ZH = {"locale": "zh-CN"}


def test_a_code_is_looked_up_from_the_form(site: Site, open_page: Callable[..., Any]) -> None:
    page = open_page()
    page.goto(site.url("/"))
    page.locator("nav a[href='/lookup']").click()
    page.locator("#code").fill("sg 0000-0000-0001")  # as a trader may write it
    page.locator("#direction").select_option("import")
    page.locator("main form[action='/lookup'] button[type='submit']").click()
    answer = page.locator("#answer")
    expect(answer).to_contain_text("Recognised AEO")
    expect(answer).to_contain_text(SG_OPERATOR)
    assert "code=sg" in page.url  # a GET: the answer can be bookmarked


def test_a_code_is_looked_up_in_chinese_as_of_a_local_time(
    site: Site, open_page: Callable[..., Any]
) -> None:
    page = open_page(timezone_id="Asia/Shanghai", **ZH)
    page.goto(site.url("/lookup"))
    expect(page.locator("p.zone")).to_contain_text("Asia/Shanghai")
    page.locator("#code").fill(SG_OPERATOR)
    page.locator("#as_of").fill("2030-01-01T08:00:00")
    page.locator("main form[action='/lookup'] button[type='submit']").click()
    expect(page.locator("#answer")).to_contain_text("互认的经认证的经营者")
    expect(page.locator("#answer time").first).to_have_attribute("title", "2030-01-01 00:00:00 UTC")


@pytest.mark.parametrize("options", [{}, ZH], ids=["en", "zh-Hans"])
def test_an_evidence_bundle_is_downloaded_and_verifies(
    site: Site, open_page: Callable[..., Any], tmp_path: Path, options: dict[str, str]
) -> None:
    page = open_page(**options)
    page.goto(site.url("/audit"))
    page.locator("#kind").select_option("message.received")
    page.locator("main form.audit-filter button[type='submit']").click()
    entry = page.locator("main a[href^='/audit/']").filter(has_text=re.compile(r"^\d+$")).first
    entry.click()
    expect(page).to_have_url(re.compile(r"/audit/\d+$"))
    with page.expect_download() as started:
        page.locator("#evidence-download").click()
    download = started.value
    assert re.fullmatch(r"evidence-SG-\d+-[0-9a-f]{16}\.zip", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    key = load_pem_public_key(gateway_public_key(site.live).read_bytes())
    said: list[str] = []
    with zipfile.ZipFile(saved) as bundle:
        verify(bundle, key, said.append)  # `aeo-gateway audit verify-bundle`: raises if not
    assert said


@pytest.mark.parametrize("options", [{}, ZH], ids=["en", "zh-Hans"])
def test_a_viewer_verifies_the_audit_log(
    site: Site, open_page: Callable[..., Any], options: dict[str, str]
) -> None:
    page = open_page("viewer", **options)
    page.goto(site.url("/audit/verify"))
    page.locator("main form[action='/audit/verify'] button[type='submit']").click()
    result = page.locator("#verify-result")
    expect(result).to_be_visible()
    expect(result).to_have_attribute("role", "status")  # intact: a notice, not an alert


# --- onboarding Chile --------------------------------------------------------------------------


@pytest.fixture
def chile_site(
    workspace: Workspace, browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Site, Any, Path]]:
    """A home gateway with its console, Chile's material (tests/integration/onboarding_helpers)
    with a definition naming Chile's own gateway, and that gateway serving."""
    root = tmp_path_factory.mktemp("chile")
    home, gateway = start_site(workspace, browser, outbound_poll_seconds=0.2)
    chile = mint(home.live.settings, root / "chile")
    peer_port = free_port()
    chile.write(endpoint=f"127.0.0.1:{peer_port}")
    peer = chile.peer(home.live.settings, root / "peer", peer_port, home.live.target)
    peer_gateway = start_peer(peer)
    yield home, chile, peer.settings_file
    home.close()
    peer_gateway.stop(grace=0)
    gateway.stop(grace=0)


def step(page: Any, site: Site, action: str, state: str) -> None:
    """From the partner page: the action's link, its confirmation page, then the partner page
    again in ``state`` with a notice."""
    page.locator(f"main a[href='/partners/{CODE}/{action}']").click()
    expect(page).to_have_url(site.url(f"/partners/{CODE}/{action}"))
    page.locator("#confirm").click()
    expect(page).to_have_url(re.compile(rf"/partners/{CODE}(\?|$)"))
    expect(page.locator("#lifecycle-state")).to_have_class(re.compile(rf"\bstate-{state}\b"))
    expect(page.locator("[role='status']").first).to_be_visible()


def lifecycle(site: Site) -> onboarding_pb2.PartnerLifecycle:
    with site.live.channel("admin") as channel:
        stub = onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel)
        request = onboarding_pb2.GetPartnerLifecycleRequest(name=f"partners/{CODE}/lifecycle")
        shown: onboarding_pb2.PartnerLifecycle = stub.GetPartnerLifecycle(
            request, timeout=10
        ).lifecycle
        return shown


def test_chile_is_onboarded_from_the_form_and_walked_to_active(
    chile_site: tuple[Site, Any, Path],
) -> None:
    site, chile, peer_settings = chile_site
    page = site.context().new_page()
    page.goto(site.url("/"))
    page.locator("main a[href='/partners/new']").click()
    page.locator("#code").fill(CODE)
    page.locator("#definition").fill(chile.definition.read_text())
    page.locator("#attachments").set_input_files(
        [chile.folder / "ca.pem", chile.folder / f"signing-{KEY_ID}.pub.pem"]
    )
    page.locator("main form[action='/partners/new'] button[type='submit']").click()
    expect(page).to_have_url(site.url(f"/partners/{CODE}?done=onboard"))
    expect(page.locator("#lifecycle-state")).to_have_class(re.compile(r"\bstate-draft\b"))
    expect(page.locator("#lifecycle-state")).to_have_text("draft")

    step(page, site, "configure", "configured")
    step(page, site, "test", "testing")  # home -> Chile's gateway: the outbound direction
    main_text = page.locator("main").inner_text().lower()
    assert "outbound" in main_text
    assert "inbound" in main_text  # still to verify
    assert onboarding_pb2.TEST_DIRECTION_OUTBOUND in lifecycle(site).verified_directions

    # Chile's administrator tests its gateway's link to the home gateway: the inbound direction.
    assert main(["--config", str(peer_settings), "partners", "test", "CN"]) == 0
    page.reload()
    step(page, site, "activate", "active")
    shown = lifecycle(site)
    assert shown.state == onboarding_pb2.LIFECYCLE_STATE_ACTIVE
    assert len(shown.verified_directions) == 2

    # The overview lists Chile, active, and the Chinese page names its state in Chinese.
    page.goto(site.url("/"))
    expect(page.locator(f"main a[href='/partners/{CODE}']")).to_be_visible()
    chinese = site.context(**ZH).new_page()
    chinese.goto(site.url(f"/partners/{CODE}"))
    expect(chinese.locator("#lifecycle-state")).to_have_class(re.compile(r"\bstate-active\b"))
    assert chinese.locator("#lifecycle-state").inner_text() != "active"
