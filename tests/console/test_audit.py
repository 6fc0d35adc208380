"""The messages-and-audit pages in front of a real gateway over real HTTPS: SG's messages and an
admin action in the log, listed with filters and a page at a time; one received message with its
raw content, signature, receipt and chain proof; its evidence bundle downloaded and verified
offline; the chain verified from the page; both languages."""

from __future__ import annotations

import http.client
import io
import re
import ssl
import zipfile
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from adapters.crypto.verify_bundle import verify
from gateway.client import AdminClient
from gateway.console import evidence
from gateway.pb import common_pb2
from tests.console.catalogue_check import page_messages, untranslated
from tests.console.client import ConsoleClient
from tests.console.conftest import LiveConsole
from tests.factories import record
from tests.integration.helpers import envelope, partner_client
from tests.integration.test_audit_over_mtls import gateway_public_key, sql

#: SG's messages: the log's positions 1..MESSAGES, then the admin action at MESSAGES + 1.
MESSAGES = 5
ZH = {"Accept-Language": "zh-CN"}


@dataclass
class Logged:
    console: LiveConsole
    payloads: list[bytes]

    @property
    def admin(self) -> ConsoleClient:
        return self.console.client("admin")


@pytest.fixture
def logged(console: LiveConsole) -> Logged:
    live = console.live
    client = partner_client(live)
    payloads = []
    for sequence in range(1, MESSAGES + 1):
        sealed = envelope(client.signer, "SG", sequence, record(version=sequence))
        client.submit_envelope(sealed)
        payloads.append(sealed.payload)
    with live.channel("admin") as channel:
        AdminClient(channel).set_programme_state(
            "SG", common_pb2.PROGRAMME_STATE_SUSPENDED, "audit findings"
        )
    return Logged(console, payloads)


def positions(text: str) -> list[int]:
    """The positions of the entries a list page shows, in order."""
    return [
        int(n) for n in re.findall(r'<th scope="row" class="num"><a href="/audit/(\d+)">', text)
    ]


def listed(browser: ConsoleClient, **query: str) -> str:
    page = browser.get("/audit?" + urlencode(query))
    assert page.status == 200, page.text
    return page.text


def test_the_log_is_listed_with_its_labelled_filters(logged: Logged) -> None:
    text = listed(logged.admin)
    for field in ("partner", "kind", "since", "until"):
        assert f'<label for="{field}">' in text
    assert 'type="datetime-local" id="since" name="since"' in text
    assert '<option value="SG">SG</option>' in text
    assert '<option value="message.received">message received</option>' in text
    assert positions(text) == list(range(1, MESSAGES + 2))
    assert '<a href="/audit/1">Entry 1</a>' in text
    assert "partner SG" in text  # the actor of a received message
    first = re.search(r'<code title="([0-9a-f]{64})">([0-9a-f]{12})…</code>', text)
    assert first is not None
    assert first.group(1).startswith(first.group(2))  # shortened, the whole on hover
    assert "CN admin system" in text  # the administrator who acted
    assert 'id="next-page"' not in text


def test_filters_by_kind_and_partner(logged: Logged) -> None:
    browser = logged.admin
    assert positions(listed(browser, kind="admin.action")) == [MESSAGES + 1]
    assert positions(listed(browser, partner="SG")) == list(range(1, MESSAGES + 1))
    selected = listed(browser, partner="SG", kind="message.received")
    assert '<option value="SG" selected>' in selected  # the form keeps the filters
    assert '<option value="message.received" selected>' in selected
    assert "No entries match these filters." in listed(browser, kind="receipt.received")


def test_pages_follow_each_other_and_keep_the_filters(logged: Logged) -> None:
    browser = logged.admin
    seen: list[int] = []
    path = "/audit?" + urlencode({"partner": "SG", "page_size": "2"})
    while path:
        page = browser.get(path)
        assert page.status == 200, page.text
        seen += positions(page.text)
        found = re.search(r'<a href="([^"]+)" id="next-page"', page.text)
        path = found.group(1).replace("&amp;", "&") if found else ""
        if path:
            assert "partner=SG" in path
            assert "page_size=2" in path
            assert "page_token=" in path
    assert seen == list(range(1, MESSAGES + 1))


def test_times_are_read_in_the_users_zone(logged: Logged) -> None:
    browser = logged.admin
    browser.cookies["aeo_console_tz"] = "Asia/Singapore"
    assert positions(listed(browser, since="2000-01-01T00:00")) == list(range(1, MESSAGES + 2))
    assert positions(listed(browser, until="2000-01-01T00:00")) == []
    assert positions(listed(browser, since="2999-01-01T08:00")) == []
    assert "Times in Asia/Singapore" in listed(browser)


def test_filters_that_are_none_are_said_on_the_form(logged: Logged) -> None:
    browser = logged.admin
    backwards = browser.get(
        "/audit?" + urlencode({"since": "2026-02-01T00:00", "until": "2026-01-01T00:00"})
    )
    assert backwards.status == 400
    assert 'role="alert"' in backwards.text
    assert "<code>audit.filter_invalid</code>" in backwards.text
    assert 'value="2026-02-01T00:00"' in backwards.text  # still filled in
    bad_time = browser.get("/audit?" + urlencode({"since": "<b>yesterday</b>"}))
    assert bad_time.status == 400
    assert "is not a date and time" in bad_time.text
    assert "<b>yesterday</b>" not in bad_time.text  # escaped, as everything shown
    assert browser.get("/audit?kind=nonsense").status == 400
    assert browser.get("/audit?page_token=forged").status == 400


def test_a_received_message_with_its_content_signature_receipt_and_proof(
    logged: Logged,
) -> None:
    page = logged.admin.get("/audit/1")
    assert page.status == 200, page.text
    text = page.text
    assert "<h1>Audit entry 1</h1>" in text
    assert 'id="entry"' in text
    assert "message received" in text
    assert "&#34;wire_format&#34;" in text or "&quot;wire_format&quot;" in text  # detail_json
    # The raw bytes exactly as SG sent them (native wire format: protobuf, shown as hex).
    shown = evidence.content(logged.payloads[0])
    assert not shown.is_text
    assert f'<pre id="message-content" tabindex="0">{shown.text}</pre>' in text
    assert re.search(r'<pre id="signature" tabindex="0">[0-9a-f ]{100,}</pre>', text)
    assert "this gateway" in text  # who signed the receipt
    assert re.search(r'<pre id="receipt-signature" tabindex="0">[0-9a-f ]{100,}</pre>', text)
    assert 'id="receipt"' in text
    assert 'id="chain-proof"' in text
    assert 'id="checkpoint"' in text
    assert 'id="proof-reaches"' in text
    assert "The proof ends at the entry" in text
    assert '<span class="stale">' not in text  # every link of the proof holds
    assert 'id="evidence-download" href="/audit/1/evidence"' in text


def download(browser: ConsoleClient, path: str) -> tuple[int, dict[str, str], bytes]:
    """The raw bytes of a download (the console client reads pages as text)."""
    context = ssl.create_default_context(cafile=str(browser.ca))
    assert browser.cert is not None
    assert browser.key is not None
    context.load_cert_chain(browser.cert, browser.key)
    connection = http.client.HTTPSConnection("localhost", browser.port, context=context)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def test_the_evidence_bundle_downloads_and_verifies_offline(logged: Logged) -> None:
    status, headers, bundle = download(logged.admin, "/audit/2/evidence")
    assert status == 200
    assert headers["content-type"] == "application/zip"
    assert re.fullmatch(
        r'attachment; filename="evidence-SG-2-[0-9a-f]{16}\.zip"', headers["content-disposition"]
    )
    key = load_pem_public_key(gateway_public_key(logged.console.live).read_bytes())
    said: list[str] = []
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        verify(archive, key, said.append)  # raises BundleInvalid if anything fails
        assert archive.read("message.bin") == logged.payloads[1]
    assert said


def test_an_admin_action_has_no_evidence(logged: Logged) -> None:
    browser = logged.admin
    page = browser.get(f"/audit/{MESSAGES + 1}")
    assert page.status == 200
    assert "administrator action" in page.text
    assert "/aeo.gateway.v1.AdminService/SetProgrammeState" in page.text
    assert '"status": "OK"' in page.text.replace("&#34;", '"')  # pretty-printed detail
    assert 'id="evidence"' not in page.text
    refused = browser.get(f"/audit/{MESSAGES + 1}/evidence")
    assert refused.status == 404
    assert "console.no_evidence" in refused.text


def test_an_unknown_position_is_not_found(logged: Logged) -> None:
    page = logged.admin.get("/audit/999")
    assert page.status == 404
    assert "audit.entry_unknown" in page.text
    assert logged.admin.get("/audit/999/evidence").status == 404


def test_a_viewer_reads_the_log_and_verifies_it(logged: Logged) -> None:
    viewer = logged.console.client("viewer")
    assert positions(listed(viewer)) == list(range(1, MESSAGES + 2))
    assert viewer.get("/audit/1").status == 200
    status, _headers, _bundle = download(viewer, "/audit/1/evidence")
    assert status == 200
    form = viewer.get("/audit/verify")
    result = viewer.post("/audit/verify", {}, token_from=form)
    assert result.status == 200
    assert 'id="verify-result" data-ok="true"' in result.text


def test_verify_shows_an_intact_log(logged: Logged) -> None:
    browser = logged.admin
    form = browser.get("/audit/verify")
    assert form.status == 200
    assert '<button type="submit" id="verify">' in form.text
    assert 'id="verify-result"' not in form.text
    result = browser.post("/audit/verify", {}, token_from=form)
    assert result.status == 200
    assert 'role="status" id="verify-result" data-ok="true"' in result.text
    assert "The audit log is intact." in result.text
    assert f'<dd id="verify-head">{MESSAGES + 1}</dd>' in result.text
    assert f'<dd id="verify-entries">{MESSAGES + 1}</dd>' in result.text


def test_verify_names_the_first_broken_entry(logged: Logged) -> None:
    sql(logged.console.live, "UPDATE audit_entries SET digest = ? WHERE position = 2", ("0" * 64,))
    browser = logged.admin
    result = browser.post("/audit/verify", {}, token_from=browser.get("/audit/verify"))
    assert result.status == 200
    assert 'role="alert" id="verify-result" data-ok="false"' in result.text
    assert "The audit log is broken at entry 2." in result.text
    assert "<code>edited</code>" in result.text


def test_verify_needs_the_forms_csrf_token(logged: Logged) -> None:
    refused = logged.admin.post("/audit/verify", {})
    assert refused.status == 400
    assert "console.csrf" in refused.text


@pytest.mark.parametrize(
    ("path", "english"),
    [
        ("/audit", ("Messages and audit", "Kind", "Audit entries", "message received")),
        ("/audit/1", ("Audit entry", "Raw message", "Chain proof", "Receipt", "Signature")),
        ("/audit/verify", ("Verify the audit log", "Verify now")),
    ],
)
def test_the_pages_in_chinese(logged: Logged, path: str, english: tuple[str, ...]) -> None:
    page = logged.admin.get(path, **ZH)
    assert page.status == 200, page.text
    assert 'lang="zh-Hans"' in page.text
    assert "审计" in page.text
    for text in english:
        assert text not in page.text


def test_the_verify_result_in_chinese(logged: Logged) -> None:
    browser = logged.admin
    browser.cookies["aeo_console_lang"] = "zh-Hans"
    result = browser.post("/audit/verify", {}, token_from=browser.get("/audit/verify"))
    assert "审计日志完整" in result.text
    assert "The audit log is intact." not in result.text


def test_every_string_of_the_pages_is_translated() -> None:
    mine = page_messages("audit")
    assert len(mine) > 60
    assert untranslated(mine) == []
