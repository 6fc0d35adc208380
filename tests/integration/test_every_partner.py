"""Every partner administration, in its own wire format, end to end over mutual TLS; and a
fourteenth (Chile) added at runtime by a file and a reload, with no code and no restart."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.directory.files import read_definitions
from gateway import protomap
from gateway.bootstrap import Gateway, build, init_dev_pki
from gateway.client import AdminClient, PartnerClient, RecognitionClient, connect
from gateway.devkit import DevWorkspace
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.importer import envelope_from
from gateway.pb import exchange_pb2, recognition_pb2
from tests.conftest import ROOT
from tests.golden.partners import BATCHES, GOLDEN, KEYS, RECEIVED


@dataclass(frozen=True)
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass(frozen=True)
class Golden:
    workspace: DevWorkspace
    gateway: Gateway

    @property
    def target(self) -> str:
        return f"localhost:{self.gateway.port}"


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    """A gateway whose partners verify with the golden batches' test keys, its clock at the
    moment the batches were received."""
    workspace = DevWorkspace.create(tmp_path_factory.mktemp("golden") / "ws", ROOT)
    settings = workspace.settings()
    definitions = read_definitions(settings.home_file, settings.partners_dir)
    for code in GOLDEN:
        key_id = definitions.partners[code].partner.signing_keys[0].key_id
        target = workspace.pki / "partners" / code / f"signing-{key_id}.pub.pem"
        shutil.copyfile(KEYS / f"{code}.pub.pem", target)
    gateway = build(
        workspace.settings(
            listen="127.0.0.1:0", database_url=f"sqlite:///{workspace.root / 'golden.db'}"
        ),
        clock=FixedClock(RECEIVED),
    )
    yield Golden(workspace, gateway)
    gateway.stop(grace=0)


def _batch_file(code: str) -> Path:
    [path] = BATCHES.glob(f"{code}.*")
    return path


def test_every_golden_batch_is_in_its_partners_primary_format() -> None:
    """The thirteen golden batches against the partner files. Result: one per partner, each
    in the partner's primary wire format (EU XML-DSig, KR JWS, ...)."""
    definitions = read_definitions(ROOT / "home" / "CN.toml", ROOT / "partners")
    assert set(GOLDEN) == set(definitions.partners)
    for code, entry in definitions.partners.items():
        envelope = envelope_from(_batch_file(code).read_bytes())
        assert protomap.FORMAT_NAME[envelope.format] == entry.partner.wire_formats[0], code


@pytest.mark.parametrize("code", sorted(GOLDEN))
def test_each_partners_golden_batch_is_accepted_and_its_operator_found(
    golden: Golden, code: str
) -> None:
    """The partner submits its signed golden snapshot over mutual TLS, in its own format; a
    domestic system then asks about the first operator by the code a trader typed (spaces,
    dashes, dots, lower case, full-width digits, the legacy AEO<...> form). Result: all three
    records applied; the answer names the partner and the expected outcome and reason."""
    envelope = envelope_from(_batch_file(code).read_bytes())
    with connect(golden.target, golden.workspace.identity(code)) as channel:
        client = PartnerClient(channel, code, golden.workspace.signer(code))
        response = client.submit_envelope(envelope)
    receipt = exchange_pb2.Receipt.FromString(response.receipt.receipt)
    assert (receipt.records_received, receipt.records_applied) == (3, 3), receipt
    expected = GOLDEN[code]
    with connect(golden.target, golden.workspace.identity("domestic")) as channel:
        answer = RecognitionClient(channel).recognise(expected.declared)
    outcome = recognition_pb2.RecognitionOutcome.Name(answer.outcome)
    assert (answer.administration, outcome, answer.reason) == (
        code,
        f"RECOGNITION_OUTCOME_{expected.outcome}",
        expected.reason,
    )
    assert answer.operator_name == expected.operators[0].name


CHILE = """
# Chile's Servicio Nacional de Aduanas: Operador Economico Autorizado (OEA). Added at runtime
# in a test: a fourteenth partner in a wire format the gateway already speaks.
code = "CL"
name = "Chile"
programme = "Operador Economico Autorizado (OEA)"
tiers = ["OEA"]
recognised_tiers = ["OEA"]
direction = "import+export"
wire_formats = ["xmldsig"]
assumed = ["mra.signed", "mra.in_force", "identifiers.patterns"]

[mra]
signed = "2021"
in_force = 2024-01-01

[identifiers]
# RUT: 7 or 8 digits and a check character (0-9 or K), typed as 76.123.456-K.
prefix = "CL"
patterns = ["CL[0-9]{7,8}[0-9K]"]

[trust]
ca = "../certs/dev/partners/CL/ca.pem"

[[signing_keys]]
key_id = "CL-2026-1"
algorithm = "ecdsa-p256-sha256"
public_key = "../certs/dev/partners/CL/signing-CL-2026-1.pub.pem"

[[mapping]]
tier = "OEA"
grade = "advanced certified"
"""


def test_chile_joins_at_runtime_by_a_file_and_a_reload(tmp_path: Path) -> None:
    """A running gateway; an admin writes partners/CL.toml and Chile's trust material, then
    reloads. Result: CL is added, its certificate connects, its XML-DSig snapshot is applied
    and a declaration naming "CL 76.123.456-K" is recognised, all without a restart."""
    workspace = DevWorkspace.create(tmp_path / "ws", ROOT)
    gateway = build(
        workspace.settings(
            listen="127.0.0.1:0", database_url=f"sqlite:///{workspace.root / 'cl.db'}"
        )
    )
    try:
        target = f"localhost:{gateway.port}"
        (workspace.root / "partners" / "CL.toml").write_text(CHILE)
        init_dev_pki(workspace.settings())  # Chile's CA, client certificate and signing key
        with connect(target, workspace.identity("admin")) as channel:
            report = AdminClient(channel).reload_partners()
        assert list(report.added_partners) == ["partners/CL"]
        now = datetime.now(UTC)
        record = AeoRecord(
            "76123456K",
            "Valparaiso Logistica SpA",
            "Avenida Errazuriz 1, Valparaiso",
            RecordStatus.VALID,
            "OEA",
            1,
            now - timedelta(days=30),
            StatusEvent.GRANTED,
        )
        envelope = workspace.envelope(OutboundBatch("CL", 1, now, BatchKind.SNAPSHOT, (record,)))
        with connect(target, workspace.identity("CL")) as channel:
            response = PartnerClient(channel, "CL", workspace.signer("CL")).submit_envelope(
                envelope
            )
        assert exchange_pb2.Receipt.FromString(response.receipt.receipt).records_applied == 1
        with connect(target, workspace.identity("domestic")) as channel:
            answer = RecognitionClient(channel).recognise("CL 76.123.456-K")
        assert answer.outcome == recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED
        assert (answer.administration, answer.normalised_code) == ("CL", "CL76123456K")
    finally:
        gateway.stop(grace=0)
