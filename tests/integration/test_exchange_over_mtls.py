"""A partner submits signed status over mutual TLS; a domestic system asks about operators."""

from __future__ import annotations

from datetime import timedelta

from gateway.client import EXPORT, IMPORT, AdminClient
from gateway.domain.records import RecordStatus
from gateway.pb import common_pb2, recognition_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import (
    envelope,
    now,
    partner_client,
    receipt_of,
    recognition_client,
    submit,
)

RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
NOT_RECOGNISED = recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
UNKNOWN_OPERATOR = recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR
CODE_FORMAT_UNKNOWN = recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN


def test_partner_submission_is_stored_and_answered_with_a_signed_receipt(live: Live) -> None:
    """SG submits two records over mTLS. Result: a receipt signed by the gateway counting both,
    and the domestic system sees the STP-Plus operator recognised with its basis."""
    response = submit(partner_client(live), 1, record(), record("SG000000000002", tier="STP"))
    receipt = receipt_of(live, response)
    assert (receipt.partner, receipt.sequence, receipt.records_applied) == ("partners/SG", 1, 2)
    assert not response.duplicate

    answer = recognition_client(live).recognise("SG000000000001")
    assert answer.outcome == RECOGNISED
    assert (answer.administration, answer.tier, answer.treatment) == (
        "SG",
        "STP-Plus",
        "advanced certified",
    )
    assert answer.status == common_pb2.RECORD_STATUS_VALID
    assert answer.grade_scheme == "Decree 282"
    assert "inspection.reduced" in answer.benefits
    assert answer.direction == IMPORT
    assert answer.basis.message_id == receipt.message_id
    assert answer.basis.key_id == "SG-2026-1"
    assert answer.basis.algorithm == common_pb2.SIGNATURE_ALGORITHM_ED25519
    assert answer.partner_data_received_at == receipt.received_at

    other = recognition_client(live).recognise("SG000000000002")
    assert (other.outcome, other.reason) == (NOT_RECOGNISED, "tier.not_recognised")


def test_korean_partner_signs_with_ecdsa_and_is_recognised(live: Live) -> None:
    """KR submits an AAA operator signed with its ECDSA P-256 key. Result: recognised."""
    kr = record("KR1234567890", tier="AAA")
    receipt = receipt_of(live, submit(partner_client(live, "KR"), 1, kr))
    assert receipt.records_applied == 1
    answer = recognition_client(live).recognise("kr 1234567890")
    assert answer.outcome == RECOGNISED
    assert answer.basis.algorithm == common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256


def test_an_mra_covering_both_directions_recognises_exports_too(live: Live) -> None:
    """SG's MRA covers imports and exports; a declaration system asks about an export. Result:
    recognised, the answer naming the export direction."""
    submit(partner_client(live), 1, record())
    answer = recognition_client(live).recognise("SG000000000001", EXPORT)
    assert (answer.outcome, answer.direction) == (RECOGNISED, EXPORT)


def test_resubmitting_the_same_message_returns_the_same_receipt(live: Live) -> None:
    """SG sends the same signed bytes twice (a retry). Result: identical receipt, duplicate set,
    one message stored."""
    client = partner_client(live)
    env = envelope(client.signer, "SG", 1, record())
    first = client.submit_envelope(env)
    again = client.submit_envelope(env)
    assert again.duplicate
    assert not first.duplicate
    assert again.receipt == first.receipt
    assert live.gateway.store.reader.partner_stats("SG").messages == 1


def test_stale_record_version_is_not_applied_and_the_receipt_says_why(live: Live) -> None:
    """SG sends v2 (suspended), then a late v1 (valid). Result: v1 ignored with
    record.stale_version; the operator stays suspended."""
    client = partner_client(live)
    submit(
        client,
        1,
        record(version=2, status=RecordStatus.SUSPENDED, effective_at=now() - timedelta(hours=1)),
    )
    receipt = receipt_of(live, submit(client, 2, record(version=1)))
    assert receipt.records_applied == 0
    assert [(i.identifier, i.version, i.reason) for i in receipt.ignored_records] == [
        ("SG000000000001", 1, "record.stale_version")
    ]
    answer = recognition_client(live).recognise("SG000000000001")
    assert (answer.outcome, answer.reason) == (NOT_RECOGNISED, "status.suspended")


def test_sequence_gap_is_reported_and_filled_by_the_late_message(live: Live) -> None:
    """SG sends 1, then 4, then 2. Result: 4's receipt reports gap 2-3; partner state keeps 3."""
    client = partner_client(live)
    submit(client, 1, record())
    receipt = receipt_of(live, submit(client, 4, record("SG000000000004")))
    assert [(g.first, g.last) for g in receipt.gaps_detected] == [(2, 3)]
    submit(client, 2, record("SG000000000002"))
    state = AdminClient(live.channel("admin")).partner_state("SG")
    assert state.name == "partners/SG/state"
    assert state.last_sequence == 4
    assert [(g.first, g.last) for g in state.open_gaps] == [(3, 3)]
    assert (state.messages_received, state.operators_known) == (3, 3)


def test_status_as_of_a_past_declaration_time(live: Live) -> None:
    """Valid from 30 days ago, suspended 2 days ago. Result: a declaration of 10 days ago was
    recognised; one now is not."""
    client = partner_client(live)
    submit(client, 1, record(version=1, effective_at=now() - timedelta(days=30)))
    submit(
        client,
        2,
        record(version=2, status=RecordStatus.SUSPENDED, effective_at=now() - timedelta(days=2)),
    )
    recog = recognition_client(live)
    assert recog.recognise("SG000000000001", as_of=now() - timedelta(days=10)).outcome == RECOGNISED
    assert recog.recognise("SG000000000001").reason == "status.suspended"


def test_batch_query_answers_each_code_in_order(live: Live) -> None:
    """One call with a recognised code, an unknown operator, a bad format and a legacy form.
    Result: four answers in request order, each with its own outcome."""
    submit(partner_client(live), 1, record())
    answers = recognition_client(live).recognise_many(
        ["SG000000000001", "SG999999999999", "XX-1", "AEO<SG000000000001>"]
    )
    assert [a.outcome for a in answers] == [
        RECOGNISED,
        UNKNOWN_OPERATOR,
        CODE_FORMAT_UNKNOWN,
        RECOGNISED,
    ]
    assert answers[3].normalised_code == "SG000000000001"


def test_home_code_forms_are_understood(live: Live) -> None:
    """AEOCN + 10 digits and the older CN form, no home record loaded. Result: both parsed as
    the home administration's, unknown operator (not an unknown format)."""
    answers = recognition_client(live).recognise_many(["AEOCN0123456789", "CN0123456789"])
    assert {(a.administration, a.normalised_code, a.outcome) for a in answers} == {
        ("CN", "AEOCN0123456789", UNKNOWN_OPERATOR)
    }


def test_admin_lists_registered_partners(live: Live) -> None:
    """An admin asks for the registry, one partner per page. Result: the thirteen partners of
    partners/, among them SG and KR with pinned algorithms, wire formats and MRA terms."""
    partners = {p.name: p for p in AdminClient(live.channel("admin")).partners(page_size=1)}
    codes = ["AU", "BY", "CH", "EU", "HK", "IL", "JP", "KR", "KZ", "MN", "NZ", "SG", "UY"]
    assert set(partners) == {f"partners/{c}" for c in codes}
    assert [k.algorithm for k in partners["partners/KR"].signing_keys] == [
        common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256
    ]
    sg = partners["partners/SG"]
    assert sg.display_name == "Singapore"
    assert list(sg.wire_formats) == [common_pb2.WIRE_FORMAT_NATIVE]
    in_force = sg.mra.in_force
    assert (in_force.year, in_force.month, in_force.day) == (2013, 3, 15)
    assert list(sg.mra.directions) == [IMPORT, EXPORT]
    assert AdminClient(live.channel("admin")).partner("SG") == sg
