"""Pagination: opaque page tokens and page sizes, the same for every list RPC."""

from __future__ import annotations

import base64
import binascii
import re

from gateway.domain.errors import InvalidPageToken

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_DIGITS = re.compile(r"[0-9]{1,19}")


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidPageToken("page_size must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def token(kind: str, position: str) -> str:
    """An opaque token saying where the next page starts. Opaque so that the position's form
    can change without breaking clients; tagged so a token of one list fails on another."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode()


def position(kind: str, page_token: str) -> str | None:
    """The position a token names, or None for the first page."""
    if not page_token:
        return None
    try:
        text = base64.urlsafe_b64decode(page_token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidPageToken("page_token is not one this gateway issued") from exc
    tag, _, value = text.partition(":")
    if tag != kind:
        raise InvalidPageToken("page_token belongs to another list")
    return value


def cursor(kind: str, page_token: str) -> int:
    """The integer position a token names (0 for the first page), within a signed 64-bit
    range: anything else is a token this gateway did not issue."""
    value = position(kind, page_token) or "0"
    if not _DIGITS.fullmatch(value) or int(value) > 2**63 - 1:
        raise InvalidPageToken("page_token is not one this gateway issued")
    return int(value)
