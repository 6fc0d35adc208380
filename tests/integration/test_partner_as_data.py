"""A new partner is a file in partners/: no code, and every pinned algorithm works end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.bootstrap import build
from gateway.client import EXPORT, PartnerClient, RecognitionClient, connect
from gateway.devkit import DevWorkspace, pb_records
from gateway.pb import common_pb2, recognition_pb2
from tests.conftest import ROOT
from tests.factories import record

XT = """
code = "XT"
name = "Example Territory"
programme = "XT Trusted Trader"
tiers = ["Bronze", "Gold"]
recognised_tiers = ["Gold"]
direction = "import"
wire_formats = ["native"]

[mra]
signed = "2025-01"
in_force = 2025-06-01

[identifiers]
prefix = "XT"
patterns = ["XT[0-9]{6}"]

[trust]
ca = "../certs/dev/partners/XT/ca.pem"

[[signing_keys]]
key_id = "XT-rsa-1"
algorithm = "rsa-pss-sha256"
public_key = "../certs/dev/partners/XT/signing-XT-rsa-1.pub.pem"

[[mapping]]
tier = "Gold"
grade = "advanced certified"
"""


@pytest.fixture
def onboarded(tmp_path: Path) -> DevWorkspace:
    source = tmp_path / "source"
    shutil.copytree(ROOT / "partners", source / "partners")
    shutil.copytree(ROOT / "home", source / "home")
    (source / "partners" / "XT.toml").write_text(XT)
    return DevWorkspace.create(tmp_path / "ws", source)


def test_partner_added_as_a_file_exchanges_with_rsa_pss(onboarded: DevWorkspace) -> None:
    """An admin adds partners/XT.toml (RSA-PSS key) and restarts; XT submits a Gold and a Bronze
    operator. Result: the Gold one recognised with XT's mapping, the Bronze one not; XT's MRA
    covers imports only, so the Gold one is not recognised on an export declaration."""
    gateway = build(
        onboarded.settings(
            listen="127.0.0.1:0", database_url=f"sqlite:///{onboarded.root / 'gw.db'}"
        )
    )
    try:
        target = f"localhost:{gateway.port}"
        partner = PartnerClient(
            connect(target, onboarded.identity("XT")), "XT", onboarded.signer("XT")
        )
        response = partner.submit(
            1, pb_records([record("123456", tier="Gold"), record("XT654321", tier="Bronze")])
        )
        assert response.receipt.signature.key_id == "CN-GW-2"
        recognition = RecognitionClient(connect(target, onboarded.identity("domestic")))
        gold, bronze = recognition.recognise_many(["XT123456", "XT654321"])
        assert (gold.outcome, gold.treatment, gold.basis.algorithm) == (
            recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED,
            "advanced certified",
            common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256,
        )
        assert bronze.reason == "tier.not_recognised"
        export = recognition.recognise("XT123456", EXPORT)
        assert (export.outcome, export.reason) == (
            recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED,
            "mra.direction_not_covered",
        )
    finally:
        gateway.stop(grace=0)
