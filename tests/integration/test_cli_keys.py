"""`aeo-gateway keys ...` and `certs rotate-tls`, run in process against a live gateway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from adapters import pki
from adapters.crypto.signatures import ED25519, Signer
from gateway.cli import main
from gateway.client import PartnerClient
from gateway.pb import exchange_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import submit


def run(live: Live, tmp_path: Path, *argv: str, **config: str) -> int:
    path = live.workspace.write_config(
        f"cli-keys-{tmp_path.name}.toml", database_url=live.settings.database_url, **config
    )
    return main(
        ["--config", str(path), *argv, *(["--target", live.target] if config == {} else [])]
    )


def test_keys_add_list_and_retire_roll_a_partner_key_over(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keys add SG SG-2027-1 key.pem`, `keys list SG --format json`, `keys retire SG
    SG-2026-1`. Result: each exits 0; the listing shows both keys with their sources; after
    the retirement the new key signs SG's messages."""
    private = pki.signing_key(ED25519)
    public = tmp_path / "sg-2027-1.pub.pem"
    public.write_bytes(pki.public_pem(private))
    assert (
        run(live, tmp_path, "keys", "add", "SG", "SG-2027-1", str(public), "--algorithm", "ed25519")
        == 0
    )
    assert "SG: key SG-2027-1 (ed25519) registered" in capsys.readouterr().out
    assert run(live, tmp_path, "keys", "list", "SG", "--format", "json") == 0
    listed = {k["key_id"]: k for k in json.loads(capsys.readouterr().out)}
    assert (listed["SG-2026-1"]["source"], listed["SG-2027-1"]["source"]) == ("file", "admin")
    assert run(live, tmp_path, "keys", "retire", "SG", "SG-2026-1") == 0
    assert "SG: key SG-2026-1 valid until" in capsys.readouterr().out
    client = PartnerClient(live.channel("SG"), "SG", Signer(private, "SG-2027-1", ED25519))
    submit(client, 1, record())


def test_keys_retire_of_the_last_key_fails_with_one_line(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keys retire SG SG-2026-1` while it is SG's only key. Result: exit 1 and one line naming
    FAILED_PRECONDITION key.last_valid_key and what to do."""
    assert run(live, tmp_path, "keys", "retire", "SG", "SG-2026-1") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "FAILED_PRECONDITION key.last_valid_key" in err[0]
    assert "add the new key first" in err[0]


def test_keys_add_with_a_missing_key_file_fails_with_one_line(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keys add` naming a public key file that does not exist. Result: exit 2, one line."""
    missing = tmp_path / "nope.pem"
    assert (
        run(live, tmp_path, "keys", "add", "SG", "SG-X", str(missing), "--algorithm", "ed25519")
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot read the public key" in err[0]


def test_keys_rotate_gateway_writes_the_announcements_to_forward(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`keys rotate-gateway CN-GW-cli --announcements-dir DIR --format json`. Result: exit 0;
    the new key is in force (the next receipt names it); every partner's announcement, signed
    with the old key, is a file in DIR."""
    folder = tmp_path / "announcements"
    key_id = f"CN-GW-cli-{tmp_path.name[-6:]}"
    code = run(
        live, tmp_path, "keys", "rotate-gateway", key_id, "--announcements-dir", str(folder),
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["key_id"] == key_id
    sg = next(a for a in result["announcements"] if a["partner"] == "SG")
    assert sg["outcome"] == "to forward"
    signed = exchange_pb2.SignedKeyAnnouncement()
    signed.ParseFromString(Path(sg["file"]).read_bytes())
    assert signed.signature.key_id == live.settings.signing_key_id
    response = submit(
        PartnerClient(live.channel("SG"), "SG", live.workspace.signer("SG")), 1, record()
    )
    assert response.receipt.signature.key_id == key_id


def test_certs_rotate_tls_writes_a_new_server_certificate(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`certs rotate-tls` with tls_cert and tls_key in a folder of their own. Result: exit 0;
    both files are replaced by a new matching pair issued by the development CA."""
    cert, key = tmp_path / "server.pem", tmp_path / "server.key.pem"
    cert.write_bytes((live.workspace.pki / "server.pem").read_bytes())
    key.write_bytes((live.workspace.pki / "server.key.pem").read_bytes())
    before = x509.load_pem_x509_certificate(cert.read_bytes()).serial_number
    assert run(live, tmp_path, "certs", "rotate-tls", tls_cert=str(cert), tls_key=str(key)) == 0
    issued = pki.load(cert, key)
    assert issued.cert.serial_number != before
    ca = x509.load_pem_x509_certificate((live.workspace.pki / "ca.pem").read_bytes())
    issued.cert.verify_directly_issued_by(ca)
    assert "a running gateway serves it" in capsys.readouterr().out
