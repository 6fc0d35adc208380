"""Admin lists page through the change log and the partner directory with opaque tokens."""

from __future__ import annotations

import grpc
import pytest

from gateway.api import pages
from gateway.api.errors import error_info
from gateway.client import AdminClient, PartnerClient
from gateway.devkit import pb_records
from gateway.pb import admin_pb2, admin_pb2_grpc
from tests.conftest import Live
from tests.factories import record


def test_the_change_log_pages_in_commit_order_and_resumes_from_its_token(live: Live) -> None:
    """SG applies three versions in two messages; an auditor reads one change per page, then
    polls again from the last token. Result: the three changes in order, increasing cursors,
    and an empty page (with a token to poll from) once caught up."""
    with live.channel("SG") as channel:
        client = PartnerClient(channel, "SG", live.workspace.signer("SG"))
        client.submit(1, pb_records([record(), record("SG000000000002")]))
        client.submit(2, pb_records([record(version=2)]))
    with live.channel("admin") as channel:
        admin = AdminClient(channel)
        seen: list[admin_pb2.Change] = []
        token = ""
        for _ in range(3):
            page = admin.changes(page_token=token, page_size=1)
            seen.extend(page.changes)
            token = page.next_page_token
        caught_up = admin.changes(page_token=token)
    applied = [
        (c.record_version_applied.identifier, c.record_version_applied.version) for c in seen
    ]
    assert applied == [("SG000000000001", 1), ("SG000000000002", 1), ("SG000000000001", 2)]
    assert [c.cursor for c in seen] == sorted(c.cursor for c in seen)
    assert list(caught_up.changes) == []
    assert caught_up.next_page_token


@pytest.mark.parametrize(
    "request_",
    [
        admin_pb2.ListChangesRequest(page_token="not a token"),
        admin_pb2.ListChangesRequest(page_token=pages.token("changes", "²")),
        admin_pb2.ListChangesRequest(page_token=pages.token("changes", "9" * 23)),
        admin_pb2.ListChangesRequest(page_size=-1),
        admin_pb2.ListPartnersRequest(page_token="not a token"),
    ],
    ids=[
        "garbage token",
        "a digit that is not a number",
        "a cursor beyond 64 bits",
        "negative page size",
        "garbage partners token",
    ],
)
def test_a_token_the_gateway_did_not_issue_is_refused(live: Live, request_: object) -> None:
    """A forged page token or a negative page size. Result: INVALID_ARGUMENT
    request.invalid_page_token."""
    with live.channel("admin") as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        method = (
            stub.ListChanges
            if isinstance(request_, admin_pb2.ListChangesRequest)
            else stub.ListPartners
        )
        with pytest.raises(grpc.RpcError) as refused:
            method(request_, timeout=10)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    info = error_info(refused.value)
    assert info is not None
    assert info.reason == "request.invalid_page_token"


def test_a_token_of_one_list_is_refused_by_another(live: Live) -> None:
    """The partners list's token handed to the change log. Result: request.invalid_page_token."""
    with live.channel("admin") as channel:
        admin = AdminClient(channel)
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        token = stub.ListPartners(admin_pb2.ListPartnersRequest(page_size=1)).next_page_token
        assert token
        with pytest.raises(grpc.RpcError) as refused:
            admin.changes(page_token=token)
    info = error_info(refused.value)
    assert info is not None
    assert info.reason == "request.invalid_page_token"
