"""HomeRegistryService over real mTLS, on SQLite and PostgreSQL: a grade change is answered by
RecognitionService, and is queued in the same transaction for the partners with an outbound
endpoint whose MRA is in force."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest

from gateway.bootstrap import Gateway, build
from gateway.pb import common_pb2, home_pb2, home_pb2_grpc, recognition_pb2
from tests.conftest import ROOT, Live, Workspace
from tests.integration.helpers import expect_error, now, recognition_client

#: Partners given an [outbound] endpoint in this workspace; the others have none.
WITH_ENDPOINT = ("KR", "SG")
CODE = "AEOCN0123456789"


def add_outbound_endpoints(workspace: Workspace, codes: tuple[str, ...]) -> None:
    for code in codes:
        path = workspace.root / "partners" / f"{code}.toml"
        path.write_text(path.read_text() + '\n[outbound]\nendpoint = "localhost:1"\n')


@pytest.fixture(scope="module")
def outbound_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = Workspace.create(tmp_path_factory.mktemp("home-registry"), ROOT)
    add_outbound_endpoints(workspace, WITH_ENDPOINT)
    return workspace


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, outbound_workspace: Workspace) -> Iterator[Live]:
    """A gateway on each store; delivery off, so the outbox keeps what was queued."""
    overrides: dict[str, Any] = {"outbound_enabled": False}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    settings = outbound_workspace.settings(**overrides)
    gateway: Gateway = build(settings)
    yield Live(gateway, settings, outbound_workspace)
    gateway.stop(grace=0)


def stub(live: Live, who: str = "registry") -> home_pb2_grpc.HomeRegistryServiceStub:
    channel: grpc.Channel = live.channel(who)
    return home_pb2_grpc.HomeRegistryServiceStub(channel)


def grade_change(
    code: str = "0123456789",
    grade: str = "advanced certified",
    at: datetime | None = None,
    **fields: Any,
) -> home_pb2.RecordGradeChangeRequest:
    change = home_pb2.GradeChange(
        enterprise_code=code,
        name=fields.pop("name", "Shanghai Harbour Trading Co., Ltd."),
        address=fields.pop("address", "1 Bund Road, Shanghai"),
        grade=grade,
        **fields,
    )
    change.effective_at.FromDatetime(at or now() - timedelta(hours=1))
    return home_pb2.RecordGradeChangeRequest(change=change)


def outbox(live: Live) -> list[tuple[str, str, int]]:
    with live.gateway.store.database.reading() as conn:
        cur = conn.cursor()
        cur.execute("SELECT partner, identifier, version FROM outbox ORDER BY id")
        return [(p, i, int(v)) for p, i, v in cur.fetchall()]


def recognise(live: Live, code: str) -> recognition_pb2.Recognition:
    return recognition_client(live).recognise(code, as_of=now())


def test_a_grant_is_recognised_in_every_form_and_queued_for_partners_with_endpoints(
    registry: Live,
) -> None:
    response = stub(registry).RecordGradeChange(grade_change())
    assert response.record.identifier == CODE
    assert response.record.status == common_pb2.RECORD_STATUS_VALID
    assert response.record.event == common_pb2.STATUS_EVENT_GRANTED
    assert response.record.version == 1
    assert (response.grade_scheme, response.aeo, response.duplicate) == ("Decree 282", True, False)
    assert list(response.queued_for) == [f"partners/{c}" for c in WITH_ENDPOINT]
    assert outbox(registry) == [(c, CODE, 1) for c in WITH_ENDPOINT]
    for declared in (CODE, "CN0123456789"):
        answer = recognise(registry, declared)
        assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED, answer.reason
        assert (answer.administration, answer.treatment) == ("CN", "advanced certified")
        assert answer.grade_scheme == "Decree 282"
        assert answer.normalised_code == CODE
        assert list(answer.benefits)  # the home standard bundle


def test_downgrade_suspension_and_duplicate(registry: Live) -> None:
    registry_stub = stub(registry)
    registry_stub.RecordGradeChange(grade_change(at=now() - timedelta(hours=3)))
    suspended = registry_stub.RecordGradeChange(
        grade_change(at=now() - timedelta(hours=2), suspended=True)
    )
    assert suspended.record.status == common_pb2.RECORD_STATUS_SUSPENDED
    answer = recognise(registry, CODE)
    assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
    assert answer.reason == "status.suspended"

    downgrade = grade_change(grade="regular", at=now() - timedelta(hours=1))
    revoked = registry_stub.RecordGradeChange(downgrade)
    assert revoked.record.status == common_pb2.RECORD_STATUS_REVOKED
    assert revoked.record.event == common_pb2.STATUS_EVENT_REVOKED
    assert not revoked.aeo
    assert len(revoked.queued_for) == len(WITH_ENDPOINT)
    answer = recognise(registry, "CN0123456789")
    assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED
    assert answer.reason == "status.revoked"

    before = outbox(registry)
    again = registry_stub.RecordGradeChange(downgrade)
    assert again.duplicate
    assert not again.queued_for
    assert again.record.version == 3
    assert outbox(registry) == before
    assert [v for _, _, v in before] == [1, 1, 2, 2, 3, 3]
    assert len(registry.gateway.store.reader.history("CN", CODE)) == 3


def test_a_change_between_non_aeo_grades_is_stored_but_queued_for_no_partner(
    registry: Live,
) -> None:
    registry_stub = stub(registry)
    first = registry_stub.RecordGradeChange(grade_change("1111111111", "regular"))
    second = registry_stub.RecordGradeChange(grade_change("1111111111", "discredited"))
    assert (first.aeo, list(first.queued_for)) == (False, [])
    assert (second.record.version, list(second.queued_for)) == (2, [])
    assert outbox(registry) == []
    answer = recognise(registry, "CN1111111111")
    assert (answer.outcome, answer.reason) == (
        recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED,
        "grade.not_aeo",
    )


REFUSALS: list[tuple[str, Callable[[], home_pb2.RecordGradeChangeRequest], Any, str]] = [
    ("unknown enterprise", lambda: grade_change(name=""), grpc.StatusCode.NOT_FOUND,
     "enterprise.unknown"),
    ("grade of another scheme", lambda: grade_change(grade="general credit"),
     grpc.StatusCode.INVALID_ARGUMENT, "grade.not_in_scheme"),
    ("far future", lambda: grade_change(at=now() + timedelta(days=3)),
     grpc.StatusCode.INVALID_ARGUMENT, "grade_change.too_far_ahead"),
    ("bad code", lambda: grade_change(code="SG0123456789"), grpc.StatusCode.INVALID_ARGUMENT,
     "enterprise.code_invalid"),
    ("no effective time", lambda: home_pb2.RecordGradeChangeRequest(
        change=home_pb2.GradeChange(enterprise_code="0123456789", name="X", grade="regular")),
     grpc.StatusCode.INVALID_ARGUMENT, "grade_change.field_invalid"),
    ("name with a C1 control", lambda: grade_change(name="Acme\x85Ltd"),
     grpc.StatusCode.INVALID_ARGUMENT, "grade_change.field_invalid"),
    ("name with a non-character", lambda: grade_change(name="Acme\uffff"),
     grpc.StatusCode.INVALID_ARGUMENT, "grade_change.field_invalid"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_of", "code", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusals_have_their_status_and_reason_and_store_nothing(
    registry: Live,
    request_of: Callable[[], home_pb2.RecordGradeChangeRequest],
    code: grpc.StatusCode,
    reason: str,
) -> None:
    err = expect_error(lambda: stub(registry).RecordGradeChange(request_of()), code, reason)
    if reason == "grade.not_in_scheme":
        assert "Decree 282" in (err.details() or "")
    assert registry.gateway.store.reader.history("CN", CODE) == []
    assert registry.gateway.store.reader.changes_after(0, 100) == []
    assert outbox(registry) == []


def test_a_domestic_certificate_may_not_record_grade_changes(registry: Live) -> None:
    expect_error(
        lambda: stub(registry, "domestic").RecordGradeChange(grade_change()),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )
    assert outbox(registry) == []
