"""How a declared code is read, through a real server over mutual TLS (issue 6, finding 10)."""

from __future__ import annotations

import pytest

from gateway.pb import recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import partner_client, receipt_of, recognition_client, submit

RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
UNKNOWN_OPERATOR = recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR
CODE_FORMAT_UNKNOWN = recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN

FULL_WIDTH = "".join(chr(ord(c) + 0xFEE0) for c in "SG000000000001")


@pytest.fixture
def seeded(live: Live) -> Live:
    """SG has sent one recognised STP-Plus operator, SG000000000001."""
    submit(partner_client(live), 1, record())
    return live


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param("\u017fg000000000001", id="long s"),
        pytest.param("\u017fG000000000001", id="long s, capital G"),
        pytest.param("SG00000\x1c0000001", id="file separator"),
        pytest.param("SG00000\x850000001", id="next line"),
        pytest.param("SG00000\x000000001", id="NUL"),
        pytest.param("SG000000000001\n", id="trailing line feed"),
        pytest.param("SG00000\u200b0000001", id="zero-width space"),
        pytest.param("SG 0000\u00a00000 0001", id="no-break space"),
        pytest.param("SG00000000000\u00b9", id="superscript one"),
    ],
)
def test_a_real_operator_is_not_recognised_through_a_lossy_fold(
    seeded: Live, declared: str
) -> None:
    """A domestic system asks about the recognised SG operator spelt with a long s, or with a
    control or invisible character between its digits. Result: CODE_FORMAT_UNKNOWN
    code.format_unknown, alone and in a batch; the code echoed as sent, nothing normalised, no
    operator named."""
    client = recognition_client(seeded)
    for answer in (client.recognise(declared), *client.recognise_many([declared])):
        assert (answer.outcome, answer.reason) == (CODE_FORMAT_UNKNOWN, "code.format_unknown")
        assert (answer.declared_code, answer.normalised_code) == (declared, "")
        assert (answer.administration, answer.operator_name) == ("", "")
        assert not answer.HasField("basis")


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(FULL_WIDTH, id="full width"),
        pytest.param(FULL_WIDTH.lower(), id="full width, lower case"),
        pytest.param("sg-0000-0000-0001", id="hyphen-minus"),
        pytest.param("SG\u20130000\u20140000\u22120001", id="en dash, em dash, minus sign"),
        pytest.param("SG\uff0d0000\uff0e0000\u30000001", id="full-width dash, dot, space"),
        pytest.param("SG.0000.0000.0001", id="dots"),
        pytest.param("AEO<SG 0000-0000-0001>", id="legacy wrapper"),
    ],
)
def test_a_real_operator_is_recognised_as_people_type_its_code(seeded: Live, declared: str) -> None:
    """A domestic system asks about the recognised SG operator typed full width or with
    spaces, dashes and dots. Result: recognised, normalised to SG000000000001."""
    answer = recognition_client(seeded).recognise(declared)
    assert (answer.outcome, answer.normalised_code) == (RECOGNISED, "SG000000000001")
    assert (answer.declared_code, answer.administration) == (declared, "SG")


def test_a_batch_with_a_blank_code_answers_every_code(seeded: Live) -> None:
    """One batch: the recognised operator, an empty code, an unknown operator, a code of spaces
    and dashes only, the operator spelt with a long s. Result: five answers in request order;
    the blank ones CODE_FORMAT_UNKNOWN code.empty, the others as they would be alone."""
    codes = ["SG000000000001", "", "SG999999999999", " \u3000- ", "\u017fg000000000001"]
    answers = recognition_client(seeded).recognise_many(codes)
    assert [(a.declared_code, a.normalised_code, a.outcome, a.reason) for a in answers] == [
        ("SG000000000001", "SG000000000001", RECOGNISED, "recognised"),
        ("", "", CODE_FORMAT_UNKNOWN, "code.empty"),
        ("SG999999999999", "SG999999999999", UNKNOWN_OPERATOR, "operator.unknown"),
        (" \u3000- ", "", CODE_FORMAT_UNKNOWN, "code.empty"),
        ("\u017fg000000000001", "", CODE_FORMAT_UNKNOWN, "code.format_unknown"),
    ]


def test_a_partner_cannot_store_an_identifier_only_a_lossy_fold_would_match(live: Live) -> None:
    """SG sends its operator as long-s g... and with a next-line control between the digits,
    and a third in full width. Result: the first ignored with record.identifier_invalid, the
    second with record.field_invalid (a control character, named in the receipt as U+FFFD),
    the third stored in declared form; the declared code of the first two is unknown."""
    odd = ["\u017fg000000000001", "SG00000\x850000002"]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "SG000000000003")
    receipt = receipt_of(
        live, submit(partner_client(live), 1, *(record(i) for i in odd), record(full_width))
    )
    assert receipt.records_applied == 1
    assert [(i.identifier, i.reason) for i in receipt.ignored_records] == [
        (odd[0], "record.identifier_invalid"),
        ("SG00000\ufffd0000002", "record.field_invalid"),
    ]
    answers = recognition_client(live).recognise_many(
        ["SG000000000001", "SG000000000002", "SG000000000003"]
    )
    assert [a.outcome for a in answers] == [UNKNOWN_OPERATOR, UNKNOWN_OPERATOR, RECOGNISED]
