"""PartnerExchangeService.SubmitOutcomeReport over real mTLS, on SQLite and PostgreSQL: partners
report outcomes abroad in their own wire formats, signed; the receipt is the gateway's.

What was recorded is read back from the store (outcomes, outcome_aggregates).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from adapters.crypto.signatures import load_public_key
from gateway.bootstrap import Gateway, build
from gateway.client import open_receipt
from gateway.domain.facilitation import Jurisdiction
from gateway.domain.outcome_reports import AggregateDraft, OutcomeDraft, OutcomeReportDraft
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.pb import exchange_pb2, exchange_pb2_grpc, home_pb2, home_pb2_grpc
from gateway.times import from_us
from tests.conftest import Live, Workspace
from tests.integration.helpers import expect_error, now

HOME_AEO = "AEOCN0123456789"


class Stored:
    """What the store holds of partners' reports, read back for the assertions."""

    def __init__(self, live: Live) -> None:
        self._db = live.gateway.store.database

    def _rows(self, sql: str) -> list[Any]:
        with self._db.reading() as conn:
            cur = conn.cursor()
            cur.execute(sql)
            rows: list[Any] = cur.fetchall()
            return rows

    @property
    def outcomes(self) -> dict[tuple[str, str], SimpleNamespace]:
        columns = (
            "reporter, declaration_id, jurisdiction, partner, administration, grade, aeo, "
            "before_recognition, inspected, arrived_at, released_at"
        )
        found = {}
        for row in self._rows(f"SELECT {columns} FROM outcomes"):
            o = SimpleNamespace(
                **dict(zip([c.strip() for c in columns.split(",")], row, strict=True))
            )
            o.jurisdiction = Jurisdiction(o.jurisdiction)
            o.aeo, o.before_recognition, o.inspected = (
                bool(o.aeo),
                bool(o.before_recognition),
                bool(o.inspected),
            )
            o.arrived_at, o.released_at = from_us(o.arrived_at), from_us(o.released_at)
            found[(o.reporter, o.declaration_id)] = o
        return found

    @property
    def aggregates(self) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(reporter=r, declarations=int(d))
            for r, d in self._rows("SELECT reporter, declarations FROM outcome_aggregates")
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def reporting(
    request: pytest.FixtureRequest, workspace: Workspace
) -> Iterator[tuple[Live, Stored]]:
    """A gateway on each store with a home AEO (advanced certified since an hour ago)."""
    overrides: dict[str, Any] = {"outbound_enabled": False}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = workspace.settings(**overrides)
    gateway: Gateway = build(settings)
    live = Live(gateway, settings, workspace)
    sink = Stored(live)
    change = home_pb2.GradeChange(
        enterprise_code="0123456789",
        name="Shanghai Harbour Trading Co., Ltd.",
        address="1 Bund Road, Shanghai",
        grade="advanced certified",
    )
    change.effective_at.FromDatetime(now() - timedelta(days=1))
    registry = home_pb2_grpc.HomeRegistryServiceStub(live.channel("registry"))
    registry.RecordGradeChange(home_pb2.RecordGradeChangeRequest(change=change))
    yield live, sink
    gateway.stop(grace=0)


def declaration(
    ident: str,
    code: str = HOME_AEO,
    baseline: bool = False,
    arrived: datetime | None = None,
    hours: float = 3.0,
) -> OutcomeDraft:
    arrived_at = arrived or now() - timedelta(hours=6)
    return OutcomeDraft(
        ident,
        code,
        TradeDirection.IMPORT,
        TransportMode.SEA,
        arrived_at,
        arrived_at + timedelta(hours=hours),
        document_review=False,
        inspected=baseline,
        baseline=baseline,
    )


def aggregate() -> AggregateDraft:
    end = now().replace(hour=0, minute=0, second=0, microsecond=0)
    return AggregateDraft(
        TradeDirection.IMPORT, end - timedelta(days=30), end, 1000, 80, 250, 20.0, 24.5, 40.0
    )


def send(
    live: Live,
    report: OutcomeReportDraft,
    caller: str | None = None,
    wire_format: str | None = None,
    signer_of: str | None = None,
) -> exchange_pb2.SubmitOutcomeReportResponse:
    envelope = live.workspace.outcome_envelope(report, wire_format, signer_of=signer_of)
    return submit_envelope(live, envelope, caller or report.partner)


def submit_envelope(
    live: Live, envelope: exchange_pb2.SignedEnvelope, caller: str
) -> exchange_pb2.SubmitOutcomeReportResponse:
    stub = exchange_pb2_grpc.PartnerExchangeServiceStub(live.channel(caller))
    request = exchange_pb2.SubmitOutcomeReportRequest(envelope=envelope)
    response: exchange_pb2.SubmitOutcomeReportResponse = stub.SubmitOutcomeReport(request)
    return response


def verified(
    live: Live, response: exchange_pb2.SubmitOutcomeReportResponse
) -> exchange_pb2.Receipt:
    """The receipt's content once the gateway's signature on it holds."""
    pem = live.workspace.pki / "gateway" / f"signing-{live.settings.signing_key_id}.pub.pem"
    key = load_public_key(pem.read_bytes(), live.settings.signing_algorithm)
    return open_receipt(response.receipt, key)


def ignored(receipt: exchange_pb2.Receipt) -> dict[str, str]:
    return {r.identifier: r.reason for r in receipt.ignored_records}


def test_korea_reports_in_jws_and_each_outcome_is_counted_or_ignored_with_its_reason(
    reporting: tuple[Live, Stored],
) -> None:
    """KR reports, in JWS, a home AEO's declaration, a baseline one, one released before
    arrival, one naming a code that is no home AEO, one whose code is punctuation only, and a
    month's baseline totals. Result: a receipt signed by the gateway counting six, recording
    three, naming the three ignored with their reasons; the home AEO's outcome is abroad,
    reported by KR, with its home grade."""
    live, sink = reporting
    report = OutcomeReportDraft(
        "KR",
        now(),
        (
            declaration("KR-1"),
            declaration("KR-2", "KR1234567890", baseline=True),
            declaration("KR-3", hours=-2),
            declaration("KR-4", "AEOCN9999999999"),
            declaration("KR-5", "---"),
        ),
        (aggregate(),),
    )
    response = send(live, report, wire_format="jws")
    receipt = verified(live, response)
    assert not response.duplicate
    assert (receipt.partner, receipt.sequence) == ("partners/KR", 0)
    assert (receipt.records_received, receipt.records_applied) == (6, 3)
    assert ignored(receipt) == {
        "KR-3": "outcome.release_before_arrival",
        "KR-4": "outcome.not_a_home_aeo",
        "KR-5": "outcome.not_a_home_aeo",
    }
    aeo = sink.outcomes[("KR", "KR-1")]
    assert (aeo.jurisdiction, aeo.partner, aeo.administration) == (Jurisdiction.ABROAD, "KR", "CN")
    assert (aeo.grade, aeo.aeo, aeo.before_recognition) == ("advanced certified", True, False)
    base = sink.outcomes[("KR", "KR-2")]
    assert (base.grade, base.aeo, base.inspected) == ("", False, True)
    assert [a.declarations for a in sink.aggregates] == [1000]
    assert sink.aggregates[0].reporter == "KR"


def test_the_eu_reports_in_xmldsig_and_singapore_in_native(
    reporting: tuple[Live, Stored],
) -> None:
    """EU reports over XML-DSig, SG in the native format. Result: each receipt verifies and
    records its outcome, reported by the sender."""
    live, sink = reporting
    for partner, fmt in (("EU", "xmldsig"), ("SG", "native")):
        report = OutcomeReportDraft(partner, now(), (declaration(f"{partner}-1"),))
        receipt = verified(live, send(live, report, wire_format=fmt))
        assert (receipt.records_received, receipt.records_applied) == (1, 1), partner
        assert sink.outcomes[(partner, f"{partner}-1")].grade == "advanced certified"


def test_the_same_report_again_gets_the_same_receipt(reporting: tuple[Live, Stored]) -> None:
    """SG sends the same signed bytes twice. Result: the identical receipt, duplicate set."""
    live, _ = reporting
    envelope = live.workspace.outcome_envelope(
        OutcomeReportDraft("SG", now(), (declaration("SG-7"),))
    )
    first = submit_envelope(live, envelope, "SG")
    again = submit_envelope(live, envelope, "SG")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.receipt.receipt == first.receipt.receipt
    assert again.receipt.signature.signature == first.receipt.signature.signature


def test_a_declaration_reported_again_in_a_new_report_is_recorded_once(
    reporting: tuple[Live, Stored],
) -> None:
    """SG reports SG-8, then a new report with SG-8 (changed) and SG-9. Result: the second
    receipt records SG-9 only and names SG-8 as recorded before; the first SG-8 stays."""
    live, sink = reporting
    send(live, OutcomeReportDraft("SG", now(), (declaration("SG-8"),)))
    second = OutcomeReportDraft("SG", now(), (declaration("SG-8", hours=9.0), declaration("SG-9")))
    receipt = verified(live, send(live, second))
    assert receipt.records_applied == 1
    assert ignored(receipt) == {"SG-8": "outcome.already_recorded"}
    stored = sink.outcomes[("SG", "SG-8")]
    assert stored.released_at - stored.arrived_at == timedelta(hours=3)


def test_a_partner_reporting_for_another_is_refused(reporting: tuple[Live, Stored]) -> None:
    """SG, over its own TLS identity and with its own key, sends a report claiming to be KR's.
    Result: PERMISSION_DENIED partner.impersonation; nothing recorded."""
    live, sink = reporting
    report = OutcomeReportDraft("KR", now(), (declaration("KR-9"),))
    envelope = live.workspace.outcome_envelope(report, "native", signer_of="SG")
    expect_error(
        lambda: submit_envelope(live, envelope, "SG"),
        grpc.StatusCode.PERMISSION_DENIED,
        "partner.impersonation",
    )
    assert sink.outcomes == {}


def test_a_report_signed_with_another_partners_key_is_refused(
    reporting: tuple[Live, Stored],
) -> None:
    """SG sends a report of its own signed with KR's key. Result: UNAUTHENTICATED
    signature.unknown_key (only the sender's keys are consulted)."""
    live, sink = reporting
    report = OutcomeReportDraft("SG", now(), (declaration("SG-5"),))
    envelope = live.workspace.outcome_envelope(report, "native", signer_of="KR")
    expect_error(
        lambda: submit_envelope(live, envelope, "SG"),
        grpc.StatusCode.UNAUTHENTICATED,
        "signature.unknown_key",
    )
    assert sink.outcomes == {}


def test_a_report_issued_outside_the_clock_window_is_refused(
    reporting: tuple[Live, Stored],
) -> None:
    """SG's report issued a day ago. Result: INVALID_ARGUMENT batch.issued_at_out_of_window."""
    live, _ = reporting
    report = OutcomeReportDraft("SG", now() - timedelta(days=1), (declaration("SG-6"),))
    expect_error(
        lambda: send(live, report),
        grpc.StatusCode.INVALID_ARGUMENT,
        "batch.issued_at_out_of_window",
    )


def test_a_baseline_declaration_before_the_mra_is_reported_apart(
    reporting: tuple[Live, Stored],
) -> None:
    """KR reports a baseline declaration of 2010 (its MRA entered into force in 2014).
    Result: recorded as before recognition."""
    live, sink = reporting
    old = datetime(2010, 5, 4, 9, 0, tzinfo=now().tzinfo)
    report = OutcomeReportDraft(
        "KR", now(), (declaration("KR-old", "KR1234567890", baseline=True, arrived=old),)
    )
    assert verified(live, send(live, report, wire_format="jws")).records_applied == 1
    assert sink.outcomes[("KR", "KR-old")].before_recognition
