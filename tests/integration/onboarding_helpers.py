"""A new partner, Chile (CL), that no file defines: a development PKI minted for it in the
test, its definition as an administrator writes it, and its own gateway as the peer."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import pki
from adapters.crypto.signatures import Signer
from adapters.directory.files import Definitions, read_definitions, read_partner
from adapters.wire.registry import codecs
from gateway import protomap
from gateway.client import TlsIdentity
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.federation import PeerWorkspace, write_peer
from gateway.pb import exchange_pb2
from gateway.settings import Settings

CODE = "CL"
KEY_ID = "CL-2026-1"
CL_AEO = "CL761234567"

DEFINITION = """# Chile: Operador Economico Autorizado (created through Admin).
code = "CL"
name = "Chile"
programme = "Operador Economico Autorizado"
tiers = ["OEA"]
recognised_tiers = ["OEA"]
direction = "import+export"
wire_formats = ["native"]

[mra]
signed = "2026-01"
in_force = 2026-01-01

[identifiers]
prefix = "CL"
patterns = ["CL[0-9]{9}"]
examples = ["CL761234567"]
"""

TRUST = """
[trust]
ca = "ca.pem"
"""

ENDPOINT = """
[outbound]
endpoint = "{address}"
server_name = "localhost"
ca = "ca.pem"
wire_format = "native"
"""

KEYS_AND_MAPPING = """
[[signing_keys]]
key_id = "CL-2026-1"
algorithm = "ed25519"
public_key = "signing-CL-2026-1.pub.pem"

[[mapping]]
tier = "OEA"
grade = "advanced certified"
"""


@dataclass(frozen=True)
class Chile:
    """Chile's PKI (under ``pki_root``/partners/CL, beside a copy of the home PKI) and its
    definition file ``definition`` with the trust files beside it."""

    pki_root: Path
    folder: Path

    @property
    def material(self) -> Path:
        return self.pki_root / "partners" / CODE

    @property
    def definition(self) -> Path:
        return self.folder / f"{CODE}.toml"

    def write(self, endpoint: str | None, trust: bool = True) -> Path:
        """The definition file, with [trust] and [outbound] as asked, and its trust files."""
        self.folder.mkdir(parents=True, exist_ok=True)
        text = DEFINITION + (TRUST if trust else "")
        if endpoint is not None:
            text += ENDPOINT.format(address=endpoint)
        text += KEYS_AND_MAPPING
        self.definition.write_text(text)
        shutil.copyfile(self.material / "ca.pem", self.folder / "ca.pem")
        name = f"signing-{KEY_ID}.pub.pem"
        shutil.copyfile(self.material / name, self.folder / name)
        return self.definition

    def signer(self) -> Signer:
        return Signer.from_file(self.material / f"signing-{KEY_ID}.key.pem", KEY_ID, "ed25519")

    def calling(self, home: Settings) -> TlsIdentity:
        """Chile's gateway calling the home gateway: its client certificate, issued by its CA."""
        return TlsIdentity(
            home.home_ca, self.material / "client.pem", self.material / "client.key.pem"
        )

    def envelope(self, sequence: int, *records: AeoRecord) -> exchange_pb2.SignedEnvelope:
        batch = OutboundBatch(CODE, sequence, datetime.now(UTC), BatchKind.DELTA, records)
        return protomap.signed_envelope(codecs()["native"].seal(batch, self.signer()))

    def peer(self, home: Settings, root: Path, port: int, home_address: str) -> PeerWorkspace:
        """Chile's own gateway (home = CL, partner = the home administration, sending to
        ``home_address``), from the definition as written."""
        settings = home.with_overrides(pki_dir=self.pki_root)
        d = read_definitions(settings.home_file, settings.partners_dir)
        attachments = {
            "ca.pem": (self.folder / "ca.pem").read_bytes(),
            f"signing-{KEY_ID}.pub.pem": (self.folder / f"signing-{KEY_ID}.pub.pem").read_bytes(),
        }
        entry = read_partner(
            Path(f"{CODE}.toml"),
            d.home.standard_benefits,
            self.definition.read_bytes(),
            attachments,
        )
        only = Definitions(d.home, d.home_source, {CODE: entry})
        return write_peer(settings, only, CODE, root, port, home_address)


def mint(home: Settings, root: Path) -> Chile:
    """Chile's development PKI (CA, gateway client and server certificates, signing key),
    minted now beside a copy of the home PKI (which write_peer reads the home CA from)."""
    pki_root = root / "pki"
    shutil.copytree(home.pki_dir, pki_root, ignore=shutil.ignore_patterns("partners"))
    pki.init(
        pki_root,
        "CN",
        "China",
        (home.signing_key_id, home.signing_algorithm),
        [pki.PartnerKeys(CODE, "Chile", ((KEY_ID, "ed25519"),))],
    )
    return Chile(pki_root, root / "onboard")


def chile_record(version: int = 1) -> AeoRecord:
    return AeoRecord(
        CL_AEO,
        "Vina Export SpA",
        "1 Avenida Apoquindo, Santiago",
        RecordStatus.VALID,
        "OEA",
        version,
        datetime.now(UTC) - timedelta(days=1),
        StatusEvent.GRANTED,
    )
