"""`aeo-gateway partners list|show` (the files as configured, no gateway needed) and
`query --mode` against a live gateway, run in process."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import Live, Workspace
from tests.factories import record
from tests.integration.helpers import partner_client, submit

CODES = ["AU", "BY", "CH", "EU", "HK", "IL", "JP", "KR", "KZ", "MN", "NZ", "SG", "UY"]


def run(workspace: Workspace, *args: str) -> int:
    config = workspace.write_config("cli-partners.toml")
    return main(["--config", str(config), *args])


def test_partners_list_is_a_table_within_100_columns(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partners list`. Result: exit 0; a header and one row per partner in code order, HK's
    in-force date marked as differing by mode, KZ's unknown; no line wider than 100."""
    assert run(workspace, "partners", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["CODE", "NAME", "PROGRAMME"]
    assert [line.split()[0] for line in lines[1:14]] == CODES
    assert "2014-05-18*" in next(line for line in lines if line.startswith("HK "))
    assert "unknown" in next(line for line in lines if line.startswith("KZ "))
    assert max(len(line) for line in lines) <= 100


def test_partners_list_as_json_is_complete(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partners list --format json`. Result: every partner with every part of its definition:
    assumed fields, dated tiers and mapping, modes, freshness, keys with algorithms, formats."""
    assert run(workspace, "partners", "list", "--format", "json") == 0
    partners = {p["code"]: p for p in json.loads(capsys.readouterr().out)}
    assert sorted(partners) == CODES
    hk = partners["HK"]
    assert set(hk) == {
        "code", "name", "programme", "tiers", "recognised_tiers", "directions", "mra",
        "identifiers", "wire_formats", "signing_keys", "mapping", "benefits", "freshness",
        "assumed",
    }  # fmt: skip
    assert hk["mra"]["in_force_by_mode"] == {
        "road": "2014-05-18",
        "rail": "2014-05-18",
        "air": "2014-09-01",
        "sea": "2014-09-01",
    }
    assert hk["freshness"] == {
        "expected_cadence": "1h",
        "max_staleness": "24h",
        "stale_grants_benefits": False,
    }
    assert hk["recognised_tiers"][0] == {"tier": "Tier1", "start": None, "end": None}
    assert {"tier": "Tier1", "grade": "AA", "scheme": "Decree 197"}.items() <= hk["mapping"][
        2
    ].items()
    assert partners["EU"]["signing_keys"][0] == {
        "key_id": "EU-2026-1",
        "algorithm": "rsa-pkcs1-sha256",
        "not_before": None,
        "not_after": None,
    }
    assert partners["KZ"]["mra"]["in_force"] is None
    assert "identifiers.patterns" in partners["KR"]["assumed"]


def test_partners_show_prints_one_definition(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partners show by` (lower case). Result: exit 0; Belarus with Type3 alone recognised,
    its key and algorithm, its freshness and what it assumes, within 100 columns."""
    assert run(workspace, "partners", "show", "by") == 0
    out = capsys.readouterr().out
    assert "BY Belarus" in out
    assert "recognised       Type3\n" in out
    assert "signing key      BY-2026-1 ed25519" in out
    assert "stale after 72h of silence; stale data still grants benefits" in out
    assert "assumed          identifiers.patterns, freshness" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_partners_show_as_json_is_the_partners_entry(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partners show EU --format json`. Result: the EU's definition, with both its keys and
    its member-state patterns."""
    assert run(workspace, "partners", "show", "EU", "--format", "json") == 0
    eu = json.loads(capsys.readouterr().out)
    assert [k["algorithm"] for k in eu["signing_keys"]] == ["rsa-pkcs1-sha256", "ecdsa-p256-sha256"]
    assert "|XI)" in eu["identifiers"]["patterns"][0]


def test_partners_show_of_an_unknown_code_exits_2_with_one_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """`partners show XX`. Result: exit 2, nothing on stdout, one line on stderr naming the
    known codes and what to do."""
    assert run(workspace, "partners", "show", "XX") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("aeo-gateway: no partner 'XX' is defined (known: AU, BY")
    assert "add partners/XX.toml" in captured.err
    assert captured.err.count("\n") == 1


def test_partners_list_of_an_invalid_file_exits_2_with_one_line(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copy of the definitions in which HK's freshness says "a day". Result: exit 2, one
    line on stderr naming HK's file and the field and saying to fix it; no traceback."""
    for folder in ("partners", "home", "certs"):
        shutil.copytree(workspace.root / folder, tmp_path / folder)
    hk = tmp_path / "partners" / "HK.toml"
    hk.write_text(hk.read_text().replace('max_staleness = "24h"', 'max_staleness = "a day"'))
    config = tmp_path / "cli.toml"
    config.write_text("")
    assert main(["--config", str(config), "partners", "list"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{hk}: freshness.max_staleness: 'a day' is not a duration" in captured.err
    assert captured.err.rstrip().endswith("fix the file named and run again")
    assert captured.err.count("\n") == 1


def test_query_with_a_mode_passes_it_to_the_gateway(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """HK sent a Tier1 operator; `query HK12345678 --as-of 2014-06-01T10:00:00+08:00` by road,
    then by air. Result: recognised by road, NOT_RECOGNISED mra.not_in_force by air; each line
    says the mode."""
    since = datetime(2014, 1, 1, tzinfo=UTC)
    submit(partner_client(live, "HK"), 1, record("HK12345678", tier="Tier1", effective_at=since))
    config = live.workspace.write_config("cli-mode.toml", database_url=live.settings.database_url)
    answers = []
    for mode in ("road", "air"):
        args = ["query", "HK12345678", "--as-of", "2014-06-01T10:00:00+08:00", "--mode", mode]
        assert main(["--config", str(config), *args, "--target", live.target]) == 0
        answers.append(capsys.readouterr().out.splitlines()[0])
    assert answers == [
        "HK12345678: RECOGNISED (recognised) by road",
        "HK12345678: NOT_RECOGNISED (mra.not_in_force) by air",
    ]
