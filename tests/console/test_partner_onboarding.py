"""A new partner brought live from the browser: Chile (tests.integration.onboarding_helpers,
its own PKI and its own gateway as the peer) onboarded through /partners/new with its
definition and trust files, then configured, tested and activated on its page, each step
confirmed; the inbound test is Chile's test message over gRPC. And a definition the gateway
refuses is shown on the form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.bootstrap import Gateway
from gateway.client import connect
from gateway.federation import free_port, start_peer
from gateway.pb import exchange_pb2, exchange_pb2_grpc, onboarding_pb2, onboarding_pb2_grpc
from tests.console.client import ConsoleClient, Page
from tests.console.conftest import LiveConsole
from tests.console.test_partner import confirmed, lifecycle_state
from tests.integration.onboarding_helpers import CODE, KEY_ID, Chile, mint


def post_multipart(
    browser: ConsoleClient,
    path: str,
    fields: dict[str, str],
    files: list[tuple[str, bytes]],
    token_from: Page,
) -> Page:
    """A multipart/form-data POST as a browser sends the form (files in field attachments)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in {"csrf_token": token_from.csrf_token, **fields}.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for filename, content in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="{filename}"\r\nContent-Type: application/x-pem-file\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return browser.request(
        "POST",
        path,
        body,
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": f"https://localhost:{browser.port}/",
        },
    )


@pytest.fixture
def chile(console: LiveConsole, tmp_path: Path) -> Iterator[Chile]:
    """Chile's PKI and definition (endpoint: its own gateway, serving)."""
    live = console.live
    minted = mint(live.settings, tmp_path / "chile")
    peer_port = free_port()
    minted.write(endpoint=f"127.0.0.1:{peer_port}")
    peer_workspace = minted.peer(
        live.settings, tmp_path / "peer", peer_port, f"127.0.0.1:{live.gateway.port}"
    )
    peer: Gateway = start_peer(peer_workspace)
    yield minted
    peer.stop(grace=0)


def trust_files(chile: Chile) -> list[tuple[str, bytes]]:
    names = ("ca.pem", f"signing-{KEY_ID}.pub.pem")
    return [(name, (chile.folder / name).read_bytes()) for name in names]


def test_chile_is_onboarded_and_walked_to_active_from_the_browser(
    console: LiveConsole, chile: Chile
) -> None:
    browser = console.client("admin")
    form = browser.get("/partners/new")
    for field in ("code", "definition", "attachments"):
        assert f'<label for="{field}">' in form.text
    assert '<textarea id="definition"' in form.text
    assert '<input type="file" id="attachments" name="attachments" multiple' in form.text
    onboarded = post_multipart(
        browser,
        "/partners/new",
        {"code": "cl", "definition": chile.definition.read_text()},
        trust_files(chile),
        form,
    )
    assert onboarded.status == 303, onboarded.text
    assert onboarded.headers["location"].endswith("/partners/CL?done=onboard")
    page = browser.get("/partners/CL?done=onboard")
    assert lifecycle_state(page) == ("draft", "draft")
    assert "The partner is onboarded as a draft." in page.text
    assert "CN=CL customs simulated CA" in page.text  # its trust anchor, from the attachment

    page = confirmed(browser, "/partners/CL/configure")
    assert lifecycle_state(page) == ("configured", "configured")

    page = confirmed(browser, "/partners/CL/test")  # this gateway -> Chile's, receipt verified
    assert lifecycle_state(page) == ("testing", "testing")
    result = re.search(r'<p id="test-result">(.*?)</p>', page.text, re.S)
    assert result is not None
    assert "Outbound test passed." in result.group(1)
    assert "inbound (the partner to this gateway)" in page.text  # still to verify
    assert 'id="action-activate"' in page.text

    # Chile's gateway tests its side: a signed test message into this gateway.
    with connect(console.live.target, chile.calling(console.live.settings)) as channel:
        exchange_pb2_grpc.PartnerExchangeServiceStub(channel).SubmitTestMessage(
            exchange_pb2.SubmitTestMessageRequest(envelope=chile.envelope(1)), timeout=10
        )

    page = confirmed(browser, "/partners/CL/activate")
    assert lifecycle_state(page) == ("active", "active")
    assert "The partner is active." in page.text
    with console.live.channel("admin") as channel:
        life = onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel).GetPartnerLifecycle(
            onboarding_pb2.GetPartnerLifecycleRequest(name=f"partners/{CODE}/lifecycle"),
            timeout=10,
        )
    transitions = [
        e.state
        for e in life.lifecycle.events
        if e.kind == onboarding_pb2.LIFECYCLE_EVENT_KIND_TRANSITION
    ]
    assert transitions == [
        onboarding_pb2.LIFECYCLE_STATE_DRAFT,
        onboarding_pb2.LIFECYCLE_STATE_CONFIGURED,
        onboarding_pb2.LIFECYCLE_STATE_TESTING,
        onboarding_pb2.LIFECYCLE_STATE_ACTIVE,
    ]
    assert "CN admin system" in life.lifecycle.events[0].actor  # the console's user


def test_a_refused_definition_is_shown_on_the_form_with_what_was_typed(
    console: LiveConsole, chile: Chile
) -> None:
    browser = console.client("admin")
    form = browser.get("/partners/new", **{"Accept-Language": "zh-CN"})
    assert "合作海关代码" in form.text
    broken = chile.definition.read_text().replace('programme = "', 'programme = 7 # "')
    refused = post_multipart(
        browser, "/partners/new", {"code": "CL", "definition": broken}, [], form
    )
    assert refused.status == 400
    assert 'role="alert"' in refused.text
    assert "onboarding.definition_invalid" in refused.text
    assert 'value="CL"' in refused.text
    assert "programme = 7" in refused.text  # the definition kept, escaped in the textarea

    no_code = post_multipart(browser, "/partners/new", {"code": " ", "definition": ""}, [], form)
    assert no_code.status == 400
    assert 'id="form-error"' in no_code.text

    # Onboarded once, a second time is ALREADY_EXISTS, on the form.
    post_multipart(
        browser,
        "/partners/new",
        {"code": "CL", "definition": chile.definition.read_text()},
        trust_files(chile),
        form,
    )
    again = post_multipart(
        browser,
        "/partners/new",
        {"code": "CL", "definition": chile.definition.read_text()},
        trust_files(chile),
        form,
    )
    assert again.status == 409
    assert "onboarding.partner_exists" in again.text


def test_onboarding_without_the_forms_token_is_refused(console: LiveConsole) -> None:
    browser = console.client("admin")
    form = browser.get("/partners/new")
    forged = Page(200, 'name="csrf_token" value="forged"', {})
    answer = post_multipart(browser, "/partners/new", {"code": "CL"}, [], forged)
    assert answer.status == 400
    assert "console.csrf" in answer.text
    assert form.status == 200
    assert browser.get("/partners/CL").status == 404
