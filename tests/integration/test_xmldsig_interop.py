"""The xmldsig format against an independent XML-DSig implementation, xmlsec1 (libxmlsec1):
what it signs, the gateway opens; what the gateway seals, it verifies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from signxml.algorithms import SignatureMethod

from adapters.crypto.signatures import ECDSA_P256, RSA_PKCS1, Signer
from adapters.pki import key_pem, public_pem
from adapters.wire import xmldsig
from gateway.domain.errors import SignatureInvalid
from gateway.domain.messages import SealedEnvelope
from gateway.domain.records import BatchKind, RecordStatus, StatusEvent
from tests.contract import test_xmldsig_codec as contract  # its classes, not collected here

pytestmark = pytest.mark.skipif(
    shutil.which("xmlsec1") is None,
    reason="xmlsec1 is not installed (Debian package xmlsec1; .ci/run installs it)",
)

WORLDS = {
    ECDSA_P256: contract.TestXmlDsigEcdsaContract(),
    RSA_PKCS1: contract.TestXmlDsigRsaContract(),
}
METHOD = {ECDSA_P256: SignatureMethod.ECDSA_SHA256, RSA_PKCS1: SignatureMethod.RSA_SHA256}

#: A partner's document as its own tooling might write it: indented, "Z" times, a signature
#: template (default ds namespace) for xmlsec1 to fill in.
TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<StatusMessage xmlns="urn:aeo-gateway:status:v1" partner="SG" sequence="42"
               issuedAt="2026-11-27T09:30:00Z" kind="snapshot"{id}>
  <Record>
    <Identifier>SG201912345678</Identifier>
    <Name>Lion City Logistics Pte Ltd</Name>
    <Address>1 Harbour Road, Singapore</Address>
    <Status>valid</Status>
    <Tier>STP-Plus</Tier>
    <Version>3</Version>
    <EffectiveAt>2026-11-01T00:00:00Z</EffectiveAt>
    <Event>revalidated</Event>
    <AuthorisedFrom>2019-12-01</AuthorisedFrom>
    <ValidUntil>2029-11-30</ValidUntil>
  </Record>
  <Record>
    <Identifier>SG201955555555</Identifier>
    <Status>suspended</Status>
    <Version>7</Version>
    <EffectiveAt>2026-11-20T08:00:00+08:00</EffectiveAt>
    <SuspendedOn>2026-11-20</SuspendedOn>
  </Record>
  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <SignedInfo>
      <CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <SignatureMethod Algorithm="{method}"/>
      <Reference URI="{uri}">
        <Transforms>
          <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </Transforms>
        <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <DigestValue/>
      </Reference>
    </SignedInfo>
    <SignatureValue/>
    <KeyInfo>
      <KeyName/>
    </KeyInfo>
  </Signature>
</StatusMessage>
"""


def xmlsec1(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xmlsec1", *map(str, args)], capture_output=True, text=True, timeout=30, check=False
    )


def xmlsec1_signed(tmp_path: Path, algorithm: str, signer: Signer, by_id: bool = False) -> bytes:
    template = tmp_path / "template.xml"
    template.write_text(
        TEMPLATE.format(
            method=METHOD[algorithm].value,
            uri="#doc" if by_id else "",
            id=' Id="doc"' if by_id else "",
        )
    )
    key = tmp_path / "key.pem"
    key.write_bytes(key_pem(signer._key))
    out = tmp_path / "signed.xml"
    extra = ["--id-attr:Id", "StatusMessage"] if by_id else []
    done = xmlsec1(
        "--sign", *extra, f"--privkey-pem:{signer.key_id}", key, "--output", out, template
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def xmlsec1_verifies(
    tmp_path: Path, payload: bytes, signer: Signer
) -> subprocess.CompletedProcess[str]:
    document = tmp_path / "sealed.xml"
    document.write_bytes(payload)
    public = tmp_path / "public.pem"
    public.write_bytes(public_pem(signer._key))
    return xmlsec1("--verify", f"--pubkey-pem:{signer.key_id}", public, document)


@pytest.mark.parametrize("algorithm", [ECDSA_P256, RSA_PKCS1])
def test_a_document_signed_by_xmlsec1_opens(tmp_path: Path, algorithm: str) -> None:
    """A partner signs an indented document from a template with `xmlsec1 --sign` (exclusive
    C14N, SHA-256, KeyName). Result: the gateway opens it and reads every field."""
    world = WORLDS[algorithm]
    payload = xmlsec1_signed(tmp_path, algorithm, world.sg)
    opened = world.open(SealedEnvelope(xmldsig.NAME, payload))
    assert (opened.partner, opened.sequence, opened.kind) == ("SG", 42, BatchKind.SNAPSHOT)
    assert (opened.key_id, opened.algorithm) == ("SG-1", algorithm)
    first, second = opened.drafts
    assert (first.identifier, first.version, first.tier) == ("SG201912345678", 3, "STP-Plus")
    assert (first.status, first.event) == (RecordStatus.VALID, StatusEvent.REVALIDATED)
    assert first.name == "Lion City Logistics Pte Ltd"
    assert (second.status, second.suspended_on.isoformat() if second.suspended_on else None) == (
        RecordStatus.SUSPENDED,
        "2026-11-20",
    )
    assert second.effective_at is not None
    assert second.effective_at.utcoffset() is not None
    assert all(d.problem is None for d in opened.drafts)


def test_a_document_signed_by_xmlsec1_with_an_id_reference_opens(tmp_path: Path) -> None:
    """xmlsec1 signs with Reference URI="#doc", the root's Id. Result: opened."""
    world = WORLDS[ECDSA_P256]
    payload = xmlsec1_signed(tmp_path, ECDSA_P256, world.sg, by_id=True)
    assert len(world.open(SealedEnvelope(xmldsig.NAME, payload)).drafts) == 2


def test_a_document_xmlsec1_signed_then_altered_is_refused(tmp_path: Path) -> None:
    """An xmlsec1-signed document whose version is changed afterwards. Result:
    SignatureInvalid."""
    world = WORLDS[ECDSA_P256]
    payload = xmlsec1_signed(tmp_path, ECDSA_P256, world.sg)
    with pytest.raises(SignatureInvalid):
        world.open(SealedEnvelope(xmldsig.NAME, payload.replace(b"<Version>3<", b"<Version>4<")))


@pytest.mark.parametrize("algorithm", [ECDSA_P256, RSA_PKCS1])
def test_a_document_the_gateway_seals_verifies_with_xmlsec1(tmp_path: Path, algorithm: str) -> None:
    """The codec seals a batch. Result: `xmlsec1 --verify` with the public key accepts it."""
    world = WORLDS[algorithm]
    payload = world.codec.seal(world.batch(), world.sg).payload
    done = xmlsec1_verifies(tmp_path, payload, world.sg)
    assert done.returncode == 0, done.stderr


def test_xmlsec1_refuses_a_sealed_document_altered_afterwards(tmp_path: Path) -> None:
    """A sealed document with its sequence changed. Result: xmlsec1 refuses it too (the check
    above can fail)."""
    world = WORLDS[ECDSA_P256]
    payload = world.codec.seal(world.batch(), world.sg).payload
    done = xmlsec1_verifies(tmp_path, payload.replace(b'sequence="7"', b'sequence="8"'), world.sg)
    assert done.returncode != 0
