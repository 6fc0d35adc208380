"""The facilitation report survives the wire: what the gRPC edge sends is what the console
reads back, "not available" included."""

from __future__ import annotations

from dataclasses import replace

from gateway.protomap_facilitation import report_from_pb, report_to_pb
from tests import report_samples


def test_a_report_with_its_trend_reads_back_unchanged() -> None:
    sent = report_samples.report(trend=3)
    assert report_from_pb(report_to_pb(sent)) == sent


def test_measures_that_are_not_available_stay_none() -> None:
    sample = report_samples.report(trend=0)
    first = sample.rows[0]
    bare = replace(
        first,
        baseline=None,
        inspection=None,
        document_review=None,
        release_median=None,
        group=replace(
            first.group,
            declarations=0,
            inspection_rate=None,
            document_review_rate=None,
            release_median_hours=None,
            release_mean_hours=None,
            release_p90_hours=None,
        ),
    )
    sent = replace(sample, rows=(bare,))
    assert report_from_pb(report_to_pb(sent)) == sent
