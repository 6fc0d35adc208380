"""Partner definitions given through Admin (text and inline trust material, no files) read by
the same rules as partner files; the optional top-level ``lifecycle`` key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters import pki
from adapters.directory.files import FileDirectory, read_partner
from adapters.wire.registry import codecs
from gateway.clock import SystemClock
from gateway.domain.errors import DefinitionInvalid
from tests.conftest import ROOT, Workspace

SG = ROOT / "partners" / "SG.toml"


@dataclass(frozen=True)
class Given:
    text: bytes
    attachments: Mapping[str, bytes]


def inline(workspace: Workspace, code: str = "SG", text: str | None = None) -> Given:
    """SG's file as a definition given through Admin, its CA and key attached by name."""
    body = (text or SG.read_text()).replace('code = "SG"', f'code = "{code}"')
    body = body.replace("../certs/dev/partners/SG/", "")
    material = workspace.pki / "partners" / "SG"
    return Given(
        body.encode(),
        {
            "ca.pem": (material / "ca.pem").read_bytes(),
            "signing-SG-2026-1.pub.pem": (material / "signing-SG-2026-1.pub.pem").read_bytes(),
        },
    )


def test_an_inline_definition_reads_as_its_file_does_and_defaults_to_draft(
    workspace: Workspace,
) -> None:
    """SG's text with its trust files attached. Result: the same partner as the file, in
    lifecycle draft; nothing is read from disk."""
    given = inline(workspace)
    entry = read_partner(Path("admin:SG.toml"), (), given.text, given.attachments)
    assert entry.partner.code == "SG"
    assert entry.partner.lifecycle == "draft"
    assert entry.attachments is not None
    assert entry.ca is not None
    assert entry.ca in entry.attachments


def test_a_lifecycle_key_other_than_draft_or_active_is_refused() -> None:
    """A partner file saying lifecycle = "paused". Result: DefinitionInvalid naming lifecycle."""
    text = b'lifecycle = "paused"\n' + SG.read_bytes()
    with pytest.raises(DefinitionInvalid) as refused:
        read_partner(SG, (), text)
    assert refused.value.metadata["field"] == "lifecycle"


def test_a_code_defined_by_a_file_and_through_admin_is_refused(workspace: Workspace) -> None:
    """A stored definition of SG beside partners/SG.toml. Result: DefinitionInvalid naming the
    file that defines it; a stored definition of another code (XX) loads beside the files."""
    settings = workspace.settings()
    directory = FileDirectory(
        settings.home_file, settings.partners_dir, codecs(), SystemClock(), None
    )
    with pytest.raises(DefinitionInvalid) as refused:
        directory.use_stored(lambda: {"SG": inline(workspace)})
    assert "SG.toml" in refused.value.message
    other = SG.read_text().replace('"SG"', '"XX"').replace("SG[0-9]{12}", "XX[0-9]{12}")
    other = other.replace('"SG201912345678"', '"XX201912345678"')
    given = inline(workspace, "XX", other)
    with pytest.raises(DefinitionInvalid) as same_ca:
        directory.use_stored(lambda: {"XX": given})
    assert same_ca.value.metadata["field"] == "trust.ca"  # SG's CA: one CA, one party


def test_trust_material_not_attached_is_missing_as_a_missing_file_is(
    workspace: Workspace,
) -> None:
    """SG's definition with its signing key not attached. Result: DefinitionInvalid naming
    signing_keys[0].public_key."""
    given = inline(workspace)
    settings = workspace.settings()
    directory = FileDirectory(
        settings.home_file, settings.partners_dir, codecs(), SystemClock(), None
    )
    other = SG.read_text().replace('"SG"', '"XX"').replace("SG[0-9]{12}", "XX[0-9]{12}")
    other = other.replace('"SG201912345678"', '"XX201912345678"')
    text = inline(workspace, "XX", other).text
    own_ca = pki.cert_pem(pki.make_ca("XX customs CA", "XX").cert)
    missing = Given(text, {"ca.pem": own_ca})  # the signing key is not attached
    with pytest.raises(DefinitionInvalid) as refused:
        directory.build(directory.definitions({"XX": missing}))
    assert refused.value.metadata["field"] == "signing_keys[0].public_key"
    assert "is not attached" in refused.value.message
    given_key = {**missing.attachments, "signing-SG-2026-1.pub.pem": given.attachments[
        "signing-SG-2026-1.pub.pem"]}  # fmt: skip
    snapshot = directory.build(directory.definitions({"XX": Given(text, given_key)}))
    assert snapshot.partners["XX"].lifecycle == "draft"
