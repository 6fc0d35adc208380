"""The partner page and its actions, in front of a real gateway that has received a signed
status message from SG: the definition, keys and certificates with their expiry, the exchange
state, messages in and the reconciliation digest, in both languages; suspend, resume, request
a snapshot and retire, each behind its confirmation page, with the effect seen through the
gateway; CSRF refusal; an unknown partner."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from gateway import protomap
from gateway.client import AdminClient
from gateway.pb import common_pb2, keys_pb2, keys_pb2_grpc, onboarding_pb2, onboarding_pb2_grpc
from tests.console.catalogue_check import page_messages, untranslated
from tests.console.client import ConsoleClient, Page
from tests.console.conftest import LiveConsole
from tests.factories import record
from tests.integration.helpers import partner_client, receipt_of, submit
from tests.integration.test_signing_keys import new_key

CHINESE = {"Accept-Language": "zh-CN"}


@pytest.fixture
def admin(console: LiveConsole) -> ConsoleClient:
    submit(partner_client(console.live), 1, record())
    return console.client("admin")


def lifecycle_state(page: Page) -> tuple[str, str]:
    """The state's English word (its class) and the text shown."""
    found = re.search(
        r'<span id="lifecycle-state" class="state state-(\w+)">([^<]*)</span>', page.text
    )
    assert found is not None, "no lifecycle state on the page"
    return found.group(1), found.group(2)


def confirmed(browser: ConsoleClient, path: str, **form: str) -> Page:
    """Opens the confirmation page, then confirms: the redirect's target."""
    confirmation = browser.get(path)
    assert confirmation.status == 200, confirmation.text
    assert '<button type="submit" id="confirm"' in confirmation.text
    done = browser.post(path, form, token_from=confirmation)
    assert done.status == 303, done.text
    location = done.headers["location"]
    return browser.get(location[location.index("/partners/") :])


def test_the_page_shows_the_definition_keys_state_and_messages(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    page = admin.get("/partners/SG")
    assert page.status == 200
    text = page.text
    assert lifecycle_state(page) == ("active", "active")
    assert "Secure Trade Partnership" in text
    assert "2013-03-15" in text  # MRA in force
    assert "STP-Plus" in text
    assert "advanced certified" in text
    assert "<code>SG[0-9]{12}</code>" in text
    assert "<code>native</code>" in text
    assert "<code>SG-2026-1</code>" in text  # the signing key
    anchor = console.live.gateway.directory.current().trust_anchors["SG"]
    assert b"BEGIN CERTIFICATE" in anchor
    assert "CN=SG customs simulated CA,O=Singapore" in text
    assert re.search(r"<code>[0-9a-f]{64}</code>", text)  # its fingerprint
    assert '<a href="/audit/1">#1</a>' in text  # the message received, linked to its entry
    assert "SG-1-" in text
    with console.live.channel("admin") as channel:
        digest = AdminClient(channel).reconciliation("SG").sha256.hex()
    assert digest in text
    for action in ("test", "suspend", "retire", "snapshot"):
        assert f'id="action-{action}" href="/partners/SG/{action}"' in text
    assert 'id="action-resume"' not in text  # not suspended
    assert 'id="action-configure"' not in text  # long past draft


def test_the_page_in_chinese(admin: ConsoleClient) -> None:
    page = admin.get("/partners/SG", **CHINESE)
    assert page.status == 200
    assert lifecycle_state(page) == ("active", "已上线")
    for chinese in ("报文签名密钥", "对账摘要", "最近接收的报文", "互认安排生效日期", "暂停"):
        assert chinese in page.text
    for english in ("Keys and certificates", "Reconciliation digest", "Definition", "Suspend"):
        assert english not in page.text


def test_a_key_expiring_soon_and_an_expired_one_are_marked(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    now = datetime.now(UTC)
    _signer, soon = new_key("SG-SOON", not_before=now - timedelta(days=1))
    protomap.set_timestamp(soon.not_after, now + timedelta(days=10))
    _signer, old = new_key("SG-OLD", not_before=now - timedelta(days=9))
    protomap.set_timestamp(old.not_after, now - timedelta(days=2))
    with console.live.channel("admin") as channel:
        stub = keys_pb2_grpc.KeyManagementServiceStub(channel)
        for key in (soon, old):
            stub.AddPartnerSigningKey(
                keys_pb2.AddPartnerSigningKeyRequest(parent="partners/SG", key=key), timeout=10
            )
    text = admin.get("/partners/SG").text
    rows = {
        m.group(2): m.group(1)
        for m in re.finditer(
            r'<tr class="validity-([\w-]+)">\s*<th scope="row"><code>([^<]+)</code>', text
        )
    }
    assert rows == {"SG-2026-1": "valid", "SG-SOON": "expiring", "SG-OLD": "expired"}
    assert "expires within 30 days" in text


def test_suspend_and_resume_with_a_reason_on_the_confirmation_page(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    confirmation = admin.get("/partners/SG/suspend")
    assert '<label for="reason">' in confirmation.text
    refused = admin.post("/partners/SG/suspend", {"reason": "  "}, token_from=confirmation)
    assert refused.status == 400
    assert 'role="alert"' in refused.text  # a reason is required: said on the page
    with console.live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").programme.state == (
            common_pb2.PROGRAMME_STATE_ACTIVE
        )

    page = confirmed(admin, "/partners/SG/suspend", reason="audit findings")
    assert '<div class="notice" role="status" id="notice">' in page.text
    assert "programme is suspended." in page.text
    assert lifecycle_state(page) == ("suspended", "suspended")
    assert "audit findings" in page.text
    with console.live.channel("admin") as channel:
        programme = AdminClient(channel).partner_state("SG").programme
    assert (programme.state, programme.reason) == (
        common_pb2.PROGRAMME_STATE_SUSPENDED,
        "audit findings",
    )
    assert 'id="action-resume"' in page.text
    assert 'id="action-suspend"' not in page.text

    page = confirmed(admin, "/partners/SG/resume", reason="findings closed")
    assert lifecycle_state(page) == ("active", "active")
    with console.live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").programme.state == (
            common_pb2.PROGRAMME_STATE_ACTIVE
        )


def test_a_notice_of_suspension_is_withdrawn_by_resuming(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    with console.live.channel("admin") as channel:
        AdminClient(channel).set_programme_state(
            "SG", common_pb2.PROGRAMME_STATE_NOTICE_OF_SUSPENSION, "review", timedelta(days=60)
        )
    page = admin.get("/partners/SG")
    assert lifecycle_state(page) == ("active", "active")  # benefits apply until it takes effect
    assert "suspended from" in page.text
    assert 'id="action-resume"' in page.text
    assert 'id="action-suspend"' in page.text  # suspending now is still possible

    confirmation = admin.get("/partners/SG/resume", **CHINESE)
    assert 'id="not-applicable"' not in confirmation.text
    assert "暂停互认通知随之撤回" in confirmation.text
    page = confirmed(admin, "/partners/SG/resume", reason="review closed")
    assert "programme is resumed." in page.text
    assert 'id="action-resume"' not in page.text
    with console.live.channel("admin") as channel:
        programme = AdminClient(channel).partner_state("SG").programme
    assert (programme.state, programme.HasField("suspends_at")) == (
        common_pb2.PROGRAMME_STATE_ACTIVE,
        False,
    )


def test_a_snapshot_request_reaches_the_partners_next_receipt(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    page = confirmed(admin, "/partners/SG/snapshot")
    assert "A snapshot is requested" in page.text
    assert "receipts ask for one" in page.text
    receipt = receipt_of(console.live, submit(partner_client(console.live), 2, record(version=2)))
    assert receipt.needs_snapshot


def test_retire_for_good(admin: ConsoleClient, console: LiveConsole) -> None:
    confirmation = admin.get("/partners/SG/retire", **CHINESE)
    assert "不可撤销" in confirmation.text
    assert 'class="danger"' in confirmation.text
    page = confirmed(admin, "/partners/SG/retire", reason="MRA terminated")
    assert lifecycle_state(page) == ("retired", "retired")
    assert 'id="actions-heading"' not in page.text  # nothing left to do
    with console.live.channel("admin") as channel:
        life = onboarding_pb2_grpc.PartnerOnboardingServiceStub(channel).GetPartnerLifecycle(
            onboarding_pb2.GetPartnerLifecycleRequest(name="partners/SG/lifecycle"), timeout=10
        )
    assert life.lifecycle.state == onboarding_pb2.LIFECYCLE_STATE_RETIRED
    assert life.lifecycle.events[-1].reason == "MRA terminated"


def test_an_action_without_the_forms_token_is_refused(
    admin: ConsoleClient, console: LiveConsole
) -> None:
    admin.get("/partners/SG/suspend")  # a session, but the form's token is not sent
    refused = admin.post("/partners/SG/suspend", {"reason": "forged"})
    assert refused.status == 400
    assert "console.csrf" in refused.text
    with console.live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").programme.state == (
            common_pb2.PROGRAMME_STATE_ACTIVE
        )


def test_an_action_the_state_does_not_allow_says_so_and_the_gateway_refuses_it(
    admin: ConsoleClient,
) -> None:
    confirmation = admin.get("/partners/SG/activate")  # SG is active already
    assert 'id="not-applicable"' in confirmation.text
    refused = admin.post("/partners/SG/activate", {}, token_from=confirmation)
    assert refused.status == 409
    assert "lifecycle.transition_invalid" in refused.text


def test_an_unknown_partner_or_action_is_a_404_page(admin: ConsoleClient) -> None:
    for path in ("/partners/ZZ", "/partners/ZZ/suspend", "/partners/SG/explode"):
        page = admin.get(path)
        assert page.status == 404, path
        assert 'role="alert"' in page.text
    assert "partner.not_found" in admin.get("/partners/ZZ").text


def test_every_string_of_the_pages_is_translated() -> None:
    mine = set().union(*(page_messages(p) for p in ("partner", "partner_actions", "partner_new")))
    assert len(mine) > 150
    assert untranslated(mine) == []


def test_a_viewer_sees_the_partner_but_no_action(console: LiveConsole) -> None:
    viewer = console.client("viewer")
    page = viewer.get("/partners/SG")
    assert page.status == 200
    assert lifecycle_state(page) == ("active", "active")
    assert 'id="actions-heading"' not in page.text
    assert 'id="action-' not in page.text


def test_a_viewers_action_is_refused_by_the_gateway(console: LiveConsole) -> None:
    viewer = console.client("viewer")
    confirmation = viewer.get("/partners/SG/suspend")
    refused = viewer.post("/partners/SG/suspend", {"reason": "not mine"}, token_from=confirmation)
    assert refused.status == 403
    assert "role.read_only" in refused.text
    with console.live.channel("admin") as channel:
        assert AdminClient(channel).partner_state("SG").programme.state == (
            common_pb2.PROGRAMME_STATE_ACTIVE
        )
