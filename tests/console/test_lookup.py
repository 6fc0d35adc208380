"""The recognition lookup page, in front of a real gateway that has received a signed status
message from SG: codes in the forms traders write them, unknown and unreadable codes, a time
before the MRA, several codes at once, both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.console.catalogue_check import page_messages, untranslated
from tests.console.client import ConsoleClient
from tests.console.conftest import LiveConsole
from tests.factories import record
from tests.integration.helpers import partner_client, submit

OPERATOR = "SG000000000001"
#: Effective before SG's MRA entered into force (2013-03-15), so a time before it has a record.
EFFECTIVE = datetime(2012, 1, 1, tzinfo=UTC)


@pytest.fixture
def officer(console: LiveConsole) -> ConsoleClient:
    submit(partner_client(console.live), 1, record(OPERATOR, effective_at=EFFECTIVE))
    return console.client("admin")


def lookup(browser: ConsoleClient, **fields: str) -> str:
    page = browser.get("/lookup?" + urlencode(fields))
    assert page.status == 200, page.text
    return answer_of(page.text)


def answer_of(text: str) -> str:
    found = re.search(r'<section id="answer".*?</section>\s*</article>\s*</section>', text, re.S)
    assert found is not None, "no answer on the page"
    return found.group(0)


def test_the_form_has_its_labelled_fields(console: LiveConsole) -> None:
    page = console.client("admin").get("/lookup")
    assert page.status == 200
    for field in ("code", "codes", "as_of", "direction", "mode"):
        assert f'<label for="{field}">' in page.text
    assert 'type="datetime-local" id="as_of"' in page.text
    assert 'id="answer"' not in page.text


@pytest.mark.parametrize(
    "written", [OPERATOR, "sg 0000-0000-0001", "AEO<SG000000000001>", " sg000000000001 "]
)
def test_a_recognised_operator_in_any_written_form(officer: ConsoleClient, written: str) -> None:
    answer = lookup(officer, code=written, direction="import")
    assert "Recognised AEO" in answer
    assert 'data-outcome="recognised"' in answer
    assert f"<code>{OPERATOR}</code>" in answer  # the normalised code
    assert "Lion City Logistics Pte Ltd" in answer
    assert "STP-Plus" in answer  # the foreign tier
    assert "advanced certified" in answer  # the domestic grade whose treatment applies
    assert '<a href="/partners/SG">SG</a>' in answer
    assert "Secure Trade Partnership" in answer
    assert "Sequence number</dt><dd>1</dd>" in answer  # the basis: the message it rests on
    assert "SG-2026-1" in answer  # the key that signed it
    assert "Ed25519" in answer
    assert "<code>recognised</code>" in answer


def test_without_a_direction_both_are_answered(officer: ConsoleClient) -> None:
    answer = lookup(officer, code=OPERATOR)
    assert answer.count('<section class="direction">') == 2
    assert "Direction: import" in answer
    assert "Direction: export" in answer


def test_an_as_of_before_the_mra_is_not_recognised(officer: ConsoleClient) -> None:
    officer.cookies["aeo_console_tz"] = "Asia/Singapore"
    answer = lookup(officer, code=OPERATOR, as_of="2012-06-01T09:30", direction="import")
    assert "Not recognised" in answer
    assert "<code>mra.not_in_force</code>" in answer
    # 09:30 in Singapore is 01:30 UTC: the time the answer is for, in UTC on hover.
    assert 'datetime="2012-06-01T01:30:00Z"' in answer


def test_an_unknown_operator_is_an_answer(officer: ConsoleClient) -> None:
    answer = lookup(officer, code="SG999999999999", direction="export")
    assert "Unknown operator" in answer
    assert "<code>operator.unknown</code>" in answer
    assert "No stored record underlies this answer." in answer


def test_an_unreadable_code_is_an_answer(officer: ConsoleClient) -> None:
    answer = lookup(officer, code="<script>XX-12</script>", direction="import")
    assert "Code not recognised" in answer
    assert "<code>code.format_unknown</code>" in answer
    assert "<script>" not in answer  # escaped, as everything shown


def test_a_blank_code_and_a_bad_time_are_errors_on_the_form(officer: ConsoleClient) -> None:
    blank = officer.get("/lookup?" + urlencode({"code": "   ", "direction": "import"}))
    assert blank.status == 400
    assert 'role="alert"' in blank.text
    assert 'id="code"' in blank.text  # the form is still there
    bad_time = officer.get("/lookup?" + urlencode({"code": OPERATOR, "as_of": "yesterday"}))
    assert bad_time.status == 400
    assert "is not a date and time" in bad_time.text
    assert 'value="yesterday"' in bad_time.text


def test_several_codes_at_once(officer: ConsoleClient) -> None:
    answer = lookup(officer, codes=f"{OPERATOR}\nSG999999999999\n\nnonsense", direction="import")
    assert answer.count('<article class="recognition">') == 3
    assert "Recognised AEO" in answer
    assert "Unknown operator" in answer
    assert "Code not recognised" in answer


def test_the_answer_in_chinese(officer: ConsoleClient) -> None:
    page = officer.get(
        "/lookup?" + urlencode({"code": OPERATOR, "direction": "import"}),
        **{"Accept-Language": "zh-CN"},
    )
    assert page.status == 200
    answer = answer_of(page.text)
    assert "经认证的经营者" in answer
    assert "依据" in answer
    for english in ("Recognised AEO", "Declared code", "Basis", "Benefits", "Direction"):
        assert english not in page.text


def test_every_string_of_the_page_is_translated() -> None:
    mine = page_messages("lookup")
    assert len(mine) > 60
    assert untranslated(mine) == []


def test_the_hint_shows_the_wrapped_form_as_text(console: LiveConsole) -> None:
    page = console.client("admin").get("/lookup")
    assert "AEO&lt;SG201912345678&gt;" in page.text
