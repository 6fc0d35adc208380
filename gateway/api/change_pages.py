"""Change-log responses bounded in bytes as well as in count: whatever a stored change holds,
no ListChanges or WatchChanges response nears the gRPC message limit (4 MiB by default)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gateway.api.convert import change_to_pb
from gateway.domain.events import Change
from gateway.pb import admin_pb2

#: The most a response's changes may take, in bytes; a single larger change goes alone.
MAX_PAGE_BYTES = 1 << 20
#: Each change's field tag and length prefix in the response.
_FRAMING = 6


def pages(
    changes: Iterable[Change], limit: int = MAX_PAGE_BYTES
) -> Iterator[list[admin_pb2.Change]]:
    """The changes in order, as protobuf, cut into pages of at most ``limit`` bytes."""
    page: list[admin_pb2.Change] = []
    size = 0
    for change in changes:
        msg = change_to_pb(change)
        length = msg.ByteSize() + _FRAMING
        if page and size + length > limit:
            yield page
            page, size = [], 0
        page.append(msg)
        size += length
    if page:
        yield page


def first_page(changes: Iterable[Change]) -> list[admin_pb2.Change]:
    """ListChanges' page: the changes that fit; the next page starts after the last of them."""
    return next(pages(changes), [])
