"""What every wire format's output must satisfy: one set of rules, whatever the format.

Codecs only read their format; these checks decide. They also keep values inside what every
store can hold (64-bit signed integers, text without control characters), so a message that
passes cannot be refused by the database later.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

from gateway.domain.errors import MalformedPayload
from gateway.domain.messages import DecodedBatch, RecordDraft, Rejection
from gateway.domain.records import AeoRecord

#: Versions and sequence numbers are stored as signed 64-bit integers.
MAX_NUMBER = 2**63 - 1

#: Instants are stored in UTC: one whose UTC form falls outside what a datetime can hold (year
#: 1 to 9999) could be stored but never read back. A day's margin at each end.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)

#: C0 controls (NUL included), DEL, C1 controls, lone surrogates and the non-characters U+FFFE
#: and U+FFFF: never part of a name, an address or a code, not storable as text everywhere, and
#: (but for C1) not XML 1.0 characters, so no XML-DSig partner could be sent them.
NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_CONTROL = NOT_TEXT


_TEXT_FIELDS = ("identifier", "tier", "name", "address")


class TextLimits(NamedTuple):
    """Longest accepted text, per field, in the order of _TEXT_FIELDS."""

    identifier: int = 64
    tier: int = 64
    name: int = 512
    address: int = 1024


TEXT_LIMITS = TextLimits()


def check_header(batch: DecodedBatch) -> None:
    """Refuses the whole message when its header is unusable."""
    if not batch.partner or _CONTROL.search(batch.partner):
        raise MalformedPayload("the batch names no valid partner")
    if not 1 <= batch.sequence <= MAX_NUMBER:
        raise MalformedPayload(f"sequence must be between 1 and {MAX_NUMBER}")
    if batch.issued_at.utcoffset() is None:
        raise MalformedPayload("issued_at must carry a time zone")
    if not EARLIEST <= batch.issued_at <= LATEST:
        raise MalformedPayload("issued_at is outside the years 1 to 9999 in UTC")


def _problem(draft: RecordDraft, limits: TextLimits) -> tuple[str, str] | None:
    if draft.problem is not None:
        return draft.problem
    if not draft.identifier:
        return "record.field_missing", "identifier is empty"
    if draft.version == 0:
        return "record.field_missing", "version is missing"
    if not 1 <= draft.version <= MAX_NUMBER:
        return "record.field_invalid", f"version must be between 1 and {MAX_NUMBER}"
    if draft.effective_at is None:
        return "record.field_missing", "effective_at is missing"
    if draft.effective_at.utcoffset() is None:
        return "record.field_invalid", "effective_at must carry a time zone"
    if not EARLIEST <= draft.effective_at <= LATEST:
        return "record.field_invalid", "effective_at is outside the years 1 to 9999 in UTC"
    if draft.status is None:
        return "record.field_missing", "status is missing"
    texts = (draft.identifier, draft.tier, draft.name, draft.address)
    if not _CONTROL.search("".join(texts)) and all(
        len(t) <= n for t, n in zip(texts, limits, strict=True)
    ):
        return None  # the common case, checked in one pass
    for field, text, limit in zip(_TEXT_FIELDS, texts, limits, strict=True):
        if len(text) > limit:
            return "record.field_invalid", f"{field} is longer than {limit} characters"
        if _CONTROL.search(text):
            return "record.field_invalid", f"{field} contains control characters"
    return None


def validate_record(draft: RecordDraft, limits: TextLimits = TEXT_LIMITS) -> AeoRecord | Rejection:
    """The record, or the reason it cannot be applied."""
    problem = _problem(draft, limits)
    if problem is not None:
        # The receipt names the record: never with characters a receipt cannot carry.
        identifier = _CONTROL.sub("\ufffd", draft.identifier[: limits.identifier])
        version = draft.version if 0 <= draft.version <= MAX_NUMBER else 0
        return Rejection(identifier, version, *problem)
    assert draft.effective_at is not None
    assert draft.status is not None
    return AeoRecord(
        identifier=draft.identifier,
        name=draft.name,
        address=draft.address,
        status=draft.status,
        tier=draft.tier,
        version=draft.version,
        effective_at=draft.effective_at,
        event=draft.event,
        authorised_from=draft.authorised_from,
        valid_until=draft.valid_until,
        suspended_on=draft.suspended_on,
        revoked_on=draft.revoked_on,
        consent_withdrawn=draft.consent_withdrawn,
    )
