"""The JSON Schema partners build against (adapters/wire/schemas/aeo-status-v1.schema.json) and
the jws codec agree: a document the schema accepts is one the gateway applies in full, and one
it refuses the gateway refuses, whole or record by record. The codec validates in plain code
(for speed); this corpus keeps the two from drifting apart."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from adapters.wire import jws
from gateway.domain.errors import GatewayError
from gateway.domain.messages import OutboundBatch
from gateway.domain.ports import DecodeLimits
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.domain.validation import check_header, validate_record
from tests.contract.codec_contract import RECEIVED
from tests.factories import record

SCHEMA = json.loads(
    resources.files("adapters.wire").joinpath("schemas/aeo-status-v1.schema.json").read_text()
)
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
LIMITS = DecodeLimits(max_records=100)
MAX = 2**63 - 1

Change = Callable[[dict[str, Any]], object]


def _base() -> dict[str, Any]:
    return {
        "partner": "KR",
        "sequence": 1,
        "issued_at": "2026-11-27T12:00:00Z",
        "kind": "delta",
        "records": [
            {
                "identifier": "KR1234567890",
                "name": "Hanbit Logistics Co., Ltd.",
                "address": "12 Sejong-daero, Seoul",
                "status": "valid",
                "tier": "AA",
                "version": 3,
                "effective_at": "2026-11-01T09:00:00+09:00",
                "event": "granted",
                "authorised_from": "2020-01-01",
                "valid_until": "2029-12-31",
                "consent_withdrawn": False,
            }
        ],
    }


def top(name: str, value: Any) -> Change:
    return lambda d: d.__setitem__(name, value)


def drop(name: str) -> Change:
    return lambda d: d.pop(name)


def rec(name: str, value: Any) -> Change:
    return lambda d: d["records"][0].__setitem__(name, value)


def rec_drop(name: str) -> Change:
    return lambda d: d["records"][0].pop(name)


def _many(*changes: Change) -> Change:
    return lambda d: [c(d) for c in changes]


VALID: dict[str, Change] = {
    # Cut to microseconds, as in the XML format (XML tools write seven digits and more).
    "issued_at seven fractional digits": top("issued_at", "2026-11-27T12:00:00.1234567Z"),
    "as-is": lambda d: None,
    "snapshot": top("kind", "snapshot"),
    "no records": top("records", []),
    "largest sequence": top("sequence", MAX),
    "largest version": rec("version", MAX),
    "offset issued_at": top("issued_at", "2026-11-27T21:00:00+09:00"),
    "negative offset": top("issued_at", "2026-11-27T03:00:00-09:00"),
    "one fractional digit": rec("effective_at", "2026-11-01T00:00:00.5Z"),
    "six fractional digits": rec("effective_at", "2026-11-01T00:00:00.123456Z"),
    "leap day": rec("valid_until", "2028-02-29"),
    "null date": rec("revoked_on", None),
    "every date": _many(rec("suspended_on", "2026-01-02"), rec("revoked_on", "2026-03-04")),
    "only required fields": _many(
        *(rec_drop(f) for f in ("name", "address", "tier", "event", "authorised_from")),
        rec_drop("valid_until"),
        rec_drop("consent_withdrawn"),
    ),
    "hangul": _many(rec("name", "한빛물류 주식회사"), rec("address", "서울특별시 종로구")),
    "longest identifier": rec("identifier", "K" * 64),
    "longest name": rec("name", "n" * 512),
    "longest address": rec("address", "a" * 1024),
    "consent withdrawn": rec("consent_withdrawn", True),
    **{f"status {s.value}": rec("status", s.value) for s in RecordStatus},
    **{f"event {e.value}": rec("event", e.value) for e in StatusEvent},
}

INVALID: dict[str, Change] = {
    **{f"no {name}": drop(name) for name in ("partner", "sequence", "issued_at", "kind")},
    "no records member": drop("records"),
    "unknown top-level member": top("version", 1),
    "empty partner": top("partner", ""),
    "partner not a string": top("partner", 82),
    "partner with a newline": top("partner", "KR\n"),
    "sequence zero": top("sequence", 0),
    "sequence negative": top("sequence", -1),
    "sequence past int64": top("sequence", MAX + 1),
    "sequence a string": top("sequence", "1"),
    "sequence a boolean": top("sequence", True),
    "sequence a fraction": top("sequence", 1.5),
    "kind unknown": top("kind", "full"),
    "kind upper case": top("kind", "DELTA"),
    "issued_at without zone": top("issued_at", "2026-11-27T12:00:00"),
    "issued_at lower-case t": top("issued_at", "2026-11-27t12:00:00Z"),
    "issued_at with a space": top("issued_at", "2026-11-27 12:00:00Z"),
    "issued_at basic format": top("issued_at", "20261127T120000Z"),
    "issued_at 30 February": top("issued_at", "2026-02-30T12:00:00Z"),
    "issued_at hour 24": top("issued_at", "2026-11-27T24:00:00Z"),
    "issued_at trailing newline": top("issued_at", "2026-11-27T12:00:00Z\n"),
    "issued_at a number": top("issued_at", 1764244800),
    "records an object": top("records", {}),
    "record a number": top("records", [1]),
    **{f"record without {f}": rec_drop(f) for f in ("identifier", "version", "status")},
    "record without effective_at": rec_drop("effective_at"),
    "record with an unknown member": rec("grade", "AA"),
    "status unknown": rec("status", "dormant"),
    "status upper case": rec("status", "VALID"),
    "status a number": rec("status", 1),
    "status null": rec("status", None),
    "event unknown": rec("event", "renamed"),
    "event null": rec("event", None),
    "version zero": rec("version", 0),
    "version negative": rec("version", -3),
    "version past int64": rec("version", MAX + 1),
    "version a string": rec("version", "3"),
    "version a boolean": rec("version", True),
    "version a fraction": rec("version", 2.5),
    "identifier empty": rec("identifier", ""),
    "identifier too long": rec("identifier", "K" * 65),
    "identifier a number": rec("identifier", 1234567890),
    "name too long": rec("name", "n" * 513),
    "name with a tab": rec("name", "Hanbit\tLogistics"),
    "name ending in a newline": rec("name", "Hanbit\n"),
    "name with DEL": rec("name", "Hanbit\x7f"),
    "name null": rec("name", None),
    "address too long": rec("address", "a" * 1025),
    "tier too long": rec("tier", "t" * 65),
    "tier a list": rec("tier", ["AA"]),
    "effective_at without zone": rec("effective_at", "2026-11-01T09:00:00"),
    "effective_at a date": rec("effective_at", "2026-11-01"),
    "effective_at a number": rec("effective_at", 0),
    "effective_at null": rec("effective_at", None),
    "valid_until 30 February": rec("valid_until", "2029-02-30"),
    "valid_until basic format": rec("valid_until", "20291231"),
    "valid_until unpadded": rec("valid_until", "2029-1-1"),
    "valid_until a date-time": rec("valid_until", "2029-12-31T00:00:00Z"),
    "valid_until trailing newline": rec("valid_until", "2029-12-31\n"),
    "revoked_on a number": rec("revoked_on", 20291231),
    "consent a string": rec("consent_withdrawn", "yes"),
    "consent null": rec("consent_withdrawn", None),
}

#: Integers written with a fraction or an exponent: JSON Schema's integer type admits 3.0, and
#: its data model cannot tell 3.0 from 3. The gateway refuses them (docs/wire-formats.md).
STRICTER: dict[str, Change] = {
    "sequence 1.0": top("sequence", 1.0),
    "version 3.0": rec("version", 3.0),
}


def _document(change: Change) -> dict[str, Any]:
    document = copy.deepcopy(_base())
    change(document)
    return document


def schema_accepts(document: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(document)


def gateway_accepts(document: dict[str, Any]) -> bool:
    """The codec opens it, the header is usable and every record is applied."""
    try:
        batch = jws.decode(json.dumps(document).encode(), LIMITS, "KR-1", "ecdsa-p256-sha256")
        check_header(batch)
    except GatewayError:
        return False
    return all(isinstance(validate_record(d), AeoRecord) for d in batch.drafts)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The shipped schema. Result: it is itself valid JSON Schema."""
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("change", VALID.values(), ids=VALID.keys())
def test_documents_the_schema_accepts_the_gateway_applies(change: Change) -> None:
    """A valid document of the corpus. Result: the schema and the gateway both accept it."""
    document = _document(change)
    assert schema_accepts(document)
    assert gateway_accepts(document)


@pytest.mark.parametrize("change", INVALID.values(), ids=INVALID.keys())
def test_documents_the_schema_refuses_the_gateway_refuses(change: Change) -> None:
    """An invalid document of the corpus. Result: the schema and the gateway both refuse it
    (the gateway whole, or the faulty record alone)."""
    document = _document(change)
    assert not schema_accepts(document)
    assert not gateway_accepts(document)


@pytest.mark.parametrize("change", STRICTER.values(), ids=STRICTER.keys())
def test_integers_with_a_fraction_are_refused_though_the_schema_cannot_say_so(
    change: Change,
) -> None:
    """1.0 where an integer belongs. Result: the gateway refuses it; the schema, whose integer
    type admits 1.0, does not (the one documented difference)."""
    document = _document(change)
    assert schema_accepts(document)
    assert not gateway_accepts(document)


def test_what_the_gateway_seals_satisfies_the_schema() -> None:
    """A batch encoded by the codec, every optional field set. Result: valid by the schema."""
    full = record(suspended_on=date(2026, 1, 2), revoked_on=date(2026, 3, 4), valid_until=None)
    batch = OutboundBatch("KR", 5, RECEIVED, BatchKind.SNAPSHOT, (full, record("SG2")))
    assert schema_accepts(json.loads(jws.encode(batch)))
