"""Outcome reports in every wire format: one contract (round trip, tampering, keys, algorithms,
size), then each format's hostile documents, each refused with its precise reason."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, ClassVar

import jsonschema
import pytest
from lxml import etree

from adapters.crypto.signatures import ECDSA_P256, ED25519, RSA_PKCS1, Signer
from adapters.pki import signing_key
from adapters.wire import jws, xmldsig
from adapters.wire.outcomes_jws import TYP, JwsOutcomeCodec
from adapters.wire.outcomes_native import NativeOutcomeCodec
from adapters.wire.outcomes_xml import NS, XmlDsigOutcomeCodec
from gateway.domain.errors import (
    AlgorithmNotPinned,
    GatewayError,
    KeyMaterialOffered,
    MalformedPayload,
    PayloadTooLarge,
    SchemaViolation,
    SignatureInvalid,
    SignatureLayoutInvalid,
    SigningKeyNotValid,
    TooManyRecords,
    UnknownSigningKey,
    UnsafePayload,
)
from gateway.domain.messages import InboundMessage, SealedEnvelope
from gateway.domain.outcome_reports import (
    AggregateDraft,
    DecodedOutcomeReport,
    OutcomeDraft,
    OutcomeReportDraft,
)
from gateway.domain.partners import TradeDirection, TransportMode
from gateway.domain.ports import OutcomeCodec
from tests.contract.codec_contract import LIMITS, RECEIVED, CodecContract, _signer

ARRIVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def outcome(i: int, baseline: bool = False) -> OutcomeDraft:
    return OutcomeDraft(
        declaration_id=f"KRD-{i}",
        declared_code="AEOCN0123456789" if not baseline else "KR1234567890",
        direction=TradeDirection.IMPORT,
        mode=TransportMode.SEA,
        arrived_at=ARRIVED,
        released_at=ARRIVED + timedelta(hours=5, minutes=i),
        document_review=i % 2 == 0,
        inspected=i % 3 == 0,
        baseline=baseline,
    )


AGGREGATE = AggregateDraft(
    TradeDirection.IMPORT,
    datetime(2026, 10, 1, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    1200,
    96,
    300,
    20.5,
    26.25,
    48.0,
)


def report(outcomes: int = 2, partner: str = "SG") -> OutcomeReportDraft:
    return OutcomeReportDraft(
        partner,
        RECEIVED,
        tuple(outcome(i, baseline=i == 1) for i in range(outcomes)),
        (AGGREGATE,),
    )


class OutcomeContract:
    """Subclass with ``codec`` (and the contract's signers for a non-Ed25519 format)."""

    codec: ClassVar[OutcomeCodec]
    algorithm: ClassVar[str] = ED25519
    other_algorithm: ClassVar[str] = ECDSA_P256
    sg: ClassVar[Signer] = CodecContract.sg
    kr: ClassVar[Signer] = CodecContract.kr
    expired: ClassVar[Signer] = CodecContract.expired

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        raise NotImplementedError

    def open(self, envelope: SealedEnvelope, partner: str = "SG") -> DecodedOutcomeReport:
        world = CodecContract()
        world.sg, world.kr, world.expired = self.sg, self.kr, self.expired  # type: ignore[misc]
        world.algorithm = self.algorithm  # type: ignore[misc]
        message = InboundMessage(
            partner, envelope.wire_format, envelope.payload, envelope.detached, RECEIVED, "fp"
        )
        return self.codec.open(message, world.directory().keys_for(partner, RECEIVED), LIMITS)

    def test_a_sealed_report_opens_to_what_was_sealed(self) -> None:
        """SG seals two outcomes (one baseline) and an aggregate. Result: the same report and
        the key that signed."""
        sent = report()
        opened = self.open(self.codec.seal(sent, self.sg))
        assert opened.report == sent
        assert (opened.key_id, opened.algorithm) == ("SG-1", self.algorithm)

    def test_tampered_content_is_refused(self) -> None:
        """One signed byte changed. Result: SignatureInvalid."""
        with pytest.raises(SignatureInvalid):
            self.open(self.tampered(self.codec.seal(report(), self.sg)))

    def test_another_key_under_a_registered_key_id_is_refused(self) -> None:
        """KR's private key signs, claiming SG's key id. Result: SignatureInvalid."""
        impostor = Signer(self.kr._key, "SG-1", self.algorithm)
        with pytest.raises(SignatureInvalid):
            self.open(self.codec.seal(report(), impostor))

    def test_another_partners_key_is_not_handed_out(self) -> None:
        """KR's genuine key on SG's report. Result: UnknownSigningKey (SG's keys only)."""
        with pytest.raises(UnknownSigningKey):
            self.open(self.codec.seal(report(), self.kr))

    def test_an_algorithm_other_than_the_pinned_one_is_refused(self) -> None:
        """Signed with an algorithm the key is not pinned to. Result: AlgorithmNotPinned."""
        claiming = Signer(signing_key(self.other_algorithm), "SG-1", self.other_algorithm)
        with pytest.raises(AlgorithmNotPinned):
            self.open(self.codec.seal(report(), claiming))

    def test_a_key_outside_its_validity_is_refused(self) -> None:
        """SG's expired key. Result: SigningKeyNotValid."""
        with pytest.raises(SigningKeyNotValid):
            self.open(self.codec.seal(report(), self.expired))

    def test_more_entries_than_the_limit_are_refused(self) -> None:
        """Ten outcomes and an aggregate against a limit of ten. Result: TooManyRecords."""
        with pytest.raises(TooManyRecords):
            self.open(self.codec.seal(report(outcomes=10), self.sg))


class TestNativeOutcomes(OutcomeContract):
    codec = NativeOutcomeCodec()

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        payload = envelope.payload.replace(b"KRD-0", b"KRD-9", 1)
        assert payload != envelope.payload
        return replace(envelope, payload=payload)

    def test_a_report_without_a_detached_signature_is_refused(self) -> None:
        """The payload alone. Result: SignatureInvalid."""
        sealed = self.codec.seal(report(), self.sg)
        with pytest.raises(SignatureInvalid):
            self.open(replace(sealed, detached=None))

    def test_signed_bytes_that_are_no_report_are_malformed(self) -> None:
        """Correctly signed garbage. Result: MalformedPayload."""
        payload = b"\xff\xff\xff"
        detached = self.codec.seal(report(), self.sg).detached
        assert detached is not None
        signature = replace(detached, signature=self.sg.sign(payload))
        with pytest.raises(MalformedPayload):
            self.open(SealedEnvelope("native", payload, signature))


class XmlOutcomes(OutcomeContract):
    codec = XmlDsigOutcomeCodec()

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        payload = envelope.payload.replace(b"KRD-0", b"KRD-9", 1)
        assert payload != envelope.payload
        return replace(envelope, payload=payload)


class TestXmlOutcomesEcdsa(XmlOutcomes):
    algorithm = ECDSA_P256
    other_algorithm = RSA_PKCS1
    sg = _signer("SG-1", ECDSA_P256)
    kr = _signer("KR-1", ECDSA_P256)
    expired = _signer("SG-old", ECDSA_P256)

    def refused(self, payload: bytes, error: type[GatewayError]) -> GatewayError:
        with pytest.raises(error) as caught:
            self.open(SealedEnvelope("xmldsig", payload))
        return caught.value

    def signed(self, root: etree._Element) -> bytes:
        return xmldsig.sign(root, self.sg)

    def test_a_dtd_with_an_external_entity_is_refused(self) -> None:
        """XXE in the prolog. Result: UnsafePayload before anything is parsed."""
        body = self.codec.seal(report(), self.sg).payload.split(b"?>", 1)[1]
        xxe = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        self.refused(b'<?xml version="1.0"?>' + xxe + body, UnsafePayload)

    def test_billion_laughs_is_refused(self) -> None:
        """Nested entity expansion. Result: UnsafePayload."""
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<OutcomeReport xmlns="urn:aeo-gateway:outcomes:v1">&b;</OutcomeReport>'
        )
        self.refused(bomb, UnsafePayload)

    def test_a_processing_instruction_is_refused(self) -> None:
        """A PI inside the signed document. Result: UnsafePayload."""
        payload = self.codec.seal(report(), self.sg).payload
        payload = payload.replace(b"<Outcome ", b"<?evil x?><Outcome ", 1)
        self.refused(payload, UnsafePayload)

    def test_signature_wrapping_with_an_injected_unsigned_outcome_is_refused(self) -> None:
        """An outcome added beside the signed ones after signing. Result: SignatureInvalid."""
        root = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        first = root.find(f"{{{NS}}}Outcome")
        assert first is not None
        extra = etree.fromstring(etree.tostring(first))
        extra.find(f"{{{NS}}}DeclarationId").text = "FORGED"  # type: ignore[union-attr]
        root.insert(0, extra)
        self.refused(etree.tostring(root), SignatureInvalid)

    def test_a_signed_report_wrapped_under_a_lookalike_root_is_refused(self) -> None:
        """The genuine signed report moved inside a forged one. Result: refused (the one
        signature must be the last child of the root and cover it)."""
        genuine = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        forged = etree.Element(
            f"{{{NS}}}OutcomeReport", partner="SG", issuedAt="2026-11-27T12:00:00Z"
        )
        forged.append(genuine)
        with pytest.raises((SignatureLayoutInvalid, SignatureInvalid)):
            self.open(SealedEnvelope("xmldsig", etree.tostring(forged)))

    def test_a_second_signature_is_refused(self) -> None:
        """The report signed twice. Result: SignatureLayoutInvalid."""
        once = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        self.refused(xmldsig.sign(once, self.sg), SignatureLayoutInvalid)

    def test_key_info_offering_a_key_value_is_refused(self) -> None:
        """KeyInfo carries more than a KeyName. Result: KeyMaterialOffered."""
        root = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        key_info = root.find(".//{http://www.w3.org/2000/09/xmldsig#}KeyInfo")
        assert key_info is not None
        etree.SubElement(key_info, "{http://www.w3.org/2000/09/xmldsig#}KeyValue")
        self.refused(etree.tostring(root), KeyMaterialOffered)

    def test_a_status_document_is_not_an_outcome_report(self) -> None:
        """A genuinely signed status message sent as an outcome report. Result:
        MalformedPayload naming the root."""
        status = xmldsig.XmlDsigCodec().seal(CodecContract().batch(), self.sg).payload
        error = self.refused(status, MalformedPayload)
        assert "StatusMessage" in error.message

    def test_a_document_over_the_size_cap_is_refused_before_parsing(self) -> None:
        """More bytes than the format allows. Result: PayloadTooLarge."""
        small = XmlDsigOutcomeCodec(max_document_bytes=1000)
        message = InboundMessage(
            "SG", "xmldsig", self.codec.seal(report(), self.sg).payload, None, RECEIVED, "fp"
        )
        with pytest.raises(PayloadTooLarge):
            small.open(message, CodecContract().directory().keys_for("SG", RECEIVED), LIMITS)

    def test_a_signed_document_breaking_the_schema_names_the_place(self) -> None:
        """A correctly signed report whose aggregate has a negative count. Result:
        SchemaViolation at /OutcomeReport/Aggregate/Declarations."""
        root = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        root.remove(root[-1])  # the signature: sign again below
        root.find(f".//{{{NS}}}Declarations").text = "-5"  # type: ignore[union-attr]
        error = self.refused(self.signed(root), SchemaViolation)
        assert error.metadata["path"] == "/OutcomeReport/Aggregate/Declarations"

    def test_the_sealed_document_is_valid_against_the_published_xsd(self) -> None:
        """What the gateway seals. Result: valid against schemas/aeo-outcomes-v1.xsd."""
        root = etree.fromstring(self.codec.seal(report(), self.sg).payload)
        assert xmldsig.schema("aeo-outcomes-v1.xsd").validate(root)


class TestXmlOutcomesRsa(XmlOutcomes):
    algorithm = RSA_PKCS1
    other_algorithm = ECDSA_P256
    sg = _signer("SG-1", RSA_PKCS1)
    kr = _signer("KR-1", RSA_PKCS1)
    expired = _signer("SG-old", RSA_PKCS1)


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class TestJwsOutcomes(OutcomeContract):
    codec = JwsOutcomeCodec()
    algorithm = ECDSA_P256
    other_algorithm = RSA_PKCS1
    sg = _signer("SG-1", ECDSA_P256)
    kr = _signer("KR-1", ECDSA_P256)
    expired = _signer("SG-old", ECDSA_P256)

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        header, payload, signature = envelope.payload.split(b".")
        body = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
        changed = _b64(body.replace(b"KRD-0", b"KRD-9", 1))
        return replace(envelope, payload=b".".join((header, changed, signature)))

    def refused(self, payload: bytes, error: type[GatewayError]) -> GatewayError:
        with pytest.raises(error) as caught:
            self.open(SealedEnvelope("jws", payload))
        return caught.value

    def document(self) -> bytes:
        return self.codec.seal(report(), self.sg).payload.split(b".")[1]

    def test_alg_none_is_refused(self) -> None:
        """An unsigned JWS (alg none). Result: AlgorithmNotPinned."""
        header = _b64(json.dumps({"alg": "none", "kid": "SG-1", "typ": TYP}).encode())
        self.refused(header + b"." + self.document() + b".", AlgorithmNotPinned)

    def test_hmac_keyed_with_the_public_key_is_refused(self) -> None:
        """Algorithm confusion: HS256 under SG's key id. Result: AlgorithmNotPinned."""
        header = _b64(json.dumps({"alg": "HS256", "kid": "SG-1"}).encode())
        self.refused(header + b"." + self.document() + b"." + _b64(b"x" * 32), AlgorithmNotPinned)

    def test_a_key_in_the_header_is_refused(self) -> None:
        """A jwk member offering the key to check with. Result: KeyMaterialOffered."""
        signed = jws.sign_compact(b"{}", self.sg, typ=TYP, jwk={"kty": "EC"})
        self.refused(signed, KeyMaterialOffered)

    def test_a_status_message_jws_is_not_an_outcome_report(self) -> None:
        """A JWS typed as a status message, genuinely signed. Result: SignatureLayoutInvalid
        (explicit typing keeps one purpose's signature from serving another)."""
        status = jws.JwsCodec().seal(CodecContract().batch(), self.sg).payload
        error = self.refused(status, SignatureLayoutInvalid)
        assert TYP in error.message

    def test_a_duplicated_member_is_malformed(self) -> None:
        """A signed document naming partner twice. Result: MalformedPayload."""
        document = b'{"partner":"KR","partner":"SG","issued_at":"2026-11-27T12:00:00Z"}'
        self.refused(jws.sign_compact(document, self.sg, typ=TYP), MalformedPayload)

    def test_an_oversized_payload_is_refused_before_any_crypto(self) -> None:
        """More bytes than the codec's ceiling. Result: PayloadTooLarge."""
        small = JwsOutcomeCodec(max_payload_bytes=100)
        message = InboundMessage(
            "SG", "jws", self.codec.seal(report(), self.sg).payload, None, RECEIVED, "fp"
        )
        with pytest.raises(PayloadTooLarge):
            small.open(message, CodecContract().directory().keys_for("SG", RECEIVED), LIMITS)

    def test_an_unreadable_outcome_is_that_outcomes_problem_alone(self) -> None:
        """One outcome's arrival time has no zone. Result: the report opens; that outcome
        carries outcome.field_invalid, the other none."""
        document: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(self.document() + b"=" * (-len(self.document()) % 4))
        )
        document["outcomes"][0]["arrived_at"] = "2026-11-20T08:00:00"
        signed = jws.sign_compact(json.dumps(document).encode(), self.sg, typ=TYP)
        opened = self.open(SealedEnvelope("jws", signed))
        problem = opened.report.outcomes[0].problem
        assert problem is not None
        assert problem[0] == "outcome.field_invalid"
        assert opened.report.outcomes[1].problem is None

    def test_a_document_breaking_the_top_level_names_the_place(self) -> None:
        """A signed report without issued_at. Result: SchemaViolation at $.issued_at."""
        signed = jws.sign_compact(b'{"partner":"SG","outcomes":[]}', self.sg, typ=TYP)
        error = self.refused(signed, SchemaViolation)
        assert error.metadata["path"] == "$.issued_at"

    def test_the_sealed_document_is_valid_against_the_published_json_schema(self) -> None:
        """What the gateway seals. Result: valid against schemas/aeo-outcomes-v1.schema.json;
        a document the codec refuses at the top level is invalid there too."""
        source = resources.files("adapters.wire").joinpath("schemas/aeo-outcomes-v1.schema.json")
        schema = json.loads(source.read_text())
        payload = self.document()
        document = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        jsonschema.validate(document, schema)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({"partner": "SG", "outcomes": []}, schema)
