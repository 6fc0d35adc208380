"""The jws wire format (JSON signed as a JWS, compact serialization): the codec contract, what
joserfc makes of the gateway's output, and messages built to attack a JWS verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from adapters.crypto.signatures import ECDSA_P256, ED25519, RSA_PKCS1, RSA_PSS, Signer
from adapters.pki import signing_key
from adapters.wire import jws
from gateway.domain.directory import Directory
from gateway.domain.errors import (
    AlgorithmNotPinned,
    GatewayError,
    KeyMaterialOffered,
    MalformedPayload,
    PayloadTooLarge,
    SchemaViolation,
    SignatureInvalid,
    SignatureLayoutInvalid,
    TooManyRecords,
    UnknownSigningKey,
    UnsafePayload,
)
from gateway.domain.messages import (
    DecodedBatch,
    DetachedSignature,
    InboundMessage,
    SealedEnvelope,
)
from gateway.domain.ports import DecodeLimits
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus
from gateway.domain.validation import validate_record
from tests.contract.codec_contract import LIMITS, RECEIVED, CodecContract, _signer


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _compact(header: dict[str, Any], document: bytes, signature: bytes = b"sig") -> bytes:
    """A compact serialization with any header and signature (for messages whose signature is
    never reached)."""
    return b".".join((_b64(json.dumps(header).encode()), _b64(document), _b64(signature)))


def _doc(**changes: Any) -> dict[str, Any]:
    """A valid status document of two records; ``changes`` replace top-level members."""
    record = {
        "identifier": "SG000000000001",
        "name": "Lion City Logistics Pte Ltd",
        "address": "1 Harbour Road, Singapore",
        "status": "valid",
        "tier": "STP-Plus",
        "version": 1,
        "effective_at": "2026-10-28T11:12:13.123456Z",
        "event": "granted",
        "authorised_from": "2020-01-01",
        "consent_withdrawn": False,
    }
    doc = {
        "partner": "SG",
        "sequence": 7,
        "issued_at": "2026-11-27T12:00:00Z",
        "kind": "delta",
        "records": [record, {**record, "identifier": "SG000000000002"}],
    }
    doc.update(changes)
    return doc


class _JwsContract(CodecContract):
    codec = jws.JwsCodec()

    def unreadable(self, signer: Signer) -> SealedEnvelope:
        return SealedEnvelope(jws.NAME, jws.sign_compact(b"\xff\xff not JSON", signer))

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        header, payload, signature = envelope.payload.split(b".")
        document = base64.urlsafe_b64decode(payload + b"==")
        changed = document.replace(b'"sequence":7', b'"sequence":8')
        assert changed != document
        return replace(envelope, payload=b".".join((header, _b64(changed), signature)))


class TestJwsCodecEd25519Contract(_JwsContract):
    """The contract again with keys pinned to Ed25519 (the default), ECDSA as the other."""

    def test_the_rfc_8037_name_eddsa_is_read_as_ed25519(self) -> None:
        """A message naming alg EdDSA (what most JOSE libraries write), signed with SG's
        Ed25519 key. Result: it opens, with no deprecation warning (warnings are errors here);
        joserfc's own table still maps EdDSA to its polymorphic model."""
        document = json.dumps(_doc()).encode()
        opened = self.codec.open(
            InboundMessage(
                "SG", jws.NAME, jws.sign_compact(document, self.sg, alg="EdDSA"),
                None, RECEIVED, "fp",
            ),
            self.directory().keys_for("SG", RECEIVED),
            LIMITS,
        )  # fmt: skip
        assert (opened.key_id, opened.algorithm) == ("SG-1", ED25519)
        assert joserfc_jws.JWSRegistry.algorithms["EdDSA"].security_warning


class TestJwsCodecContract(_JwsContract):
    """Korea's keys: ECDSA P-256 (ES256); Ed25519 is the other algorithm the format speaks."""

    algorithm = ECDSA_P256
    other_algorithm = ED25519
    sg: ClassVar[Signer] = _signer("SG-1", ECDSA_P256)
    kr: ClassVar[Signer] = _signer("KR-1", ECDSA_P256)
    expired: ClassVar[Signer] = _signer("SG-old", ECDSA_P256)

    # --- helpers for the tests below ----------------------------------------------------------

    def open_bytes(
        self, payload: bytes, limits: DecodeLimits = LIMITS, codec: jws.JwsCodec | None = None
    ) -> DecodedBatch:
        message = InboundMessage("SG", jws.NAME, payload, None, RECEIVED, "fp")
        keys = self.directory().keys_for("SG", RECEIVED)
        return (codec or self.codec).open(message, keys, limits)

    def signed(self, document: bytes | dict[str, Any], **header: Any) -> bytes:
        """``document`` (bytes as they are, or a dict as JSON) correctly signed by SG-1."""
        data = json.dumps(document).encode() if isinstance(document, dict) else document
        return jws.sign_compact(data, self.sg, **header)

    def refused(self, payload: bytes, error: type[GatewayError]) -> GatewayError:
        """Opens ``payload`` expecting exactly ``error``; nothing is returned."""
        result: DecodedBatch | None = None
        with pytest.raises(error) as caught:
            result = self.open_bytes(payload)
        assert result is None
        assert type(caught.value) is error
        return caught.value

    # --- the gateway's output, read by joserfc -------------------------------------------------

    @pytest.mark.parametrize("algorithm", [ECDSA_P256, ED25519, RSA_PKCS1, RSA_PSS])
    def test_joserfc_verifies_what_the_gateway_seals(self, algorithm: str) -> None:
        """A batch sealed by a Signer of each pinnable algorithm. Result: joserfc verifies it
        with the public key, allowing only that algorithm's JWS name, and reads the header the
        gateway wrote (ECDSA's DER signature was turned into r || s)."""
        private = signing_key(algorithm)
        sealed = jws.JwsCodec().seal(self.batch(), Signer(private, "SG-9", algorithm))
        alg = jws.JWS_ALG[algorithm]
        key_class = {"ES256": ECKey, "RS256": RSAKey, "PS256": RSAKey, "Ed25519": OKPKey}[alg]
        key = key_class.import_key(private.public_key())  # type: ignore[attr-defined]
        token = joserfc_jws.deserialize_compact(sealed.payload, key, algorithms=[alg])
        assert token.protected == {"alg": alg, "kid": "SG-9", "typ": jws.TYP}
        assert json.loads(token.payload)["sequence"] == 7
        assert sealed.detached is None

    def test_a_document_in_hangul_opens_as_sent(self) -> None:
        """Names and addresses in Hangul. Result: sealed as UTF-8 and read back unchanged."""
        batch = self.batch(records=1)
        korean = replace(batch.records[0], name="한국물류 주식회사", address="서울특별시 중구")
        opened = self.open(self.codec.seal(replace(batch, records=(korean,)), self.sg))
        assert (opened.drafts[0].name, opened.drafts[0].address) == (korean.name, korean.address)

    def test_a_document_signed_by_a_partners_own_jose_library_opens(self) -> None:
        """SG signs the document with joserfc itself (as a partner would, with its private key).
        Result: the batch opens; the format is plain RFC 7515."""
        key = ECKey.import_key(self.sg._key)  # type: ignore[arg-type]
        token = joserfc_jws.serialize_compact(
            {"alg": "ES256", "kid": "SG-1"}, json.dumps(_doc()), key, algorithms=["ES256"]
        )
        opened = self.open_bytes(token.encode())
        assert [d.identifier for d in opened.drafts] == ["SG000000000001", "SG000000000002"]
        assert opened.issued_at == datetime(2026, 11, 27, 12, tzinfo=UTC)

    # --- the algorithm and the key -------------------------------------------------------------

    def test_alg_none_is_refused(self) -> None:
        """An unsigned JWS: alg none, empty signature. Result: AlgorithmNotPinned."""
        token = _compact({"alg": "none", "kid": "SG-1"}, json.dumps(_doc()).encode(), b"")
        self.refused(token, AlgorithmNotPinned)

    def test_hs256_keyed_with_the_registered_public_key_is_refused(self) -> None:
        """The key-confusion attack: an HMAC over the message keyed with SG-1's public key
        (PEM, which anyone has). Result: AlgorithmNotPinned; no MAC is ever computed."""
        public = self.sg.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = _b64(json.dumps({"alg": "HS256", "kid": "SG-1"}).encode())
        signing_input = header + b"." + _b64(json.dumps(_doc()).encode())
        mac = hmac.new(public, signing_input, hashlib.sha256).digest()
        self.refused(signing_input + b"." + _b64(mac), AlgorithmNotPinned)

    def test_an_alg_no_key_can_be_pinned_to_is_refused(self) -> None:
        """ES384, correctly named, key SG-1. Result: AlgorithmNotPinned."""
        self.refused(_compact({"alg": "ES384", "kid": "SG-1"}, b"{}"), AlgorithmNotPinned)

    @pytest.mark.parametrize(
        ("member", "value"),
        [
            ("jwk", {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}),
            ("jku", "https://keys.example/jwks.json"),
            ("x5c", ["MIIB"]),
            ("x5u", "https://keys.example/cert.pem"),
        ],
    )
    def test_key_material_in_the_header_is_refused(self, member: str, value: Any) -> None:
        """A correctly signed message whose header offers a key or points to one. Result:
        KeyMaterialOffered: keys come from the registry, whatever the message offers."""
        self.refused(self.signed(_doc(), **{member: value}), KeyMaterialOffered)

    def test_a_kid_of_another_partner_is_refused(self) -> None:
        """SG's message names KR's key id (registered, but KR's). Result: UnknownSigningKey."""
        self.refused(jws.sign_compact(json.dumps(_doc()).encode(), self.kr), UnknownSigningKey)

    def test_an_unknown_kid_is_refused(self) -> None:
        """A kid nobody registered. Result: UnknownSigningKey."""
        self.refused(self.signed(_doc(), kid="SG-404"), UnknownSigningKey)

    def test_a_missing_kid_is_an_unknown_key(self) -> None:
        """No kid in the header. Result: UnknownSigningKey (no key to check it with; the
        signature was never checked, so SignatureInvalid would say more than is known)."""
        token = _compact({"alg": "ES256"}, json.dumps(_doc()).encode())
        self.refused(token, UnknownSigningKey)

    def test_a_der_encoded_ecdsa_signature_is_refused(self) -> None:
        """ES256 with the signature in DER, as a naive signer sends it. Result: SignatureInvalid
        (JWS wants r || s)."""
        header = _b64(json.dumps({"alg": "ES256", "kid": "SG-1"}).encode())
        signing_input = header + b"." + _b64(json.dumps(_doc()).encode())
        self.refused(signing_input + b"." + _b64(self.sg.sign(signing_input)), SignatureInvalid)

    # --- the layout of the signature -----------------------------------------------------------

    def test_crit_is_refused(self) -> None:
        """A signed message whose header marks an extension critical. Result:
        SignatureLayoutInvalid: the format understands none."""
        self.refused(self.signed(_doc(), crit=["exp"], exp=1), SignatureLayoutInvalid)

    def test_an_unencoded_payload_is_refused(self) -> None:
        """b64: false with crit [b64] (RFC 7797). Result: SignatureLayoutInvalid."""
        self.refused(self.signed(_doc(), b64=False, crit=["b64"]), SignatureLayoutInvalid)

    def test_b64_false_alone_is_refused(self) -> None:
        """b64: false without crit. Result: SignatureLayoutInvalid."""
        self.refused(self.signed(_doc(), b64=False), SignatureLayoutInvalid)

    def test_a_header_member_outside_the_format_is_refused(self) -> None:
        """A signed header with x5t#S256 (a thumbprint the format does not use). Result:
        SignatureLayoutInvalid: only alg, kid, typ and cty are read, and none is ignored."""
        self.refused(self.signed(_doc(), **{"x5t#S256": "abc"}), SignatureLayoutInvalid)

    def test_a_typ_of_another_kind_of_jws_is_refused(self) -> None:
        """typ JWT: a token made for another purpose. Result: SignatureLayoutInvalid."""
        self.refused(self.signed(_doc(), typ="JWT"), SignatureLayoutInvalid)

    def test_a_header_naming_alg_twice_is_refused(self) -> None:
        """{"alg": "ES256", ..., "alg": "none"}: parsers disagree on which counts. Result:
        SignatureLayoutInvalid."""
        header = b'{"alg":"ES256","kid":"SG-1","alg":"none"}'
        token = b".".join((_b64(header), _b64(json.dumps(_doc()).encode()), b""))
        self.refused(token, SignatureLayoutInvalid)

    def test_the_general_json_serialization_is_refused(self) -> None:
        """A general JSON serialization with two signatures (SG-1 and KR-1). Result:
        SignatureLayoutInvalid."""
        payload = _b64(json.dumps(_doc()).encode()).decode()
        sigs = [
            {"protected": jws.sign_compact(b"", s).split(b".")[0].decode(), "signature": "AA"}
            for s in (self.sg, self.kr)
        ]
        document = json.dumps({"payload": payload, "signatures": sigs}).encode()
        self.refused(document, SignatureLayoutInvalid)

    def test_the_flattened_json_serialization_is_refused(self) -> None:
        """A flattened JSON serialization of a correctly signed message. Result:
        SignatureLayoutInvalid."""
        header, payload, signature = self.signed(_doc()).decode().split(".")
        flat = {"protected": header, "payload": payload, "signature": signature}
        self.refused(json.dumps(flat, indent=1).encode(), SignatureLayoutInvalid)

    def test_a_detached_signature_beside_a_jws_is_refused(self) -> None:
        """A jws message with a detached signature as well. Result: SignatureLayoutInvalid."""
        message = InboundMessage(
            "SG", jws.NAME, self.signed(_doc()), DetachedSignature("SG-1", ECDSA_P256, b"x"),
            RECEIVED, "fp",
        )  # fmt: skip
        with pytest.raises(SignatureLayoutInvalid):
            self.codec.open(message, self.directory().keys_for("SG", RECEIVED), LIMITS)

    # --- bytes that are no compact serialization ------------------------------------------------

    def test_truncated_bytes_are_malformed(self) -> None:
        """A sealed message cut before its signature. Result: MalformedPayload."""
        token = self.signed(_doc())
        self.refused(token[: token.rindex(b".")], MalformedPayload)

    def test_a_truncated_signature_is_invalid(self) -> None:
        """A sealed message missing the last characters of its signature. Result:
        SignatureInvalid."""
        self.refused(self.signed(_doc())[:-4], SignatureInvalid)

    def test_garbage_bytes_are_malformed(self) -> None:
        """Random binary. Result: MalformedPayload."""
        self.refused(bytes(range(256)) * 4, MalformedPayload)

    def test_non_ascii_outside_the_parts_is_malformed(self) -> None:
        """A sealed message with a non-breaking space after it. Result: MalformedPayload."""
        self.refused(self.signed(_doc()) + "\u00a0".encode(), MalformedPayload)

    def test_padding_in_a_part_is_malformed(self) -> None:
        """A base64url part with '=' padding. Result: MalformedPayload."""
        header, payload, signature = self.signed(_doc()).split(b".")
        self.refused(b".".join((header, payload + b"==", signature)), MalformedPayload)

    def test_a_header_that_is_not_an_object_is_malformed(self) -> None:
        """The protected header is the JSON string "alg". Result: MalformedPayload."""
        self.refused(b".".join((_b64(b'"alg"'), _b64(b"{}"), b"AA")), MalformedPayload)

    def test_a_message_over_the_size_cap_is_refused_before_reading(self) -> None:
        """A message one byte over the codec's cap. Result: PayloadTooLarge."""
        codec = jws.JwsCodec(max_payload_bytes=1000)
        with pytest.raises(PayloadTooLarge):
            self.open_bytes(self.signed(_doc()) + b"A" * 1000, codec=codec)

    # --- the signed document --------------------------------------------------------------------

    def test_invalid_utf8_in_the_document_is_malformed(self) -> None:
        """A signed document with a byte that is no UTF-8 in a name. Result: MalformedPayload."""
        document = json.dumps(_doc()).encode().replace(b"Lion", b"Li\xc3\x28n", 1)
        self.refused(self.signed(document), MalformedPayload)

    def test_deeply_nested_json_is_unsafe(self) -> None:
        """A signed document nesting 100,000 arrays in a record's name. Result: UnsafePayload,
        before json.loads recurses."""
        document = (
            json.dumps(_doc())
            .encode()
            .replace(b'"Lion City Logistics Pte Ltd"', b"[" * 100_000 + b"]" * 100_000, 1)
        )
        self.refused(self.signed(document), UnsafePayload)

    def test_unclosed_nesting_is_unsafe(self) -> None:
        """A signed document that opens 100,000 arrays and closes none. Result: UnsafePayload."""
        self.refused(self.signed(b'{"records":' + b"[" * 100_000), UnsafePayload)

    def test_brackets_and_escapes_inside_strings_are_text(self) -> None:
        """A name of brackets and escaped quotes and backslashes. Result: it opens; the depth
        scan counts structure only."""
        name = '[[[[[[[[[[{{{{{{{{{\\"\\\\" ]]]}'
        doc = _doc()
        doc["records"][0]["name"] = name
        opened = self.open_bytes(self.signed(doc))
        assert opened.drafts[0].name == name

    @pytest.mark.parametrize("where", ["top level", "record"])
    def test_duplicate_names_are_malformed(self, where: str) -> None:
        """A signed document with "sequence" twice, or "status" twice in a record. Result:
        MalformedPayload, the whole message: which value counts would depend on the parser."""
        text = json.dumps(_doc())
        if where == "top level":
            text = text.replace('"sequence": 7', '"sequence": 7, "sequence": 8')
        else:
            text = text.replace('"status": "valid"', '"status": "valid", "status": "revoked"', 1)
        self.refused(self.signed(text.encode()), MalformedPayload)

    def test_nan_is_malformed(self) -> None:
        """A signed document with NaN as a version. Result: MalformedPayload (not JSON)."""
        text = json.dumps(_doc()).replace('"version": 1', '"version": NaN', 1)
        self.refused(self.signed(text.encode()), MalformedPayload)

    def test_a_float_version_is_a_problem_of_that_record(self) -> None:
        """A record with version 1.0. Result: that record refused as record.field_invalid."""
        doc = _doc()
        doc["records"][1]["version"] = 1.0
        drafts = self.open_bytes(self.signed(doc)).drafts
        assert drafts[0].problem is None
        assert drafts[1].problem == ("record.field_invalid", "version not an integer")

    def test_an_unknown_status_refuses_that_record_alone(self) -> None:
        """Two records, one with status "dormant". Result: that record is refused as
        record.status_unknown; the other is a record."""
        doc = _doc()
        doc["records"][0]["status"] = "dormant"
        first, second = map(validate_record, self.open_bytes(self.signed(doc)).drafts)
        assert not isinstance(first, AeoRecord)
        assert (first.identifier, first.reason) == ("SG000000000001", "record.status_unknown")
        assert isinstance(second, AeoRecord)
        assert second.status is RecordStatus.VALID

    def test_too_many_records_are_counted_before_the_signature(self) -> None:
        """Eleven records against a limit of ten, under a signature that does not verify.
        Result: TooManyRecords: the structure scan runs before the signature check."""
        doc = _doc(records=[_doc()["records"][0]] * 11)
        header, payload, _ = self.signed(doc).split(b".")
        self.refused(b".".join((header, payload, b"AAAA")), TooManyRecords)

    def test_records_that_are_not_objects_are_counted_after_parsing(self) -> None:
        """Eleven records that are numbers (the scan counts objects). Result: TooManyRecords."""
        self.refused(self.signed(_doc(records=list(range(11)))), TooManyRecords)

    @pytest.mark.parametrize(
        ("changes", "path"),
        [
            ({"sequence": "7"}, "$.sequence"),
            ({"sequence": True}, "$.sequence"),
            ({"sequence": 2**63}, "$.sequence"),
            ({"kind": "full"}, "$.kind"),
            ({"issued_at": "2026-11-27T12:00:00"}, "$.issued_at"),
            ({"partner": ""}, "$.partner"),
            ({"records": {}}, "$.records"),
            ({"records": [1]}, "$.records[0]"),
            ({"extra": 1}, "$.extra"),
        ],
    )
    def test_a_document_of_the_wrong_shape_violates_the_schema(
        self, changes: dict[str, Any], path: str
    ) -> None:
        """A signed document whose top level is not the format's. Result: SchemaViolation
        naming the place."""
        error = self.refused(self.signed(_doc(**changes)), SchemaViolation)
        assert error.metadata["path"] == path

    def test_a_missing_top_level_member_violates_the_schema(self) -> None:
        """A document without issued_at. Result: SchemaViolation at $.issued_at."""
        doc = _doc()
        del doc["issued_at"]
        assert self.refused(self.signed(doc), SchemaViolation).metadata["path"] == "$.issued_at"

    def test_a_document_that_is_an_array_violates_the_schema(self) -> None:
        """A signed JSON array. Result: SchemaViolation at $."""
        assert self.refused(self.signed(b"[]"), SchemaViolation).metadata["path"] == "$"

    def test_a_snapshot_with_offsets_and_every_field_opens(self) -> None:
        """A snapshot whose instants carry offsets, every date set (one null). Result: each
        field read; instants equal to their UTC reading."""
        doc = _doc(kind="snapshot", issued_at="2026-11-27T21:00:00+09:00")
        doc["records"][0].update(
            status="suspended",
            event="suspended",
            effective_at="2026-11-01T09:00:00+09:00",
            valid_until="2029-11-30",
            suspended_on="2026-11-01",
            revoked_on=None,
            consent_withdrawn=True,
        )
        opened = self.open_bytes(self.signed(doc))
        assert opened.kind is BatchKind.SNAPSHOT
        assert opened.issued_at == datetime(2026, 11, 27, 12, tzinfo=UTC)
        first = opened.drafts[0]
        assert first.effective_at == datetime(2026, 11, 1, 0, tzinfo=UTC)
        assert (first.status, first.consent_withdrawn) == (RecordStatus.SUSPENDED, True)
        assert str(first.suspended_on) == "2026-11-01"
        assert first.revoked_on is None

    def test_a_header_longer_than_the_format_allows_is_refused(self) -> None:
        """A protected header of 2,000 characters (a long typ). Result: SignatureLayoutInvalid,
        before it is decoded."""
        self.refused(_compact({"alg": "ES256", "kid": "SG-1", "typ": "x" * 1500}, b"{}"),
                     SignatureLayoutInvalid)  # fmt: skip

    def test_a_header_that_is_not_base64url_is_malformed(self) -> None:
        """A header part with a character outside base64url. Result: MalformedPayload."""
        self.refused(b"ey!J." + self.signed(_doc()).split(b".", 1)[1], MalformedPayload)

    def test_a_payload_part_that_is_not_base64url_is_malformed(self) -> None:
        """A payload part with a character outside base64url. Result: MalformedPayload."""
        header, payload, signature = self.signed(_doc()).split(b".")
        self.refused(b".".join((header, payload[:8] + b"!" + payload[9:], signature)),
                     MalformedPayload)  # fmt: skip

    def test_a_kid_that_is_not_a_string_is_refused(self) -> None:
        """kid 1. Result: SignatureLayoutInvalid."""
        self.refused(_compact({"alg": "ES256", "kid": 1}, b"{}"), SignatureLayoutInvalid)

    def test_a_content_type_other_than_json_is_refused(self) -> None:
        """cty xml. Result: SignatureLayoutInvalid; cty json opens."""
        self.refused(self.signed(_doc(), cty="xml"), SignatureLayoutInvalid)
        assert self.open_bytes(self.signed(_doc(), cty="json")).sequence == 7

    def test_a_key_replaced_by_a_reload_is_no_longer_used(self) -> None:
        """One codec opens a message with the directory in force, then the directory is
        reloaded with a new key under SG-1. Result: a message signed with the old key is
        refused (the codec's key cache follows the key objects the directory holds), one
        signed with the new key opens, and the same directory's key is reused."""
        codec = jws.JwsCodec()
        before = self.directory()
        new = _signer("SG-1", ECDSA_P256)
        after = self.directory()
        public = new.public_key()
        info = after.keys[("SG", "SG-1")].info
        after = replace(
            after, keys={**after.keys, ("SG", "SG-1"): replace(after.keys[("SG", "SG-1")],
                                                                info=info, material=public)}
        )  # fmt: skip

        def open_with(directory: Directory, payload: bytes) -> DecodedBatch:
            message = InboundMessage("SG", jws.NAME, payload, None, RECEIVED, "fp")
            return codec.open(message, directory.keys_for("SG", RECEIVED), LIMITS)

        old_message = self.signed(_doc())
        assert open_with(before, old_message).sequence == 7
        assert open_with(before, old_message).sequence == 7  # the cached key
        with pytest.raises(SignatureInvalid):
            open_with(after, old_message)
        new_message = jws.sign_compact(json.dumps(_doc()).encode(), new)
        assert open_with(after, new_message).sequence == 7
