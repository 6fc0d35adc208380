"""The CLI's commands, run in process against a live gateway (the subprocess tests cover serve)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.client import AdminClient
from tests.conftest import ROOT, Live
from tests.factories import record
from tests.integration.helpers import partner_client, submit


def config_for(live: Live, tmp_path: Path) -> Path:
    return live.workspace.write_config(
        f"cli-{tmp_path.name}.toml", database_url=live.settings.database_url
    )


def test_query_prints_outcome_treatment_and_basis(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG sent one operator; `aeo-gateway query` asks for it and for a malformed code. Result:
    RECOGNISED with treatment and basis, then CODE_FORMAT_UNKNOWN; exit 0."""
    submit(partner_client(live), 1, record())
    code = main(
        [
            "--config",
            str(config_for(live, tmp_path)),
            "query",
            "SG000000000001",
            "ZZ1",
            "--target",
            live.target,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "SG000000000001: RECOGNISED (recognised)" in out
    assert "treatment advanced certified under Decree 282" in out
    # The text form names the key only; the JSON form below carries the algorithm too.
    assert "signed by SG-2026-1 (ed25519); record version 1" in out
    assert "ZZ1: CODE_FORMAT_UNKNOWN" in out


def test_query_as_json_for_an_export_carries_direction_and_signature_algorithm(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG sent one operator; `aeo-gateway query --direction export --format json` asks for it.
    Result: a JSON list with one recognition for the export direction whose basis names SG's
    key and its Ed25519 algorithm; exit 0."""
    submit(partner_client(live), 1, record())
    code = main(
        [
            "--config",
            str(config_for(live, tmp_path)),
            "query",
            "SG000000000001",
            "--direction",
            "export",
            "--format",
            "json",
            "--target",
            live.target,
        ]
    )
    assert code == 0
    [answer] = json.loads(capsys.readouterr().out)
    assert answer["outcome"] == "RECOGNITION_OUTCOME_RECOGNISED"
    assert answer["direction"] == "TRADE_DIRECTION_EXPORT"
    assert answer["basis"]["keyId"] == "SG-2026-1"
    assert answer["basis"]["algorithm"] == "SIGNATURE_ALGORITHM_ED25519"


def test_query_with_a_bad_as_of_time_exits_2_with_one_line(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`query --as-of yesterday`. Result: exit 2, nothing on stdout, and one line on stderr
    saying the value is not an ISO 8601 time (no traceback)."""
    code = main(
        [
            "--config",
            str(config_for(live, tmp_path)),
            "query",
            "SG000000000001",
            "--as-of",
            "yesterday",
            "--target",
            live.target,
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.startswith("aeo-gateway: --as-of 'yesterday' is not an ISO 8601 time; "), (
        captured.err
    )
    assert captured.err.count("\n") == 1


def test_partners_reload_puts_a_new_directory_version_in_force(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aeo-gateway partners reload` as an admin, the partner files unchanged. Result: exit 0,
    version 2 reported with nothing added, changed or removed; the gateway answers from it."""
    code = main(
        [
            "--config",
            str(config_for(live, tmp_path)),
            "partners",
            "reload",
            "--target",
            live.target,
        ]
    )
    assert code == 0
    assert (
        "partner directory version 2: added none; changed none; removed none"
        in capsys.readouterr().out
    )
    assert AdminClient(live.channel("admin")).partner("SG").directory_version == 2


def test_query_reports_a_refusal_with_its_reason(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty code. Result: exit 1 and INVALID_ARGUMENT query.invalid on stderr."""
    code = main(
        ["--config", str(config_for(live, tmp_path)), "query", " ", "--target", live.target]
    )
    assert code == 1
    assert "INVALID_ARGUMENT query.invalid" in capsys.readouterr().err


def test_certs_init_writes_a_pki_into_a_new_folder(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`certs init --dir` into an empty folder. Result: CA, server, clients, gateway and partner
    keys written; private keys readable by the owner only."""
    target = tmp_path / "pki"
    assert (
        main(["--config", str(config_for(live, tmp_path)), "certs", "init", "--dir", str(target)])
        == 0
    )
    for name in (
        "ca.pem",
        "server.pem",
        "clients/domestic.pem",
        "clients/admin.pem",
        "gateway/signing-CN-GW-2.key.pem",
        "partners/SG/client.pem",
        "partners/KR/signing-KR-2026-1.pub.pem",
    ):
        assert (target / name).exists(), name
    assert (target / "ca.key.pem").stat().st_mode & 0o077 == 0
    assert "files written" in capsys.readouterr().out


def test_migrate_reports_nothing_pending_on_a_current_store(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`migrate` against the live gateway's store. Result: none pending, exit 0."""
    assert main(["--config", str(config_for(live, tmp_path)), "migrate"]) == 0
    assert "none pending" in capsys.readouterr().out


def test_missing_partner_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A settings file whose partners_dir does not exist. Result: exit 2 naming the folder."""
    config = tmp_path / "gw.toml"
    config.write_text(f'partners_dir = "nowhere"\nhome_file = "{ROOT / "home" / "CN.toml"}"\n')
    assert main(["--config", str(config), "certs", "init"]) == 2
    assert "nowhere" in capsys.readouterr().err
