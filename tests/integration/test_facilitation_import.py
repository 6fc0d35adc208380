"""`aeo-gateway facilitation import FILE.csv`, in process, on SQLite and PostgreSQL: rows
classified by the answer at arrival and counted in the report, all or nothing with the bad
line named, duplicates idempotent, a partner's file abroad."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.bootstrap import Core, open_core
from gateway.cli import main
from gateway.domain.facilitation import Jurisdiction
from tests.conftest import Workspace
from tests.integration.helpers import now

HEADER = (
    "declaration_id,declared_code,direction,mode,arrived_at,released_at,document_review,inspected"
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVED = now() - timedelta(hours=3)
PERIOD = ARRIVED.astimezone(SHANGHAI).strftime("%Y-%m")


@pytest.fixture(params=["sqlite", "postgresql"])
def config(request: pytest.FixtureRequest, workspace: Workspace, tmp_path: Path) -> Path:
    url = f"sqlite:///{workspace.root / 'var' / (uuid.uuid4().hex + '.db')}"
    if request.param == "postgresql":
        url = str(request.getfixturevalue("postgres_url"))
    path = workspace.write_config(
        f"facilitation-{uuid.uuid4().hex}.toml", database_url=url, outbound_enabled=False
    )
    grades = tmp_path / "grades.csv"
    effective = (now() - timedelta(days=2)).isoformat()
    grades.write_text(
        "enterprise_code,name,address,grade,effective_at\n"
        f"0123456789,Shanghai Harbour Trading,1 Bund Road,advanced certified,{effective}\n"
        f"1111111111,Ningbo Export Co,2 Port Road,regular,{effective}\n"
    )
    assert main(["--config", str(path), "home", "import", str(grades)]) == 0
    return path


@pytest.fixture
def core(config: Path, workspace: Workspace) -> Iterator[Core]:
    """The store the command wrote, opened after it ran."""
    from gateway.settings import load

    opened = open_core(load(config, {}))
    yield opened
    opened.store.database.close()


def at(minutes: int) -> str:
    return (ARRIVED + timedelta(minutes=minutes)).isoformat()


def line(n: int, code: str, minutes: int, inspected: bool, extra: str = "") -> str:
    return f"D{n:05d},{code},import,sea,{at(0)},{at(minutes)},false,{str(inspected).lower()}{extra}"


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows))
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "facilitation", "import", *args])


GOOD = (
    line(1, "AEOCN0123456789", 30, False),
    line(2, "CN0123456789", 50, False),
    *(line(n, "AEOCN1111111111", 120, n % 2 == 0) for n in range(3, 9)),
    line(3, "AEOCN1111111111", 120, True),  # repeated in the file
)


def test_a_good_file_is_classified_and_reported_and_again_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], core: Core
) -> None:
    path = csv_file(tmp_path, *GOOD)
    assert run(config, str(path)) == 0
    assert "9 rows, 8 recorded, 1 duplicates" in capsys.readouterr().out
    report = core.facilitation_report()(core.directory.current(), PERIOD)
    (row,) = report.rows
    assert (row.jurisdiction, row.partner, row.grade) == (
        Jurisdiction.HOME,
        "",
        "advanced certified",
    )
    assert row.group.declarations == 2
    assert row.baseline is not None
    assert row.baseline.declarations == 6
    assert row.inspection is not None
    assert row.inspection.ratio.value == 0.0
    assert row.release_median is not None
    assert row.release_median.ratio.value == pytest.approx(40 / 120)
    assert row.home_aeos_trading == 1

    assert run(config, str(path), "--format", "json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["rows"], summary["recorded"], summary["duplicates"]) == (9, 0, 9)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (line(3, "AEOCN1111111111", 10, False).replace("sea", "boat"), "line 4: mode 'boat'"),
        (line(3, "AEOCN1111111111", -10, False), "line 4: outcome.release_before_arrival"),
        (line(3, "AEOCN1111111111", 10, False).replace(",false,", ",maybe,"), "line 4:"),
        (line(3, "", 10, False), "line 4: declared_code is empty"),
        (f"D3,AEOCN1111111111,import,,2026-07-01T09:00:00,{at(5)},false,false", "line 4:"),
        ("D3,AEOCN1111111111,import", "line 4: 3 fields"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_applied(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    core: Core,
    bad: str,
    message: str,
) -> None:
    path = csv_file(tmp_path, GOOD[0], GOOD[1], bad, GOOD[3])
    assert run(config, str(path)) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "nothing applied" in err
    assert len(err.strip().splitlines()) == 1
    start, end = datetime(2000, 1, 1, tzinfo=SHANGHAI), now() + timedelta(days=1)
    assert core.outcomes.groups(start, end) == []


def test_a_partner_file_reports_home_aeos_abroad_against_its_baseline(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], core: Core
) -> None:
    rows = [
        line(1, "AEOCN0123456789", 60, False, ",false"),
        line(2, "AEOCN0123456789", 60, True, ",false"),
        *(line(n, "KR0000000001", 100, n % 2 == 0, ",true") for n in range(3, 7)),
    ]
    path = csv_file(tmp_path, *rows, header=HEADER + ",baseline")
    assert run(config, str(path), "--reporter", "KR", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["recorded"] == 6
    (row,) = core.facilitation_report()(core.directory.current(), PERIOD, "KR").rows
    assert (row.jurisdiction, row.partner, row.grade) == (
        Jurisdiction.ABROAD,
        "KR",
        "advanced certified",
    )
    assert row.baseline is not None
    assert row.baseline.declarations == 4
    assert row.inspection is not None
    assert row.inspection.ratio.value == pytest.approx(1.0)
    assert row.home_aeos_trading == 1
    # A home file's header is refused for a partner: the baseline column is missing.
    assert run(config, str(csv_file(tmp_path, rows[0])), "--reporter", "KR") == 2
    assert "missing baseline" in capsys.readouterr().err


def test_an_unknown_reporter_is_one_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, str(csv_file(tmp_path, GOOD[0])), "--reporter", "ZZ") == 2
    assert "--reporter ZZ: no such partner" in capsys.readouterr().err


def test_a_partner_row_naming_no_home_aeo_is_refused_not_counted_in_its_baseline(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], core: Core
) -> None:
    """KR's file says row 2 is a home AEO's declaration (baseline false), but the code names no
    home AEO. Result: line 3 named, exit 2, nothing recorded (not counted in KR's baseline)."""
    rows = [
        line(1, "AEOCN0123456789", 60, False, ",false"),
        line(2, "AEOCN9999999999", 60, True, ",false"),
    ]
    path = csv_file(tmp_path, *rows, header=HEADER + ",baseline")
    assert run(config, str(path), "--reporter", "KR") == 2
    err = capsys.readouterr().err
    assert "line 3" in err
    assert "is not a CN AEO at arrival" in err
    assert core.facilitation_report()(core.directory.current(), PERIOD, "KR").rows == ()
