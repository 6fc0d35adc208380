"""Just enough of the protobuf wire format to count a repeated field without parsing it, so a
message's record limit is enforced before any record is materialised."""

from __future__ import annotations

_VARINT, _FIXED64, _LENGTH, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def count_field(data: bytes, field: int, stop_after: int) -> int:
    """Occurrences of top-level ``field`` in the serialized message ``data``; the scan stops
    once the count passes ``stop_after``, so its cost is bounded whatever the message holds.
    ValueError when the bytes are not a well-formed message."""
    count = pos = depth = 0
    end = len(data)
    while pos < end:
        tag = data[pos]
        if tag < 0x80:  # one-byte tags and lengths: nearly every field, read inline
            pos += 1
        else:
            tag, pos = _varint(data, pos)
        kind = tag & 7
        if kind == _LENGTH:
            size = data[pos] if pos < end else 0x80
            if size < 0x80:
                pos += 1
            else:
                size, pos = _varint(data, pos)
            pos += size
        elif kind == _VARINT:
            _, pos = _varint(data, pos)
        elif kind == _FIXED64:
            pos += 8
        elif kind == _FIXED32:
            pos += 4
        elif kind == _START_GROUP:  # an unknown group the parser would skip: so do we
            depth += 1
        elif kind == _END_GROUP and depth:
            depth -= 1
        else:
            raise ValueError(f"unexpected wire type {kind}")
        if pos > end:
            raise ValueError("a field runs past the end of the message")
        if depth == 0 and kind == _LENGTH and tag >> 3 == field:
            count += 1
            if count > stop_after:
                break
    if depth and count <= stop_after:
        raise ValueError("a group is not closed")
    return count
