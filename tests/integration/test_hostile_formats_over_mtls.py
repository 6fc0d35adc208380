"""Hostile XML-DSig and JWS messages through the real server over mutual TLS: each is refused
with its precise status and reason, and nothing stored changes. (The codec suites in
tests/contract try many more variants against the codecs alone.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from signxml.algorithms import DigestAlgorithm

from adapters.wire import jws
from gateway.api.errors import error_info
from gateway.devkit import DevWorkspace
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import BatchKind
from gateway.pb import common_pb2, exchange_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import partner_client

INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
DENIED = grpc.StatusCode.PERMISSION_DENIED
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
NAME = b"<Name>Lion City Logistics Pte Ltd</Name>"
XML, JWS = common_pb2.WIRE_FORMAT_XMLDSIG, common_pb2.WIRE_FORMAT_JWS


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _eu(ws: DevWorkspace) -> bytes:
    """The EU's genuine signed document of one operator."""
    batch = OutboundBatch(
        "EU", 1, datetime.now(UTC), BatchKind.DELTA, (record("DE123456789", tier="AEOF"),)
    )
    return ws.envelope(batch, "xmldsig").payload


def _kr_document(partner: str = "KR") -> bytes:
    batch = OutboundBatch(
        partner, 1, datetime.now(UTC), BatchKind.DELTA, (record("KR1208147521", tier="AA"),)
    )
    return jws.encode(batch)


def _prolog(ws: DevWorkspace, prolog: bytes, body: bytes = b"") -> bytes:
    doc = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", _eu(ws))
    if body:
        doc = doc.replace(NAME, b"<Name>" + body + b"</Name>", 1)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + prolog + doc


def _injected(ws: DevWorkspace) -> bytes:
    doc = _eu(ws)
    first = re.search(rb"<Record>.*?</Record>", doc, re.S)
    assert first is not None
    unsigned = first.group().replace(b"DE123456789", b"DE999999999")
    return doc.replace(b"<ds:Signature", unsigned + b"<ds:Signature", 1)


def _second_signature(ws: DevWorkspace) -> bytes:
    doc = _eu(ws)
    signature = re.search(rb"<ds:Signature.*?</ds:Signature>", doc, re.S)
    assert signature is not None
    return doc.replace(b"<Record>", signature.group() + b"<Record>", 1)


def _key_value(ws: DevWorkspace) -> bytes:
    return re.sub(
        rb"(<ds:KeyInfo>)", rb"\1<ds:KeyValue><ds:RSAKeyValue/></ds:KeyValue>", _eu(ws), count=1
    )


def _laughs(ws: DevWorkspace) -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    return _prolog(ws, b"<!DOCTYPE StatusMessage [" + entities + b"]>\n", b"&lol9;")


def _alg_none(ws: DevWorkspace) -> bytes:
    header = json.dumps({"alg": "none", "kid": "KR-2026-1"}).encode()
    return _b64(header) + b"." + _b64(_kr_document()) + b"."


def _hs256_with_the_public_key(ws: DevWorkspace) -> bytes:
    public = (
        ws.signer("KR")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = json.dumps({"alg": "HS256", "kid": "KR-2026-1"}).encode()
    signing_input = _b64(header) + b"." + _b64(_kr_document())
    return signing_input + b"." + _b64(hmac.new(public, signing_input, hashlib.sha256).digest())


def _json_serialization(ws: DevWorkspace) -> bytes:
    compact = jws.sign_compact(_kr_document(), ws.signer("KR")).split(b".")
    signature = {"protected": compact[0].decode(), "signature": compact[2].decode()}
    document = {"payload": compact[1].decode(), "signatures": [signature, signature]}
    return json.dumps(document).encode()


def _signed_kr(document: bytes, **header: object) -> Callable[[DevWorkspace], bytes]:
    return lambda ws: jws.sign_compact(document, ws.signer("KR"), **header)


_DUPLICATE = _kr_document().replace(b'{"partner":"KR"', b'{"partner":"KR","partner":"KR"', 1)
_DEEP = _kr_document().replace(b'"name":', b'"x":' + b"[" * 200 + b"]" * 200 + b',"name":', 1)

Build: TypeAlias = Callable[[DevWorkspace], bytes]
Format: TypeAlias = common_pb2.WireFormat.ValueType

#: (name, partner, format, payload builder, status, reason)
CASES: list[tuple[str, str, Format, Build, grpc.StatusCode, str]] = [
    (
        "xml external entity",
        "EU", XML,
        lambda ws: _prolog(
            ws, b'<!DOCTYPE StatusMessage [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n', b"&x;"
        ),
        INVALID, "payload.unsafe",
    ),
    (
        "xml parameter entity",
        "EU", XML,
        lambda ws: _prolog(
            ws, b'<!DOCTYPE StatusMessage [<!ENTITY % r SYSTEM "http://x.example/d"> %r;]>\n'
        ),
        INVALID, "payload.unsafe",
    ),
    ("xml billion laughs", "EU", XML, _laughs, INVALID, "payload.unsafe"),
    (
        "xml external dtd",
        "EU", XML,
        lambda ws: _prolog(ws, b'<!DOCTYPE StatusMessage SYSTEM "http://x.example/s.dtd">\n'),
        INVALID, "payload.unsafe",
    ),
    (
        "xml xinclude",
        "EU", XML,
        lambda ws: _eu(ws).replace(
            NAME,
            NAME + b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>',
            1,
        ),
        INVALID, "payload.unsafe",
    ),
    (
        "xml processing instruction",
        "EU", XML,
        lambda ws: _prolog(ws, b'<?xml-stylesheet href="http://x.example/s.xsl"?>\n'),
        INVALID, "payload.unsafe",
    ),
    ("xml unsigned record injected", "EU", XML, _injected, UNAUTHENTICATED, "signature.invalid"),
    (
        "xml second signature", "EU", XML, _second_signature,
        UNAUTHENTICATED, "signature.layout_invalid",
    ),
    (
        "xml sha-1 digest",
        "EU", XML,
        lambda ws: _eu(ws).replace(
            DigestAlgorithm.SHA256.value.encode(), DigestAlgorithm.SHA1.value.encode()
        ),
        UNAUTHENTICATED, "signature.algorithm_not_pinned",
    ),
    (
        "xml key value offered", "EU", XML, _key_value,
        UNAUTHENTICATED, "signature.key_material_offered",
    ),
    (
        "xml truncated",
        "EU", XML, lambda ws: _eu(ws)[: len(_eu(ws)) // 2], INVALID, "payload.malformed",
    ),
    (
        "xml invalid utf-8",
        "EU", XML, lambda ws: _eu(ws).replace(b"Lion City", b"Lion \xff City", 1),
        INVALID, "payload.malformed",
    ),
    (
        "xml over the size cap",
        "EU", XML, lambda ws: _eu(ws) + b"<!--" + b"x" * (4 << 20) + b"-->",
        EXHAUSTED, "payload.too_large",
    ),
    ("jws alg none", "KR", JWS, _alg_none, UNAUTHENTICATED, "signature.algorithm_not_pinned"),
    (
        "jws hs256 keyed with the public key", "KR", JWS, _hs256_with_the_public_key,
        UNAUTHENTICATED, "signature.algorithm_not_pinned",
    ),
    (
        "jws jwk header",
        "KR", JWS, _signed_kr(_kr_document(), jwk={"kty": "EC", "crv": "P-256"}),
        UNAUTHENTICATED, "signature.key_material_offered",
    ),
    (
        "jws jku header",
        "KR", JWS, _signed_kr(_kr_document(), jku="https://x.example/keys"),
        UNAUTHENTICATED, "signature.key_material_offered",
    ),
    (
        "jws x5c header",
        "KR", JWS, _signed_kr(_kr_document(), x5c=["MIIB"]),
        UNAUTHENTICATED, "signature.key_material_offered",
    ),
    (
        "jws kid of another partner's key",
        "KR", JWS, _signed_kr(_kr_document(), kid="SG-2026-1"),
        UNAUTHENTICATED, "signature.unknown_key",
    ),
    (
        "jws json serialization with two signatures", "KR", JWS, _json_serialization,
        UNAUTHENTICATED, "signature.layout_invalid",
    ),
    ("jws duplicate keys", "KR", JWS, _signed_kr(_DUPLICATE), INVALID, "payload.malformed"),
    ("jws deeply nested", "KR", JWS, _signed_kr(_DEEP), INVALID, "payload.unsafe"),
    (
        "jws speaking for another partner",
        "KR", JWS, _signed_kr(_kr_document("SG")), DENIED, "partner.impersonation",
    ),
    ("jws garbage", "KR", JWS, lambda ws: b"\x00\x01garbage", INVALID, "payload.malformed"),
    (
        "jws truncated",
        "KR", JWS, lambda ws: _signed_kr(_kr_document())(ws)[:-20], UNAUTHENTICATED,
        "signature.invalid",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("partner", "wire_format", "build", "status", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_a_hostile_message_is_refused_precisely_and_changes_nothing(
    live: Live,
    partner: str,
    wire_format: common_pb2.WireFormat.ValueType,
    build: Callable[[DevWorkspace], bytes],
    status: grpc.StatusCode,
    reason: str,
) -> None:
    """The partner (the EU over XML-DSig, Korea over JWS) submits the hostile message over
    mutual TLS. Result: the status and reason named in CASES, and the partner's state and the
    change feed exactly as before."""
    reader = live.gateway.store.reader
    before = (reader.partner_stats(partner), tuple(reader.changes_after(0, 1_000_000)))
    envelope = exchange_pb2.SignedEnvelope(format=wire_format, payload=build(live.workspace))
    with pytest.raises(grpc.RpcError) as refused:
        partner_client(live, partner).submit_envelope(envelope)
    info = error_info(refused.value)
    assert (refused.value.code(), info.reason if info else None) == (status, reason)
    assert (reader.partner_stats(partner), tuple(reader.changes_after(0, 1_000_000))) == before
