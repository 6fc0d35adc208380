"""`aeo-gateway home import FILE.csv`, in process, on SQLite and PostgreSQL: all rows or none,
duplicates idempotent, the line of a bad row named, the result answered by a live gateway."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.store.sql import SqlStore
from gateway.bootstrap import build
from gateway.cli import main
from gateway.client import RecognitionClient, connect
from gateway.pb import recognition_pb2
from tests.conftest import ROOT, Workspace
from tests.integration.helpers import now
from tests.integration.test_home_registry_over_mtls import WITH_ENDPOINT, add_outbound_endpoints

HEADER = "enterprise_code,name,address,grade,effective_at,suspended,recertified\n"


@pytest.fixture(scope="module")
def import_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = Workspace.create(tmp_path_factory.mktemp("home-import"), ROOT)
    add_outbound_endpoints(workspace, WITH_ENDPOINT)
    return workspace


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, import_workspace: Workspace) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{import_workspace.root / 'var' / (uuid.uuid4().hex + '.db')}"


@pytest.fixture
def config(import_workspace: Workspace, database_url: str, tmp_path: Path) -> Path:
    return import_workspace.write_config(
        f"home-{tmp_path.name}.toml", database_url=database_url, outbound_enabled=False
    )


@pytest.fixture
def store(config: Path, database_url: str) -> Iterator[Callable[[], SqlStore]]:
    """Opens the store the command wrote, after it ran."""
    opened: list[SqlStore] = []

    def open_store() -> SqlStore:
        opened.append(SqlStore.open(database_url, 1))
        opened[-1].migrate()  # a file refused while read never opened the store
        return opened[-1]

    yield open_store
    for s in opened:
        s.database.close()


def csv_file(tmp_path: Path, *rows: str, name: str = "changes.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "home", "import", *args])


def at(hours_ago: int) -> str:
    return (now() - timedelta(hours=hours_ago)).isoformat()


def history(store: SqlStore, identifier: str) -> list[tuple[int, str, str]]:
    return [
        (s.record.version, s.record.status.value, s.record.tier)
        for s in store.reader.history("CN", identifier)
    ]


def outbox(store: SqlStore) -> list[tuple[str, str, int]]:
    with store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute("SELECT partner, identifier, version FROM outbox ORDER BY id")
        return [(p, i, int(v)) for p, i, v in cur.fetchall()]


SUSPENDED_AT = at(2)
GOOD = (
    f'0123456789,Shanghai Harbour Trading,"1 Bund Road, Shanghai",advanced certified,{at(5)},,',
    f"CN1111111111,Ningbo Export Co,2 Port Road,regular,{at(5)},false,",
    f"AEOCN0123456789,,,advanced certified,{SUSPENDED_AT},true,",
    f"AEOCN0123456789,,,advanced certified,{SUSPENDED_AT},true,",  # repeated in the file
)


def test_a_good_file_is_applied_in_order_and_answered_by_the_gateway(
    config: Path,
    store: Callable[[], SqlStore],
    import_workspace: Workspace,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Four rows: a grant, a non-AEO enterprise, a suspension and that suspension repeated.
    Result: exit 0; three versions, one duplicate; the grant and the suspension queued for the
    partners with an endpoint; a gateway on the store answers the suspension."""
    assert run(config, str(csv_file(tmp_path, *GOOD))) == 0
    out = capsys.readouterr().out
    assert "4 rows, 3 new versions, 1 duplicates" in out
    opened = store()
    assert history(opened, "AEOCN0123456789") == [
        (1, "valid", "advanced certified"),
        (2, "suspended", "advanced certified"),
    ]
    assert history(opened, "AEOCN1111111111") == [(1, "valid", "regular")]
    assert outbox(opened) == [(p, "AEOCN0123456789", v) for v in (1, 2) for p in WITH_ENDPOINT]
    gateway = build(import_workspace.settings(database_url=database_url, outbound_enabled=False))
    try:
        channel = connect(f"localhost:{gateway.port}", import_workspace.identity("domestic"))
        answer = RecognitionClient(channel).recognise("CN0123456789", as_of=now())
        assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
        assert answer.reason == "status.suspended"
    finally:
        gateway.stop(grace=0)


def test_the_same_file_again_is_all_duplicates_as_json(
    config: Path, store: Callable[[], SqlStore], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = csv_file(tmp_path, *GOOD)
    assert run(config, str(path)) == 0
    capsys.readouterr()
    assert run(config, str(path), "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["new_versions"], report["duplicates"]) == (4, 0, 4)
    assert report["queued"] == {}
    assert len(outbox(store())) == 4


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        ("0123456789,X,Y,advanced certified,not a time,,", "line 4: effective_at"),
        (f"0123456789,X,Y,advanced certified,{at(1)},maybe,", "line 4: suspended 'maybe'"),
        (f"0123456789,X,Y,advanced certified,{at(1)}", "line 4: 5 fields"),
        (f"SG0123456789,X,Y,regular,{at(1)},,", "line 4: enterprise.code_invalid"),
        (f"0123456789,X,Y,general credit,{at(1)},,", "line 4: grade.not_in_scheme"),
        (f"2222222222,,,regular,{at(1)},,", "line 4: enterprise.unknown"),
        (f"0123456789,X,Y,regular,{at(1)}:00.5,,", "line 4: effective_at"),
        (f'0123456789,"X"Y,Z,regular,{at(1)},,', "line 4: ',' expected after"),
        (f'0123456789,"X,Y,regular,{at(1)},,', "line 4: unexpected end of data"),
        (
            f"0123456789,{'X' * 200_000},Y,regular,{at(1)},,",
            "line 4: grade_change.field_invalid: name is longer than",
        ),
    ],
    ids=[
        "time",
        "flag",
        "fields",
        "code",
        "grade",
        "unknown enterprise",
        "offset seconds",
        "bad quoting",
        "unterminated quote",
        "field too long",
    ],
)
def test_a_bad_line_is_named_and_nothing_is_applied(
    config: Path,
    store: Callable[[], SqlStore],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bad_row: str,
    expected: str,
) -> None:
    """Two good rows, then a bad one on line 4. Result: one line on stderr naming line 4 and
    what is wrong, exit 2, and not even the good rows stored."""
    path = csv_file(tmp_path, GOOD[0], GOOD[1], bad_row)
    assert run(config, str(path)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert expected in captured.err
    assert "nothing applied" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    if "grade.not_in_scheme" in expected:
        assert "Decree 282" in captured.err
    opened = store()
    assert history(opened, "AEOCN0123456789") == []
    assert outbox(opened) == []


def test_a_missing_file_is_one_line_and_a_non_zero_exit(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, str(tmp_path / "absent.csv")) == 2
    err = capsys.readouterr().err
    assert err.startswith("aeo-gateway: cannot read ")
    assert "absent.csv" in err
    assert len(err.strip().splitlines()) == 1


def test_a_header_without_the_required_columns_is_refused(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("code,grade\n0123456789,regular\n")
    assert run(config, str(path)) == 2
    err = capsys.readouterr().err
    assert "line 1" in err
    assert "missing enterprise_code, name, address, effective_at" in err
