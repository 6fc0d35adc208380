"""`aeo-gateway consent grant|withdraw|list` against a live gateway and `retention purge` on
its database, run in process: answers as text and JSON; each mistake one line and a non-zero
exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
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
