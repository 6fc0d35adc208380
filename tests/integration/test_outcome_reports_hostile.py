"""Outcome reports a partner can get wrong or make hostile, over real mTLS on SQLite and
PostgreSQL: each is refused or ignored with a reason, and the report still answers."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from adapters.wire import jws
from adapters.wire.outcomes_jws import TYP, document
from gateway import protomap
from gateway.domain.messages import SealedEnvelope
from gateway.domain.outcome_reports import AggregateDraft, OutcomeReportDraft
from gateway.domain.partners import TradeDirection
from gateway.pb import facilitation_pb2 as fpb
from gateway.pb import facilitation_pb2_grpc as fgrpc
from tests.conftest import Live
from tests.integration.helpers import now
from tests.integration.test_outcome_reports_over_mtls import (
    aggregate,
    declaration,
    ignored,
    send,
    submit_envelope,
    verified,
)
from tests.integration.test_outcome_reports_over_mtls import (
    reporting as reporting,  # the fixture
)


def report(live: Live, partner: str = "") -> fpb.FacilitationReport:
    year = f"{(now() - timedelta(hours=6)).astimezone(ZoneInfo('Asia/Shanghai')).year:04d}"
    stub = fgrpc.FacilitationServiceStub(live.channel("domestic"))
    response: fpb.GetFacilitationReportResponse = stub.GetFacilitationReport(
        fpb.GetFacilitationReportRequest(period=year, partner=partner)
    )
    return response.report


def test_a_jws_aggregate_with_an_integer_too_large_for_a_float_is_ignored(
    reporting: tuple[Live, object],
) -> None:
    """KR's JWS report gives release_p90_hours as 1 followed by 400 zeros. Result: the aggregate
    is ignored with aggregate.invalid; the report is answered, not INTERNAL."""
    live, _ = reporting
    text = json.dumps(document(OutcomeReportDraft("KR", now(), (), (aggregate(),))))
    text = text.replace('"release_p90_hours": 40.0', '"release_p90_hours": 1' + "0" * 400)
    assert "0" * 400 in text
    sealed = jws.sign_compact(text.encode(), live.workspace.signer("KR"), typ=TYP)
    receipt = verified(live, submit_envelope(live, protomap.signed_envelope(
        SealedEnvelope("jws", sealed)), "KR"))  # fmt: skip
    assert receipt.records_applied == 0
    assert list(ignored(receipt).values()) == ["aggregate.invalid"]


def test_aggregates_too_large_to_total_are_ignored_and_the_report_still_answers(
    reporting: tuple[Live, object],
) -> None:
    """SG reports three aggregates of 2^63 - 1 declarations each. Result: each is ignored with
    aggregate.invalid (at most 10^12 per aggregate), and the year's report answers."""
    live, _ = reporting
    end = now().replace(minute=0, second=0, microsecond=0)
    aggregates = tuple(
        AggregateDraft(
            TradeDirection.IMPORT, end - timedelta(hours=3 + i), end, 2**63 - 1, 0, 0, 1.0, 1.0, 2.0
        )
        for i in range(3)
    )
    draft = OutcomeReportDraft("SG", now(), (declaration("SG-B1"),), aggregates)
    receipt = verified(live, send(live, draft, wire_format="native"))
    assert list(ignored(receipt).values()) == ["aggregate.invalid"] * 3
    assert report(live).period


def test_a_report_of_four_thousand_outcomes_is_recorded_whole(
    reporting: tuple[Live, object],
) -> None:
    """4,000 outcomes in one native report: more bound parameters than PostgreSQL takes in one
    statement if written at once. Result: all recorded."""
    live, _ = reporting
    outcomes = tuple(declaration(f"SG-C{i}") for i in range(4000))
    receipt = verified(
        live, send(live, OutcomeReportDraft("SG", now(), outcomes), wire_format="native")
    )
    assert receipt.records_applied == 4000


def test_one_home_aeo_written_three_ways_is_one_home_aeo_trading(
    reporting: tuple[Live, object],
) -> None:
    """SG reports declarations of one home AEO as AEOCN…, CN… and spaced lower case. Result:
    three outcomes, and the report counts one home AEO trading with SG."""
    live, _ = reporting
    outcomes = (
        declaration("SG-F1", "AEOCN0123456789"),
        declaration("SG-F2", "CN0123456789"),
        declaration("SG-F3", "aeocn 0123 456 789"),
    )
    receipt = verified(
        live, send(live, OutcomeReportDraft("SG", now(), outcomes), wire_format="native")
    )
    assert receipt.records_applied == 3
    abroad = [r for r in report(live, "SG").rows if r.jurisdiction == fpb.JURISDICTION_ABROAD]
    assert abroad
    assert {r.home_aeos_trading for r in abroad} == {1}
