"""`aeo-gateway report facilitation`, in process, on SQLite and PostgreSQL: the store's outcomes
in each format, a period without declarations, and a person's mistakes in one line."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.bootstrap import open_core
from gateway.cli import main
from gateway.domain.facilitation import Jurisdiction, Outcome
from gateway.domain.partners import TradeDirection
from gateway.settings import load
from tests.conftest import Workspace

pytest.importorskip(
    "gateway.app.facilitation", reason="the facilitation report use case is not merged yet"
)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request: pytest.FixtureRequest, workspace: Workspace, tmp_path: Path) -> Path:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{workspace.root / 'var' / (uuid.uuid4().hex + '.db')}"
    return workspace.write_config(f"report-{tmp_path.name}.toml", database_url=url)


@pytest.fixture
def run(config: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "report", "facilitation", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _abroad(n: int, *, aeo: bool, inspected_every: int, hours: int) -> list[Outcome]:
    """KR reports ``n`` export declarations in August 2026: home AEOs' or its baseline's."""
    start = datetime(2026, 8, 3, 1, tzinfo=UTC)
    return [
        Outcome(
            reporter="KR",
            declaration_id=f"{'aeo' if aeo else 'base'}-{i}",
            declared_code=f"CN{i:016d}",
            direction=TradeDirection.EXPORT,
            mode=None,
            arrived_at=start + timedelta(minutes=i),
            released_at=start + timedelta(minutes=i, hours=hours),
            document_review=False,
            inspected=i % inspected_every == 0,
            jurisdiction=Jurisdiction.ABROAD,
            partner="KR",
            administration="CN" if aeo else "KR",
            grade="advanced certified" if aeo else "",
            aeo=aeo,
            before_recognition=False,
            reason="reported",
        )
        for i in range(n)
    ]


@pytest.fixture
def stored(config: Path) -> None:
    """200 home AEO declarations in Korea (1 in 20 inspected, 2 h), 400 of its baseline (1 in
    5 inspected, 4 h), through the store's own bulk insert."""
    core = open_core(load(config, {}))
    try:
        record = getattr(core, "record_outcomes")  # noqa: B009 (not on Core before the merge)
        record(_abroad(200, aeo=True, inspected_every=20, hours=2))
        record(_abroad(400, aeo=False, inspected_every=5, hours=4))
    finally:
        core.store.database.close()


@pytest.mark.usefixtures("stored")
def test_the_report_reads_the_stores_outcomes_in_every_format(run: Run, tmp_path: Path) -> None:
    """KR's reported outcomes in 2026Q3. Result: the table, CSV and JSON give the home AEOs'
    5 % inspection rate against the baseline's 20 %, 2 h against 4 h; the page is written."""
    code, out, err = run("--period", "2026Q3", "--partner", "kr")
    assert (code, err) == (0, "")
    assert "in KR: home AEOs against KR's baseline, export" in out
    assert "200/400" in out
    assert "5.00%/20.0%" in out
    assert "2.0/4.0" in out
    assert max(len(line) for line in out.splitlines()) <= 100

    code, out, _ = run("--period", "2026Q3", "--format", "csv")
    [line] = [r for r in csv.DictReader(io.StringIO(out)) if r["period"] == "2026Q3"]
    assert (line["partner"], int(line["aeo_declarations"])) == ("KR", 200)
    assert float(line["aeo_inspection_rate"]) == pytest.approx(0.05)
    assert float(line["baseline_inspection_rate"]) == pytest.approx(0.20)
    assert float(line["inspection_reduction"]) == pytest.approx(0.75)

    code, out, _ = run("--period", "2026Q3", "--format", "json")
    data = json.loads(out)
    [row] = data["rows"]
    assert row["group"]["release_median_hours"]["value"] == pytest.approx(2.0)
    assert row["baseline"]["release_median_hours"]["value"] == pytest.approx(4.0)
    assert [t["period"]["label"] for t in data["trend"]] == ["2025Q4", "2026Q1", "2026Q2"]
    assert all(t["rows"] == [] for t in data["trend"])

    page = tmp_path / "report.html"
    code, out, err = run("--period", "2026Q3", "--format", "html", "--output", str(page))
    assert (code, out, err) == (0, "", "")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count('<img src="data:image/png;base64,') == 3


def test_a_period_without_declarations_says_so(run: Run) -> None:
    code, out, _ = run("--period", "2026-02")
    assert code == 0
    assert "No declarations in the period." in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--period", "2026Q5"], "2026Q5"),
        (["--period", "2026Q3", "--partner", "ZZ"], "ZZ"),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(run: Run, argv: list[str], says: str) -> None:
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert says in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_an_output_that_cannot_be_written_is_one_line(run: Run, tmp_path: Path) -> None:
    code, _, err = run("--period", "2026Q3", "--output", str(tmp_path / "no" / "such.csv"))
    assert code == 2
    assert "cannot write" in err
    assert len(err.strip().splitlines()) == 1
