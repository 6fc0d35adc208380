"""The jws wire format (Korea's): a JSON status document signed as a JWS, compact serialization.

The payload on the wire is the ASCII ``header.payload.signature`` of RFC 7515 section 7.1; the
JWS payload is the JSON document described in docs/wire-formats.md and, for partners' tooling,
in schemas/aeo-status-v1.schema.json. Signatures are checked by joserfc; the codec decides what
joserfc is allowed to check:

* the protected header is read first, strictly (joserfc's ``extract_compact`` reads it with a
  plain ``json.loads``, where the last of two ``alg`` members wins); only ``alg``, ``kid``,
  ``typ`` and ``cty`` may appear;
* the key comes from the registry by ``kid``, never from the message (``jwk``, ``jku``, ``x5c``,
  ``x5u`` are refused as KeyMaterialOffered), and joserfc verifies with an allow-list of exactly
  the algorithm that key is pinned to;
* the document is read only once the signature holds, by a strict parser (no duplicate names,
  no NaN, bounded nesting), and per-record faults are left in that record's draft so the core
  refuses that record alone.
"""

from __future__ import annotations

import binascii
import copy
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final, NoReturn

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import ECKey, OKPKey, RSAKey
from joserfc.util import json_b64encode, urlsafe_b64decode, urlsafe_b64encode

from adapters.crypto.signatures import ECDSA_P256, ED25519, RSA_PKCS1, RSA_PSS
from adapters.wire import timestamps
from gateway.domain.errors import (
    AlgorithmNotPinned,
    KeyMaterialOffered,
    MalformedPayload,
    PayloadTooLarge,
    SchemaViolation,
    SignatureInvalid,
    SignatureLayoutInvalid,
    TooManyRecords,
    UnknownSigningKey,
    UnsafePayload,
    shown,
)
from gateway.domain.messages import (
    DecodedBatch,
    InboundMessage,
    OutboundBatch,
    RecordDraft,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits, KeyResolver, Signer
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.domain.validation import MAX_NUMBER

NAME: Final = "jws"
#: Explicit typing (RFC 8725 section 3.11): a JWS made for another purpose with the same key is
#: not a status message. Optional on receipt; the gateway always sends it.
TYP: Final = "aeo-status+jws"
_CTY: Final = frozenset({"json", "application/json"})


def _eddsa_as_ed25519() -> JWSAlgModel:
    model = copy.copy(jws.JWSRegistry.algorithms["Ed25519"])
    model.name = "EdDSA"
    return model


#: The gateway's pinned algorithm names and the JWS "alg" it seals with. Ed25519 is RFC 9864's
#: fully specified name; joserfc 1.8 warns that the polymorphic "EdDSA" is deprecated.
JWS_ALG: Final[Mapping[str, str]] = {
    ECDSA_P256: "ES256",
    RSA_PKCS1: "RS256",
    RSA_PSS: "PS256",
    ED25519: "Ed25519",
}
#: What each "alg" a message may name is pinned as. "EdDSA" (RFC 8037, what most libraries
#: still write) is read as Ed25519 only: the registry holds no other Edwards key.
_PINNED: Final = {**{alg: name for name, alg in JWS_ALG.items()}, "EdDSA": ED25519}
_KEY_CLASS: Final[Mapping[str, type[ECKey] | type[RSAKey] | type[OKPKey]]] = {
    "ES256": ECKey,
    "RS256": RSAKey,
    "PS256": RSAKey,
    "Ed25519": OKPKey,
    "EdDSA": OKPKey,
}


class _Registry(jws.JWSRegistry):
    """joserfc's registry with "EdDSA" bound to its Ed25519 model (which checks the curve),
    renamed, instead of the polymorphic model that warns on every use. The class's own copy of
    the algorithm table leaves joserfc's global one as it is."""

    algorithms = {**jws.JWSRegistry.algorithms, "EdDSA": _eddsa_as_ed25519()}


_HEADER_NAMES: Final = frozenset({"alg", "kid", "typ", "cty"})
_KEY_MATERIAL: Final = ("jwk", "jku", "x5c", "x5u")
#: Far above the four short members a header may hold, far below anything costly to read.
MAX_HEADER_CHARS: Final = 1024
#: An RSA-8192 signature, base64url: the longest any pinnable key makes (1366 characters).
_MAX_SIGNATURE_CHARS: Final = 1400
#: What the application admits (settings.max_payload_bytes) is checked before the codec runs;
#: this is the codec's own ceiling, for callers that skip the application.
DEFAULT_MAX_PAYLOAD_BYTES: Final = 16 * 1024 * 1024
#: A status document nests three deep (document, records, record); anything deeper is refused
#: before the parser recurses into it.
MAX_DEPTH: Final = 8

_TOP: Final = ("partner", "sequence", "issued_at", "kind", "records")
_TOP_NAMES: Final = frozenset(_TOP)
_DAYS: Final = ("authorised_from", "valid_until", "suspended_on", "revoked_on")
_TEXTS: Final = ("identifier", "name", "address", "tier")
_RECORD_NAMES: Final = frozenset(
    {*_TEXTS, "status", "version", "effective_at", "event", *_DAYS, "consent_withdrawn"}
)
_STATUS: Final = {s.value: s for s in RecordStatus}
_EVENT: Final = {e.value: e for e in StatusEvent}
_KIND: Final = {k.value: k for k in BatchKind}
#: Every byte but quotes and JSON's six structural characters, for the structure scan.
_NOT_STRUCTURE: Final = bytes(range(256)).translate(None, b'"[]{}:,')
#: Objects and arrays alike, for the depth.
_AS_BRACKETS: Final = bytes.maketrans(b"{}", b"[]")


def _registry(alg: str, max_payload_bytes: int) -> jws.JWSRegistry:
    """A registry allowing ``alg`` alone. Its size limits are raised: joserfc's default
    payload limit (128 kB) is below a snapshot's size; the codec bounds the message itself."""
    registry = _Registry(algorithms=[alg])
    registry.max_header_length = MAX_HEADER_CHARS
    registry.max_payload_length = max_payload_bytes
    registry.max_signature_length = _MAX_SIGNATURE_CHARS
    return registry


# --- reading ---------------------------------------------------------------------------------


class _Duplicate(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose names are unique (I-JSON, RFC 7493): with two ``status`` members, which
    one counts would depend on the partner's and the gateway's parsers."""
    found = dict(pairs)
    if len(found) != len(pairs):
        names = [name for name, _ in pairs]
        twice = next(name for i, name in enumerate(names) if name in names[:i])
        raise _Duplicate(f"member {shown(twice)} appears twice in one object")
    return found


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


#: Built once: json.loads with any keyword argument builds a decoder per call.
_STRICT: Final = json.JSONDecoder(object_pairs_hook=_unique, parse_constant=_no_constant)
#: Builds objects in C; duplicates are found by counting members instead (see _parse).
_PLAIN: Final = json.JSONDecoder(parse_constant=_no_constant)


def _strict_json(text: str) -> Any:
    """JSON refusing duplicate names and NaN/Infinity. Raises _Duplicate or ValueError."""
    return _STRICT.decode(text)


#: For the other documents the format carries (outcome reports).
strict_json: Final = _strict_json


def _parse(text: str, members: int) -> Any:
    """The document, parsed as _strict_json would, faster. ``members`` is the number of
    name-value pairs in the text (the structure scan's count of name separators outside
    strings). A duplicate name is a pair fewer in the dicts the plain parser builds; when the
    document's own and its records' members add up, no name repeats and nothing else is an
    object, so the strict parser (a Python call per object) runs only when they do not."""
    parsed = _PLAIN.decode(text)
    if type(parsed) is dict:
        records = parsed.get("records")
        found = len(parsed)
        if type(records) is list:
            found += sum(len(r) for r in records if type(r) is dict)
        if found == members:
            return parsed
    return _strict_json(text)


def _header(segment: bytes) -> dict[str, Any]:
    if len(segment) > MAX_HEADER_CHARS:
        raise SignatureLayoutInvalid(f"protected header longer than {MAX_HEADER_CHARS} characters")
    try:
        header = _strict_json(urlsafe_b64decode(segment).decode("utf-8"))
    except _Duplicate as exc:
        raise SignatureLayoutInvalid(f"protected header: {exc}") from exc
    except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedPayload("the protected header is not base64url-encoded JSON") from exc
    if not isinstance(header, dict):
        raise MalformedPayload("the protected header is not a JSON object")
    return header


def _algorithm(header: dict[str, Any], expected_typ: str = TYP) -> tuple[str, str, str]:
    """(JWS alg, pinned algorithm name, kid) from a protected header the format allows."""
    offered = [n for n in _KEY_MATERIAL if n in header]
    if offered:
        raise KeyMaterialOffered(
            f"the header offers key material ({', '.join(offered)}): keys come from the registry"
        )
    if "crit" in header or "b64" in header:
        # No extension is understood: crit may name none, and an unencoded payload (RFC 7797)
        # would change what the signature covers.
        raise SignatureLayoutInvalid("crit and b64 are not part of the format")
    unknown = sorted(header.keys() - _HEADER_NAMES)
    if unknown:
        raise SignatureLayoutInvalid(
            f"header member {shown(unknown[0])} is not allowed (only alg, kid, typ, cty)"
        )
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in _PINNED:
        # none, HS256 (a MAC keyed with a public key is the classic confusion), ES384, ...
        raise AlgorithmNotPinned(f"alg {shown(alg)} is not one a key can be pinned to")
    pinned = _PINNED[alg]
    kid = header.get("kid")
    if kid is None:
        # The key cannot be found, and the signature was never checked: not SignatureInvalid.
        raise UnknownSigningKey("the protected header names no kid")
    if not isinstance(kid, str) or not kid:
        raise SignatureLayoutInvalid("kid must be a non-empty string")
    typ, cty = header.get("typ"), header.get("cty")
    if typ is not None and (not isinstance(typ, str) or typ.lower() != expected_typ):
        raise SignatureLayoutInvalid(f"typ {shown(typ)} is not {expected_typ!r}")
    if cty is not None and (not isinstance(cty, str) or cty.lower() not in _CTY):
        raise SignatureLayoutInvalid(f"cty {shown(cty)} is not 'json'")
    return alg, pinned, kid


def _check_structure(document: bytes, limits: DecodeLimits) -> int:
    """Bounds the nesting depth and the record count of a JSON text without parsing it: the
    count runs before the signature check (a flood of records costs a scan, not a verification
    and a parse), the depth before ``json.loads``, whose C scanner recurses per level.

    Strings are cut out first (after their escaped backslashes and quotes), so brackets in a
    name count for nothing. One C pass drops every byte but quotes and structural characters;
    as in JSON a separator stands between any two strings, ``""`` is then always a string
    holding no structural character and goes, and the few strings left (a name with a bracket
    or a colon in it) are cut out by splitting on quotes. Innermost ``[]`` pairs are then
    removed a level per pass: the levels removed plus the opening brackets left unmatched bound
    how deep the parser can go. Bytes that are no JSON pass here and fail in the parser, after
    the signature (up to the parser's first error, what the scan saw is what it parses).

    Returns the number of name-value pairs (name separators outside strings), for _parse.
    """
    if b"\\" in document:
        document = document.replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = document.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in outside:
        outside = b"".join(outside.split(b'"')[::2])
    # Every object but the document itself is a record (the format has no other objects).
    if outside.count(b"{") - 1 > limits.max_records:
        raise TooManyRecords(
            f"more than {limits.max_records} records in one message",
            limit=str(limits.max_records),
        )
    brackets = outside.translate(_AS_BRACKETS, b":,")
    depth = 0
    while brackets:
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            break
        depth += 1
        brackets = inner
        if depth > MAX_DEPTH:
            break
    if depth + brackets.count(b"[") > MAX_DEPTH:
        raise UnsafePayload(f"JSON nested deeper than {MAX_DEPTH} levels")
    return outside.count(b":")


def _day(item: dict[str, Any], field: str) -> date | None:
    value = item.get(field)
    if value is None:
        return None
    if type(value) is not str:
        raise ValueError(f"{field} is not a calendar date (YYYY-MM-DD)")
    try:
        return timestamps.day(value)
    except ValueError:
        raise ValueError(f"{field} is not a calendar date (YYYY-MM-DD)") from None


def _invalid(identifier: Any, version: Any, reason: str, detail: str) -> RecordDraft:
    """A draft the core refuses with ``reason``, naming the record as far as it can."""
    return RecordDraft(
        identifier if type(identifier) is str else "",
        version if type(version) is int else 0,
        None,
        None,
        problem=(reason, detail),
    )


def _date(value: Any) -> date | None:
    return None if value is None else timestamps.day(value)


def _draft(item: dict[str, Any]) -> RecordDraft:
    """One record. The hot path reads a well-formed record with few checks, each a type test
    or a dict lookup; anything else goes to _checked_draft, which names the fault."""
    get = item.get
    identifier, version = get("identifier"), get("version")
    name, address, tier = get("name", ""), get("address", ""), get("tier", "")
    effective, consent = get("effective_at"), get("consent_withdrawn", False)
    try:
        status = _STATUS[get("status")]  # type: ignore[index]  # KeyError: None; TypeError: a list
        event = _EVENT[get("event", "unspecified")]
        if not (
            type(identifier) is str
            and type(version) is int
            and type(name) is str
            and type(address) is str
            and type(tier) is str
            and type(consent) is bool
            and type(effective) is str
            and item.keys() <= _RECORD_NAMES
        ):
            return _checked_draft(item)
        # tuple.__new__ directly: the NamedTuple's own __new__ is a Python function.
        return tuple.__new__(RecordDraft, (
            identifier, version, timestamps.instant(effective), status, name, address,
            tier, event, _date(get("authorised_from")), _date(get("valid_until")),
            _date(get("suspended_on")), _date(get("revoked_on")), consent, None,
        ))  # fmt: skip
    except (KeyError, TypeError, ValueError):
        return _checked_draft(item)


def _checked_draft(item: dict[str, Any]) -> RecordDraft:
    """One record field by field: a field this format cannot read becomes the draft's problem.
    Missing required fields are left empty for the core to name (validation.validate_record)."""
    get = item.get
    identifier, version = get("identifier", ""), get("version", 0)
    if not item.keys() <= _RECORD_NAMES:
        extra = sorted(item.keys() - _RECORD_NAMES)[0]
        return _invalid(identifier, version, "record.field_invalid", f"unknown member {extra!r}")
    texts = (identifier, get("name", ""), get("address", ""), get("tier", ""))
    for field, text in zip(_TEXTS, texts, strict=True):
        if type(text) is not str:
            return _invalid(identifier, version, "record.field_invalid", f"{field} not a string")
    if type(version) is not int:
        return _invalid(identifier, version, "record.field_invalid", "version not an integer")
    status_value = get("status")
    status = None
    if status_value is not None:
        if type(status_value) is not str:
            return _invalid(identifier, version, "record.field_invalid", "status not a string")
        status = _STATUS.get(status_value)
        if status is None:
            return _invalid(
                identifier,
                version,
                "record.status_unknown",
                f"status {shown(status_value)} is not one of {', '.join(_STATUS)}",
            )
    event_value = get("event", "unspecified")
    event = _EVENT.get(event_value) if type(event_value) is str else None
    if event is None:
        return _invalid(
            identifier, version, "record.field_invalid", f"event {shown(event_value)} unknown"
        )
    consent = get("consent_withdrawn", False)
    if type(consent) is not bool:
        return _invalid(identifier, version, "record.field_invalid", "consent_withdrawn not a bool")
    effective = get("effective_at")
    effective_at = None
    try:
        if effective is not None:
            if type(effective) is not str:
                raise ValueError("not a string")
            effective_at = timestamps.instant(effective)
    except ValueError as exc:
        return _invalid(identifier, version, "record.field_invalid", f"effective_at: {exc}")
    try:
        days = (
            _day(item, "authorised_from"),
            _day(item, "valid_until"),
            _day(item, "suspended_on"),
            _day(item, "revoked_on"),
        )
    except ValueError as exc:
        return _invalid(identifier, version, "record.field_invalid", str(exc))
    return RecordDraft(
        identifier, version, effective_at, status, texts[1], texts[2], texts[3], event, *days,
        consent, None,
    )  # fmt: skip


def _schema(path: str, what: str) -> NoReturn:
    raise SchemaViolation(f"{path}: {what}", path=path)


def _document(
    document: Any, limits: DecodeLimits
) -> tuple[str, int, datetime, BatchKind, list[Any]]:
    """The header of a status document; SchemaViolation naming the place otherwise."""
    if not isinstance(document, dict):
        _schema("$", "the document is not a JSON object")
    for name in _TOP:
        if name not in document:
            _schema(f"$.{name}", "missing")
    unknown = sorted(document.keys() - _TOP_NAMES)
    if unknown:
        _schema(f"$.{unknown[0]}", "unknown member")
    partner, sequence, issued, kind, records = (document[n] for n in _TOP)
    if type(partner) is not str or not partner:
        _schema("$.partner", "must be a non-empty string")
    if type(sequence) is not int or not 1 <= sequence <= MAX_NUMBER:
        _schema("$.sequence", f"must be an integer between 1 and {MAX_NUMBER}")
    if type(issued) is not str:
        _schema("$.issued_at", "must be a string")
    try:
        issued_at = timestamps.instant(issued)
    except ValueError as exc:
        _schema("$.issued_at", str(exc))
    batch_kind = _KIND.get(kind) if type(kind) is str else None
    if batch_kind is None:
        _schema("$.kind", "must be 'snapshot' or 'delta'")
    if type(records) is not list:
        _schema("$.records", "must be an array")
    if len(records) > limits.max_records:  # the scan's count's second line of defence
        raise TooManyRecords(
            f"more than {limits.max_records} records in one message",
            limit=str(limits.max_records),
        )
    for index, item in enumerate(records):
        if type(item) is not dict:
            _schema(f"$.records[{index}]", "must be an object")
    return partner, sequence, issued_at, batch_kind, records


def decode(document: bytes, limits: DecodeLimits, key_id: str, algorithm: str) -> DecodedBatch:
    """The status document (the JWS payload, already verified) as a batch."""
    members = _check_structure(document, limits)
    return _decode(document, members, limits, key_id, algorithm)


def _decode(
    document: bytes, members: int, limits: DecodeLimits, key_id: str, algorithm: str
) -> DecodedBatch:
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"the document is not UTF-8 (byte {exc.start})") from exc
    try:
        parsed = _parse(text, members)
    except _Duplicate as exc:
        raise MalformedPayload(f"the document is not I-JSON: {exc}") from exc
    except RecursionError as exc:  # _check_structure bounds the depth; this is a last resort
        raise UnsafePayload("JSON nested too deep") from exc
    except ValueError as exc:  # JSONDecodeError, NaN, an integer of more than 4300 digits
        raise MalformedPayload(f"the document is not JSON: {exc}") from exc
    partner, sequence, issued_at, kind, records = _document(parsed, limits)
    return DecodedBatch(
        partner=partner,
        sequence=sequence,
        issued_at=issued_at,
        kind=kind,
        drafts=tuple(map(_draft, records)),
        key_id=key_id,
        algorithm=algorithm,
    )


# --- writing ---------------------------------------------------------------------------------


def _record(r: AeoRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "identifier": r.identifier,
        "name": r.name,
        "address": r.address,
        "status": r.status.value,
        "tier": r.tier,
        "version": r.version,
        "effective_at": timestamps.instant_text(r.effective_at),
        "event": r.event.value,
    }
    for field in _DAYS:
        day = getattr(r, field)
        if day is not None:
            item[field] = day.isoformat()
    item["consent_withdrawn"] = r.consent_withdrawn
    return item


def encode(batch: OutboundBatch) -> bytes:
    """The status document, UTF-8 JSON (names and addresses in Hangul stay three bytes a
    character rather than six as \\u escapes)."""
    document = {
        "partner": batch.partner,
        "sequence": batch.sequence,
        "issued_at": timestamps.instant_text(batch.issued_at),
        "kind": batch.kind.value,
        "records": [_record(r) for r in batch.records],
    }
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
        "utf-8"
    )


def sign_compact(document: bytes, signer: Signer, **header: Any) -> bytes:
    """``document`` signed by ``signer`` as a JWS compact serialization.

    joserfc signs only with a private key object it holds, and the Signer port exists so that
    adapters never hold one. So the signing input is built with joserfc's own encoders (the
    exact bytes its ``sign_compact`` would sign) and the Signer signs it; an ECDSA signature is
    turned from DER into the JWS form, r || s, 32 bytes each (RFC 7518 section 3.4). The tests
    check that joserfc verifies the result for every algorithm. ``header`` adds or replaces
    members (the tests use it to build hostile messages).
    """
    alg = JWS_ALG.get(signer.algorithm)
    if alg is None:
        raise ValueError(f"no JWS algorithm for {signer.algorithm!r}")
    protected = {"alg": alg, "kid": signer.key_id, "typ": TYP, **header}
    signing_input = json_b64encode(protected) + b"." + urlsafe_b64encode(document)
    signature = signer.sign(signing_input)
    if signer.algorithm == ECDSA_P256:
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input + b"." + urlsafe_b64encode(signature)


# --- the codec -------------------------------------------------------------------------------


class JwsCodec:
    name = NAME

    def __init__(self, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self._max = max_payload_bytes
        self._registries = {alg: _registry(alg, max_payload_bytes) for alg in _PINNED}
        #: joserfc's view of registry keys (importing one reads the key's numbers: about 8 us);
        #: keyed by the key object's identity, which is held so the id cannot be reused.
        self._jwks: dict[tuple[str, int], tuple[object, ECKey | RSAKey | OKPKey]] = {}

    def _jwk(self, alg: str, material: object) -> ECKey | RSAKey | OKPKey:
        cached = self._jwks.get((alg, id(material)))
        if cached is not None and cached[0] is material:
            return cached[1]
        jwk = _KEY_CLASS[alg].import_key(material)  # type: ignore[arg-type]
        if len(self._jwks) >= 1024:  # directory reloads bring new key objects
            self._jwks.clear()
        self._jwks[(alg, id(material))] = (material, jwk)
        return jwk

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        payload, members, kid, pinned = self.verified(message, keys, limits)
        return _decode(payload, members, limits, kid, pinned)

    def verified(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits, typ: str = TYP
    ) -> tuple[bytes, int, str, str]:
        """The JWS payload once its signature holds, with _check_structure's count of members,
        the kid and the pinned algorithm: every document this format carries is received so
        (``typ``: the explicit type its header may name)."""
        data = message.payload
        # Before any crypto: the shape of a compact serialization, and its size.
        if len(data) > self._max:
            raise PayloadTooLarge(
                f"payload of {len(data)} bytes exceeds {self._max}", limit=str(self._max)
            )
        if message.detached is not None:
            raise SignatureLayoutInvalid("a jws message carries its signature inside")
        if data.lstrip()[:1] == b"{":
            raise SignatureLayoutInvalid("JWS JSON serialization: only the compact one is read")
        if not data.isascii() or data.count(b".") != 2 or b"=" in data:
            raise MalformedPayload("not a JWS compact serialization (three base64url parts)")
        alg, pinned, kid = _algorithm(_header(data[: data.index(b".")]), typ)
        key = keys.resolve(kid, pinned)
        registry = self._registries[alg]
        try:
            token = jws.extract_compact(data, registry=registry)
        except JoseError as exc:
            raise MalformedPayload(f"not a JWS compact serialization: {exc.description}") from exc
        members = _check_structure(token.payload, limits)
        try:
            valid = jws.validate_compact(token, self._jwk(alg, key.material), registry=registry)
        except (JoseError, ValueError, TypeError):
            valid = False
        if not valid:
            raise SignatureInvalid(f"signature does not verify with key {shown(kid)}", key_id=kid)
        return token.payload, members, kid, pinned

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        return SealedEnvelope(NAME, sign_compact(encode(batch), signer))
