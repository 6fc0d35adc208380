"""The xmldsig wire format: an AEO status document (schemas/aeo-status-v1.xsd) with an enveloped
XML-DSig signature (exclusive C14N, SHA-256, RSA-SHA256 or ECDSA-SHA256), as the EU and any XML
partner send it. docs/wire-formats.md describes it for partners.

Receipt runs cheapest and most suspicious first: a size cap before parsing; a hardened parse
(no DTD, entities, network, XInclude or processing instructions, bounded depth); the record
count; the signature's layout, checked here element by element (one signature, child of the
root, one reference covering the whole document, only the pinned algorithms, a KeyInfo that is
one KeyName); the registered key; signxml's verification; the schema. Records are read only
from the element signxml returns as signed, never from the document as received.
"""

from __future__ import annotations

import threading
from base64 import b64encode
from datetime import date
from importlib import resources
from typing import Any, Final

import cryptography.exceptions
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, SignXMLException
from signxml.exceptions import InvalidSignature as XmlSignatureInvalid
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.crypto.signatures import ECDSA_P256, RSA_PKCS1
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

NAME: Final = "xmldsig"
NS: Final = "urn:aeo-gateway:status:v1"
DS: Final = "http://www.w3.org/2000/09/xmldsig#"
DSIG11: Final = "http://www.w3.org/2009/xmldsig11#"
_XINCLUDE_TAGS = ("{http://www.w3.org/2001/XInclude}*", "{http://www.w3.org/2003/XInclude}*")

EXC_C14N: Final = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
ENVELOPED: Final = DS + "enveloped-signature"
SHA256: Final = DigestAlgorithm.SHA256
#: SignatureMethod URI -> the algorithm a partner key is pinned to. Nothing else is spoken.
METHODS: Final = {
    SignatureMethod.RSA_SHA256.value: RSA_PKCS1,
    SignatureMethod.ECDSA_SHA256.value: ECDSA_P256,
}
_METHOD_OF = {algorithm: SignatureMethod(uri) for uri, algorithm in METHODS.items()}

#: Deepest element the format has: StatusMessage/Signature/SignedInfo/Reference/Transforms/
#: Transform is 6; a little slack, and nothing a stack-hungry attack can use.
MAX_DEPTH: Final = 8
#: Bytes a document may need: the header and signature, plus per record its markup and the
#: longest texts validation.py allows (1,664 characters), each as a character reference.
HEADER_BYTES: Final = 64 * 1024
RECORD_BYTES: Final = 24 * 1024


def _q(local: str, ns: str = NS) -> str:
    return f"{{{ns}}}{local}"


ROOT = _q("StatusMessage")
RECORD = _q("Record")
_SIGNATURE = _q("Signature", DS)
_SIGNED_INFO = _q("SignedInfo", DS)
_SIGNATURE_VALUE = _q("SignatureValue", DS)
_KEY_INFO = _q("KeyInfo", DS)
_KEY_NAME = _q("KeyName", DS)
_C14N_METHOD = _q("CanonicalizationMethod", DS)
_SIGNATURE_METHOD = _q("SignatureMethod", DS)
_REFERENCE = _q("Reference", DS)
_TRANSFORMS = _q("Transforms", DS)
_TRANSFORM = _q("Transform", DS)
_DIGEST_METHOD = _q("DigestMethod", DS)
_DIGEST_VALUE = _q("DigestValue", DS)
#: The attributes signxml (and xmlsec1 with --id-attr) resolve "#id" references by.
_ID_ATTRIBUTES = ("Id", "ID", "id", "{http://www.w3.org/XML/1998/namespace}id")

# --- hardened parsing ---------------------------------------------------------------------------

_local = threading.local()  # lxml parsers and validators are not shared between threads


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            encoding="utf-8",  # whatever the document declares: no UTF-16 to hide a DOCTYPE in
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,  # libxml2's own depth and size limits stay on
            remove_pis=False,  # kept so that they can be refused, not silently dropped
        )
        _local.parser = parser
    return parser


def schema(name: str = "aeo-status-v1.xsd") -> etree.XMLSchema:
    """The XSD ``schemas/<name>``, loaded once per thread."""
    cache: dict[str, etree.XMLSchema] | None = getattr(_local, "schemas", None)
    if cache is None:
        cache = _local.schemas = {}
    found = cache.get(name)
    if found is None:
        source = resources.files("adapters.wire").joinpath(f"schemas/{name}")
        with source.open("rb") as xsd:
            found = cache[name] = etree.XMLSchema(etree.parse(xsd, _parser()))
    return found


_UNSAFE_PARSE_ERRORS = {
    int(etree.ErrorTypes.ERR_UNDECLARED_ENTITY): "an entity reference",
    int(etree.ErrorTypes.WAR_UNDECLARED_ENTITY): "an entity reference",
    int(etree.ErrorTypes.ERR_ENTITY_LOOP): "an entity reference",
    int(etree.ErrorTypes.ERR_RESOURCE_LIMIT): "nesting or sizes beyond the parser's limits",
}
_TOO_DEEP = etree.XPath("boolean(/*" + "/*" * MAX_DEPTH + ")")


def max_bytes(limits: DecodeLimits) -> int:
    """The largest document of ``limits.max_records`` records the format can need."""
    return HEADER_BYTES + limits.max_records * RECORD_BYTES


def parse(payload: bytes, limit: int) -> etree._Element:
    """The document's root, parsed as safely as lxml allows; refuses every construct a status
    document has no use for (UnsafePayload) and anything that is not XML (MalformedPayload)."""
    if len(payload) > limit:
        raise PayloadTooLarge(f"document of {len(payload)} bytes exceeds {limit}", limit=str(limit))
    if b"<!DOCTYPE" in payload:  # refused before libxml2 reads a byte of it
        raise UnsafePayload("a document type declaration (DTD) is not allowed")
    try:
        root = etree.fromstring(payload, _parser())
    except etree.XMLSyntaxError as exc:
        what = _UNSAFE_PARSE_ERRORS.get(exc.code)  # type: ignore[attr-defined]  # lxml-stubs lag
        if what is not None:
            raise UnsafePayload(f"{what} is not allowed") from exc
        raise MalformedPayload(f"not well-formed XML: {shown(str(exc), 160)}") from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise UnsafePayload("a document type declaration (DTD) is not allowed")
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in [*outside, *root.iter(etree.PI, etree.Entity, *_XINCLUDE_TAGS)]:  # one pass
        if isinstance(node, etree._ProcessingInstruction):
            raise UnsafePayload("processing instructions are not allowed")
        if isinstance(node, etree._Entity):
            raise UnsafePayload("an entity reference is not allowed")
        if isinstance(node.tag, str):
            raise UnsafePayload("XInclude is not allowed")
    if _TOO_DEEP(root):
        raise UnsafePayload(f"elements nested deeper than {MAX_DEPTH} levels")
    return root


def count_records(root: etree._Element, limits: DecodeLimits) -> None:
    for count, _ in enumerate(root.iterchildren(RECORD), start=1):
        if count > limits.max_records:
            raise TooManyRecords(
                f"more than {limits.max_records} records in one message",
                limit=str(limits.max_records),
            )


# --- the signature's layout ---------------------------------------------------------------------


class Layout:
    """What the one signature says, once its layout is found to be the only one allowed."""

    __slots__ = ("algorithm", "key_info", "key_name")

    def __init__(self, key_name: str, algorithm: str, key_info: etree._Element) -> None:
        self.key_name = key_name
        self.algorithm = algorithm
        self.key_info = key_info


def _children(element: etree._Element) -> list[etree._Element]:
    """Element children; comments count as layout (none belongs in a signature)."""
    return list(element)


def _tags(element: etree._Element) -> list[object]:
    return [child.tag for child in _children(element)]


def _layout_error(what: str) -> SignatureLayoutInvalid:
    return SignatureLayoutInvalid(f"signature layout: {what}")


def check_layout(root: etree._Element) -> Layout:
    signatures = list(root.iter(_SIGNATURE))
    if not signatures:
        raise SignatureInvalid("the document carries no ds:Signature")
    if len(signatures) > 1:
        raise _layout_error(f"{len(signatures)} signatures; exactly one is allowed")
    signature = signatures[0]
    if signature.getparent() is not root or root[-1] is not signature:
        raise _layout_error("the signature must be the last child of the document's root")
    if _tags(signature) != [_SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO]:
        raise _layout_error("a signature is SignedInfo, SignatureValue and KeyInfo, nothing else")
    signed_info, _, key_info = _children(signature)
    key_name = _key_name(key_info)
    if _tags(signed_info) != [_C14N_METHOD, _SIGNATURE_METHOD, _REFERENCE]:
        raise _layout_error(
            "SignedInfo is CanonicalizationMethod, SignatureMethod and one Reference"
        )
    c14n, method, reference = _children(signed_info)
    if c14n.get("Algorithm") != EXC_C14N.value or len(c14n):
        raise _layout_error(f"canonicalization must be {EXC_C14N.value} without prefix lists")
    method_uri = method.get("Algorithm") or ""
    algorithm = METHODS.get(method_uri)
    if algorithm is None:
        raise AlgorithmNotPinned(
            f"signature method {shown(method_uri)} is not accepted (rsa-sha256, ecdsa-sha256)",
            key_id=key_name,
        )
    if len(method):
        raise _layout_error("SignatureMethod takes no parameters")
    _check_reference(root, reference, key_name)
    return Layout(key_name, algorithm, key_info)


def _key_name(key_info: etree._Element) -> str:
    children = _children(key_info)
    if len(children) != 1 or children[0].tag != _KEY_NAME or len(children[0]):
        # A comment's tag is a function, not a name: it is named "comment" here.
        offered = ", ".join(
            sorted(
                {
                    etree.QName(c).localname if isinstance(c.tag, str) else "comment"
                    for c in children
                }
            )
        )
        raise KeyMaterialOffered(
            f"KeyInfo must hold one KeyName and nothing else; found {shown(offered)}"
        )
    name = (children[0].text or "").strip()
    if not name:
        raise KeyMaterialOffered("KeyInfo's KeyName is empty")
    return name


def _check_reference(root: etree._Element, reference: etree._Element, key_name: str) -> None:
    uri = reference.get("URI")
    if uri is None or not (uri == "" or _names_root(root, uri)):
        raise _layout_error(
            f'the reference {shown(uri)} does not cover the whole document: use URI=""'
        )
    if _tags(reference) != [_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE]:
        raise _layout_error("Reference is Transforms, DigestMethod and DigestValue")
    transforms, digest_method, _ = _children(reference)
    if [t.tag for t in transforms] != [_TRANSFORM, _TRANSFORM] or [
        t.get("Algorithm") for t in transforms
    ] != [ENVELOPED, EXC_C14N.value]:
        raise _layout_error("transforms must be enveloped-signature, then exclusive C14N")
    if any(len(t) for t in transforms):
        raise _layout_error("transforms take no parameters")
    digest = digest_method.get("Algorithm") or ""
    if digest != SHA256.value:
        raise AlgorithmNotPinned(
            f"digest method {shown(digest)} is not accepted (sha256)", key_id=key_name
        )


def _names_root(root: etree._Element, uri: str) -> bool:
    """``uri`` is "#id", ``id`` is the root's Id and no other element carries it: the reference
    can only be resolved, by any verifier, to the whole document."""
    if not uri.startswith("#"):
        return False
    wanted = uri[1:]
    if root.get("Id") != wanted:
        return False
    carriers = sum(
        1
        for element in root.iter(etree.Element)
        for attribute in _ID_ATTRIBUTES
        if element.get(attribute) == wanted
    )
    return carriers == 1


# --- verification -------------------------------------------------------------------------------


def _config(algorithm: str) -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=False,  # the key is the registered one, handed to signxml below
        location="./",  # the signature is a child of the root
        expect_references=1,
        signature_methods=frozenset({_METHOD_OF[algorithm]}),
        digest_algorithms=frozenset({SHA256}),
    )


_CONFIGS = {algorithm: _config(algorithm) for algorithm in METHODS.values()}


class _KeyForms:
    """A registered key as signxml takes it (base64 DER) and reports it (PEM), computed once."""

    __slots__ = ("der_b64", "key", "pem")

    def __init__(self, key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> None:
        self.key = key  # held, so that the id() this is cached under stays its own
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        self.der_b64 = b64encode(key.public_bytes(serialization.Encoding.DER, spki)).decode()
        self.pem = key.public_bytes(serialization.Encoding.PEM, spki)


_KEY_FORMS: dict[int, _KeyForms] = {}


def _key_forms(key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> _KeyForms:
    forms = _KEY_FORMS.get(id(key))
    if forms is None or forms.key is not key:
        if len(_KEY_FORMS) >= 256:  # directory reloads bring new key objects
            _KEY_FORMS.clear()
        forms = _KEY_FORMS[id(key)] = _KeyForms(key)
    return forms


def verify(root: etree._Element, layout: Layout, public: object) -> etree._Element:
    """The signed document (signature excised, comments gone), as signxml re-parsed it from the
    canonical bytes it checked; raises SignatureInvalid when it does not verify with ``public``.

    signxml verifies a bare public key only from the signature's KeyInfo; the registered key is
    put there (DEREncodedKeyValue) on the gateway's own copy, after the message's KeyInfo was
    found to be one KeyName. KeyInfo lies outside what is signed, and the key signxml reports
    having used is compared with the registered one all the same.
    """
    if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise SignatureInvalid(f"key {shown(layout.key_name)} cannot check XML signatures")
    forms = _key_forms(public)
    etree.SubElement(layout.key_info, _q("DEREncodedKeyValue", DSIG11)).text = forms.der_b64
    try:
        result = XMLVerifier().verify(
            root, parser=_parser(), expect_config=_CONFIGS[layout.algorithm]
        )
    except (XmlSignatureInvalid, cryptography.exceptions.InvalidSignature) as exc:
        raise SignatureInvalid(
            f"signature does not verify with key {shown(layout.key_name)}",
            key_id=layout.key_name,
        ) from exc
    except etree.C14NError as exc:
        # libxml2 cannot canonicalise some documents (a relative namespace URI, say): what is
        # signed cannot be computed, so nothing of it can be read.
        raise MalformedPayload("the document cannot be canonicalised (exclusive C14N)") from exc
    except (InvalidInput, SignXMLException, etree.DocumentInvalid, ValueError, TypeError) as exc:
        # TypeError: signxml on an empty SignatureValue or DigestValue.
        raise _layout_error(shown(str(exc) or type(exc).__name__, 160)) from exc
    assert not isinstance(result, list)  # expect_references=1
    signed = result.signed_xml
    if signed is None or result.signature_key != forms.pem:
        raise SignatureInvalid(f"signature does not verify with key {shown(layout.key_name)}")
    return signed


# --- reading the signed document ----------------------------------------------------------------

_STATUS = {s.value: s for s in RecordStatus}
_EVENT = {e.value: e for e in StatusEvent}
_KIND = {k.value: k for k in BatchKind}
_FIELDS = {
    _q(local): field
    for local, field in (
        ("Identifier", "identifier"),
        ("Name", "name"),
        ("Address", "address"),
        ("Status", "status"),
        ("Tier", "tier"),
        ("Version", "version"),
        ("EffectiveAt", "effective_at"),
        ("Event", "event"),
        ("AuthorisedFrom", "authorised_from"),
        ("ValidUntil", "valid_until"),
        ("SuspendedOn", "suspended_on"),
        ("RevokedOn", "revoked_on"),
        ("ConsentWithdrawn", "consent_withdrawn"),
    )
}
_DATE_FIELDS = ("authorised_from", "valid_until", "suspended_on", "revoked_on")


def _draft(element: etree._Element) -> RecordDraft:
    read = {_FIELDS[child.tag]: child.text or "" for child in element}
    problem: tuple[str, str] | None = None
    status_text = read.get("status", "")
    status = _STATUS.get(status_text)
    if status is None:
        problem = ("record.status_unknown", f"status {shown(status_text)} is not known")
    event_text = read.get("event")
    event = StatusEvent.UNSPECIFIED if event_text is None else _EVENT.get(event_text)
    if event is None:
        event = StatusEvent.UNSPECIFIED
        problem = problem or ("record.field_invalid", f"event {shown(event_text)} is not known")
    effective_at = None
    try:
        effective_at = timestamps.instant(read.get("effective_at", ""))
    except ValueError as exc:
        problem = problem or ("record.field_invalid", f"effective_at: {exc}")
    authorised_from, valid_until, suspended_on, revoked_on = days = [
        _optional_day(read.get(field)) for field in _DATE_FIELDS
    ]
    if problem is None and any(isinstance(d, ValueError) for d in days):
        field, bad = next(
            (f, d) for f, d in zip(_DATE_FIELDS, days, strict=True) if isinstance(d, ValueError)
        )
        problem = ("record.field_invalid", f"{field}: {bad}")
    return RecordDraft(
        identifier=read.get("identifier", ""),
        version=int(read.get("version", "0")),  # digits, by the schema
        effective_at=effective_at,
        status=status,
        name=read.get("name", ""),
        address=read.get("address", ""),
        tier=read.get("tier", ""),
        event=event,
        authorised_from=_day_or_none(authorised_from),
        valid_until=_day_or_none(valid_until),
        suspended_on=_day_or_none(suspended_on),
        revoked_on=_day_or_none(revoked_on),
        consent_withdrawn=read.get("consent_withdrawn", "").strip() in ("true", "1"),
        problem=problem,
    )


def _optional_day(text: str | None) -> date | ValueError | None:
    """The date, None when absent, the ValueError when unreadable (one record's problem)."""
    if text is None:
        return None
    try:
        return timestamps.day(text)
    except ValueError as exc:
        return exc


def _day_or_none(value: date | ValueError | None) -> date | None:
    return value if isinstance(value, date) else None


def check_schema(
    signed: etree._Element,
    xsd: str = "aeo-status-v1.xsd",
    ns: str = NS,
    what: str = "an AEO status document (v1)",
) -> None:
    """SchemaViolation naming the place, unless ``signed`` is valid against ``xsd``."""
    validator = schema(xsd)
    if not validator.validate(signed):
        error = validator.error_log.last_error  # type: ignore[attr-defined]  # lxml-stubs lag
        where = _readable_path(signed, error.path)
        message = str(error.message).replace(f"{{{ns}}}", "")
        raise SchemaViolation(f"not {what} at {where}: {shown(message, 240)}", path=where)


def _readable_path(signed: etree._Element, path: str) -> str:
    """lxml's "/*/*[2]/*[10]" as "/StatusMessage/Record[2]/Colour" (element names, and the
    position among same-named siblings where there are several)."""
    found = signed.getroottree().xpath(path) if path.startswith("/") else []
    if not isinstance(found, list) or not found or not isinstance(found[0], etree._Element):
        return shown(path, 120)
    steps = []
    for element in [*reversed(list(found[0].iterancestors())), found[0]]:
        name = etree.QName(element).localname
        parent = element.getparent()
        same = [] if parent is None else list(parent.iterchildren(element.tag))
        steps.append(f"{name}[{same.index(element) + 1}]" if len(same) > 1 else name)
    return "/" + "/".join(steps)


def read(signed: etree._Element, key_id: str, algorithm: str) -> DecodedBatch:
    """The batch in a signed document, once the schema holds."""
    check_schema(signed)
    try:
        issued_at = timestamps.instant(signed.get("issuedAt", ""))
    except ValueError as exc:
        raise MalformedPayload(f"issuedAt: {exc}") from exc
    return DecodedBatch(
        partner=signed.get("partner", ""),
        sequence=int(signed.get("sequence", "0")),
        issued_at=issued_at,
        kind=_KIND[signed.get("kind", "")],
        drafts=tuple(_draft(r) for r in signed.iterchildren(RECORD)),
        key_id=key_id,
        algorithm=algorithm,
    )


# --- sealing ------------------------------------------------------------------------------------


def document(batch: OutboundBatch) -> etree._Element:
    """The unsigned status document for ``batch``."""
    root = etree.Element(
        ROOT,
        nsmap={None: NS},  # type: ignore[dict-item]  # the default namespace
        partner=batch.partner,
        sequence=str(batch.sequence),
        issuedAt=timestamps.instant_text(batch.issued_at),
        kind=batch.kind.value,
    )
    for r in batch.records:
        _record(etree.SubElement(root, RECORD), r)
    return root


def _record(element: etree._Element, r: AeoRecord) -> None:
    fields: tuple[tuple[str, str | None], ...] = (
        ("Identifier", r.identifier),
        ("Name", r.name),
        ("Address", r.address),
        ("Status", r.status.value),
        ("Tier", r.tier or None),
        ("Version", str(r.version)),
        ("EffectiveAt", timestamps.instant_text(r.effective_at)),
        ("Event", None if r.event is StatusEvent.UNSPECIFIED else r.event.value),
        ("AuthorisedFrom", _iso(r.authorised_from)),
        ("ValidUntil", _iso(r.valid_until)),
        ("SuspendedOn", _iso(r.suspended_on)),
        ("RevokedOn", _iso(r.revoked_on)),
        ("ConsentWithdrawn", "true" if r.consent_withdrawn else None),
    )
    for local, text in fields:
        if text is not None:
            etree.SubElement(element, _q(local)).text = text


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class _SignerKey:
    """The Signer port in the shape of the cryptography private key signxml's XMLSigner calls:
    it asks for one signature over SignedInfo and gets it from the Signer, so the private key
    never leaves it. Only the exact scheme the signer is pinned to is served."""

    #: signxml sizes ECDSA's r || s by it; P-256 is the only curve the format speaks.
    key_size = 256

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def sign(self, data: bytes, *args: object, **kwargs: object) -> bytes:
        scheme = [*args, *kwargs.values()]
        if self._signer.algorithm == ECDSA_P256:
            ok = (
                len(scheme) == 1
                and isinstance(scheme[0], ec.ECDSA)
                and isinstance(scheme[0].algorithm, hashes.SHA256)
            )
        else:
            ok = (
                len(scheme) == 2
                and isinstance(scheme[0], padding.PKCS1v15)
                and isinstance(scheme[1], hashes.SHA256)
            )
        if not ok:
            raise ValueError(f"signer {self._signer.key_id} signs {self._signer.algorithm} only")
        return self._signer.sign(data)  # ECDSA in DER: signxml converts it to r || s


def sign(root: etree._Element, signer: Signer) -> bytes:
    """``root`` with an enveloped signature by ``signer``, KeyInfo naming its key only."""
    method = _METHOD_OF.get(signer.algorithm)
    if method is None:
        raise ValueError(f"the xmldsig format does not speak {signer.algorithm}")
    xml_signer = XMLSigner(
        signature_algorithm=method, digest_algorithm=SHA256, c14n_algorithm=EXC_C14N
    )

    def key_name(signature: etree._Element, signing_settings: object) -> None:
        etree.SubElement(etree.SubElement(signature, _KEY_INFO), _KEY_NAME).text = signer.key_id

    xml_signer.signature_annotators = [key_name]  # instead of signxml's KeyValue
    key: Any = _SignerKey(signer)  # duck-typed: signxml only calls sign()
    signed = xml_signer.sign(root, key=key)
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


class XmlDsigCodec:
    name = NAME

    def __init__(self, max_document_bytes: int | None = None) -> None:
        #: A cap below the transport's: the codec parses no more than a document may need.
        self._max_document_bytes = max_document_bytes

    def open(
        self, message: InboundMessage, keys: KeyResolver, limits: DecodeLimits
    ) -> DecodedBatch:
        limit = max_bytes(limits)
        if self._max_document_bytes is not None:
            limit = min(limit, self._max_document_bytes)
        root = parse(message.payload, limit)
        if root.tag != ROOT:
            raise MalformedPayload(f"not an AEO status document: root {shown(root.tag)}")
        count_records(root, limits)
        layout = check_layout(root)
        key = keys.resolve(layout.key_name, layout.algorithm)
        signed = verify(root, layout, key.material)
        return read(signed, layout.key_name, layout.algorithm)

    def seal(self, batch: OutboundBatch, signer: Signer) -> SealedEnvelope:
        return SealedEnvelope(NAME, sign(document(batch), signer))
