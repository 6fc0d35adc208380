"""The audit log of outbound delivery, with the partner's side a second gateway over real
mutual TLS: the registry's call, the sealed message and the partner's receipt are recorded,
and the sent message's evidence bundle verifies offline."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.bootstrap import Gateway
from gateway.client import TlsIdentity, connect
from gateway.federation import Federation
from gateway.pb import audit_pb2, audit_pb2_grpc
from tests.integration.test_audit_over_mtls import forged, fresh_key_pem
from tests.integration.test_federation import certify, delivering, federation, running

__all__ = ["federation", "running"]  # fixtures, used by name


def test_a_sent_message_and_its_receipt_are_recorded_and_its_bundle_verifies_offline(
    federation: Federation, running: Callable[..., Gateway], tmp_path: Path
) -> None:
    """The home registry certifies an enterprise; the change is sealed, sent to KR's gateway
    and settled by KR's receipt. Result: the home log holds the registry's RecordGradeChange
    (an admin.action by the registry role; recorded once the call has answered, so delivery
    may come first), message.sent and then receipt.received for KR under one message id;
    that message's bundle, verified by its own script with only the home gateway's public
    key, is proven, the receipt signed by the partner; the bundle with the receipt re-signed
    by another key (signature and signer key replaced), or with another signer key for the
    message, manifest digests recomputed, is refused naming the key its entry records."""
    delivering(federation, running)
    certify(federation, "advanced certified", "Federation Demo Manufacturing Co")
    home = federation.home
    with connect(federation.home_target, TlsIdentity.dev(home.pki_dir, "admin")) as channel:
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        listed = stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(), timeout=10).entries
        # The registry's call is recorded once it has answered: delivery may seal before.
        by_kind = {e.kind: e for e in listed}
        assert sorted((e.kind, e.partner) for e in listed) == [
            ("admin.action", ""),
            ("message.sent", "KR"),
            ("receipt.received", "KR"),
        ]
        action, sent, receipt = (
            by_kind["admin.action"],
            by_kind["message.sent"],
            by_kind["receipt.received"],
        )
        assert sent.position < receipt.position
        assert action.subject == "/aeo.gateway.v1.HomeRegistryService/RecordGradeChange"
        assert json.loads(action.detail_json)["role"] == "registry"
        assert sent.subject == receipt.subject
        assert sent.subject.startswith("out-KR-1-")
        assert sent.digest == receipt.digest
        assert len(receipt.receipt_digest) == 64
        bundle = stub.ExportEvidence(
            audit_pb2.ExportEvidenceRequest(message_id=sent.subject), timeout=10
        ).bundle
    path = tmp_path / "sent.zip"
    path.write_bytes(bundle)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        (tmp_path / "verify_bundle.py").write_bytes(z.read("verify_bundle.py"))
    assert manifest["direction"] == "sent"
    assert manifest["receipt"]["signed_by"] == "partner"
    public_key = home.pki_dir / "gateway" / f"signing-{home.signing_key_id}.pub.pem"
    result = subprocess.run(
        [sys.executable, "-I", str(tmp_path / "verify_bundle.py"), str(path),
         "--public-key", str(public_key)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "receipt matches its entry and is signed by the partner" in result.stdout
    assert f"OK: message {sent.subject} (sent) is proven" in result.stdout

    def resign_the_receipt(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        key, pem = fresh_key_pem()
        files["receipt.sig"] = key.sign(files["receipt.bin"])
        files["receipt-signer.pub.pem"] = pem
        manifest["receipt"]["algorithm"] = "ed25519"

    def swap_the_signer_key(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
        files["signer.pub.pem"] = fresh_key_pem()[1]

    for change, named in [
        (resign_the_receipt, "receipt signer's public key is not the one entry"),
        (swap_the_signer_key, "signer's public key is not the one entry"),
    ]:
        path.write_bytes(forged(bundle, change))
        result = subprocess.run(
            [sys.executable, "-I", str(tmp_path / "verify_bundle.py"), str(path),
             "--public-key", str(public_key)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert result.returncode == 1, result.stdout
        assert named in result.stderr
