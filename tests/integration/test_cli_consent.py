"""`aeo-gateway consent grant|withdraw|list` (and ListOperatorConsents' pages) against a live
gateway and `retention purge` on its database, run in process: answers as text and JSON; each
mistake one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.api.errors import error_info
from gateway.cli import main
from gateway.pb import consent_pb2, consent_pb2_grpc
from tests.conftest import Live

ALICE = "0123456781"


def cli(live: Live, tmp_path: Path, *args: str) -> int:
    config = live.workspace.write_config(
        f"cli-{tmp_path.name}.toml", database_url=live.settings.database_url
    )
    needs_target = args[0] == "consent"
    return main(["--config", str(config), *args, *(["--target", live.target] * needs_target)])


def test_grant_withdraw_and_list_as_json(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`consent grant EU 0123456781`, `consent withdraw`, then `consent list` and
    `consent list --history`. Result: exit 0 each; the operator's canonical code, its state
    and the reason; the list shows withdrawn now, the history both decisions newest first."""
    assert cli(live, tmp_path, "consent", "grant", "EU", ALICE, "--reason", "form 17",
               "--format", "json") == 0  # fmt: skip
    granted = json.loads(capsys.readouterr().out)
    assert granted["identifier"] == "AEOCN" + ALICE
    assert (granted["state"], granted["partner"], granted["reason"]) == (
        "granted", "partners/EU", "form 17",
    )  # fmt: skip
    assert (granted["changed"], granted["queued_version"]) == (True, 0)
    assert cli(live, tmp_path, "consent", "withdraw", "eu", ALICE, "--reason", "letter") == 0
    assert "consent withdrawn: AEOCN0123456781 with partners/EU" in capsys.readouterr().out
    assert cli(live, tmp_path, "consent", "list", "--format", "json") == 0
    [now] = json.loads(capsys.readouterr().out)
    assert now["state"] == "withdrawn"
    assert cli(live, tmp_path, "consent", "list", "--partner", "EU", "--enterprise", ALICE,
               "--history", "--format", "json") == 0  # fmt: skip
    assert [c["state"] for c in json.loads(capsys.readouterr().out)] == ["withdrawn", "granted"]
    assert cli(live, tmp_path, "consent", "list") == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["PARTNER", "OPERATOR", "STATE"]
    assert table[1].split()[:3] == ["partners/EU", "AEOCN0123456781", "withdrawn"]


MISTAKES = [
    pytest.param(
        ("consent", "grant", "SG", ALICE, "--reason", "x"), 1,
        "FAILED_PRECONDITION consent.not_required", id="partner asks no consent",
    ),
    pytest.param(
        ("consent", "grant", "EU", "12", "--reason", "x"), 1,
        "INVALID_ARGUMENT enterprise.code_invalid", id="not a home enterprise code",
    ),
    pytest.param(
        ("consent", "grant", "ZZ", ALICE, "--reason", "x"), 1,
        "NOT_FOUND partner.not_found", id="unknown partner",
    ),
    pytest.param(
        ("consent", "withdraw", "EU", ALICE, "--reason", "  "), 2,
        "--reason must say why", id="blank reason",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("args", "status", "says"), MISTAKES)
def test_a_mistake_is_one_line_and_a_non_zero_exit(
    live: Live,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    status: int,
    says: str,
) -> None:
    """A consent for a partner that asks none, for a code that is no home enterprise's, for
    an unknown partner, or with a blank reason. Result: the exit status given, nothing on
    stdout, one line on stderr naming the problem."""
    assert cli(live, tmp_path, *args) == status
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert says in captured.err


def test_a_partner_code_that_is_not_one_is_a_usage_error(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`consent grant E1 ...`. Result: argparse's usage error (exit 2) naming the value, no
    traceback."""
    with pytest.raises(SystemExit) as exited:
        cli(live, tmp_path, "consent", "grant", "E1", ALICE, "--reason", "x")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'E1' is not a partner code" in err
    assert "Traceback" not in err


def test_retention_purge_dry_run_and_purge_report_per_partner(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`retention purge --dry-run --format json`, then `retention purge` on a fresh database.
    Result: exit 0; the partners with a retention (the EU) listed, nothing to purge yet."""
    assert cli(live, tmp_path, "retention", "purge", "--dry-run", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert {"partner": "EU", "received": 0, "sent": 0, "outcome_reports": 0} in report["partners"]
    assert cli(live, tmp_path, "retention", "purge") == 0
    assert "EU: purged 0 received, 0 sent, 0 outcome reports" in capsys.readouterr().out


def test_list_operator_consents_pages_and_refuses_a_foreign_token(live: Live) -> None:
    """Three operators consent to the EU; ListOperatorConsents with page size 2, then with
    history and page size 2, then with a token of the other list, then for an unknown
    partner. Result: pages of 2 and 1 in identifier order; history newest first over two
    pages; INVALID_ARGUMENT request.invalid_page_token; NOT_FOUND partner.not_found."""
    codes = [f"012345678{n}" for n in (1, 2, 3)]
    with live.channel("admin") as channel:
        stub = consent_pb2_grpc.ConsentServiceStub(channel)
        for code in codes:
            stub.RecordOperatorConsent(
                consent_pb2.RecordOperatorConsentRequest(
                    partner="partners/EU",
                    enterprise_code=code,
                    state=consent_pb2.CONSENT_STATE_GRANTED,
                    reason="form",
                ),
                timeout=10,
            )

        def page(**fields: Any) -> consent_pb2.ListOperatorConsentsResponse:
            request = consent_pb2.ListOperatorConsentsRequest(page_size=2, **fields)
            return stub.ListOperatorConsents(request, timeout=10)  # type: ignore[no-any-return]

        first = page(partner="partners/-")
        second = page(partner="partners/-", page_token=first.next_page_token)
        assert [c.identifier for c in (*first.consents, *second.consents)] == [
            "AEOCN" + c for c in codes
        ]
        assert second.next_page_token == ""
        newest = page(history=True)
        older = page(history=True, page_token=newest.next_page_token)
        assert [c.identifier[-1] for c in (*newest.consents, *older.consents)] == ["3", "2", "1"]
        for fields, status, reason in (
            ({"history": True, "page_token": first.next_page_token},
             grpc.StatusCode.INVALID_ARGUMENT, "request.invalid_page_token"),
            ({"partner": "partners/ZZ"}, grpc.StatusCode.NOT_FOUND, "partner.not_found"),
        ):  # fmt: skip
            with pytest.raises(grpc.RpcError) as refused:
                page(**fields)
            info = error_info(refused.value)
            assert (refused.value.code(), info.reason if info else "") == (status, reason)
